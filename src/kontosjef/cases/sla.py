"""The SLA adapter: database rows in, engine arrays through `engine.sla.evaluate`, cycles out.

One path for everything: `sla_recompute` evaluates any set of cases (one case after a new event,
an account, or the whole database in batches) and replaces their `MetricCycle` rows. `sla_sweep`
records breaches and warnings once, claiming cycles by a conditional UPDATE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q

from kontosjef import engine
from kontosjef.accounts.models import Account
from kontosjef.bulk import raw_insert
from kontosjef.cases.models import (
    Calendar,
    CalendarVersion,
    Case,
    CaseEvent,
    CycleState,
    Metric,
    MetricCycle,
    SlaAlert,
    SlaPolicy,
    SlaPolicyVersion,
    TierSla,
)

logger = logging.getLogger(__name__)

METRIC_CODES: dict[str, engine.Metric] = {
    Metric.FIRST_REPLY: engine.Metric.FRT,
    Metric.NEXT_REPLY: engine.Metric.NRT,
    Metric.PERIODIC_UPDATE: engine.Metric.PU,
    Metric.PAUSABLE_UPDATE: engine.Metric.PAU,
    Metric.AGENT_WORK: engine.Metric.AWT,
    Metric.REQUESTER_WAIT: engine.Metric.RWT,
    Metric.TOTAL_RESOLUTION: engine.Metric.TRT,
    Metric.FIRST_RESOLUTION: engine.Metric.FRES,
}
METRIC_NAMES = {code: name for name, code in METRIC_CODES.items()}
PRIORITY_CODES = {"p1": 0, "p2": 1, "p3": 2, "p4": 3}
STATUS_CODES = {
    "new": engine.Status.NEW,
    "open": engine.Status.OPEN,
    "waiting_on_customer": engine.Status.WAITING,
    "on_hold": engine.Status.ON_HOLD,
    "solved": engine.Status.SOLVED,
    "closed": engine.Status.CLOSED,
}
STATE_NAMES = {int(s): s.label for s in engine.CycleState}
FULFILLED = {int(engine.FulfilledBy.REPLY): "reply", int(engine.FulfilledBy.SOLVE): "solve"}
# How long after a breach the sweep still alerts it: a recompute that finds a fresh breach
# (say, a case solved late) lets the next sweep alert it; old history never alerts.
ALERT_LOOKBACK = timedelta(days=1)
HORIZON = timedelta(days=366)
BATCH_CASES = 20_000

CYCLE_COLUMNS = [
    "case_id", "metric", "cycle_index", "state", "start_at", "stop_at", "fulfilled_by",
    "target_seconds", "elapsed_business_seconds", "elapsed_calendar_seconds",
    "paused_business_seconds", "paused_calendar_seconds", "remaining_seconds", "due_at",
    "warn_at", "breached_at", "is_running", "business_hours", "computed_at",
    "breach_alerted_at", "warning_alerted_at",
]  # fmt: skip


# Configuration -> engine values ------------------------------------------------------------------


def calendar_to_engine(calendar: Calendar) -> engine.Calendar:
    """The engine's calendar for a model calendar (its versions prefetched or queried)."""
    # In Python, not by the query: PostgreSQL sorts the first version (valid_from NULL) last.
    first = datetime.min.replace(tzinfo=UTC)
    versions = sorted(calendar.versions.all(), key=lambda v: v.valid_from or first)
    return engine.Calendar(tuple(version_to_engine(v) for v in versions))


def version_to_engine(v: CalendarVersion) -> engine.CalendarVersion:
    return engine.CalendarVersion(
        tz=v.time_zone,
        weekly=tuple(tuple((int(s), int(e)) for s, e in day) for day in v.weekly),
        holidays=frozenset(date.fromisoformat(d) for d in v.holidays),
        extra_working=tuple(
            (date.fromisoformat(d), tuple((int(s), int(e)) for s, e in spans))
            for d, spans in v.extra_working.items()
        ),
        closures=tuple(
            engine.Closure(date.fromisoformat(d), int(s), int(e)) for d, s, e in v.closures
        ),
        valid_from=engine.to_instant(v.valid_from) if v.valid_from else None,
        coverage=(int(v.coverage[0]), int(v.coverage[1])) if v.coverage else None,
    )


def policy_to_engine(version: SlaPolicyVersion) -> tuple[engine.Policy, set[str]]:
    """The engine's policy for a policy version, and the metrics measured in calendar hours."""
    metrics: dict[engine.Metric, engine.MetricPolicy] = {}
    calendar_hours: set[str] = set()
    for name, spec in version.metrics.items():
        targets = {PRIORITY_CODES[p]: int(s) for p, s in spec.get("targets", {}).items()}
        running = spec.get("running")
        fraction = spec.get("warn_at_fraction")
        metrics[METRIC_CODES[name]] = engine.MetricPolicy(
            targets=targets,
            running=frozenset(STATUS_CODES[s] for s in running) if running else None,
            business_hours=bool(spec.get("business_hours", True)),
            warn_before_s=spec.get("warn_before_s"),
            warn_at_fraction=Fraction(str(fraction)) if fraction is not None else None,
        )
        if not spec.get("business_hours", True):
            calendar_hours.add(name)
    return engine.Policy(metrics), calendar_hours


def options_to_engine(options: dict[str, Any]) -> engine.Options:
    return engine.Options(
        customer_reply_resumes=bool(options.get("customer_reply_resumes", True)),
        solved_time_counts=bool(options.get("solved_time_counts", False)),
        calendar_change=engine.CalendarChange(options.get("calendar_change", "piecewise")),
        recurrence=engine.Recurrence(options.get("recurrence", "independent")),
    )


def around_the_clock(options: dict[str, Any]) -> frozenset[str]:
    """The priorities a policy version measures on a 24×7 calendar whatever the account's
    business hours (option `around_the_clock`, e.g. ["p1"]: urgent cases run through nights and
    weekends, as real support contracts promise). Raises ValueError for an unknown priority."""
    values = options.get("around_the_clock") or []
    if not isinstance(values, list) or not all(v in PRIORITY_CODES for v in values):
        raise ValueError(f"around_the_clock must list priorities out of {sorted(PRIORITY_CODES)}")
    return frozenset(values)


class SlaConfigurationError(Exception):
    """The SLA configuration cannot measure these cases (e.g. holidays not known for now)."""


@dataclass
class _Setup:
    """Everything the engine needs besides events, loaded once per recompute."""

    versions: dict[int, list[SlaPolicyVersion]]  # policy id -> versions by valid_from
    policies: list[engine.Policy]
    policy_index: dict[int, int]  # version id -> index into policies
    calendar_hours: dict[int, set[str]]  # version id -> metrics in calendar hours
    options: dict[int, engine.Options]  # version id -> options
    calendars: dict[int, engine.Calendar]  # calendar id -> engine calendar
    tiers: dict[str, tuple[int, int | None]]  # tier -> (policy id, calendar id)
    # version id -> priorities measured around the clock (24×7) whatever the calendar
    around_the_clock: dict[int, frozenset[str]]

    @classmethod
    def load(cls) -> _Setup:
        versions: dict[int, list[SlaPolicyVersion]] = {}
        policies: list[engine.Policy] = []
        index: dict[int, int] = {}
        cal_hours: dict[int, set[str]] = {}
        options: dict[int, engine.Options] = {}
        around: dict[int, frozenset[str]] = {}
        first_version_first = F("valid_from").asc(nulls_first=True)  # PostgreSQL: NULLS LAST
        for v in SlaPolicyVersion.objects.order_by("policy_id", first_version_first):
            versions.setdefault(v.policy_id, []).append(v)
            policy, hours = policy_to_engine(v)
            index[v.pk] = len(policies)
            policies.append(policy)
            cal_hours[v.pk] = hours
            options[v.pk] = options_to_engine(v.options)
            around[v.pk] = around_the_clock(v.options)
        calendars = {
            c.pk: calendar_to_engine(c)
            for c in Calendar.objects.prefetch_related("versions")
            if c.versions.all()
        }
        tiers = {t.tier: (t.policy_id, t.calendar_id) for t in TierSla.objects.all()}
        return cls(versions, policies, index, cal_hours, options, calendars, tiers, around)

    def calendar_for(self, tier: str, own: int | None) -> int | None:
        """The calendar an account uses: its own, else its tier's; None means 24×7."""
        return own or self.tiers.get(tier, (None, None))[1]

    def version_for(self, policy_id: int, opened_at: datetime) -> SlaPolicyVersion | None:
        chosen = None
        for v in self.versions.get(policy_id, []):
            if v.valid_from is None or v.valid_from <= opened_at:
                chosen = v
        return chosen


@dataclass(frozen=True)
class AccountCalendars:
    """Each account's business calendar as the engine sees it, for measuring business time
    outside SLA clocks (backlog ages, resolution times of cases no policy measured)."""

    of_account: dict[int, int | None]  # account id -> calendar id (None: 24×7)
    calendars: dict[int, engine.Calendar]  # calendar id -> engine calendar (with versions)


def account_calendars() -> AccountCalendars:
    """The calendar of every account (its own, else its tier's) in two queries."""
    setup = _Setup.load()
    of_account = {
        pk: setup.calendar_for(tier, own)
        for pk, tier, own in Account.objects.values_list("pk", "tier", "calendar_id")
    }
    used = {c for c in of_account.values() if c is not None}
    return AccountCalendars(of_account, {c: cal for c, cal in setup.calendars.items() if c in used})


# Recompute ---------------------------------------------------------------------------------------


def sla_recompute(
    *,
    now: datetime,
    cases: Iterable[int] | None = None,
    account: Account | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Recompute the metric cycles of the given cases (all cases when none are named) as of
    `now`, in batches. Returns the number of cycles written."""
    setup = _Setup.load()
    if not setup.tiers and not Account.objects.filter(sla_policy__isnull=False).exists():
        # No policy anywhere (a fresh import before SLAs are configured): nothing to measure.
        if MetricCycle.objects.exists():
            stale = MetricCycle.objects.all()
            if cases is not None:
                stale = stale.filter(case_id__in=list(cases))
            stale.delete()
        return 0
    if cases is not None:
        ids = sorted(set(cases))
    else:
        qs = Case.objects.all()
        if account is not None:
            qs = qs.filter(account=account)
        ids = list(qs.order_by("pk").values_list("pk", flat=True))
    if ids and _cover_history(setup, ids, now):
        setup = _Setup.load()
    written = 0
    for start in range(0, len(ids), BATCH_CASES):
        batch = ids[start : start + BATCH_CASES]
        with transaction.atomic():
            written += _recompute_batch(setup, batch, now)
        if progress:
            progress(len(batch))
    return written


def _cover_history(setup: _Setup, case_ids: Sequence[int], now: datetime) -> int:
    """Extend country-holiday calendars back to the oldest of these cases (an imported
    history older than the calendar); how many calendar versions changed."""
    bounded = [c for c, cal in setup.calendars.items() if cal.versions[0].coverage is not None]
    if not bounded:
        return 0
    oldest = Case.objects.filter(pk__in=case_ids).aggregate(first=Min("opened_at"))["first"]
    if oldest is None:
        return 0
    first_year = (oldest - timedelta(days=2)).year

    def covers(cal: engine.Calendar) -> bool:
        head = cal.versions[0].coverage
        return head is None or head[0] <= first_year

    missing = [c for c in bounded if not covers(setup.calendars[c])]
    if not missing:
        return 0
    from kontosjef.cases.services import calendar_cover_history  # services import this module

    return calendar_cover_history(calendar_ids=missing, first_year=first_year, now=now)


def _recompute_batch(setup: _Setup, case_ids: Sequence[int], now: datetime) -> int:
    cases = list(
        Case.objects.filter(pk__in=case_ids).values_list(
            "pk", "opened_at", "account__tier", "account__sla_policy_id", "account__calendar_id"
        )  # fmt: skip
    )
    # Which policy version and calendar each case uses; cases without a policy get no cycles.
    chosen: dict[int, tuple[int, int | None]] = {}
    for pk, opened_at, tier, policy_id, calendar_id in cases:
        policy = policy_id or setup.tiers.get(tier, (None, None))[0]
        if policy is None:
            continue
        version = setup.version_for(policy, opened_at)
        if version is None:
            continue
        chosen[pk] = (version.pk, setup.calendar_for(tier, calendar_id))
    flags = _alert_flags(case_ids)
    MetricCycle.objects.filter(case_id__in=case_ids).delete()
    if not chosen:
        return 0
    rows = list(
        CaseEvent.objects.filter(case_id__in=list(chosen))
        .exclude(kind=CaseEvent.Kind.HANDOFF)
        .order_by("case_id", "seq")
        .values_list("case_id", "at", "seq", "kind", "actor_kind", "is_public", "to_value")
    )
    # Options are deployment-wide in the spec; versions may still differ, so evaluate per group.
    groups: dict[engine.Options, list[int]] = {}
    for pk, (version_id, _cal) in chosen.items():
        groups.setdefault(setup.options[version_id], []).append(pk)
    written = 0
    for options, members in groups.items():
        member_set = set(members)
        group_rows = [r for r in rows if r[0] in member_set]
        table, calendar_of = _evaluate(setup, chosen, group_rows, now, options)
        written += _write_cycles(table, chosen, setup, calendar_of, flags, now)
    return written


def _evaluate(
    setup: _Setup,
    chosen: dict[int, tuple[int, int | None]],
    rows: list[tuple[Any, ...]],
    now: datetime,
    options: engine.Options,
) -> tuple[engine.CycleTable, dict[int, int]]:
    n = len(rows)
    t_now = engine.to_instant(now)
    case = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    seq = np.empty(n, np.int64)
    kind = np.empty(n, np.int8)
    status = np.full(n, -1, np.int8)
    author = np.full(n, -1, np.int8)
    public = np.ones(n, np.bool_)
    priority = np.full(n, -1, np.int64)
    policy = np.full(n, -1, np.int64)
    calendar = np.full(n, -1, np.int64)
    used_calendars = sorted(
        {c for _v, c in chosen.values() if c is not None and c in setup.calendars}
    )
    calendar_of = {c: i for i, c in enumerate(used_calendars)}
    author_of = {"contact": engine.Author.CUSTOMER, "employee": engine.Author.AGENT,
                 "system": engine.Author.SYSTEM}  # fmt: skip
    t_min = t_now
    # A priority the policy measures around the clock switches the case to the 24×7 calendar
    # and back: a calendar event right after the priority change (specs/sla.md §4.1, §5.4).
    switches: list[tuple[int, int, int, int]] = []  # (case, t, seq, calendar index)
    for i, (case_id, at, s, k, actor_kind, is_public, to_value) in enumerate(rows):
        # Room between two events for a calendar switch.
        case[i], seq[i] = case_id, 2 * s
        t[i] = ts = int(at.timestamp())
        t_min = min(t_min, ts)
        version_id, cal = chosen[case_id]
        own = calendar_of.get(cal, engine.ALWAYS_ON) if cal else engine.ALWAYS_ON
        around = setup.around_the_clock.get(version_id, frozenset())
        if k == "created":
            kind[i] = engine.EventKind.CREATED
            author[i] = engine.Author.CUSTOMER if actor_kind == "contact" else engine.Author.AGENT
            public[i] = is_public
            priority[i] = PRIORITY_CODES[to_value]
            policy[i] = setup.policy_index[version_id]
            calendar[i] = engine.ALWAYS_ON if to_value in around else own
        elif k == "status":
            kind[i] = engine.EventKind.STATUS
            status[i] = STATUS_CODES[to_value]
        elif k == "priority":
            kind[i] = engine.EventKind.PRIORITY
            priority[i] = PRIORITY_CODES[to_value]
            if around:
                switches.append(
                    (case_id, ts, 2 * s + 1, engine.ALWAYS_ON if to_value in around else own)
                )
        else:  # reply or note: a note is an agent's private comment
            kind[i] = engine.EventKind.REPLY
            author[i] = author_of[actor_kind]
            public[i] = is_public
    if switches:
        m = len(switches)
        case = np.concatenate([case, np.array([w[0] for w in switches], np.int64)])
        t = np.concatenate([t, np.array([w[1] for w in switches], np.int64)])
        seq = np.concatenate([seq, np.array([w[2] for w in switches], np.int64)])
        kind = np.concatenate([kind, np.full(m, engine.EventKind.CALENDAR, np.int8)])
        status = np.concatenate([status, np.full(m, -1, np.int8)])
        author = np.concatenate([author, np.full(m, -1, np.int8)])
        public = np.concatenate([public, np.ones(m, np.bool_)])
        priority = np.concatenate([priority, np.full(m, -1, np.int64)])
        policy = np.concatenate([policy, np.full(m, -1, np.int64)])
        calendar = np.concatenate([calendar, np.array([w[3] for w in switches], np.int64)])
    start = t_min - 86_400
    end = int((now + HORIZON).timestamp())
    try:
        tables = [
            engine.compile_calendar(setup.calendars[c], start=start, end=end)
            for c in used_calendars
        ]
        for compiled in tables:
            if not (compiled.t_begin <= min(t_min, t_now) and t_now <= compiled.t_end):
                lo = datetime.fromtimestamp(compiled.t_begin, UTC).date()
                hi = datetime.fromtimestamp(compiled.t_end, UTC).date()
                raise engine.OutsideTableError(f"it covers {lo} to {hi}")
    except (engine.CalendarError, engine.OutsideTableError) as exc:
        names = ", ".join(
            Calendar.objects.filter(pk__in=used_calendars).values_list("name", flat=True)
        )
        raise SlaConfigurationError(
            f"calendar {names}: its public holidays do not cover every case's time and now "
            f"({exc}); extend the calendar's holiday years"
        ) from exc
    events = engine.EventArrays(case=case, t=t, seq=seq, kind=kind, status=status, author=author,
                                public=public, priority=priority, policy=policy,
                                calendar=calendar)  # fmt: skip
    clocks = engine.ClockSet(tables)
    try:
        table = engine.evaluate(
            events, policies=setup.policies, clocks=clocks, now=t_now, options=options
        )
    except engine.EventValidationError as exc:
        # The case projection refuses such histories, so this is data written around it (an old
        # import, a hand edit): leave those cases without cycles and say which.
        logger.warning("SLA: cases left without cycles: %s", exc)
        keep = ~np.isin(events.case, np.asarray(exc.case_ids, dtype=np.int64))
        table = engine.evaluate(
            events.take(keep), policies=setup.policies, clocks=clocks, now=t_now, options=options
        )
    return table, calendar_of


def _alert_flags(case_ids: Sequence[int]) -> dict[tuple[int, str, int], tuple[Any, Any]]:
    return {
        (c, m, i): (b, w)
        for c, m, i, b, w in MetricCycle.objects.filter(case_id__in=case_ids)
        .filter(Q(breach_alerted_at__isnull=False) | Q(warning_alerted_at__isnull=False))
        .values_list("case_id", "metric", "cycle_index", "breach_alerted_at", "warning_alerted_at")
    }


def _dt(values: np.ndarray) -> list[datetime | None]:
    nat = engine.NAT
    return [None if v == nat else datetime.fromtimestamp(int(v), UTC) for v in values.tolist()]


def _write_cycles(
    table: engine.CycleTable,
    chosen: dict[int, tuple[int, int | None]],
    setup: _Setup,
    calendar_of: dict[int, int],
    flags: dict[tuple[int, str, int], tuple[Any, Any]],
    now: datetime,
) -> int:
    if len(table) == 0:
        return 0
    start_at, stop_at = _dt(table.start_at), _dt(table.stop_at)
    due_at, warn_at, breached_at = _dt(table.due_at), _dt(table.warn_at), _dt(table.breached_at)
    rows = []
    for i, (case_id, metric, index) in enumerate(
        zip(table.case.tolist(), table.metric.tolist(), table.cycle_index.tolist(), strict=True)
    ):
        name = METRIC_NAMES[engine.Metric(metric)]
        breach_flag, warn_flag = flags.get((case_id, name, index), (None, None))
        rows.append([
            case_id, name, index, STATE_NAMES[int(table.state[i])], start_at[i], stop_at[i],
            FULFILLED.get(int(table.fulfilled_by[i]), ""), int(table.target_s[i]),
            int(table.elapsed_business_s[i]), int(table.elapsed_calendar_s[i]),
            int(table.paused_business_s[i]), int(table.paused_calendar_s[i]),
            int(table.remaining_s[i]), due_at[i], warn_at[i], breached_at[i],
            # The calendar in force at the stop (or now): 24×7 for a calendar-hour metric and
            # for a priority the policy measures around the clock.
            bool(table.running[i]), int(table.calendar[i]) != engine.ALWAYS_ON, now,
            breach_flag, warn_flag,
        ])  # fmt: skip
    raw_insert(MetricCycle, CYCLE_COLUMNS, rows)
    return len(rows)


# Sweep -----------------------------------------------------------------------------------------


def sla_sweep(*, now: datetime, limit: int = 5000) -> int:
    """Record a breach or warning alert for every cycle whose time has come, exactly once.

    Safe with several workers: each cycle is claimed by a conditional UPDATE, and the alert's
    unique key is the last guard (a recompute can replace a claimed row). Returns the number of
    alerts recorded.
    """
    recorded = 0
    due = (
        MetricCycle.objects.filter(breach_alerted_at=None)
        .filter(
            Q(stop_at=None, due_at__lte=now, is_running=True)
            | Q(breached_at__lte=now, breached_at__gte=now - ALERT_LOOKBACK)
        )
        .exclude(state=CycleState.CANCELLED)
        .values_list("pk", "case_id", "metric", "cycle_index", "due_at", "breached_at")[:limit]
    )
    for pk, case_id, metric, index, due_at, breached_at in due:
        # Claim by UPDATE: two workers can select the same cycle before either one writes.
        if not MetricCycle.objects.filter(pk=pk, breach_alerted_at=None).update(
            breach_alerted_at=now
        ):
            continue
        recorded += _alert(
            case_id, metric, index, SlaAlert.Kind.BREACH, breached_at or due_at or now, now
        )
    warn = MetricCycle.objects.filter(
        warning_alerted_at=None, breach_alerted_at=None, stop_at=None, warn_at__lte=now,
        is_running=True,
    ).values_list("pk", "case_id", "metric", "cycle_index", "due_at")[:limit]  # fmt: skip
    for pk, case_id, metric, index, due_at in warn:
        if not MetricCycle.objects.filter(pk=pk, warning_alerted_at=None).update(
            warning_alerted_at=now
        ):
            continue
        recorded += _alert(case_id, metric, index, SlaAlert.Kind.WARNING, due_at or now, now)
    return recorded


def _alert(
    case_id: int, metric: str, index: int, kind: str, due_at: datetime, now: datetime
) -> int:
    try:
        with transaction.atomic():
            SlaAlert.objects.create(
                case_id=case_id, metric=metric, cycle_index=index, kind=kind, due_at=due_at, at=now
            )
    except IntegrityError:  # already alerted, before a recompute replaced the claimed row
        return 0
    return 1


def policy_for_account(account: Account) -> SlaPolicy | None:
    if account.sla_policy_id:
        return account.sla_policy
    tier = TierSla.objects.filter(tier=account.tier).select_related("policy").first()
    return tier.policy if tier else None
