"""Scalar reference evaluator for SLA cycles (spec §5, §6.4).

A literal, case-by-case walk over Python objects: events in ``(t, seq)`` order, one open cycle
per metric, an end-of-instant check for cancellation, and the epoch walk of §5.6 with scalar
``B``/``Binv`` look-ups. It shares only the public types with :mod:`kontosjef.engine.sla` and is
the oracle the vectorised :func:`~kontosjef.engine.sla.evaluate` is tested against. It is slow;
use it for tests and for explaining single cases.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from .businesstime import ALWAYS_ON, NAT, ClockSet
from .sla import (
    CUMULATIVE_METRICS,
    MULTI_CYCLE_METRICS,
    Author,
    CalendarChange,
    CycleRecord,
    CycleState,
    CycleTable,
    Event,
    EventArrays,
    EventKind,
    EventValidationError,
    FulfilledBy,
    Metric,
    Options,
    Policy,
    Recurrence,
    Status,
)

__all__ = ["evaluate_reference"]

_STOPPED = (Status.SOLVED, Status.CLOSED)


@dataclass(frozen=True, slots=True)
class _State:
    status: int
    priority: int
    policy: int
    calendar: int


@dataclass(frozen=True, slots=True)
class _Run:
    t: int
    end: int
    state: _State


@dataclass(slots=True)
class _Cycle:
    trigger_t: int
    trigger_run: int
    stop: int | None = None
    fulfilled: FulfilledBy = FulfilledBy.NONE
    cancelled: bool = False


class _Case:
    """One case's normalised events, instants and runs."""

    def __init__(
        self, events: list[Event], policies: Sequence[Policy], now: int, options: Options
    ) -> None:
        self.events = events
        self.policies = policies
        self.now = now
        self.options = options
        self.after: list[_State] = []
        status = Status.NEW
        priority = policy = calendar = -1
        for e in events:
            if e.kind == EventKind.CREATED:
                status, priority, policy, calendar = Status.NEW, e.priority, e.policy, e.calendar
            elif e.kind == EventKind.STATUS:
                status = Status(e.status)
            elif e.kind == EventKind.REPLY and e.author == Author.CUSTOMER:
                if status == Status.SOLVED:
                    status = Status.OPEN
                elif status == Status.WAITING and e.public and options.customer_reply_resumes:
                    status = Status.OPEN
            elif e.kind == EventKind.PRIORITY:
                priority = e.priority
            elif e.kind == EventKind.POLICY:
                policy = e.policy
            elif e.kind == EventKind.CALENDAR:
                calendar = e.calendar
            self.after.append(_State(int(status), priority, policy, calendar))
        # Instants: (t, [event positions]); the state after the last one is the collapsed state.
        self.instants: list[tuple[int, list[int]]] = []
        for pos, e in enumerate(events):
            if self.instants and self.instants[-1][0] == e.t:
                self.instants[-1][1].append(pos)
            else:
                self.instants.append((e.t, [pos]))
        self.runs: list[_Run] = []
        for i, (t, positions) in enumerate(self.instants):
            end = self.instants[i + 1][0] if i + 1 < len(self.instants) else now
            self.runs.append(_Run(t, end, self.after[positions[-1]]))
        self.run_ts = [r.t for r in self.runs]

    # --- policy look-ups on a state -----------------------------------------------------------
    def target(self, state: _State, metric: Metric) -> int | None:
        mp = self.policies[state.policy].metrics.get(metric)
        if mp is None:
            return None
        return mp.targets.get(state.priority)

    def defined(self, state: _State, metric: Metric) -> bool:
        return self.target(state, metric) is not None

    def running(self, run_index: int, metric: Metric) -> bool:
        state = self.runs[run_index].state
        mp = self.policies[state.policy].metrics.get(metric)
        if mp is None or state.priority not in mp.targets:
            return False
        if Status(state.status) in mp.running_set(metric):
            return True
        if metric == Metric.TRT and self.options.solved_time_counts:
            later = (Status(r.state.status) not in _STOPPED for r in self.runs[run_index + 1 :])
            return state.status == Status.SOLVED and any(later)
        return False

    def calendar(self, state: _State, metric: Metric) -> int:
        mp = self.policies[state.policy].metrics.get(metric)
        if mp is not None and state.priority in mp.targets and not mp.business_hours:
            return ALWAYS_ON
        return state.calendar

    def run_at(self, t: int) -> int:
        return bisect.bisect_right(self.run_ts, t) - 1


def _is_agent_reply(e: Event) -> bool:
    return e.kind == EventKind.REPLY and e.author == Author.AGENT and e.public


def _is_stop(e: Event) -> bool:
    return e.kind == EventKind.STATUS and e.status in _STOPPED


def _frt_trigger_pos(case: _Case) -> int | None:
    created = case.events[0]
    if created.author == Author.CUSTOMER or created.public:
        return 0
    for pos, e in enumerate(case.events):
        if e.kind == EventKind.REPLY and e.author == Author.CUSTOMER:
            return pos
    return None


def _frt_done_pos(case: _Case) -> int | None:
    trig = _frt_trigger_pos(case)
    if trig is None:
        return None
    for pos in range(trig + 1, len(case.events)):
        e = case.events[pos]
        if _is_agent_reply(e) or _is_stop(e):
            return pos
    return None


def _walk(case: _Case, metric: Metric) -> list[_Cycle]:
    """Cycle starts and stops of one metric by walking the events in order."""
    cycles: list[_Cycle] = []
    open_cycle: _Cycle | None = None
    frt_trigger = _frt_trigger_pos(case) if metric == Metric.FRT else None
    frt_done = _frt_done_pos(case) if metric == Metric.NRT else None
    frt_phase_open = False
    for run_index, (t, positions) in enumerate(case.instants):
        collapsed = case.runs[run_index].state
        defined = case.defined(collapsed, metric)
        for pos in positions:
            e = case.events[pos]
            if metric == Metric.FRT:
                if pos == frt_trigger:
                    frt_phase_open = True
                    if defined:
                        open_cycle = _Cycle(t, run_index)
                        cycles.append(open_cycle)
                elif frt_phase_open and (_is_agent_reply(e) or _is_stop(e)):
                    frt_phase_open = False
                    if open_cycle is not None:
                        open_cycle.stop = t
                        open_cycle.fulfilled = (
                            FulfilledBy.REPLY if e.kind == EventKind.REPLY else FulfilledBy.SOLVE
                        )
                        open_cycle = None
            elif metric == Metric.NRT:
                if open_cycle is not None and (_is_agent_reply(e) or _is_stop(e)):
                    open_cycle.stop = t
                    open_cycle.fulfilled = (
                        FulfilledBy.REPLY if e.kind == EventKind.REPLY else FulfilledBy.SOLVE
                    )
                    open_cycle = None
                elif (
                    open_cycle is None
                    and frt_done is not None
                    and pos > frt_done
                    and e.kind == EventKind.REPLY
                    and e.author == Author.CUSTOMER
                    and e.public
                    and defined
                ):
                    open_cycle = _Cycle(t, run_index)
                    cycles.append(open_cycle)
            elif metric in (Metric.PU, Metric.PAU):
                if _is_agent_reply(e):
                    if open_cycle is not None:
                        open_cycle.stop = t
                        open_cycle.fulfilled = FulfilledBy.REPLY
                        open_cycle = None
                    if case.after[pos].status not in _STOPPED and defined:
                        open_cycle = _Cycle(t, run_index)
                        cycles.append(open_cycle)
                elif _is_stop(e) and open_cycle is not None:
                    open_cycle.stop = t
                    open_cycle.fulfilled = FulfilledBy.SOLVE
                    open_cycle = None
            elif metric == Metric.FRES:
                if pos == 0 and defined:
                    open_cycle = _Cycle(t, run_index)
                    cycles.append(open_cycle)
                elif _is_stop(e) and open_cycle is not None:
                    open_cycle.stop = t
                    open_cycle = None
        # End of the instant: an open cycle whose metric is now undefined is cancelled.
        if open_cycle is not None and not defined:
            open_cycle.stop = t
            open_cycle.cancelled = True
            open_cycle = None
    return cycles


def _walk_cumulative(case: _Case, metric: Metric) -> list[_Cycle]:
    first = case.runs[0]
    if not case.defined(first.state, metric):
        return []
    cycle = _Cycle(first.t, 0)
    for run in case.runs[1:]:
        if run.state.status not in _STOPPED and not case.defined(run.state, metric):
            cycle.stop = run.t
            cycle.cancelled = True
            return [cycle]
    if case.runs[-1].state.status in _STOPPED:
        i = len(case.runs) - 1
        while i > 0 and case.runs[i - 1].state.status in _STOPPED:
            i -= 1
        cycle.stop = case.runs[i].t
    return [cycle]


class _Calc:
    """Scalar B/Binv on a ClockSet, with ALWAYS_ON as the identity."""

    def __init__(self, clocks: ClockSet) -> None:
        self.clocks = clocks

    def b(self, calendar: int, t: int) -> int:
        if calendar == ALWAYS_ON:
            return t
        return self.clocks.clock(calendar).b_scalar(t)

    def binv(self, calendar: int, b: int) -> int:
        if calendar == ALWAYS_ON:
            return b
        return self.clocks.clock(calendar).binv_scalar(b)

    def advance(self, calendar: int, start: int, seconds: int) -> int:
        t = self.binv(calendar, self.b(calendar, start) + seconds)
        return NAT if t == NAT else max(start, t)


def _required_target(case: _Case, state: _State, metric: Metric) -> int:
    target = case.target(state, metric)
    if target is None:  # the cycle rules guarantee a defined metric here
        raise RuntimeError(f"{metric.name} undefined inside one of its cycles")
    return target


def _measure(
    case: _Case,
    metric: Metric,
    cycle: _Cycle,
    start: int,
    calc: _Calc,
    case_id: int,
    index: int,
) -> CycleRecord:
    now = case.now
    stop = None if cycle.stop is None else max(cycle.stop, start)
    end = now if stop is None else stop
    last_mode = case.options.calendar_change == CalendarChange.LAST

    # The target and calendar "at end": the state at end, or, where the metric is undefined
    # there (a cancelled cycle), the last state before it that defines the metric. The trigger's
    # state always does, so the search stops.
    r_end = case.run_at(end)
    while not case.defined(case.runs[r_end].state, metric):
        r_end -= 1
    end_state = case.runs[r_end].state
    target_end = _required_target(case, end_state, metric)
    k_end = case.calendar(end_state, metric)

    # Sub-intervals [x, y) of [start, end) with constant running flag, target and calendar.
    segments: list[tuple[int, int, bool, int | None, int]] = []
    r = case.run_at(start)
    while r < len(case.runs) and case.runs[r].t < end:
        run = case.runs[r]
        x, y = max(run.t, start), min(run.end, end)
        if x < y:
            k = k_end if last_mode else case.calendar(run.state, metric)
            segments.append((x, y, case.running(r, metric), case.target(run.state, metric), k))
        r += 1

    elapsed = paused_b = paused_c = 0
    breached_at: int | None = None
    i = 0
    while i < len(segments):
        # One target epoch: consecutive sub-intervals with the same target (§5.6).
        tgt = segments[i][3]
        j = i
        while j < len(segments) and segments[j][3] == tgt:
            j += 1
        if breached_at is None and tgt is not None and elapsed >= tgt:
            breached_at = segments[i][0]
        for x, y, run_ok, _, k in segments[i:j]:
            span = calc.b(k, y) - calc.b(k, x)
            if run_ok:
                if breached_at is None and tgt is not None and elapsed < tgt <= elapsed + span:
                    breached_at = calc.binv(k, calc.b(k, x) + tgt - elapsed)
                elapsed += span
            else:
                paused_b += span
                paused_c += y - x
        i = j
    breached = breached_at is not None and breached_at < end

    is_open = stop is None
    last_run = len(case.runs) - 1
    running_now = is_open and case.running(last_run, metric)
    now_state = case.runs[last_run].state
    due: int | None = None
    warn: int | None = None
    if breached:
        due = breached_at
    elif running_now:
        target_now = _required_target(case, now_state, metric)
        k_now = k_end if last_mode else case.calendar(now_state, metric)
        due = calc.advance(k_now, now, target_now - elapsed)
        mp = case.policies[now_state.policy].metrics[metric]
        threshold: int | None = None
        if mp.warn_before_s is not None:
            threshold = target_now - mp.warn_before_s
        elif mp.warn_at_fraction is not None:
            threshold = (
                target_now * mp.warn_at_fraction.numerator // mp.warn_at_fraction.denominator
            )
        if threshold is not None:
            warn = calc.advance(k_now, now, threshold - elapsed)
    elif not is_open and not cycle.cancelled:
        r_prev = case.run_at(end - 1) if end > start else case.run_at(start)
        if case.running(r_prev, metric):
            prev_state = case.runs[r_prev].state
            target_prev = _required_target(case, prev_state, metric)
            k_prev = k_end if last_mode else case.calendar(prev_state, metric)
            due = calc.advance(k_prev, end, target_prev - elapsed)
    if due == NAT:
        due = None
    if warn == NAT:
        warn = None

    if cycle.cancelled:
        state = CycleState.CANCELLED
    elif not is_open:
        state = CycleState.BREACHED_MET if breached else CycleState.MET
    elif running_now:
        state = CycleState.BREACHED_RUNNING if breached else CycleState.RUNNING
    else:
        state = CycleState.BREACHED_PAUSED if breached else CycleState.PAUSED
    return CycleRecord(
        case=case_id,
        metric=metric,
        cycle_index=index,
        start_at=start,
        stop_at=stop,
        fulfilled_by=cycle.fulfilled,
        state=state,
        target_s=target_end,
        elapsed_business_s=elapsed,
        elapsed_calendar_s=end - start,
        paused_business_s=paused_b,
        paused_calendar_s=paused_c,
        due_at=due,
        breached=breached,
        breached_at=breached_at if breached else None,
        remaining_s=target_end - elapsed,
        percent=100.0 * elapsed / target_end if target_end > 0 else None,
        warn_at=warn,
        running=running_now and not cycle.cancelled,
        calendar=k_end,
    )


def _validate_case(events: list[Event], n_policies: int, n_calendars: int) -> str | None:
    if events[0].kind != EventKind.CREATED:
        return "first event is not created"
    seen: set[tuple[int, int]] = set()
    closed = False
    for i, e in enumerate(events):
        if closed:
            return "event after closed"
        if (e.t, e.seq) in seen:
            return "duplicate (t, seq)"
        seen.add((e.t, e.seq))
        if i > 0 and e.kind == EventKind.CREATED:
            return "more than one created event"
        if e.kind == EventKind.CREATED and e.author not in (Author.CUSTOMER, Author.AGENT):
            return "bad created_by"
        if e.kind == EventKind.STATUS and not 0 <= e.status <= Status.CLOSED:
            return "unknown status"
        if e.kind == EventKind.REPLY and not 0 <= e.author <= Author.SYSTEM:
            return "unknown author"
        if e.kind in (EventKind.CREATED, EventKind.PRIORITY) and e.priority < 0:
            return "negative priority"
        if e.kind in (EventKind.CREATED, EventKind.POLICY) and not 0 <= e.policy < n_policies:
            return "unknown policy index"
        if e.kind in (EventKind.CREATED, EventKind.CALENDAR) and not (
            ALWAYS_ON <= e.calendar < n_calendars
        ):
            return "unknown calendar index"
        closed = e.kind == EventKind.STATUS and e.status == Status.CLOSED
    return None


def evaluate_reference(
    events: EventArrays,
    *,
    policies: Sequence[Policy],
    clocks: ClockSet,
    now: int,
    options: Options | None = None,
) -> CycleTable:
    """Scalar evaluation with the same contract and output as :func:`sla.evaluate`."""
    opts = options if options is not None else Options()
    by_case: dict[int, list[Event]] = {}
    for e in events.to_events():
        if e.t <= now:
            by_case.setdefault(e.case, []).append(e)
    bad: list[tuple[int, str]] = []
    records: list[CycleRecord] = []
    calc = _Calc(clocks)
    for case_id in sorted(by_case):
        evs = sorted(by_case[case_id], key=lambda e: (e.t, e.seq))
        reason = _validate_case(evs, len(policies), len(clocks))
        if reason is not None:
            bad.append((case_id, reason))
            continue
        case = _Case(evs, policies, now, opts)
        for metric in Metric:
            if not any(metric in p.metrics for p in policies):
                continue
            if metric in CUMULATIVE_METRICS:
                cycles = _walk_cumulative(case, metric)
            else:
                cycles = _walk(case, metric)
            sequential = opts.recurrence == Recurrence.SEQUENTIAL and metric in MULTI_CYCLE_METRICS
            previous_due: int | None = None
            for index, cycle in enumerate(cycles):
                start = cycle.trigger_t
                if sequential and previous_due is not None:
                    start = max(start, previous_due)
                if start > now:
                    break
                rec = _measure(case, metric, cycle, start, calc, case_id, index)
                records.append(rec)
                previous_due = rec.due_at
    if bad:
        raise EventValidationError([c for c, _ in bad], [r for _, r in bad])
    return CycleTable.from_records(records, now=now)
