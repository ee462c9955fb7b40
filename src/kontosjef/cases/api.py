"""Cases and their events over the API, and the inbound webhook for external case events.

Every change goes through the same services as the UI (`case_open`, `case_reply`,
`case_add_note`, `case_change_status`, `case_change_priority`, `case_hand_off`); a change names
the `expected_version` the caller last saw and gets 409 if someone else changed the case since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Body, Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status as Answer
from pydantic import AfterValidator, ConfigDict, model_validator

from kontosjef.accounts.models import Contact, Product
from kontosjef.accounts.queries import resolve_as_of
from kontosjef.api.auth import WebhookSignature, user_of
from kontosjef.api.lookups import referenced, referenced_or_none
from kontosjef.api.pagination import Order, paginate
from kontosjef.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Email,
    ErrorOut,
    ExternalId,
    FilterIn,
    Id,
    LongText,
    Message,
    Moment,
    PageIn,
    Search,
    Source,
    storable,
)
from kontosjef.cases import handling, services
from kontosjef.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseQuerySet,
    Channel,
    Priority,
    Status,
)
from kontosjef.people import access
from kontosjef.people.models import Department, User
from kontosjef.people.services import integration_user

router = Router(tags=["cases"])
webhooks_router = Router(tags=["webhooks"])

# Case.version and CaseEvent.seq are 32-bit columns on PostgreSQL.
MAX_VERSION = 2**31 - 1

Subject = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(storable)]
UserName = Annotated[str, Field(max_length=150), AfterValidator(storable)]


class CaseOut(Schema):
    id: int
    account: int = Field(alias="account_id")
    requester: int | None = Field(None, alias="requester_id")
    subject: str
    description: str
    priority: Priority
    status: Status
    department: int | None = Field(None, alias="department_id")
    assignee: int | None = Field(None, alias="assignee_id")
    product: int | None = Field(None, alias="product_id")
    channel: Channel
    external_source: str
    external_id: str
    opened_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    last_event_at: datetime
    reopen_count: int
    version: int = Field(description="Send it back as `expected_version` with a change.")


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseFilter(FilterIn):
    account: Id | None = None
    status: list[Status] | None = Field(None, description="One or more statuses.")
    priority: list[Priority] | None = Field(None, description="One or more priorities.")
    department: Id | None = None
    assignee: Id | None = None
    requester: Id | None = None
    product: Id | None = None
    is_open: bool | None = Field(None, description="Only open (true) or solved/closed cases.")
    opened_after: Moment | None = None
    opened_before: Moment | None = None
    updated_after: Moment | None = Field(None, description="Cases with an event after this time.")
    q: Search | None = Field(None, description="Part of the subject.")
    external_source: Source | None = None
    external_id: ExternalId | None = None
    sort: Literal["-opened_at", "opened_at", "-last_event_at", "last_event_at"] = Field(
        "-opened_at",
        description="Newest first by default; `last_event_at` with `updated_after` to sync.",
    )


class CaseIn(Schema):
    account: Id
    subject: Subject
    description: LongText = ""
    priority: Priority = Priority.P3
    channel: Channel = Channel.API
    requester: Id | None = None
    department: Id | None = None
    assignee: Id | None = None
    product: Id | None = None
    opened_by_customer: bool = Field(
        False, description="The requester opened it: the description is their first message."
    )
    external_source: Source = ""
    external_id: ExternalId = ""


class CaseEventOut(Schema):
    id: int
    case: int = Field(alias="case_id")
    seq: int
    at: datetime
    kind: CaseEvent.Kind
    actor_kind: CaseEvent.Actor
    actor_user: int | None = Field(None, alias="actor_user_id")
    actor_contact: int | None = Field(None, alias="actor_contact_id")
    is_public: bool
    from_value: str
    to_value: str
    department: int | None = Field(None, alias="department_id")
    assignee: int | None = Field(None, alias="assignee_id")
    body: str
    external_id: str


class CaseEventPage(Schema):
    items: list[CaseEventOut]
    next_cursor: str | None


class CaseChangeOut(Schema):
    case: CaseOut
    events: list[CaseEventOut]


class _Change(Schema):
    expected_version: int = Field(
        ge=1, le=MAX_VERSION, description="The case's `version` when you read it."
    )


class ReplyIn(_Change):
    kind: Literal["reply"]
    body: Message
    as_contact: Id | None = Field(None, description="Record a reply the customer contact sent.")
    then_status: Status | None = Field(None, description="Set this status in the same step.")


class NoteIn(_Change):
    kind: Literal["note"]
    body: Message


class StatusIn(_Change):
    kind: Literal["status"]
    to: Status
    reason: LongText = ""


class PriorityIn(_Change):
    kind: Literal["priority"]
    to: Priority
    reason: LongText = ""


class HandoffIn(_Change):
    kind: Literal["handoff"]
    department: Id | None = None
    assignee: Id | None = None
    reason: Message


CaseEventIn = Annotated[
    ReplyIn | NoteIn | StatusIn | PriorityIn | HandoffIn, Field(discriminator="kind")
]


def _cases(request: HttpRequest) -> CaseQuerySet:
    return access.readable_cases(user_of(request))


@router.get("/cases", response={200: CasePage, READ_ERRORS: ErrorOut})
def case_list(
    request: HttpRequest, filters: Query[CaseFilter], page: Query[PageIn]
) -> dict[str, object]:
    """Cases the caller may read: an agent sees their department's cases, a TAM their
    portfolio's, others all."""
    cases = _cases(request)
    exact = {
        "account_id": filters.account,
        "department_id": filters.department,
        "assignee_id": filters.assignee,
        "requester_id": filters.requester,
        "product_id": filters.product,
    }
    cases = cases.filter(**{name: value for name, value in exact.items() if value is not None})
    if filters.status:
        cases = cases.filter(status__in=filters.status)
    if filters.priority:
        cases = cases.filter(priority__in=filters.priority)
    if filters.is_open is True:
        cases = cases.open()
    elif filters.is_open is False:
        cases = cases.exclude(status__in=OPEN_STATUSES)
    if filters.opened_after:
        cases = cases.filter(opened_at__gt=filters.opened_after)
    if filters.opened_before:
        cases = cases.filter(opened_at__lt=filters.opened_before)
    if filters.updated_after:
        cases = cases.filter(last_event_at__gt=filters.updated_after)
    if filters.q:
        cases = cases.filter(subject__icontains=filters.q)
    if filters.external_source is not None:
        cases = cases.filter(external_source=filters.external_source)
    if filters.external_id is not None:
        cases = cases.filter(external_id=filters.external_id)
    order = Order(filters.sort.lstrip("-"), descending=filters.sort.startswith("-"))
    return paginate(cases, page, order)


@router.post("/cases", response={201: CaseOut, WRITE_ERRORS: ErrorOut})
def case_open(request: HttpRequest, payload: CaseIn) -> Answer[Case]:
    """Open a case (the account's TAM, managers; an agent for their own department)."""
    by = user_of(request)
    account = referenced(access.case_intake_accounts(by), payload.account, "account")
    case = services.case_open(
        account=account,
        by=by,
        subject=payload.subject,
        now=timezone.now(),
        priority=payload.priority,
        channel=payload.channel,
        description=payload.description,
        requester=referenced_or_none(
            Contact.objects.filter(account=account), payload.requester, "requester"
        ),
        department=referenced_or_none(Department.objects.all(), payload.department, "department"),
        assignee=referenced_or_none(User.objects.all(), payload.assignee, "assignee"),
        product=referenced_or_none(Product.objects.all(), payload.product, "product"),
        opened_by_customer=payload.opened_by_customer,
        external_source=payload.external_source,
        external_id=payload.external_id,
    )
    return Answer(201, case)


@router.get("/cases/{case_id}", response={200: CaseOut, READ_ERRORS: ErrorOut})
def case_detail(request: HttpRequest, case_id: Id) -> Case:
    return get_object_or_404(_cases(request), pk=case_id)


@router.get("/cases/{case_id}/events", response={200: CaseEventPage, READ_ERRORS: ErrorOut})
def case_event_list(request: HttpRequest, case_id: Id, page: Query[PageIn]) -> dict[str, object]:
    """The case's history, oldest first."""
    case = get_object_or_404(_cases(request), pk=case_id)
    return paginate(CaseEvent.objects.filter(case=case), page, Order("seq"))


@router.post("/cases/{case_id}/events", response={201: CaseChangeOut, WRITE_ERRORS: ErrorOut})
def case_event_append(
    request: HttpRequest, case_id: Id, payload: Body[CaseEventIn]
) -> Answer[dict[str, object]]:
    """Change a case by appending an event: a public reply, an internal note, a status or
    priority change, or a hand-off. Answers the case as it is now and the events written."""
    by = user_of(request)
    case = get_object_or_404(_cases(request).select_related("account"), pk=case_id)
    now = timezone.now()
    version = payload.expected_version
    events: list[CaseEvent]
    if isinstance(payload, ReplyIn):
        events = services.case_reply(
            case=case,
            by=by,
            body=payload.body,
            now=now,
            expected_version=version,
            as_contact=referenced_or_none(
                Contact.objects.filter(account_id=case.account_id), payload.as_contact, "as_contact"
            ),
            then_status=payload.then_status,
        )
    elif isinstance(payload, NoteIn):
        events = [
            services.case_add_note(
                case=case, by=by, body=payload.body, now=now, expected_version=version
            )
        ]
    elif isinstance(payload, StatusIn):
        events = [
            services.case_change_status(
                case=case,
                by=by,
                to=payload.to,
                now=now,
                expected_version=version,
                reason=payload.reason,
            )
        ]
    elif isinstance(payload, PriorityIn):
        events = [
            services.case_change_priority(
                case=case,
                by=by,
                to=payload.to,
                now=now,
                expected_version=version,
                reason=payload.reason,
            )
        ]
    else:
        events = [
            services.case_hand_off(
                case=case,
                by=by,
                reason=payload.reason,
                now=now,
                expected_version=version,
                department=referenced_or_none(
                    Department.objects.all(), payload.department, "department"
                ),
                assignee=referenced_or_none(User.objects.all(), payload.assignee, "assignee"),
            )
        ]
    return Answer(201, {"case": case, "events": events})


# The inbound webhook ------------------------------------------------------------------------


class CaseAddress(Schema):
    id: Id | None = Field(None, description="Kontosjef's case id …")
    external_source: Source | None = Field(
        None, description="… or the source (default: the event's `source`) …"
    )
    external_id: ExternalId | None = Field(None, description="… and the source's case id.")

    @model_validator(mode="after")
    def _one_way(self) -> CaseAddress:
        if self.id is not None and (self.external_id or self.external_source):
            raise ValueError(_("Address the case by id or by external id, not both."))
        if self.id is None and not self.external_id:
            raise ValueError(_("Address the case by id, or by external_id (and external_source)."))
        return self


class WebhookEventIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": "zendesk",
                    "event_id": "evt-1001",
                    "case": {"id": 1},
                    "kind": "note",
                    "body": "The customer called about this.",
                },
                {
                    "source": "zendesk",
                    "event_id": "evt-1002",
                    "case": {"external_source": "zendesk", "external_id": "Z-4711"},
                    "kind": "status",
                    "to": "waiting_on_customer",
                },
            ]
        }
    )

    source: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="The sending integration (lower-case slug); events are recorded as its user.",
    )
    event_id: str = Field(
        min_length=1,
        max_length=150,
        pattern=r"^[\x21-\x7e]+$",
        description="The sender's id of the event, unique per case: a repeat is not recorded.",
    )
    case: CaseAddress
    kind: Literal["reply", "note", "status", "priority", "handoff"]
    body: LongText = Field("", description="Reply or note text.")
    contact_email: Email | None = Field(
        None, description="A reply from this contact of the case's account."
    )
    to: Source | None = Field(None, description="New status or priority.")
    reason: LongText = ""
    department: Source | None = Field(None, description="Hand-off: department code.")
    assignee: UserName | None = Field(None, description="Hand-off: user name.")


# A webhook knows nothing of versions; if a person changes the case in the same instant, read it
# again and retry a few times before answering 409.
WEBHOOK_ATTEMPTS = 3


@webhooks_router.post(
    "/webhooks/case-events",
    auth=WebhookSignature(),
    response={
        200: CaseChangeOut,
        201: CaseChangeOut,
        frozenset({400, 401, 403, 404, 409, 413, 422, 503}): ErrorOut,
    },
)
def case_event_receive(request: HttpRequest, payload: WebhookEventIn) -> Answer[dict[str, object]]:
    """Record a case event another system sends, signed with the shared secret.

    Idempotent by (`source`, `event_id`): a repeat answers 200 with the event recorded the first
    time and writes nothing; a new event answers 201.
    """
    case = _addressed_case(payload.case, payload.source)
    # Namespaced by source: two integrations may use the same event ids on one case.
    external_id = f"{payload.source}:{payload.event_id}"
    write = None
    for attempt in range(WEBHOOK_ATTEMPTS):
        seen = CaseEvent.objects.filter(case=case, external_id=external_id).first()
        if seen is not None:
            return Answer(200, {"case": case, "events": [seen]})
        # Read the clock on every attempt: the event that won the race may be later than the
        # first reading, and a case's events may not go back in time.
        now = timezone.now()
        if write is None:
            by = integration_user(source=payload.source, now=now)
            write = _webhook_write(payload, case, by, external_id)
        try:
            events = write(case.version, now)
        except services.CaseConflict:
            # The service reloaded `case`; a concurrent delivery of this very event shows up as
            # `seen` on the next round.
            if attempt == WEBHOOK_ATTEMPTS - 1:
                raise
            continue
        return Answer(201, {"case": case, "events": events})
    raise HttpError(409, _("The case kept changing; deliver the event again."))


def _addressed_case(address: CaseAddress, source: str) -> Case:
    if address.id is not None:
        return get_object_or_404(Case.objects.select_related("account"), pk=address.id)
    return get_object_or_404(
        Case.objects.select_related("account"),
        external_source=address.external_source or source,
        external_id=address.external_id,
    )


def _webhook_write(
    payload: WebhookEventIn, case: Case, by: User, external_id: str
) -> Callable[[int, datetime], list[CaseEvent]]:
    """The service call the event's kind maps to, waiting for the version to claim and the
    time."""
    kind = payload.kind
    if kind == "reply":
        contact = None
        if payload.contact_email:
            contact = Contact.objects.filter(
                account_id=case.account_id, email__iexact=payload.contact_email
            ).first()
            if contact is None:
                raise ValidationError(
                    {"contact_email": _("The case's account has no contact with this address.")}
                )
        return lambda version, now: services.case_reply(
            case=case,
            by=by,
            body=payload.body,
            now=now,
            expected_version=version,
            as_contact=contact,
            external_id=external_id,
        )
    if kind == "note":
        return lambda version, now: [
            services.case_add_note(
                case=case,
                by=by,
                body=payload.body,
                now=now,
                expected_version=version,
                external_id=external_id,
            )
        ]
    if kind in ("status", "priority"):
        change = services.case_change_status if kind == "status" else services.case_change_priority
        return lambda version, now: [
            change(
                case=case,
                by=by,
                to=payload.to or "",
                now=now,
                expected_version=version,
                reason=payload.reason,
                external_id=external_id,
            )
        ]
    department = None
    if payload.department:
        department = Department.objects.filter(code=payload.department).first()
        if department is None:
            raise ValidationError({"department": _("There is no department with this code.")})
    assignee = None
    if payload.assignee:
        assignee = User.objects.filter(username=payload.assignee).first()
        if assignee is None:
            raise ValidationError({"assignee": _("There is no user with this user name.")})
    return lambda version, now: [
        services.case_hand_off(
            case=case,
            by=by,
            reason=payload.reason,
            now=now,
            expected_version=version,
            department=department,
            assignee=assignee,
            external_id=external_id,
        )
    ]


# Handling review ----------------------------------------------------------------------------------


class HandlingIn(Schema):
    days: int = Field(90, ge=1, le=730, description="Window length: cases opened in these days.")
    as_of: date | None = Field(
        None, description="Last day of the window (default: today, or the data's last day)."
    )


class FindingOut(Schema):
    key: str
    kind: Literal["handling", "outcome"]
    theme: str
    label: str
    text: str
    department: str
    value: float
    norm: float
    percentile: float
    ratio: float
    peers: int
    is_unusual: bool


class HolderOut(Schema):
    id: int | None
    name: str
    department: str
    open_seconds: int
    waiting_seconds: int
    share: float
    cases: int
    handoffs_in: int
    returns_in: int
    reply_median_seconds: int | None
    breaches: int
    norm_share: float | None
    percentile: float | None


class CountOut(Schema):
    name: str
    count: int


class HandoffRouteOut(Schema):
    from_department: str
    to_department: str
    count: int
    returns: int
    reply_median_seconds: int | None
    reasons: list[CountOut]


class VariantOut(Schema):
    path: list[str]
    cases: int
    share: float
    resolved: int
    reopened: int
    breached: int
    open_median_seconds: int | None


class HandledCaseOut(Schema):
    id: int
    subject: str
    handoffs: int
    department_returns: int
    person_returns: int
    reopens: int
    waits: int
    breaches: int
    open_seconds: int
    first_touch_seconds: int | None
    is_resolved: bool


class HandlingOut(Schema):
    account: int
    tier: str
    window_start: datetime
    window_end: datetime
    tier_accounts: int
    peers: int
    cases: int
    resolved: int
    handoffs: int
    department_returns: int
    person_returns: int
    reopens: int
    waits: int
    breaches: int
    open_seconds: int
    waiting_seconds: int
    measured_around_the_clock: bool
    top_findings: list[FindingOut]
    top_outcomes: list[FindingOut]
    findings: list[FindingOut]
    departments: list[HolderOut]
    people: list[HolderOut]
    handoff_routes: list[HandoffRouteOut]
    reasons: list[CountOut]
    variants: list[VariantOut]
    top_cases: list[HandledCaseOut]
    breaches_by_metric: list[CountOut]


def _counts(pairs: list[tuple[str, int]]) -> list[dict[str, object]]:
    return [{"name": name, "count": n} for name, n in pairs]


@router.get(
    "/accounts/{account_id}/handling",
    response={200: HandlingOut, READ_ERRORS: ErrorOut},
    tags=["accounts"],
)
def account_handling(
    request: HttpRequest, account_id: Id, params: Query[HandlingIn]
) -> dict[str, object]:
    """The handling review of an account: hand-offs, ping-pong, business time per department and
    person, reopens, breaches by holder and the most common paths, against the tier's norm
    (see docs/interventions.md). Agents get 403."""
    user = user_of(request)
    account = get_object_or_404(access.readable_accounts(user), pk=account_id)
    as_of = resolve_as_of(day=params.as_of, now=timezone.now())
    window = handling.Window(start=as_of.instant - timedelta(days=params.days), end=as_of.instant)
    review = handling.handling_review(user, account, window)
    return {
        **{
            name: getattr(review, name)
            for name in (
                "tier", "tier_accounts", "peers", "cases", "resolved", "handoffs",
                "department_returns", "person_returns", "reopens", "waits", "breaches",
                "open_seconds", "waiting_seconds", "measured_around_the_clock", "top_findings",
                "top_outcomes", "findings", "departments", "people", "variants", "top_cases",
            )
        },
        "account": account.pk,
        "window_start": window.start,
        "window_end": window.end,
        "handoff_routes": [
            {**vars(r), "reasons": _counts(r.reasons)} for r in review.handoff_routes
        ],
        "reasons": _counts(review.reasons),
        "breaches_by_metric": _counts(review.breaches_by_metric),
    }  # fmt: skip
