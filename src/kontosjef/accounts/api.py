"""Accounts, contacts and products over the API: the same services and scoping as the UI."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as Answer
from pydantic import AfterValidator, WithJsonSchema

from kontosjef.accounts import queries, services
from kontosjef.accounts.health import health_band
from kontosjef.accounts.models import (
    Account,
    AccountQuerySet,
    Contact,
    Product,
    TamAssignment,
)
from kontosjef.api.auth import user_of
from kontosjef.api.lookups import referenced
from kontosjef.api.pagination import Order, paginate
from kontosjef.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Email,
    ErrorOut,
    ExternalId,
    FilterIn,
    Id,
    Name,
    PageIn,
    PatchIn,
    Search,
    Source,
    storable,
)
from kontosjef.people import access
from kontosjef.people.models import User

router = Router()

Country = Annotated[str, Field(max_length=2), AfterValidator(storable)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(storable)]
Language = Annotated[str, Field(max_length=8), AfterValidator(storable)]
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(storable)]
# Inline in the OpenAPI document: as a component it would be named "Status" and collide with
# the case statuses.
AccountStatus = Annotated[
    Account.Status,
    WithJsonSchema({"title": "AccountStatus", "type": "string", "enum": Account.Status.values}),
]


class UserRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj: User) -> str:
        return obj.get_full_name() or obj.username


class AccountOut(Schema):
    id: int
    name: str
    tier: Account.Tier
    country: str
    time_zone: str
    status: AccountStatus
    tam: UserRef | None = Field(None, alias="current_tam")
    external_source: str
    external_id: str
    created_at: datetime


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None


class AccountFilter(FilterIn):
    tier: Account.Tier | None = None
    status: AccountStatus | None = None
    has_tam: bool | None = Field(None, description="Only accounts with (true) or without a TAM.")
    tam: Id | None = Field(None, description="Only the portfolio of this TAM (user id).")
    q: Search | None = Field(None, description="Part of the account's name.")
    external_source: Source | None = None
    external_id: ExternalId | None = None


class AccountIn(Schema):
    name: Name
    country: Country = Field("", description="ISO 3166-1 alpha-2")
    tier: Account.Tier = Account.Tier.STANDARD
    time_zone: TimeZone = Field("Europe/Oslo", description="IANA time zone")
    status: AccountStatus = Account.Status.ACTIVE
    external_source: Source = ""
    external_id: ExternalId = ""


class AccountPatch(PatchIn):
    name: Name | None = None
    country: Country | None = None
    tier: Account.Tier | None = None
    time_zone: TimeZone | None = None
    status: AccountStatus | None = None


class TamAssignmentIn(Schema):
    tam: Id | None = Field(description="The new TAM's user id; null removes the current TAM.")
    reason: Reason


class ContactOut(Schema):
    id: int
    account: int = Field(alias="account_id")
    name: str
    email: str
    language: str
    external_source: str
    external_id: str


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactFilter(FilterIn):
    account: Id | None = None
    email: Email | None = Field(None, description="The exact e-mail address (any case).")
    q: Search | None = Field(None, description="Part of the name or e-mail.")


class ContactIn(Schema):
    account: Id
    name: Name
    email: Email = ""
    language: Language = Field("en", description="en or nb")
    external_source: Source = ""
    external_id: ExternalId = ""


class ContactPatch(PatchIn):
    name: Name | None = None
    email: Email | None = None
    language: Language | None = None


class ProductOut(Schema):
    id: int
    name: str
    component: str
    external_source: str
    external_id: str


class ProductPage(Schema):
    items: list[ProductOut]
    next_cursor: str | None


class ProductFilter(FilterIn):
    name: Name | None = Field(None, description="The exact product name.")
    q: Search | None = Field(None, description="Part of the name or component.")


class ProductIn(Schema):
    name: Name
    component: Annotated[str, Field(max_length=200), AfterValidator(storable)] = ""


def _accounts(request: HttpRequest) -> AccountQuerySet:
    return access.readable_accounts(user_of(request)).with_current_tam()


@router.get("/accounts", response={200: AccountPage, READ_ERRORS: ErrorOut}, tags=["accounts"])
def account_list(
    request: HttpRequest, filters: Query[AccountFilter], page: Query[PageIn]
) -> dict[str, object]:
    """Accounts the caller may read, by name."""
    accounts = _accounts(request)
    if filters.tier:
        accounts = accounts.filter(tier=filters.tier)
    if filters.status:
        accounts = accounts.filter(status=filters.status)
    if filters.has_tam is not None:
        current = Exists(TamAssignment.objects.filter(account=OuterRef("pk"), ended_at=None))
        accounts = accounts.filter(current if filters.has_tam else ~current)
    if filters.tam:
        accounts = accounts.filter(
            Exists(
                TamAssignment.objects.filter(
                    account=OuterRef("pk"), ended_at=None, tam_id=filters.tam
                )
            )
        )
    if filters.q:
        accounts = accounts.filter(name__icontains=filters.q)
    if filters.external_source is not None:
        accounts = accounts.filter(external_source=filters.external_source)
    if filters.external_id is not None:
        accounts = accounts.filter(external_id=filters.external_id)
    return paginate(accounts, page, Order("name"))


@router.post("/accounts", response={201: AccountOut, WRITE_ERRORS: ErrorOut}, tags=["accounts"])
def account_create(request: HttpRequest, payload: AccountIn) -> Answer[Account]:
    """Create an account (managers and administrators)."""
    return Answer(
        201, services.account_create(by=user_of(request), now=timezone.now(), **payload.dict())
    )


@router.get(
    "/accounts/{account_id}", response={200: AccountOut, READ_ERRORS: ErrorOut}, tags=["accounts"]
)
def account_detail(request: HttpRequest, account_id: Id) -> Account:
    return get_object_or_404(_accounts(request), pk=account_id)


@router.patch(
    "/accounts/{account_id}", response={200: AccountOut, WRITE_ERRORS: ErrorOut}, tags=["accounts"]
)
def account_update(request: HttpRequest, account_id: Id, payload: AccountPatch) -> Account:
    """Change name, tier, country, time zone or status (the account's TAM, managers)."""
    account = get_object_or_404(_accounts(request), pk=account_id)
    changes = payload.dict(exclude_unset=True)
    if changes:
        services.account_update(account=account, by=user_of(request), now=timezone.now(), **changes)
    return account


@router.post(
    "/accounts/{account_id}/tam",
    response={200: AccountOut, WRITE_ERRORS: ErrorOut},
    tags=["accounts"],
)
def account_tam_change(request: HttpRequest, account_id: Id, payload: TamAssignmentIn) -> Account:
    """Assign the account's TAM, or remove it with `"tam": null` (managers)."""
    by = user_of(request)
    account = get_object_or_404(_accounts(request), pk=account_id)
    if payload.tam is None:
        services.account_unassign_tam(
            account=account, by=by, reason=payload.reason, now=timezone.now()
        )
    else:
        tam = referenced(User.objects.all(), payload.tam, "tam")
        services.account_assign_tam(
            account=account, tam=tam, by=by, reason=payload.reason, now=timezone.now()
        )
    return _accounts(request).get(pk=account.pk)


def _contacts(request: HttpRequest) -> QuerySet[Contact]:
    return Contact.objects.filter(account__in=access.readable_accounts(user_of(request)))


@router.get("/contacts", response={200: ContactPage, READ_ERRORS: ErrorOut}, tags=["contacts"])
def contact_list(
    request: HttpRequest, filters: Query[ContactFilter], page: Query[PageIn]
) -> dict[str, object]:
    """Contacts of the accounts the caller may read, by name."""
    contacts = _contacts(request)
    if filters.account:
        contacts = contacts.filter(account_id=filters.account)
    if filters.email is not None:
        contacts = contacts.filter(email__iexact=filters.email)
    if filters.q:
        contacts = contacts.filter(Q(name__icontains=filters.q) | Q(email__icontains=filters.q))
    return paginate(contacts, page, Order("name"))


@router.post("/contacts", response={201: ContactOut, WRITE_ERRORS: ErrorOut}, tags=["contacts"])
def contact_create(request: HttpRequest, payload: ContactIn) -> Answer[Contact]:
    """Add a contact to an account (the account's TAM, managers)."""
    by = user_of(request)
    data = payload.dict()
    account = referenced(access.readable_accounts(by), data.pop("account"), "account")
    return Answer(201, services.contact_create(account=account, by=by, now=timezone.now(), **data))


@router.get(
    "/contacts/{contact_id}", response={200: ContactOut, READ_ERRORS: ErrorOut}, tags=["contacts"]
)
def contact_detail(request: HttpRequest, contact_id: Id) -> Contact:
    return get_object_or_404(_contacts(request), pk=contact_id)


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, WRITE_ERRORS: ErrorOut}, tags=["contacts"]
)
def contact_update(request: HttpRequest, contact_id: Id, payload: ContactPatch) -> Contact:
    """Change a contact's name, e-mail or language (the account's TAM, managers)."""
    contact = get_object_or_404(_contacts(request).select_related("account"), pk=contact_id)
    changes = payload.dict(exclude_unset=True)
    if changes:
        services.contact_update(contact=contact, by=user_of(request), now=timezone.now(), **changes)
    return contact


@router.get("/products", response={200: ProductPage, READ_ERRORS: ErrorOut}, tags=["products"])
def product_list(
    request: HttpRequest, filters: Query[ProductFilter], page: Query[PageIn]
) -> dict[str, object]:
    """Products and components, by name."""
    products = Product.objects.all()
    if filters.name is not None:
        products = products.filter(name=filters.name)
    if filters.q:
        products = products.filter(Q(name__icontains=filters.q) | Q(component__icontains=filters.q))
    return paginate(products, page, Order("name"))


@router.post("/products", response={201: ProductOut, WRITE_ERRORS: ErrorOut}, tags=["products"])
def product_create(request: HttpRequest, payload: ProductIn) -> Answer[Product]:
    """Add a product or component (managers and administrators)."""
    return Answer(
        201, services.product_create(by=user_of(request), now=timezone.now(), **payload.dict())
    )


@router.get(
    "/products/{product_id}", response={200: ProductOut, READ_ERRORS: ErrorOut}, tags=["products"]
)
def product_detail(request: HttpRequest, product_id: Id) -> Product:
    return get_object_or_404(Product, pk=product_id)


# Health, KPIs and expectations ------------------------------------------------------------------


class AsOfIn(FilterIn):
    as_of: date | None = Field(
        None,
        description="The day the figures are as of (default: now, or the data's last day of "
        "activity when that is long past; see docs/health.md).",
    )


class ContributionOut(Schema):
    code: str
    name: str
    kpi: str
    value: float | None
    threshold: float | None
    is_met: bool
    has_data: bool
    samples: int | None = Field(description="Cycles, cases or answers the value rests on.")
    points_lost: float
    points_at_stake: float


class TrendOut(Schema):
    days: int
    points_per_day: float | None = Field(alias="slope")


class HealthOut(Schema):
    account: int
    on: date | None = Field(description="The snapshot's day; null before the first snapshot.")
    as_of: datetime = Field(description="The instant the figures are as of.")
    score: float | None = Field(description="0–100; null when no expectation had data.")
    band: str = Field(description="healthy, watch, at_risk or unknown")
    trends: list[TrendOut]
    contributions: list[ContributionOut]


class HealthDayOut(Schema):
    on: date
    score: float | None


class HealthHistoryOut(Schema):
    account: int
    days: list[HealthDayOut]


class KpisOut(Schema):
    account: int
    on: date | None
    windows: dict[str, dict[str, float]] = Field(
        description="Per window in days, each KPI with data (units as in docs/health.md)."
    )


class ExpectationOut(Schema):
    code: str
    name: str
    kpi: str
    comparator: str
    threshold: float
    window_days: int
    severity: str
    is_override: bool = Field(description="The account's own threshold, not its tier's.")


class HistoryIn(FilterIn):
    since: date | None = Field(None, description="First day (default: a year before `until`).")
    until: date | None = Field(None, description="Last day (default: the as-of day).")


def _account(request: HttpRequest, account_id: int) -> Account:
    return get_object_or_404(access.readable_accounts(user_of(request)), pk=account_id)


@router.get(
    "/accounts/{account_id}/health",
    response={200: HealthOut, READ_ERRORS: ErrorOut},
    tags=["health"],
)
def account_health(request: HttpRequest, account_id: Id, when: Query[AsOfIn]) -> dict[str, object]:
    """The account's health score, band, trends and what each expectation cost, from the latest
    snapshot on or before the as-of day."""
    account = _account(request, account_id)
    as_of = queries.resolve_as_of(day=when.as_of, now=timezone.now())
    health = queries.account_health(account, queries.account_expectations(account), day=as_of.day)
    score = health.snapshot.score if health is not None else None
    return {
        "account": account.pk,
        "on": health.snapshot.on if health is not None else None,
        "as_of": as_of.instant,
        "score": score,
        "band": health_band(score),
        "trends": health.trends if health is not None else [],
        "contributions": health.contributions if health is not None else [],
    }


@router.get(
    "/accounts/{account_id}/health/history",
    response={200: HealthHistoryOut, READ_ERRORS: ErrorOut},
    tags=["health"],
)
def account_health_history(
    request: HttpRequest, account_id: Id, span: Query[HistoryIn]
) -> dict[str, object]:
    """The account's daily health scores, oldest first (at most 3 years at a time)."""
    account = _account(request, account_id)
    until = span.until or queries.resolve_as_of(day=None, now=timezone.now()).day
    since = span.since or until - timedelta(days=365)
    if since > until or (until - since).days > 3 * 366:
        raise ValidationError({"since": _("Choose a first day before the last, at most 3 years.")})
    days = account.health_snapshots.filter(on__gte=since, on__lte=until).order_by("on")
    return {"account": account.pk, "days": list(days.values("on", "score"))}


@router.get(
    "/accounts/{account_id}/kpis", response={200: KpisOut, READ_ERRORS: ErrorOut}, tags=["health"]
)
def account_kpis(request: HttpRequest, account_id: Id, when: Query[AsOfIn]) -> dict[str, object]:
    """The account's KPIs over 7, 30 and 90 days from the latest snapshot on or before the
    as-of day."""
    account = _account(request, account_id)
    as_of = queries.resolve_as_of(day=when.as_of, now=timezone.now())
    latest = list(
        account.kpi_snapshots.filter(on__lte=as_of.day).order_by("-on", "window_days")[:3]
    )
    on = latest[0].on if latest else None
    windows = {
        str(s.window_days): {k: v for k, v in s.values.items() if v is not None}
        for s in latest
        if s.on == on
    }
    return {"account": account.pk, "on": on, "windows": windows}


@router.get(
    "/accounts/{account_id}/expectations",
    response={200: list[ExpectationOut], READ_ERRORS: ErrorOut},
    tags=["health"],
)
def account_expectation_list(request: HttpRequest, account_id: Id) -> list[object]:
    """The standards the account is held to: its tier's, with its own thresholds."""
    return list(queries.account_expectations(_account(request, account_id)).values())
