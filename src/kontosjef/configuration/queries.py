"""Reads for the configuration pages: each list in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, OuterRef, Prefetch, QuerySet, Subquery, When
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
from kontosjef.cases.services import calendar_versions, sla_policy_versions

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
    calendar: Calendar
    current: CalendarVersion
    versions: list[CalendarVersion]
    tiers: list[TierUse] = field(default_factory=list)
    weekly: list[tuple[str, str]] = field(default_factory=list)  # (weekday, hours) for people
    now: datetime | None = None

    @property
    def coverage_ends(self) -> int | None:
        return int(self.current.coverage[1]) if self.current.coverage else None

    def is_stale(self, now: datetime) -> bool:
        """The holidays end before today: the calendar cannot measure new events."""
        ends = self.coverage_ends
        if ends is None:
            return False
        return ends < now.astimezone(ZoneInfo(self.current.time_zone)).year

    @property
    def stale(self) -> bool:
        return self.is_stale(self.now) if self.now else False


@dataclass
class PolicyRow:
    policy: SlaPolicy
    current: SlaPolicyVersion
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
            CalendarRow(calendar, versions[-1], versions, uses.get(calendar.pk, []), now=now)
        )
    return rows


def calendar_row(calendar: Calendar, *, now: datetime) -> CalendarRow:
    versions = calendar_versions(calendar)
    uses = _tier_uses("calendar_id").get(calendar.pk, [])
    return CalendarRow(calendar, versions[-1], versions, uses, now=now)


def policies() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.annotate(
        override_count=_override_count("sla_policy")
    ).prefetch_related(Prefetch("versions", queryset=SlaPolicyVersion.objects.all()))


def policy_rows(page: Any) -> list[PolicyRow]:
    uses = _tier_uses("policy_id")
    rows = []
    for policy in page:
        versions = sla_policy_versions(policy)
        rows.append(PolicyRow(policy, versions[-1], versions, uses.get(policy.pk, [])))
    return rows


def policy_row(policy: SlaPolicy) -> PolicyRow:
    versions = sla_policy_versions(policy)
    return PolicyRow(policy, versions[-1], versions, _tier_uses("policy_id").get(policy.pk, []))


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
