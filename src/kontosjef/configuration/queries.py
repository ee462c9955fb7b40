"""Reads for the configuration pages: each list in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce

from kontosjef.accounts.models import Account, Expectation
from kontosjef.cases.models import (
    Calendar,
    CalendarVersion,
    Metric,
    Priority,
    SlaPolicy,
    SlaPolicyVersion,
    TierSla,
)
from kontosjef.cases.models import Case as SupportCase
from kontosjef.cases.services import calendar_versions, sla_policy_versions
from kontosjef.people.models import Department, User
from kontosjef.people.services import INTEGRATION_SOURCE

WEEKDAYS = range(7)


def _override_count(field_name: str) -> Coalesce:
    counts = (
        Account.objects.filter(**{field_name: OuterRef("pk")})
        .order_by()
        .values(field_name)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts), 0)


@dataclass
class TierUse:
    """A tier that uses a calendar or policy, and how many of its accounts do (no override)."""

    tier: str
    label: str
    accounts: int


@dataclass
class CalendarRow:
    """A calendar for the pages. `current` is None for a calendar without versions (created by
    name in the admin): it has no hours yet."""

    calendar: Calendar
    current: CalendarVersion | None
    versions: list[CalendarVersion]
    tiers: list[TierUse] = field(default_factory=list)
    weekly: list[tuple[str, str]] = field(default_factory=list)  # (weekday, hours) for people
    now: datetime | None = None

    @property
    def coverage_ends(self) -> int | None:
        if self.current is None or not self.current.coverage:
            return None
        return int(self.current.coverage[1])

    def is_stale(self, now: datetime) -> bool:
        """The holidays end before today: the calendar cannot measure new events."""
        ends = self.coverage_ends
        if ends is None or self.current is None:
            return False
        return ends < now.astimezone(ZoneInfo(self.current.time_zone)).year

    @property
    def stale(self) -> bool:
        return self.is_stale(self.now) if self.now else False


@dataclass
class PolicyRow:
    """A policy for the pages. `current` is None for a policy without versions (created by name
    in the admin): it has no targets yet."""

    policy: SlaPolicy
    current: SlaPolicyVersion | None
    versions: list[SlaPolicyVersion]
    tiers: list[TierUse] = field(default_factory=list)
    grid: list[dict[str, Any]] = field(default_factory=list)  # `target_grid` of the current


def _tier_uses(attname: str) -> dict[int, list[TierUse]]:
    """Calendar or policy id → the tiers using it, with their accounts without an override."""
    override = "calendar" if attname == "calendar_id" else "sla_policy"
    per_tier = dict(
        Account.objects.filter(**{override: None})
        .order_by()
        .values("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    )
    labels = dict(Account.Tier.choices)
    uses: dict[int, list[TierUse]] = defaultdict(list)
    for tier_sla in TierSla.objects.order_by("tier"):
        key = getattr(tier_sla, attname)
        if key is not None:
            tier = tier_sla.tier
            uses[key].append(TierUse(tier, str(labels.get(tier, tier)), per_tier.get(tier, 0)))
    return uses


def calendars() -> QuerySet[Calendar]:
    return Calendar.objects.annotate(override_count=_override_count("calendar")).prefetch_related(
        Prefetch("versions", queryset=CalendarVersion.objects.all())
    )


def calendar_rows(page: Any, *, now: datetime) -> list[CalendarRow]:
    """Rows for a page of `calendars()`."""
    uses = _tier_uses("calendar_id")
    rows = []
    for calendar in page:
        versions = calendar_versions(calendar)
        rows.append(
            CalendarRow(calendar, _last(versions), versions, uses.get(calendar.pk, []), now=now)
        )
    return rows


def _last[V](versions: list[V]) -> V | None:
    return versions[-1] if versions else None


def calendar_row(calendar: Calendar, *, now: datetime) -> CalendarRow:
    versions = calendar_versions(calendar)
    uses = _tier_uses("calendar_id").get(calendar.pk, [])
    return CalendarRow(calendar, _last(versions), versions, uses, now=now)


def policies() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.annotate(
        override_count=_override_count("sla_policy")
    ).prefetch_related(Prefetch("versions", queryset=SlaPolicyVersion.objects.all()))


def policy_rows(page: Any) -> list[PolicyRow]:
    uses = _tier_uses("policy_id")
    rows = []
    for policy in page:
        versions = sla_policy_versions(policy)
        rows.append(PolicyRow(policy, _last(versions), versions, uses.get(policy.pk, [])))
    return rows


def policy_row(policy: SlaPolicy) -> PolicyRow:
    versions = sla_policy_versions(policy)
    uses = _tier_uses("policy_id").get(policy.pk, [])
    return PolicyRow(policy, _last(versions), versions, uses)


def target_grid(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The metrics of a policy version as rows: label, targets in P1..P4 order (seconds or
    None), business hours, warning. Metrics the version does not measure are left out."""
    rows = []
    for metric in Metric:
        spec = metrics.get(metric.value)
        if not spec:
            continue
        targets = spec.get("targets", {})
        rows.append(
            {
                "metric": metric.value,
                "label": metric.label,
                "targets": [targets.get(p.value) for p in Priority],
                "business_hours": spec.get("business_hours", True),
                "warn_at_fraction": spec.get("warn_at_fraction"),
                "warn_before_s": spec.get("warn_before_s"),
                "running": spec.get("running"),
            }
        )
    return rows


def tier_expectations(tier: str = "") -> QuerySet[Expectation]:
    """Tier defaults, tiers in their own order (strategic first), then by name."""
    order = Case(
        *(When(tier=value, then=i) for i, value in enumerate(Account.Tier.values)), default=99
    )
    qs = Expectation.objects.filter(tier__isnull=False).order_by(order, "name")
    return qs.filter(tier=tier) if tier else qs


def account_overrides() -> QuerySet[Expectation]:
    return (
        Expectation.objects.filter(account__isnull=False)
        .select_related("account")
        .order_by("account__name", "code")
    )


# Tiers and accounts -------------------------------------------------------------------------------


@dataclass
class TierRow:
    """A tier, the policy and calendar its accounts use, and how many accounts it has."""

    tier: str
    label: str
    tier_sla: TierSla | None
    accounts: int  # every account of the tier
    own_policy: int  # of which with a policy of their own

    @property
    def without_clocks(self) -> int:
        """Accounts that get no SLA clocks: no tier policy and none of their own."""
        return 0 if self.tier_sla else self.accounts - self.own_policy


def tier_rows() -> list[TierRow]:
    """Every tier, in the tiers' own order (strategic first), in two queries."""
    counts = {
        tier: (n, own)
        for tier, n, own in Account.objects.order_by()
        .values("tier")
        .annotate(n=Count("pk"), own=Count("pk", filter=Q(sla_policy__isnull=False)))
        .values_list("tier", "n", "own")
    }
    slas = {t.tier: t for t in TierSla.objects.select_related("policy", "calendar")}
    return [
        TierRow(value, str(label), slas.get(value), *counts.get(value, (0, 0)))
        for value, label in Account.Tier.choices
    ]


def accounts_with_own_sla() -> QuerySet[Account]:
    """Accounts with a policy or calendar of their own, by name."""
    return (
        Account.objects.filter(Q(sla_policy__isnull=False) | Q(calendar__isnull=False))
        .select_related("sla_policy", "calendar")
        .order_by("name", "pk")
    )


def account_search(query: str, *, limit: int = 20) -> list[Account]:
    """Accounts whose name contains `query`, for choosing one to give its own SLA."""
    if not query:
        return []
    return list(
        Account.objects.filter(name__icontains=query)
        .select_related("sla_policy", "calendar")
        .order_by("name", "pk")[:limit]
    )


# People and departments ---------------------------------------------------------------------------


def people(
    *, q: str = "", role: str = "", department: Department | None = None, active: str = ""
) -> QuerySet[User]:
    """Employees for the People page: active ones unless `active` is "inactive" or "all"."""
    users = User.objects.select_related("department").order_by("username")
    if active == "inactive":
        users = users.filter(is_active=False)
    elif active != "all":
        users = users.filter(is_active=True)
    if role:
        users = users.filter(role=role)
    if department is not None:
        users = users.filter(department=department)
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    return users


def departments() -> QuerySet[Department]:
    """Departments by name, with their number of active members."""
    return Department.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    ).order_by("name")


# First-run guidance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    """One step of setting up a fresh install: done or not, with what it found."""

    key: str
    done: bool
    count: int = 0  # what there is so far (people, tiers without a policy, ...)


def _count(queryset: QuerySet[Any]) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY needed)."""
    return Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1])


def setup_steps(user: User) -> list[SetupStep]:
    """The first-run steps in order: departments and people, a calendar, an SLA policy, the
    tiers' policies, expectations, data. One query; `user` is any existing row to hang the
    subqueries on (the reader)."""
    tiers = Account.Tier.values
    facts = (
        User.objects.filter(pk=user.pk)
        .annotate(
            departments=_count(Department.objects.all()),
            people=_count(
                User.objects.filter(is_active=True)
                .exclude(role=User.Role.ADMIN)
                .exclude(external_source=INTEGRATION_SOURCE)
            ),
            calendars=_count(Calendar.objects.filter(Exists(CalendarVersion.objects.filter(
                calendar=OuterRef("pk"))))),
            policies=_count(SlaPolicy.objects.filter(Exists(SlaPolicyVersion.objects.filter(
                policy=OuterRef("pk"))))),
            tiers=_count(TierSla.objects.all()),
            unmeasured=_count(
                Account.objects.filter(sla_policy=None).exclude(
                    tier__in=TierSla.objects.values("tier")
                )
            ),
            expectation_tiers=Subquery(
                Expectation.objects.filter(tier__in=tiers, is_active=True)
                .order_by()
                .annotate(n=Func(F("tier"), template="COUNT(DISTINCT %(expressions)s)"))
                .values("n")[:1]
            ),
            cases=_count(SupportCase.objects.all()),
        )
        .values(
            "departments", "people", "calendars", "policies", "tiers", "unmeasured",
            "expectation_tiers", "cases",
        )
        .get()
    )  # fmt: skip
    return [
        SetupStep("people", facts["departments"] > 0 and facts["people"] > 0, facts["people"]),
        SetupStep("calendar", facts["calendars"] > 0, facts["calendars"]),
        SetupStep("policy", facts["policies"] > 0, facts["policies"]),
        SetupStep("tiers", facts["tiers"] > 0 and facts["unmeasured"] == 0, facts["unmeasured"]),
        SetupStep("expectations", facts["expectation_tiers"] == len(tiers)),
        SetupStep("data", facts["cases"] > 0, facts["cases"]),
    ]


def setup_guide(user: User) -> list[SetupStep] | None:
    """The first-run steps for an administrator or manager, or None: for everyone else, and
    once every step is done."""
    if not user.is_manager_or_admin:
        return None
    steps = setup_steps(user)
    return None if all(step.done for step in steps) else steps
