"""Behaviour of event normalisation, metric cycles, summaries and live mode (spec §4, §5, §8.4)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from kontosjef.engine.businesstime import ALWAYS_ON, NAT, ClockSet, OutsideTableError
from kontosjef.engine.sla import (
    Author,
    CycleState,
    CycleTable,
    Event,
    EventArrays,
    EventKind,
    EventValidationError,
    FulfilledBy,
    LiveCycles,
    Metric,
    MetricPolicy,
    Options,
    Policy,
    Recurrence,
    Status,
    aggregate_cycles,
    evaluate,
    find_invalid_cases,
    next_due_at,
)

from .support import (
    LONDON_9_17,
    MON,
    TUE,
    WED,
    CaseBuilder,
    at,
    cycle,
    cycles,
    default_policy,
    hours,
    run,
    table,
)

CLOCKS = ClockSet([table(LONDON_9_17, 2025, 2025)])
ALL = default_policy(
    PU=MetricPolicy({2: hours(4)}),
    PAU=MetricPolicy({2: hours(4)}),
    FRES=MetricPolicy({2: hours(16)}),
)


def _concat(*builders: CaseBuilder) -> EventArrays:
    return EventArrays.from_events([e for b in builders for e in b.events])


def test_it_rejects_invalid_event_streams() -> None:
    good = CaseBuilder(1).created(at(MON, "09:00"))
    no_created = CaseBuilder(2).status(at(MON, "09:00"), Status.OPEN)
    after_closed = (
        CaseBuilder(3).created(at(MON, "09:00")).status(at(MON, "10:00"), Status.CLOSED)
        .customer(at(MON, "11:00"))
    )  # fmt: skip
    bad_status = CaseBuilder(4).created(at(MON, "09:00")).status(at(MON, "10:00"), Status.OPEN)
    bad_status.events[-1] = Event(4, at(MON, "10:00"), 1, EventKind.STATUS, status=9)
    bad_policy = CaseBuilder(5).created(at(MON, "09:00"), policy=3)
    events = _concat(good, no_created, after_closed, bad_status, bad_policy)
    now = at(MON, "12:00")
    assert find_invalid_cases(events, n_policies=1, n_calendars=1, now=now).tolist() == [2, 3, 4, 5]
    with pytest.raises(EventValidationError) as err:
        evaluate(events, policies=[default_policy()], clocks=CLOCKS, now=now)
    assert err.value.case_ids == (2, 3, 4, 5)
    assert "event after closed" in err.value.reasons


def test_it_sorts_events_by_time_then_seq_whatever_the_input_order() -> None:
    case = (
        CaseBuilder(1).created(at(MON, "09:00")).status(at(MON, "10:00"), Status.WAITING)
        .status(at(MON, "10:00"), Status.OPEN).agent(at(MON, "11:00"))
        .status(at(MON, "13:00"), Status.SOLVED)
    )  # fmt: skip
    other = CaseBuilder(7).opened(at(TUE, "09:00"), priority=1).agent(at(TUE, "09:10"))
    events = _concat(case, other)
    now = at(WED, "09:00")
    expected = evaluate(events, policies=[ALL], clocks=CLOCKS, now=now)
    rng = np.random.default_rng(0)
    for _ in range(5):
        shuffled = events.take(rng.permutation(len(events)))
        got = evaluate(shuffled, policies=[ALL], clocks=CLOCKS, now=now)
        assert got.records() == expected.records()


def test_it_ignores_events_after_now() -> None:
    case = CaseBuilder().created(at(MON, "09:00"), priority=1).agent(at(MON, "12:00"))
    frt = cycle(run(case, now=at(MON, "09:30")), Metric.FRT)
    assert frt.state == CycleState.RUNNING
    assert frt.stop_at is None
    assert frt.due_at == at(MON, "10:00")


def test_it_stops_first_reply_at_a_solve_without_reply() -> None:
    early = (
        CaseBuilder().created(at(MON, "09:00"), priority=1).status(at(MON, "09:30"), Status.SOLVED)
    )
    frt = cycle(run(early, now=at(MON, "12:00")), Metric.FRT)
    assert (frt.state, frt.fulfilled_by) == (CycleState.MET, FulfilledBy.SOLVE)
    late = (
        CaseBuilder().created(at(MON, "09:00"), priority=1).status(at(MON, "11:00"), Status.SOLVED)
    )
    frt = cycle(run(late, now=at(MON, "12:00")), Metric.FRT)
    assert (frt.state, frt.breached_at) == (CycleState.BREACHED_MET, at(MON, "10:00"))


@pytest.mark.parametrize(
    ("reply_first", "by"), [(True, FulfilledBy.REPLY), (False, FulfilledBy.SOLVE)]
)
def test_it_takes_fulfilled_by_from_the_first_event_in_seq_order(
    reply_first: bool, by: FulfilledBy
) -> None:
    t = at(MON, "09:20")
    case = CaseBuilder().created(at(MON, "09:00"), priority=1)
    if reply_first:
        case.agent(t).status(t, Status.SOLVED)
    else:
        case.status(t, Status.SOLVED).agent(t)
    frt = cycle(run(case, now=at(MON, "12:00")), Metric.FRT)
    assert frt.fulfilled_by == by
    assert frt.stop_at == t


def test_it_runs_update_cycles_between_agent_replies() -> None:
    case = (
        CaseBuilder().opened(at(MON, "09:00")).agent(at(MON, "10:00"))
        .status(at(MON, "11:00"), Status.WAITING).agent(at(MON, "12:00"))
        .status(at(MON, "13:00"), Status.SOLVED).agent(at(MON, "14:00"))
        .status(at(MON, "15:00"), Status.OPEN).agent(at(MON, "16:00"))
    )  # fmt: skip
    tab = run(case, now=at(MON, "16:30"), policies=[ALL])
    pu = cycles(tab, Metric.PU)
    assert [(c.start_at, c.stop_at) for c in pu] == [
        (at(MON, "10:00"), at(MON, "12:00")),
        (at(MON, "12:00"), at(MON, "13:00")),
        (at(MON, "16:00"), None),  # the 14:00 reply on a solved case starts nothing
    ]
    assert [c.fulfilled_by for c in pu] == [FulfilledBy.REPLY, FulfilledBy.SOLVE, FulfilledBy.NONE]
    pau = cycles(tab, Metric.PAU)
    assert pau[0].elapsed_business_s == hours(1)  # paused in waiting
    assert pau[0].paused_business_s == hours(1)
    assert pu[0].elapsed_business_s == hours(2)


def test_it_measures_first_resolution_once() -> None:
    case = (
        CaseBuilder().opened(at(MON, "09:00")).status(at(MON, "11:00"), Status.SOLVED)
        .status(at(MON, "12:00"), Status.OPEN).status(at(MON, "15:00"), Status.SOLVED)
    )  # fmt: skip
    tab = run(case, now=at(TUE, "09:00"), policies=[ALL])
    fres = cycles(tab, Metric.FRES)
    assert len(fres) == 1
    assert (fres[0].stop_at, fres[0].elapsed_business_s) == (at(MON, "11:00"), hours(2))
    assert cycle(tab, Metric.TRT).elapsed_business_s == hours(5)


def test_it_opens_a_next_reply_cycle_when_a_customer_reopens_a_solved_case() -> None:
    case = (
        CaseBuilder().created(at(MON, "09:00")).status(at(MON, "10:00"), Status.SOLVED)
        .customer(at(MON, "11:00"))
    )  # fmt: skip
    tab = run(case, now=at(MON, "12:00"), policies=[ALL])
    assert cycle(tab, Metric.FRT).fulfilled_by == FulfilledBy.SOLVE
    nrt = cycle(tab, Metric.NRT)
    assert (nrt.start_at, nrt.state) == (at(MON, "11:00"), CycleState.RUNNING)
    trt = cycle(tab, Metric.TRT)
    assert trt.stop_at is None  # reopened: the cumulative cycle runs again
    assert trt.elapsed_business_s == hours(2)


def test_it_cancels_a_cycle_when_the_policy_drops_the_metric_and_keeps_its_breach() -> None:
    no_frt = Policy({Metric.TRT: MetricPolicy({2: hours(16)})})
    case = CaseBuilder().created(at(MON, "09:00"), priority=2).policy(at(MON, "14:00"), 1)
    tab = run(case, now=at(MON, "16:00"), policies=[default_policy(), no_frt])
    frt = cycle(tab, Metric.FRT)
    assert (frt.state, frt.stop_at) == (CycleState.CANCELLED, at(MON, "14:00"))
    assert frt.breached_at == at(MON, "13:00")
    assert frt.target_s == hours(4)
    assert cycle(tab, Metric.TRT).state == CycleState.RUNNING


def test_it_measures_calendar_hour_metrics_around_the_clock() -> None:
    pol = Policy({Metric.TRT: MetricPolicy({2: hours(24)}, business_hours=False)})
    case = CaseBuilder().opened(at(MON, "16:00"))
    trt = cycle(run(case, now=at(TUE, "10:00"), policies=[pol]), Metric.TRT)
    assert trt.elapsed_business_s == hours(18)
    assert trt.calendar == ALWAYS_ON
    assert trt.due_at == at(TUE, "16:00")


def test_it_accepts_the_always_on_calendar_as_a_case_calendar() -> None:
    case = CaseBuilder().opened(at(MON, "16:00"), calendar=ALWAYS_ON)
    trt = cycle(run(case, now=at(TUE, "10:00")), Metric.TRT)
    assert trt.elapsed_business_s == hours(18)


def test_it_raises_when_a_table_does_not_cover_the_events() -> None:
    case = CaseBuilder().opened(at("2027-03-01", "09:00")).arrays()
    with pytest.raises(OutsideTableError):
        evaluate(case, policies=[default_policy()], clocks=CLOCKS, now=at("2027-03-01", "10:00"))


def test_it_evaluates_many_cases_as_one_batch_like_one_by_one() -> None:
    builders = [
        CaseBuilder(10).opened(at(MON, "09:00"), priority=1).agent(at(MON, "09:30"))
        .customer(at(MON, "10:00")).agent(at(MON, "13:00")),
        CaseBuilder(3).created(at(MON, "15:00"), priority=3)
        .status(at(TUE, "10:00"), Status.WAITING),
        CaseBuilder(99).created(at(TUE, "09:00"), by=Author.AGENT, public=False),
    ]  # fmt: skip
    now = at(WED, "09:00")
    batch = evaluate(_concat(*builders), policies=[ALL], clocks=CLOCKS, now=now)
    single = [r for b in builders for r in evaluate(b.arrays(), policies=[ALL], clocks=CLOCKS,
                                                    now=now).records()]  # fmt: skip
    assert batch.records() == sorted(single, key=lambda r: (r.metric, r.case, r.cycle_index))


def test_it_summarises_escalation_instants_and_multi_cycle_aggregates() -> None:
    case = (
        CaseBuilder(5).created(at(MON, "09:00"), priority=2).agent(at(MON, "09:10"))
        .customer(at(MON, "10:00")).agent(at(MON, "15:00")).customer(at(MON, "16:00"))
    )  # fmt: skip
    tab = run(case, now=at(MON, "16:30"), policies=[ALL])
    agg = aggregate_cycles(tab)
    rows = {Metric(m): (t, b, mx, cur) for m, t, b, mx, cur in zip(
        agg.metric.tolist(), agg.cycles_total.tolist(), agg.cycles_breached.tolist(),
        agg.max_elapsed_business_s.tolist(), agg.current_cycle.tolist(), strict=True)}  # fmt: skip
    assert rows[Metric.NRT] == (2, 1, hours(5), 1)
    assert rows[Metric.PU] == (2, 1, hours(5) + 50 * 60, 1)
    due = next_due_at(tab)
    assert due.case.tolist() == [5]
    running = [r.due_at for r in tab.records() if r.state == CycleState.RUNNING]
    assert due.next_due_at.tolist() == [min(running)]


def test_it_returns_nat_escalation_for_cases_without_running_cycles() -> None:
    case = CaseBuilder(1).opened(at(MON, "09:00")).status(at(MON, "10:00"), Status.SOLVED)
    assert next_due_at(run(case, now=at(MON, "11:00"))).next_due_at.tolist() == [NAT]


def test_it_advances_live_cycles_like_a_full_recomputation() -> None:
    case = (
        CaseBuilder(1).opened(at(MON, "09:00"), priority=1)
        .status(at(MON, "10:00"), Status.ON_HOLD).status(at(MON, "11:00"), Status.OPEN)
    )  # fmt: skip
    other = (
        CaseBuilder(2).opened(at(MON, "09:00"), priority=1).status(at(MON, "09:30"), Status.WAITING)
    )
    events = _concat(case, other)
    t0 = at(MON, "11:00")
    pol = [default_policy()]
    live = LiveCycles.from_table(evaluate(events, policies=pol, clocks=CLOCKS, now=t0), CLOCKS)
    for later in (at(MON, "12:00"), at(MON, "13:30"), at(TUE, "10:00")):
        state = live.at(CLOCKS, later)
        full = evaluate(events, policies=pol, clocks=CLOCKS, now=later)
        open_rows = full.take((full.stop_at == NAT) & (full.state != CycleState.CANCELLED))
        assert state.elapsed_business_s.tolist() == open_rows.elapsed_business_s.tolist()
        assert state.state.tolist() == open_rows.state.tolist()
        assert state.breached_at.tolist() == open_rows.breached_at.tolist()
        assert state.remaining_s.tolist() == open_rows.remaining_s.tolist()
    with pytest.raises(ValueError):
        live.at(CLOCKS, t0 - 1)


def test_it_round_trips_records_and_selects_rows() -> None:
    case = CaseBuilder(4).created(at(MON, "09:00"), priority=1).agent(at(MON, "09:30"))
    tab = run(case, now=at(MON, "10:00"))
    again = CycleTable.from_records(tab.records(), now=tab.now)
    assert again.records() == tab.records()
    assert len(tab.select(case=4, metric=Metric.FRT)) == 1
    assert len(tab.select(case=5)) == 0
    assert CycleState.BREACHED_MET.label == "breached_met"


def test_it_skips_sequential_cycles_that_would_start_after_now() -> None:
    pol = default_policy(NRT=MetricPolicy({2: hours(2)}))
    case = (
        CaseBuilder().created(at(MON, "08:00")).agent(at(MON, "08:30"))
        .customer(at(MON, "09:00")).agent(at(MON, "09:30")).customer(at(MON, "10:00"))
    )  # fmt: skip
    tab = run(case, now=at(MON, "10:30"), policies=[pol],
              options=Options(recurrence=Recurrence.SEQUENTIAL))  # fmt: skip
    assert len(cycles(tab, Metric.NRT)) == 1


def test_it_validates_policy_settings() -> None:
    with pytest.raises(ValueError):
        MetricPolicy({1: -5})
    with pytest.raises(ValueError):
        MetricPolicy({1: 5}, running=frozenset({Status.SOLVED}))
    with pytest.raises(ValueError):
        MetricPolicy({1: 5}, warn_before_s=10, warn_at_fraction=Fraction(1, 2))
    with pytest.raises(ValueError):
        MetricPolicy({1: 5}, warn_at_fraction=Fraction(3, 2))


def test_it_gives_the_same_table_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from kontosjef.engine import sla

    builders = [
        CaseBuilder(c).opened(at(MON, "09:00"), priority=1 + c % 3).agent(at(MON, "09:30"))
        .customer(at(MON, "10:00")).status(at(MON, "11:00"), Status.WAITING)
        .customer(at(MON, "12:00")).agent(at(TUE, "10:00")).status(at(TUE, "11:00"), Status.SOLVED)
        for c in range(12)
    ]  # fmt: skip
    events = _concat(*builders)
    now = at(WED, "09:00")
    whole = evaluate(events, policies=[ALL], clocks=CLOCKS, now=now)
    monkeypatch.setattr(sla, "_CHUNK_EVENTS", 5)  # smaller than one case: blocks of whole cases
    assert sla._chunks(np.sort(events.case), 5)[:2] == [(0, 8), (8, 16)]  # 8 events per case
    assert evaluate(events, policies=[ALL], clocks=CLOCKS, now=now).records() == whole.records()
    bad = _concat(*builders, CaseBuilder(50).status(at(MON, "09:00"), Status.OPEN),
                  CaseBuilder(60).status(at(MON, "09:00"), Status.OPEN))  # fmt: skip
    with pytest.raises(EventValidationError) as err:
        evaluate(bad, policies=[ALL], clocks=CLOCKS, now=now)
    assert err.value.case_ids == (50, 60)
