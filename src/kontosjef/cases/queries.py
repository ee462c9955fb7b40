"""Reads for the case page: the case with what its header shows, its history, its live clocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _

from kontosjef import engine
from kontosjef.accounts.models import Account, Product
from kontosjef.cases.models import (
    OPEN_STATUSES,
    CalendarVersion,
    Case,
    CaseEvent,
    CaseQuerySet,
    CycleState,
    Metric,
    MetricCycle,
    Priority,
    SlaState,
    Status,
    TierSla,
)
from kontosjef.cases.sla import version_to_engine
from kontosjef.people import access
from kontosjef.people.models import Department, User

METRIC_ORDER = {value: i for i, value in enumerate(Metric.values)}
LABELS: dict[str, Any] = {**dict(Status.choices), **dict(Priority.choices)}


def case_page_cases(user: User) -> CaseQuerySet:
    """The cases the user may open on the case page, with the rows its header shows."""
    return access.readable_cases(user).with_related()


def case_timeline(case: Case, *, newest_first: bool = False) -> QuerySet[CaseEvent]:
    """Every event of the case in order, with the people and departments it names.

    Status and priority events get `from_label` and `to_label` (the display names of their
    codes) when the page iterates them; see `label_events`.
    """
    return (
        CaseEvent.objects.filter(case=case)
        .select_related("actor_user__department", "actor_contact", "department", "assignee")
        .order_by("-seq" if newest_first else "seq")
    )


def label_events(events: Sequence[CaseEvent]) -> Sequence[CaseEvent]:
    """Give status and priority events the display names of the codes they store."""
    for event in events:
        event.from_label = LABELS.get(event.from_value, event.from_value)  # type: ignore[attr-defined]
        event.to_label = LABELS.get(event.to_value, event.to_value)  # type: ignore[attr-defined]
    return events


def handoff_departments() -> QuerySet[Department]:
    return Department.objects.order_by("name")


def handoff_assignees() -> QuerySet[User]:
    """The people a case can be handed to: active employees who may work on cases."""
    return (
        User.objects.filter(is_active=True)
        .exclude(role=User.Role.VIEWER)
        .select_related("department")
        .order_by("department__name", "first_name", "username")
    )


# Clocks ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """One SLA metric of a case as it stands at `now`: its latest cycle, advanced to `now`.

    `look` is what the page shows: running, warning, paused, breached, met or cancelled.
    `remaining_seconds` is business time left (negative: overdue), None once the cycle stopped.
    """

    metric: str
    label: str
    cycle_index: int
    cycles: int
    breached_cycles: int
    look: str
    is_running: bool
    is_stopped: bool
    business_hours: bool
    target_seconds: int
    elapsed_seconds: int
    # Wall-clock time from the cycle's start to its stop (or now), pauses included.
    span_seconds: int
    remaining_seconds: int | None
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None
    stop_at: datetime | None
    is_estimate: bool

    @property
    def overdue_seconds(self) -> int:
        if self.remaining_seconds is not None and self.remaining_seconds < 0:
            return -self.remaining_seconds
        return max(self.elapsed_seconds - self.target_seconds, 0)

    @property
    def css(self) -> str:
        return f"clock-{self.look}"

    # Business time reads in hours: "2 d 8 h" would suggest calendar days.
    @property
    def remaining_text(self) -> str:
        return hours_text(self.remaining_seconds or 0)

    @property
    def overdue_text(self) -> str:
        return hours_text(self.overdue_seconds)

    @property
    def elapsed_text(self) -> str:
        return hours_text(self.elapsed_seconds)

    @property
    def target_text(self) -> str:
        return hours_text(self.target_seconds)

    @property
    def took_text(self) -> str:
        """How long the clock ran, honestly: in business hours, with the wall-clock span beside
        it when the two differ ("33 min of business hours (29 h since it started)")."""
        if not self.business_hours or abs(self.span_seconds - self.elapsed_seconds) < 60:
            return _("took %(time)s") % {"time": hours_text(self.elapsed_seconds)}
        return _("took %(time)s of business hours (%(span)s since it started)") % {
            "time": hours_text(self.elapsed_seconds),
            "span": hours_text(self.span_seconds),
        }


def hours_text(seconds: int) -> str:
    """Business seconds as "56 h", "3 h 20 min" or "45 min" (never days)."""
    hours, minutes = divmod(abs(int(seconds)) // 60, 60)
    if hours and minutes:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": minutes}


@dataclass(frozen=True)
class Clocks:
    clocks: list[Clock]
    now: datetime
    # True when the calendar could not measure up to now (its holidays end too early): the
    # remaining times are then those of the last recompute.
    is_stale: bool


def case_clocks(case: Case, *, now: datetime) -> Clocks:
    """The case's SLA clocks at `now`, one per metric (its latest cycle).

    Cycles are stored as the engine left them at `computed_at`; a running cycle has since used
    `B(now) - B(computed_at)` more business time on the case's calendar (engine, spec §8.4).
    """
    cycles = list(MetricCycle.objects.filter(case=case).order_by("metric", "cycle_index"))
    latest: dict[str, MetricCycle] = {}
    counts: dict[str, tuple[int, int]] = {}
    for cycle in cycles:
        latest[cycle.metric] = cycle
        total, breached = counts.get(cycle.metric, (0, 0))
        counts[cycle.metric] = (total + 1, breached + (cycle.breached_at is not None))
    live = [c for c in latest.values() if c.stop_at is None and c.is_running]
    clock, measurable = None, True
    if any(c.business_hours for c in live):
        clock, measurable = _business_clock(case, live, now)
    is_stale = False
    clocks = []
    for metric in sorted(latest, key=lambda m: METRIC_ORDER.get(m, 99)):
        cycle = latest[metric]
        used = 0
        estimate = False
        if cycle.stop_at is None and cycle.is_running and now > cycle.computed_at:
            if clock is not None and cycle.business_hours:
                try:
                    used = clock.b_scalar(engine.to_instant(now)) - clock.b_scalar(
                        engine.to_instant(cycle.computed_at)
                    )
                except engine.OutsideTableError:
                    estimate = is_stale = True
            elif measurable or not cycle.business_hours:
                # Calendar hours, or a calendar without versions: the engine measures 24×7.
                used = int((now - cycle.computed_at).total_seconds())
            else:
                estimate = is_stale = True
        total, breached = counts[metric]
        clocks.append(_clock(cycle, used, now, estimate, total, breached))
    return Clocks(clocks=clocks, now=now, is_stale=is_stale)


def _business_clock(
    case: Case, live: list[MetricCycle], now: datetime
) -> tuple[engine.BusinessClock | None, bool]:
    """The compiled business clock of the case's calendar over the live cycles' span (None: no
    calendar, 24×7), and whether the calendar can measure that span at all."""
    account = case.account
    versions = CalendarVersion.objects.order_by(F("valid_from").asc(nulls_first=True))
    if account.calendar_id is not None:
        versions = versions.filter(calendar_id=account.calendar_id)
    else:
        versions = versions.filter(
            calendar_id__in=TierSla.objects.filter(tier=account.tier).values("calendar_id")
        )
    rows = list(versions)
    if not rows:
        return None, True
    start = engine.to_instant(min(c.computed_at for c in live))
    try:
        calendar = engine.Calendar(tuple(version_to_engine(v) for v in rows))
        table = engine.compile_calendar(calendar, start=start, end=engine.to_instant(now))
    except engine.CalendarError:
        return None, False
    return engine.BusinessClock(table), True


def _clock(
    cycle: MetricCycle, used: int, now: datetime, estimate: bool, total: int, breached: int
) -> Clock:
    stopped = cycle.stop_at is not None
    elapsed = cycle.elapsed_business_seconds + used
    remaining = None if stopped else cycle.remaining_seconds - used
    state = cycle.state
    if state == CycleState.MET:
        look = "met"
    elif state == CycleState.CANCELLED:
        look = "cancelled"
    elif state in (
        CycleState.BREACHED_RUNNING,
        CycleState.BREACHED_PAUSED,
        CycleState.BREACHED_MET,
    ):
        look = "breached"
    elif cycle.is_running and (
        (remaining is not None and remaining < 0 and not estimate)
        or (cycle.due_at is not None and cycle.due_at < now)
    ):
        look = "breached"  # since the last recompute; the sweep records it
    elif not cycle.is_running:
        look = "paused"
    elif cycle.warn_at is not None and cycle.warn_at <= now:
        look = "warning"
    else:
        look = "running"
    return Clock(
        metric=cycle.metric,
        label=str(Metric(cycle.metric).label) if cycle.metric in Metric.values else cycle.metric,
        cycle_index=cycle.cycle_index,
        cycles=total,
        breached_cycles=breached,
        look=look,
        is_running=cycle.is_running and not stopped,
        is_stopped=stopped,
        business_hours=cycle.business_hours,
        target_seconds=cycle.target_seconds,
        elapsed_seconds=elapsed,
        span_seconds=int(((cycle.stop_at or now) - cycle.start_at).total_seconds()),
        remaining_seconds=remaining,
        due_at=cycle.due_at,
        warn_at=cycle.warn_at,
        breached_at=cycle.breached_at,
        stop_at=cycle.stop_at,
        is_estimate=estimate,
    )


# Case list ---------------------------------------------------------------------------------------

CASE_LIST_PAGE_SIZE = 50
# "Breaching soon": a running clock due within this much wall-clock time, or in its warning.
BREACHING_SOON = timedelta(hours=4)

VIEW_ALL = ""
VIEW_MINE = "mine"
VIEW_DEPARTMENT = "department"
VIEW_BREACHING = "breaching"

STATUS_OPEN = ""
STATUS_ALL = "all"
STATUS_CLOSED = "closed"
UNASSIGNED = "none"

# sort key -> (ordering, first click sorts descending)
CASE_SORTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "due": (("next_due_at",), False),
    "case": (("pk",), True),
    "account": (("account__name",), False),
    "priority": (("priority",), False),
    "status": (("status",), False),
    "opened": (("opened_at",), True),
    "updated": (("last_event_at",), True),
}
DEFAULT_CASE_SORT = "due"


@dataclass(frozen=True)
class CaseListFilter:
    """The case list's view and filters; empty values filter nothing. `status` is a status
    code, STATUS_OPEN (the default: every open status), STATUS_CLOSED or STATUS_ALL."""

    view: str = VIEW_ALL
    department: Department | None = None
    assignee: User | None = None
    unassigned: bool = False
    status: str = STATUS_OPEN
    priority: str = ""
    sla: str = ""
    account: Account | None = None
    product: Product | None = None
    sort: str = DEFAULT_CASE_SORT


def _live_cycles() -> QuerySet[MetricCycle]:
    return MetricCycle.objects.open()


def _breached_cycles(now: datetime) -> QuerySet[MetricCycle]:
    """Live clocks past their target: recorded as breached, or running past their deadline
    since the last recompute (the sweep records it)."""
    return _live_cycles().filter(
        Q(state__in=(CycleState.BREACHED_RUNNING, CycleState.BREACHED_PAUSED))
        | Q(is_running=True, due_at__lt=now)
    )


def _warning_cycles(now: datetime) -> QuerySet[MetricCycle]:
    return (
        _live_cycles()
        .filter(is_running=True, warn_at__lte=now, state=CycleState.RUNNING)
        .exclude(due_at__lt=now)
    )


def _soon_cycles(now: datetime) -> QuerySet[MetricCycle]:
    """Running clocks not yet breached that are due within BREACHING_SOON or warning."""
    return _live_cycles().filter(
        Q(due_at__gte=now, due_at__lte=now + BREACHING_SOON) | Q(warn_at__lte=now, due_at__gte=now),
        is_running=True,
        state=CycleState.RUNNING,
    )


def _with_sla_state(cases: CaseQuerySet, condition: str, now: datetime) -> CaseQuerySet:
    # IN over the matching cycles' case ids, driven by the cycle indexes (due, warn, state),
    # rather than a correlated EXISTS per case.
    breached = _breached_cycles(now).values("case_id")
    if condition == SlaState.BREACHED:
        return cases.filter(pk__in=breached)
    warning = _warning_cycles(now).values("case_id")
    if condition == SlaState.WARNING:
        return cases.filter(pk__in=warning).exclude(pk__in=breached)
    running = _live_cycles().filter(is_running=True).values("case_id")
    if condition == SlaState.RUNNING:
        return cases.filter(pk__in=running).exclude(pk__in=breached).exclude(pk__in=warning)
    live = _live_cycles().values("case_id")
    if condition == SlaState.PAUSED:
        return cases.filter(pk__in=live).exclude(pk__in=running).exclude(pk__in=breached)
    return cases.exclude(pk__in=live)


def case_list(user: User, f: CaseListFilter, *, now: datetime) -> CaseQuerySet:
    """The cases the user may read (an agent their department's, a TAM their portfolio's),
    narrowed by `f`, with `next_due_at` (the nearest deadline of a running clock) and
    `sla_state` (an SlaState value) on each row, sorted by `f.sort`."""
    cases: CaseQuerySet = access.readable_cases(user)
    if f.view == VIEW_MINE:
        cases = cases.filter(assignee=user)
    elif f.view == VIEW_DEPARTMENT:
        cases = (
            cases.filter(department_id=user.department_id)
            if user.department_id is not None
            else cases.none()
        )
    elif f.view == VIEW_BREACHING:
        cases = cases.open().filter(pk__in=_soon_cycles(now).values("case_id"))
    if f.status == STATUS_OPEN:
        cases = cases.filter(status__in=OPEN_STATUSES)
    elif f.status == STATUS_CLOSED:
        cases = cases.filter(status__in=(Status.SOLVED, Status.CLOSED))
    elif f.status != STATUS_ALL:
        cases = cases.filter(status=f.status)
    if f.department is not None:
        cases = cases.filter(department=f.department)
    if f.unassigned:
        cases = cases.filter(assignee=None)
    elif f.assignee is not None:
        cases = cases.filter(assignee=f.assignee)
    if f.priority:
        cases = cases.filter(priority=f.priority)
    if f.account is not None:
        cases = cases.filter(account=f.account)
    if f.product is not None:
        cases = cases.filter(product=f.product)
    if f.sla:
        cases = _with_sla_state(cases, f.sla, now)
    next_due = (
        _live_cycles()
        .filter(case=OuterRef("pk"), is_running=True, due_at__isnull=False)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    state = DbCase(
        When(
            Exists(_breached_cycles(now).filter(case=OuterRef("pk"))),
            then=Value(SlaState.BREACHED.value),
        ),
        When(
            Exists(_warning_cycles(now).filter(case=OuterRef("pk"))),
            then=Value(SlaState.WARNING.value),
        ),
        When(
            Exists(_live_cycles().filter(case=OuterRef("pk"), is_running=True)),
            then=Value(SlaState.RUNNING.value),
        ),
        When(Exists(_live_cycles().filter(case=OuterRef("pk"))), then=Value(SlaState.PAUSED.value)),
        default=Value(SlaState.NONE.value),
    )
    key = f.sort.removeprefix("-")
    fields, _descending = CASE_SORTS.get(key, CASE_SORTS[DEFAULT_CASE_SORT])
    descending = f.sort.startswith("-")
    ordering = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in fields
    ]
    return (
        cases.select_related("account", "department", "assignee", "product")
        .only(
            "subject",
            "priority",
            "status",
            "opened_at",
            "last_event_at",
            "account__name",
            "department__name",
            "assignee__username",
            "assignee__first_name",
            "assignee__last_name",
            "product__name",
            "product__component",
        )  # fmt: skip
        .annotate(next_due_at=Subquery(next_due), sla_state=state)
        .order_by(*ordering, "-pk")
    )


def label_case_rows(cases: list[Case]) -> list[Case]:
    """Give each case list row `sla_label`, the display name of its `sla_state`."""
    for case in cases:
        case.sla_label = SlaState(case.sla_state).label  # type: ignore[attr-defined]
    return cases


def case_list_departments() -> QuerySet[Department]:
    return Department.objects.order_by("name")


def case_list_assignees(user: User) -> QuerySet[User]:
    """The people a case list can be narrowed to: an agent's colleagues in their department,
    everyone who may work on cases for the others."""
    people = handoff_assignees()
    if user.role == User.Role.AGENT:
        if user.department_id is None:
            return people.none()
        return people.filter(department_id=user.department_id)
    return people


def case_list_accounts(user: User) -> QuerySet[Account]:
    return access.readable_accounts(user).only("name").order_by("name")


def case_list_products() -> QuerySet[Product]:
    return Product.objects.order_by("name", "component")
