from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import formats
from django.utils.functional import Promise
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kontosjef.accounts.health import (
    HEALTHY_FROM,
    TREND_WINDOWS,
    WATCH_FROM,
    WINDOWS,
    data_as_of,
    end_of_day,
    health_band,
    last_activity,
    snapshot_day,
)
from kontosjef.accounts.models import (
    Account,
    AccountQuerySet,
    Contact,
    Expectation,
    HealthSnapshot,
    KpiSnapshot,
    TamAssignment,
)
from kontosjef.attention.models import AttentionItem
from kontosjef.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseQuerySet,
    MetricCycle,
    Priority,
    Status,
)
from kontosjef.people import access
from kontosjef.people.models import Department, User
from kontosjef.people.services import INTEGRATION_SOURCE

# As of when ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AsOf:
    """The instant a page's figures are as of: now, the end of a day the reader chose, or the end
    of the data's last day of activity when the data stopped long ago (`health.data_as_of`)."""

    instant: datetime
    is_now: bool
    chosen: bool
    last_activity: datetime | None

    @property
    def day(self) -> date:
        return snapshot_day(self.instant)

    @property
    def is_data_end(self) -> bool:
        """Figures as of the data's last day because nothing happened since."""
        return not self.is_now and not self.chosen


def resolve_as_of(*, day: date | None, now: datetime) -> AsOf:
    """The as-of instant for a page: the end of `day` if given (never after now), else now or
    the end of the data's last day of activity, whichever `data_as_of` picks."""
    last = last_activity()
    if day is not None and day < now.date():
        return AsOf(instant=end_of_day(day), is_now=False, chosen=True, last_activity=last)
    if day is not None:
        return AsOf(instant=now, is_now=True, chosen=True, last_activity=last)
    instant = data_as_of(now, last=last)
    return AsOf(instant=instant, is_now=instant == now, chosen=False, last_activity=last)


# Portfolio ---------------------------------------------------------------------------------------

PORTFOLIO_PAGE_SIZE = 50
SPARKLINE_DAYS = 30
# The SLA columns read this window of the latest KpiSnapshot (the 30-day expectations' window).
ATTAINMENT_WINDOW_DAYS = 30
# A health trend (points per day) that moves the score by less than this over its window is
# flat: 0.1 points a day over 30 days, 0.03 over 90, less than 0.01 over a year.
TREND_FLAT_POINTS = 3.0


def trend_direction(trend: float | None, days: int) -> str:
    """up, down or flat (also without a trend) for a slope over `days` days."""
    if trend is None or abs(trend) * days < TREND_FLAT_POINTS:
        return "flat"
    return "up" if trend > 0 else "down"


def trend_text(trend: float | None) -> str:
    """A trend in points per day, signed and localised ("+0.4", "−1.25"), or ""."""
    if trend is None:
        return ""
    sign = "+" if trend > 0 else "−" if trend < 0 else ""
    digits = 1 if abs(trend) >= 0.1 else 2
    return sign + formats.number_format(abs(trend), digits)


# Sort key → (annotation, descending on the first click). A first click shows the worst first:
# low health, a falling trend, many items, low attainment, a big backlog, the oldest contact.
PORTFOLIO_SORTS: dict[str, tuple[str, bool]] = {
    "name": ("name", False),
    "health": ("health", False),
    "trend": ("trend", False),
    "items": ("open_items", True),
    "attainment": ("frt_attainment", False),
    "resolution": ("trt_attainment", False),
    "backlog": ("open_cases", True),
    "contact": ("last_contact_at", False),
}
DEFAULT_PORTFOLIO_SORT = "health"
LAST_CONTACT_RECENT_DAYS = timedelta(days=14)
UNASSIGNED = "none"


@dataclass(frozen=True)
class PortfolioFilter:
    """What the portfolio lists. `tam` narrows to one TAM's accounts, `unassigned` to accounts
    without a TAM; `band` is a `health_band` name; `sort` a `PORTFOLIO_SORTS` key, "-" in front
    for the other direction."""

    tam: User | None = None
    unassigned: bool = False
    tier: str = ""
    band: str = ""
    has_items: bool = False
    search: str = ""
    sort: str = DEFAULT_PORTFOLIO_SORT
    trend_days: int = TREND_WINDOWS[0]


def _count(qs: QuerySet[Any]) -> Coalesce:
    return Coalesce(
        Subquery(qs.order_by().values("account_id").annotate(n=Count("pk")).values("n")[:1]),
        Value(0),
    )


TREND_FIELDS = {30: "trend", 90: "trend_90", 365: "trend_365"}


def _kpi(name: str, day: date) -> Subquery:
    latest = KpiSnapshot.objects.filter(
        account=OuterRef("pk"), window_days=ATTAINMENT_WINDOW_DAYS, on__lte=day
    ).order_by("-on")
    # SQLite's KT gives the text "null" for a JSON null (no data), PostgreSQL's gives NULL.
    value = NullIf(KT(f"values__{name}"), Value("null"))
    return Subquery(latest.annotate(v=Cast(value, FloatField())).values("v")[:1])


def portfolio_accounts(user: User, f: PortfolioFilter, *, as_of: AsOf) -> AccountQuerySet:
    """The portfolio's accounts, filtered and sorted, each annotated with its health score and
    trend (`f.trend_days`) of the latest snapshot up to the as-of day, active attention items,
    first-reply and resolution attainment over 30 days (same snapshot day), open cases (now, or
    at the as-of day from its snapshot) and last contact: the newest public event on any of its
    cases (a public reply from either side, or a case the customer opened with a message)."""
    now, day = as_of.instant, as_of.day
    qs = access.readable_accounts(user)
    if f.tam is not None:
        qs = qs.in_portfolio_of(f.tam)
    if f.unassigned:
        qs = qs.without_tam()
    if f.tier:
        qs = qs.filter(tier=f.tier)
    if f.search:
        qs = qs.filter(name__icontains=f.search)
    latest_health = HealthSnapshot.objects.filter(account=OuterRef("pk"), on__lte=day).order_by(
        "-on"
    )
    trend = TREND_FIELDS.get(f.trend_days, "trend")
    open_cases = (
        _count(Case.objects.open().filter(account=OuterRef("pk")))
        if as_of.is_now
        else Cast(Coalesce(_kpi("backlog_count", day), Value(0.0)), IntegerField())
    )
    qs = qs.annotate(
        health=Subquery(latest_health.values("score")[:1]),
        trend=Subquery(latest_health.values(trend)[:1]),
        open_items=_count(AttentionItem.objects.active().filter(account=OuterRef("pk"))),
        open_cases=open_cases,
        frt_attainment=_kpi("frt_attainment", day),
        trt_attainment=_kpi("trt_attainment", day),
    )
    if f.band == "healthy":
        qs = qs.filter(health__gte=HEALTHY_FROM)
    elif f.band == "watch":
        qs = qs.filter(health__gte=WATCH_FROM, health__lt=HEALTHY_FROM)
    elif f.band == "at_risk":
        qs = qs.filter(health__lt=WATCH_FROM)
    elif f.band == "unknown":
        qs = qs.filter(health=None)
    if f.has_items:
        qs = qs.filter(open_items__gt=0)
    key = f.sort.removeprefix("-")
    if key == "contact":
        # Only to sort by it: `portfolio_rows` reads it for the page's accounts alone.
        qs = qs.annotate(last_contact_at=_last_contact(now))
    column = F(PORTFOLIO_SORTS.get(key, PORTFOLIO_SORTS[DEFAULT_PORTFOLIO_SORT])[0])
    order = column.desc(nulls_last=True) if f.sort.startswith("-") else column.asc(nulls_last=True)
    return qs.with_current_tam().order_by(order, "name", "pk")


@dataclass(frozen=True)
class PortfolioSummary:
    accounts: int
    at_risk: int
    open_items: int
    open_cases: int


def _last_contact(now: datetime) -> Coalesce:
    """An account's last contact with the customer: its newest public event, i.e. a public reply
    from either side or a case the customer opened with a message (internal notes and status
    changes are not contact).

    The cases active in the last LAST_CONTACT_RECENT_DAYS hold the newest public event of most
    accounts, and looking there first reads a fraction of the events; only accounts without
    recent contact fall back to all their cases. The answer is the same either way."""
    public = (
        CaseEvent.objects.filter(case__account=OuterRef("pk"), is_public=True, at__lt=now)
        .order_by()
        .values("case__account")
        .annotate(at=Max("at"))
    )
    recent = public.filter(case__last_event_at__gte=now - LAST_CONTACT_RECENT_DAYS)
    return Coalesce(Subquery(recent.values("at")[:1]), Subquery(public.values("at")[:1]))


def portfolio_summary(accounts: AccountQuerySet) -> PortfolioSummary:
    """Totals over every account `portfolio_accounts` returned (all pages), in one query."""
    totals = accounts.order_by().aggregate(
        n=Count("pk"),
        at_risk=Count("pk", filter=Q(health__lt=WATCH_FROM)),
        items=Sum("open_items"),
        cases=Sum("open_cases"),
    )
    return PortfolioSummary(
        accounts=totals["n"],
        at_risk=totals["at_risk"],
        open_items=totals["items"] or 0,
        open_cases=totals["cases"] or 0,
    )


def portfolio_health_history(
    account_ids: Sequence[int], *, today: date, days: int = SPARKLINE_DAYS
) -> dict[int, list[float | None]]:
    """Each account's daily health score for the `days` days up to `today` (oldest first; None
    on days without a snapshot), in one query."""
    start = today - timedelta(days=days - 1)
    history: dict[int, list[float | None]] = {pk: [None] * days for pk in account_ids}
    for account_id, on, score in (
        HealthSnapshot.objects.filter(
            account_id__in=list(account_ids), on__gte=start, on__lte=today
        )
        .order_by()
        .values_list("account_id", "on", "score")
    ):
        history[account_id][(on - start).days] = score
    return history


def portfolio_tams() -> QuerySet[User]:
    """The TAMs a portfolio can be narrowed to: active users with the TAM role, without the
    integration's service users."""
    return (
        User.objects.filter(role=User.Role.TAM, is_active=True)
        .exclude(external_source=INTEGRATION_SOURCE)
        .order_by("first_name", "last_name", "username")
    )


HEALTH_BAND_LABELS = {
    "healthy": gettext_lazy("Healthy"),
    "watch": gettext_lazy("Watch"),
    "at_risk": gettext_lazy("At risk"),
    "unknown": gettext_lazy("No score"),
}


@dataclass(frozen=True)
class PortfolioRow:
    """One line of the portfolio: an account from `portfolio_accounts`, its health history and
    last contact, and what the page shows of them."""

    account: Account
    history: list[float | None]
    last_contact_at: datetime | None
    now: datetime
    trend_days: int = TREND_WINDOWS[0]

    @property
    def score(self) -> int | None:
        health = getattr(self.account, "health", None)
        return None if health is None else round(health)

    @property
    def band(self) -> str:
        return health_band(getattr(self.account, "health", None))

    @property
    def band_label(self) -> str:
        return str(HEALTH_BAND_LABELS[self.band])

    @property
    def trend_direction(self) -> str:
        """up, down or flat (also when the account has no trend yet)."""
        return trend_direction(getattr(self.account, "trend", None), self.trend_days)

    @property
    def trend_points(self) -> str:
        """The trend in points per day, signed and localised ("+0.4", "−1.2"), or ""."""
        return trend_text(getattr(self.account, "trend", None))

    @property
    def since_last_contact(self) -> str:
        """How long ago the last contact was ("3 days ago"), or "" without contact."""
        if self.last_contact_at is None:
            return ""
        return _("%(time)s ago") % {"time": timesince(self.last_contact_at, self.now, depth=1)}


def portfolio_rows(
    accounts: Sequence[Account], *, now: datetime, trend_days: int = TREND_WINDOWS[0]
) -> list[PortfolioRow]:
    """A page of `portfolio_accounts` with each account's health history over the
    SPARKLINE_DAYS days up to `now` (the as-of instant) and its last contact before it (two
    queries)."""
    ids = [a.pk for a in accounts]
    history = portfolio_health_history(ids, today=snapshot_day(now))
    contact = dict(
        Account.objects.filter(pk__in=ids)
        .annotate(at=_last_contact(now))
        .order_by()
        .values_list("pk", "at")
    )
    return [
        PortfolioRow(
            account=a,
            history=history[a.pk],
            last_contact_at=contact.get(a.pk),
            now=now,
            trend_days=trend_days,
        )
        for a in accounts
    ]


# Account page ------------------------------------------------------------------------------------

PERCENT, DURATION, COUNT, NUMBER = "percent", "duration", "count", "number"

# How each KPI (`engine.health.Kpi`) reads: attainment and rates are fractions, ages and
# resolution times business seconds (docs/health.md).
KPI_LABELS: dict[str, tuple[Promise, str]] = {
    "frt_attainment": (gettext_lazy("First-reply SLA attainment"), PERCENT),
    "nrt_attainment": (gettext_lazy("Next-reply SLA attainment"), PERCENT),
    "pu_attainment": (gettext_lazy("Periodic-update SLA attainment"), PERCENT),
    "pau_attainment": (gettext_lazy("Pausable-update SLA attainment"), PERCENT),
    "awt_attainment": (gettext_lazy("Agent-work-time SLA attainment"), PERCENT),
    "rwt_attainment": (gettext_lazy("Requester-wait-time SLA attainment"), PERCENT),
    "trt_attainment": (gettext_lazy("Resolution SLA attainment"), PERCENT),
    "fres_attainment": (gettext_lazy("First-resolution SLA attainment"), PERCENT),
    "breaches_p1": (gettext_lazy("SLA breaches on P1 cases"), COUNT),
    "breaches_p2": (gettext_lazy("SLA breaches on P2 cases"), COUNT),
    "breaches_p3": (gettext_lazy("SLA breaches on P3 cases"), COUNT),
    "breaches_p4": (gettext_lazy("SLA breaches on P4 cases"), COUNT),
    "backlog_count": (gettext_lazy("Open cases"), COUNT),
    "backlog_age_median": (gettext_lazy("Median age of open cases"), DURATION),
    "backlog_age_max": (gettext_lazy("Oldest open case"), DURATION),
    "backlog_p1_age_max": (gettext_lazy("Oldest open P1 case"), DURATION),
    "ttr_median": (gettext_lazy("Median time to resolution"), DURATION),
    "ttr_p90": (gettext_lazy("90th percentile of time to resolution"), DURATION),
    "reopen_rate": (gettext_lazy("Reopen rate"), PERCENT),
    "handoffs_per_case": (gettext_lazy("Hand-offs per case"), NUMBER),
    "cases_per_contact": (gettext_lazy("Cases per contact"), NUMBER),
    "case_count": (gettext_lazy("New cases"), COUNT),
    "csat": (gettext_lazy("Customer satisfaction (CSAT)"), NUMBER),
    "nps": (gettext_lazy("Net Promoter Score"), NUMBER),
}
COMPARATOR_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
ATTAINMENT_KPIS = ("frt_attainment", "nrt_attainment", "trt_attainment")
HISTORY_DAYS = 365
CASE_MIX_DAYS = 90
TIMELINE_PAGE_SIZE = 25
OPEN_CASES_PAGE_SIZE = 25
CLOSED_CASES_PAGE_SIZE = 10


def kpi_unit(kpi: str) -> str:
    return KPI_LABELS[kpi][1] if kpi in KPI_LABELS else NUMBER


def kpi_label(kpi: str) -> str:
    return str(KPI_LABELS[kpi][0]) if kpi in KPI_LABELS else kpi


def kpi_text(kpi: str, value: float | None) -> str:
    """A KPI value for people: 0.934 → "93 %", 79200 business seconds → "22 h", "–" for none.

    Durations are business time, so they are shown in hours, never in 24-hour days: 80 business
    hours are two working weeks, not "3 d 8 h"."""
    if value is None or math.isnan(value):
        return "–"
    unit = kpi_unit(kpi)
    if unit == PERCENT:
        return _("%(number)s %%") % {"number": formats.number_format(value * 100, 0)}
    if unit == DURATION:
        if abs(value) < 3600:
            return _("%(number)s min") % {"number": formats.number_format(value / 60, 0)}
        hours = value / 3600
        digits = 1 if abs(hours) < 10 and round(hours, 1) != round(hours) else 0
        return _("%(number)s h") % {"number": formats.number_format(hours, digits)}
    if unit == COUNT:
        return formats.number_format(value, 0)
    return formats.number_format(round(value, 2), 2 if round(value, 2) != round(value) else 0)


@dataclass(frozen=True)
class AccountExpectation:
    """One expectation as it applies to an account: the tier's rule with the account's own
    threshold, or a standard only the account has (as `accounts.health` evaluates them)."""

    code: str
    name: str
    kpi: str
    comparator: str
    threshold: float
    window_days: int
    severity: str
    is_override: bool

    @property
    def sign(self) -> str:
        return COMPARATOR_SIGNS.get(self.comparator, self.comparator)

    @property
    def threshold_text(self) -> str:
        return kpi_text(self.kpi, self.threshold)


def account_expectations(account: Account) -> dict[str, AccountExpectation]:
    """The account's active expectations by code: tier defaults, account thresholds, extras."""
    rows = Expectation.objects.filter(Q(tier=account.tier) | Q(account=account)).order_by("code")
    tier = {e.code: e for e in rows if e.account_id is None}
    own = {e.code: e for e in rows if e.account_id is not None}
    out: dict[str, AccountExpectation] = {}
    for code in sorted(tier.keys() | own.keys()):
        base, override = tier.get(code), own.get(code)
        rule = base if base is not None else override
        assert rule is not None  # noqa: S101  (code comes from one of the two maps)
        if override is not None and not override.is_active:
            continue
        if override is None and not rule.is_active:
            continue
        out[code] = AccountExpectation(
            code=code,
            name=rule.label,
            kpi=rule.kpi,
            comparator=rule.comparator,
            threshold=override.threshold if override is not None else rule.threshold,
            window_days=rule.window_days,
            severity=rule.severity,
            is_override=override is not None,
        )
    return out


@dataclass(frozen=True)
class Contribution:
    """What one expectation did to the latest health score."""

    code: str
    name: str
    kpi: str
    sign: str
    value: float | None
    threshold: float | None
    is_met: bool
    has_data: bool
    points_lost: float
    points_at_stake: float
    samples: int | None = None  # how many cycles, cases or answers the value rests on

    @property
    def value_text(self) -> str:
        return kpi_text(self.kpi, self.value)

    @property
    def threshold_text(self) -> str:
        return kpi_text(self.kpi, self.threshold)


@dataclass(frozen=True)
class Trend:
    days: int
    slope: float | None

    @property
    def direction(self) -> str:
        return trend_direction(self.slope, self.days)

    @property
    def text(self) -> str:
        return trend_text(self.slope)


@dataclass(frozen=True)
class AccountHealth:
    snapshot: HealthSnapshot
    contributions: list[Contribution]

    @property
    def points_lost(self) -> float:
        return round(sum(c.points_lost for c in self.contributions), 2)

    @property
    def measured(self) -> int:
        """How many expectations had data."""
        return sum(1 for c in self.contributions if c.has_data)

    @property
    def trends(self) -> list[Trend]:
        """The 30-, 90- and 365-day trends of the snapshot."""
        s = self.snapshot
        return [Trend(30, s.trend), Trend(90, s.trend_90), Trend(365, s.trend_365)]

    @property
    def trend_direction(self) -> str:
        """up, down or flat (as on the portfolio), "" without a trend."""
        if self.snapshot.trend is None:
            return ""
        return trend_direction(self.snapshot.trend, TREND_WINDOWS[0])


def account_health(
    account: Account, expectations: dict[str, AccountExpectation], *, day: date | None = None
) -> AccountHealth | None:
    """The latest health snapshot up to `day` (any day without one) and each expectation's part
    in it, costliest first. The points lost add up to 100 − score (up to the snapshot's
    rounding). Snapshots older than the retention of details keep only the points lost."""
    snapshots = account.health_snapshots.order_by("-on")
    if day is not None:
        snapshots = snapshots.filter(on__lte=day)
    snapshot = snapshots.first()
    if snapshot is None:
        return None
    rows = []
    details = snapshot.details or {
        code: {"met": False, "has_data": True} for code in snapshot.points_lost
    }
    for code, detail in details.items():
        expectation = expectations.get(code)
        kpi = expectation.kpi if expectation is not None else ""
        rows.append(
            Contribution(
                code=code,
                name=expectation.name if expectation is not None else code,
                kpi=kpi,
                sign=expectation.sign if expectation is not None else "",
                value=detail.get("value"),
                threshold=detail.get("threshold"),
                is_met=bool(detail.get("met")),
                has_data=bool(detail.get("has_data")),
                points_lost=float(snapshot.points_lost.get(code, 0.0)),
                points_at_stake=float(detail.get("at_stake") or 0.0),
                samples=detail.get("n"),
            )
        )
    rows.sort(key=lambda c: (-c.points_lost, c.is_met, -c.points_at_stake, c.name))
    return AccountHealth(snapshot, rows)


@dataclass(frozen=True)
class KpiRow:
    """One KPI over the 7, 30 and 90 days before the latest snapshot, and the expectation on it
    (if any) with whether the latest health check found it met."""

    kpi: str
    label: str
    values: list[float | None]
    expectation: AccountExpectation | None
    is_met: bool | None

    @property
    def value_texts(self) -> list[str]:
        return [kpi_text(self.kpi, v) for v in self.values]


def account_kpis(
    account: Account,
    expectations: dict[str, AccountExpectation],
    health: AccountHealth | None,
    *,
    day: date | None = None,
) -> tuple[date | None, list[KpiRow]]:
    """The latest KPI snapshot day up to `day` and its rows: every KPI with data or an
    expectation. Windows older than the retention of details are missing (no data)."""
    snapshots = account.kpi_snapshots.order_by("-on", "window_days")
    if day is not None:
        snapshots = snapshots.filter(on__lte=day)
    latest = list(snapshots[: len(WINDOWS)])
    on = latest[0].on if latest else None
    by_window = {s.window_days: s.values for s in latest if s.on == on}
    by_kpi = {e.kpi: e for e in expectations.values()}
    # An expectation without data raises nothing and does not count; the table says "no data".
    met = (
        {c.code: c.is_met for c in health.contributions if c.has_data} if health is not None else {}
    )
    rows = []
    for kpi in KPI_LABELS:
        values = [by_window.get(w, {}).get(kpi) for w in WINDOWS]
        expectation = by_kpi.get(kpi)
        if expectation is None and all(v is None for v in values):
            continue
        rows.append(
            KpiRow(
                kpi=kpi,
                label=kpi_label(kpi),
                values=values,
                expectation=expectation,
                is_met=met.get(expectation.code) if expectation is not None else None,
            )
        )
    return on, rows


@dataclass(frozen=True)
class AccountHistory:
    """Daily series for the account page's charts, oldest first; days as ISO dates."""

    health: list[dict[str, Any]]
    attainment: list[dict[str, Any]]
    backlog: list[dict[str, Any]]


def account_history(account: Account, *, today: date) -> AccountHistory:
    """Health score, SLA attainment (30-day windows) and backlog per stored day, over the year up
    to `today`."""
    since = today - timedelta(days=HISTORY_DAYS)
    health = [
        {"day": on.isoformat(), "score": score}
        for on, score in account.health_snapshots.filter(on__gt=since, on__lte=today)
        .order_by("on")
        .values_list("on", "score")
    ]
    attainment: list[dict[str, Any]] = []
    backlog: list[dict[str, Any]] = []
    for on, values in (
        account.kpi_snapshots.filter(on__gt=since, on__lte=today, window_days=30)
        .order_by("on")
        .values_list("on", "values")
    ):
        day = on.isoformat()
        attainment.extend(
            {"day": day, "kpi": kpi, "value": values[kpi]}
            for kpi in ATTAINMENT_KPIS
            if values.get(kpi) is not None
        )
        # The backlog is counted at the window's end, so any window gives the same figure.
        if values.get("backlog_count") is not None:
            backlog.append({"day": day, "open": int(values["backlog_count"])})
    return AccountHistory(health, attainment, backlog)


def account_case_mix(
    account: Account, *, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cases opened in the 90 days before `now` by priority (still open or resolved) and by
    product."""
    recent = Case.objects.filter(
        account=account, opened_at__gte=now - timedelta(days=CASE_MIX_DAYS), opened_at__lt=now
    )
    counts: dict[tuple[str, bool], int] = {}
    for priority, status, n in (
        recent.values_list("priority", "status").annotate(n=Count("pk")).order_by()
    ):
        key = (priority, status in OPEN_STATUSES)
        counts[key] = counts.get(key, 0) + n
    by_priority = [
        {"priority": priority, "open": is_open, "cases": n}
        for (priority, is_open), n in sorted(counts.items())
    ]
    by_product = [
        {"product": name, "cases": n}
        for name, n in recent.values_list("product__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "product__name")
    ]
    return by_priority, by_product


def account_contacts(account: Account) -> QuerySet[Contact]:
    return account.contacts.order_by("name")


def account_tam_history(account: Account) -> QuerySet[TamAssignment]:
    return account.tam_assignments.select_related("tam", "assigned_by").order_by("-started_at")


def account_cases(user: User, account: Account) -> CaseQuerySet:
    """The account's cases the user may read (an agent: their department's)."""
    return access.readable_cases(user).filter(account=account)


def account_open_cases(user: User, account: Account) -> CaseQuerySet:
    """Open cases, most urgent first, with the next SLA deadline of each (`next_due_at`)."""
    next_due = (
        MetricCycle.objects.open()
        .filter(case=OuterRef("pk"), due_at__isnull=False)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return (
        account_cases(user, account)
        .open()
        .select_related("department", "assignee", "product")
        .defer("description", "attributes")
        .annotate(next_due_at=Subquery(next_due))
        .order_by("priority", F("next_due_at").asc(nulls_last=True), "opened_at", "pk")
    )


def account_closed_cases(user: User, account: Account) -> CaseQuerySet:
    """Solved and closed cases, most recently solved first."""
    return (
        account_cases(user, account)
        .filter(status__in=(Status.SOLVED, Status.CLOSED))
        .select_related("department", "assignee", "product")
        .defer("description", "attributes")
        .order_by(F("solved_at").desc(nulls_last=True), "-pk")
    )


def account_timeline(
    user: User,
    account: Account,
    *,
    person: User | None = None,
    department: Department | None = None,
    kind: str = "",
) -> QuerySet[CaseEvent]:
    """Every employee action on the account's (readable) cases, newest first; `department` is
    the acting employee's department."""
    events = CaseEvent.objects.filter(
        case__in=account_cases(user, account).values("pk"), actor_kind=CaseEvent.Actor.EMPLOYEE
    )
    if person is not None:
        events = events.filter(actor_user=person)
    if department is not None:
        events = events.filter(actor_user__department=department)
    if kind:
        events = events.filter(kind=kind)
    return events.order_by("-at", "-pk")


def timeline_events(ids: Sequence[int]) -> list[CaseEvent]:
    """The events with these ids, in this order, with what the timeline shows of each.

    Page the ids of `account_timeline` and then read the page: joining the cases and people
    before the sort would join every event of the account, not just the page's."""
    rows = (
        CaseEvent.objects.select_related(
            "case", "actor_user", "actor_user__department", "department", "assignee"
        )
        .defer("case__description", "case__attributes")
        .in_bulk(list(ids))
    )
    return [rows[pk] for pk in ids]


def account_timeline_people(user: User, account: Account) -> QuerySet[User]:
    """The employees who acted on the account's readable cases (the timeline's person filter)."""
    acted = CaseEvent.objects.filter(
        case__in=account_cases(user, account).values("pk"), actor_kind=CaseEvent.Actor.EMPLOYEE
    ).values("actor_user_id")
    return User.objects.filter(pk__in=acted).order_by("first_name", "last_name", "username")


def event_summary(event: CaseEvent) -> str:
    """One line on what an employee did, in the viewer's language."""
    priorities, statuses = dict(Priority.choices), dict(Status.choices)
    if event.kind == CaseEvent.Kind.CREATED:
        return _("Opened the case as %(priority)s") % {
            "priority": priorities.get(event.to_value, event.to_value)
        }
    if event.kind == CaseEvent.Kind.STATUS:
        return _("Status: %(from)s → %(to)s") % {
            "from": statuses.get(event.from_value, event.from_value),
            "to": statuses.get(event.to_value, event.to_value),
        }
    if event.kind == CaseEvent.Kind.PRIORITY:
        return _("Priority: %(from)s → %(to)s") % {
            "from": priorities.get(event.from_value, event.from_value),
            "to": priorities.get(event.to_value, event.to_value),
        }
    if event.kind == CaseEvent.Kind.HANDOFF:
        target = " / ".join(str(x) for x in (event.department, event.assignee) if x is not None)
        return _("Handed off to %(target)s") % {"target": target or event.to_value}
    if event.kind == CaseEvent.Kind.REPLY:
        return _("Replied to the customer")
    return _("Added an internal note")
