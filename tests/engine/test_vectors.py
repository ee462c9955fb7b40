"""The 46 test vectors of the SLA specification (§6.2 C01–C24, §6.3 M01–M22).

Metric vectors run through both the vectorised and the reference evaluator (``support.run``
asserts they agree) and then check the spec's expected values.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from kontosjef.engine.businesstime import (
    ALWAYS_ON,
    NAT,
    CalendarVersion,
    apply_holiday_snapshot,
    holiday_snapshot,
    is_nat,
    weekly_hours,
)
from kontosjef.engine.sla import (
    CalendarChange,
    CycleState,
    FulfilledBy,
    Metric,
    MetricPolicy,
    Options,
    Policy,
    Recurrence,
    Status,
    next_due_at,
)

from .support import (
    FRI,
    LONDON_9_17,
    LONDON_24X7,
    MON,
    SAT0,
    SUN0,
    THU,
    TUE,
    WED,
    CaseBuilder,
    at,
    clock,
    cycle,
    cycles,
    default_policy,
    hours,
    run,
    span,
    table,
    version,
)

NY = "America/New_York"
UTC = "UTC"


def with_holidays(v: CalendarVersion, country: str, year: int) -> CalendarVersion:
    return apply_holiday_snapshot(v, holiday_snapshot(country, years=(year, year)))


# ---------------------------------------------------------------------------------------------
# C01–C24: calendar arithmetic


def test_C01_dst_offset_of_the_due_day_not_the_start_day() -> None:
    c = clock(version(NY, range(5), span("09:00", "17:00")), 2024, 2024)
    due = c.due(at("2024-03-08", "16:00", NY), hours(2))
    assert int(due) == at("2024-03-11", "10:00", NY)
    assert int(due) == at("2024-03-11", "14:00", UTC)


def test_C02_servicenow_elapsed_example() -> None:
    v = version(UTC, range(5), span("08:00", "17:00"))
    pol = Policy({Metric.TRT: MetricPolicy({1: hours(8)})})
    case = CaseBuilder().opened(at("2025-12-12", "21:00", UTC), priority=1)
    now = at("2025-12-15", "09:30", UTC)
    tab = run(case, now=now, policies=[pol], tables=[table(v, 2025, 2025)])
    trt = cycle(tab, Metric.TRT)
    assert trt.elapsed_business_s == 5400
    assert trt.elapsed_calendar_s == 217800
    assert trt.due_at == at("2025-12-15", "16:00", UTC)
    assert trt.percent == 18.75
    assert trt.state == CycleState.RUNNING


def test_C03_target_ending_at_closing_time_is_due_at_closing_time() -> None:
    c = clock(version(NY, range(5), span("09:00", "17:00")), 2024, 2024)
    assert int(c.due(at("2024-01-08", "09:00", NY), hours(8))) == at("2024-01-08", "17:00", NY)
    assert int(c.due(at("2024-01-08", "16:00", NY), hours(1))) == at("2024-01-08", "17:00", NY)
    assert int(c.due(at("2024-01-08", "17:00", NY), 0)) == at("2024-01-08", "17:00", NY)


def test_C04_mlk_day_skipped() -> None:
    v = with_holidays(version(UTC, range(5), span("09:00", "17:00")), "US", 2014)
    c = clock(v, 2014, 2014)
    start = at("2014-01-17", "15:00", UTC)
    assert int(c.due(start, hours(7))) == at("2014-01-21", "14:00", UTC)
    assert int(c.due(start, hours(8))) == at("2014-01-21", "15:00", UTC)


def test_C05_veterans_day_in_local_time() -> None:
    la = "America/Los_Angeles"
    v = with_holidays(version(la, range(5), span("08:00", "17:00")), "US", 2021)
    c = clock(v, 2021, 2021)
    assert int(c.elapsed(at("2021-11-10", "16:00", la), at("2021-11-10", "17:00", la))) == 3600
    assert int(c.due(at("2021-11-10", "17:00", la), hours(4))) == at("2021-11-12", "12:00", la)


def test_C06_adding_across_fall_back() -> None:
    ams = "Europe/Amsterdam"
    c = clock(version(ams, range(7), span("00:00", "10:00")), 2022, 2022)
    due = int(c.due(at("2022-10-30", "00:00", UTC), hours(1)))
    assert due == at("2022-10-30", "01:00", UTC)  # 02:00+01:00
    day = c.elapsed(at("2022-10-30", "00:00", ams), at("2022-10-31", "00:00", ams))
    assert int(day) == hours(11)


def test_C07_short_day_at_spring_forward() -> None:
    ams = "Europe/Amsterdam"
    c = clock(version(ams, range(7), span("00:00", "10:00")), 2022, 2022)
    day = c.elapsed(at("2022-03-27", "00:00", ams), at("2022-03-28", "00:00", ams))
    assert int(day) == hours(9)
    start = at("2022-03-27", "00:30", UTC)  # 01:30+01:00
    assert int(c.due(start, hours(1))) == at("2022-03-27", "01:30", UTC)  # 03:30+02:00


def test_C08_window_opening_in_a_dst_gap_snaps_to_the_transition() -> None:
    c = clock(version(NY, [6], span("02:30", "05:00")), 2024, 2024)
    lo, hi = at("2024-03-10", "00:00", NY), at("2024-03-11", "00:00", NY)
    assert int(c.elapsed(lo, hi)) == 7200  # not 5400 (move-by-gap peers)
    opening = int(c.Binv(int(c.B(lo)) + 1)) - 1
    assert opening == at("2024-03-10", "07:00", UTC)  # 03:00 EDT


def test_C09_window_starting_at_a_midnight_that_does_not_exist() -> None:
    scl = "America/Santiago"
    c = clock(version(scl, [6], span("00:00", "08:00")), 2024, 2024)
    lo, hi = at("2024-09-07", "12:00", UTC), at("2024-09-09", "12:00", UTC)
    assert int(c.elapsed(lo, hi)) == 25200
    opening = int(c.Binv(int(c.B(lo)) + 1)) - 1
    assert opening == at("2024-09-08", "04:00", UTC)  # 01:00 -03


def test_C10_twenty_four_seven_across_both_transitions() -> None:
    c = clock(version(NY, range(7), span("00:00", "24:00")), 2024, 2024)
    assert int(c.due(at("2024-03-10", "01:30", NY), hours(1))) == at("2024-03-10", "07:30", UTC)
    assert int(c.due(at("2024-11-03", "00:30", NY), hours(2))) == at("2024-11-03", "06:30", UTC)


def test_C11_overnight_shift_started_the_previous_night() -> None:
    c = clock(version(UTC, range(5), span("22:00", "06:00(+1)")), 2024, 2024)
    assert int(c.due(at("2024-01-09", "02:00", UTC), hours(1))) == at("2024-01-09", "03:00", UTC)
    assert int(c.elapsed(at("2024-01-09", "02:00", UTC), at("2024-01-09", "05:00", UTC))) == 10800


def test_C12_overnight_shift_meeting_a_weekend() -> None:
    c = clock(version(UTC, range(5), span("22:00", "06:00(+1)")), 2024, 2024)
    assert int(c.due(at("2024-01-13", "05:00", UTC), hours(2))) == at("2024-01-15", "23:00", UTC)


def test_C13_holiday_clips_overnight_shifts() -> None:
    v = version(UTC, range(5), span("22:00", "06:00(+1)"), holidays=frozenset({date(2024, 1, 9)}))
    c = clock(v, 2024, 2024)
    assert int(c.elapsed(at("2024-01-08", "22:00", UTC), at("2024-01-10", "06:00", UTC))) == 28800
    assert int(c.due(at("2024-01-08", "23:00", UTC), hours(2))) == at("2024-01-10", "01:00", UTC)


def test_C14_exact_integer_seconds_and_24_00() -> None:
    mad = "Europe/Madrid"
    c = clock(version(mad, range(7), span("21:00", "08:00(+1)")), 2024, 2024)
    due = int(c.due(at("2024-03-18", "21:00", mad), hours(11)))
    assert due == at("2024-03-19", "08:00", mad)
    u = clock(version(UTC, [0, 1], span("00:00", "24:00")), 2024, 2024)
    assert int(u.elapsed(at("2024-03-18", "00:00", UTC), at("2024-03-20", "00:00", UTC))) == 172800


def test_C15_lunch_break_as_split_interval() -> None:
    c = clock(version("Europe/London", range(5), span("09:00", "12:00"), span("13:00", "18:00")))
    assert int(c.due(at(MON, "11:30"), hours(1))) == at(MON, "13:30")


def test_C16_weekend_ticket_first_reply() -> None:
    case = CaseBuilder().created(at(SAT0, "10:00"), priority=1).agent(at(MON, "09:30"))
    frt = cycle(run(case, now=at(MON, "12:00")), Metric.FRT)
    assert frt.due_at == at(MON, "10:00")
    assert frt.elapsed_business_s == 1800
    assert frt.state == CycleState.MET


def test_C17_both_endpoints_after_hours() -> None:
    c = clock(LONDON_9_17)
    assert int(c.elapsed(at(FRI, "18:00"), at("2025-01-13", "18:00"))) == 28800


def test_C18_holiday_lists_from_a_feed_versus_the_package() -> None:
    ber = "Europe/Berlin"
    base = version(ber, range(7), span("09:00", "21:00"))
    start = at("2016-11-09", "23:00", ber)
    feed = CalendarVersion(
        tz=ber, weekly=base.weekly, holidays=frozenset({date(2016, 11, 11), date(2016, 11, 13)})
    )
    assert int(clock(feed, 2016, 2016).due(start, hours(48))) == at("2016-11-15", "21:00", ber)
    package = with_holidays(base, "DE", 2016)
    assert int(clock(package, 2016, 2016).due(start, hours(48))) == at("2016-11-13", "21:00", ber)


def test_C19_holiday_on_a_dst_day_removes_23_hours() -> None:
    v = version(NY, range(7), span("00:00", "24:00"), holidays=frozenset({date(2024, 3, 10)}))
    c = clock(v, 2024, 2024)
    lo, hi = at("2024-03-09", "00:00", NY), at("2024-03-12", "00:00", NY)
    assert int(c.elapsed(lo, hi)) == 172800
    assert hi - lo == 255600


def _from_week_minutes(pairs: list[tuple[int, int]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """DECISIONLOG schedules: minutes from Sunday 00:00 UTC -> weekly spans (Monday = 0)."""
    weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for s, e in pairs:
        day_sunday_first, minute = divmod(s, 1440)
        weekday = (day_sunday_first + 6) % 7
        weekly[weekday].append((minute * 60, (minute + e - s) * 60))
    return tuple(tuple(d) for d in weekly)


LEVEL1 = [(720, 1560), (2160, 3000), (3600, 4440), (5040, 5880), (6480, 7320), (7920, 8760),
          (9360, 10200)]  # fmt: skip
LEVEL2 = [(2340, 2910), (3780, 4350), (5220, 5790), (6660, 7230), (8100, 8670)]


@pytest.mark.parametrize(
    ("mode", "expected"), [(CalendarChange.PIECEWISE, 57608), (CalendarChange.LAST, 41408)]
)
def test_C20_calendar_change_piecewise_and_last(mode: CalendarChange, expected: int) -> None:
    l1 = CalendarVersion(tz=UTC, weekly=_from_week_minutes(LEVEL1))
    l2 = CalendarVersion(tz=UTC, weekly=_from_week_minutes(LEVEL2))
    assert l1.weekly[1] == ((12 * 3600, 26 * 3600),)  # every day 12:00-02:00(+1)
    assert l2.weekly[0] == ((15 * 3600, 24 * 3600 + 1800),)  # Mon-Fri 15:00-00:30(+1)
    case = (
        CaseBuilder()
        .created(at("2020-09-29", "17:01:38", UTC), priority=1, calendar=0)
        .calendar(at("2020-09-30", "19:01:25", UTC), 1)
        .agent(at("2020-09-30", "19:01:46", UTC))
    )
    pol = Policy({Metric.FRT: MetricPolicy({1: hours(100)})})
    tab = run(
        case,
        now=at("2020-10-01", "00:00", UTC),
        policies=[pol],
        tables=[table(l1, 2020, 2020), table(l2, 2020, 2020)],
        options=Options(calendar_change=mode),
    )
    frt = cycle(tab, Metric.FRT)
    assert frt.elapsed_business_s == expected
    assert frt.fulfilled_by == FulfilledBy.REPLY


def test_C21_warning_one_business_hour_before_due() -> None:
    v = version(UTC, range(5), span("08:00", "18:00"))
    c = clock(v, 2024, 2024)
    start = at("2024-01-08", "17:00", UTC)
    assert int(c.due(start, hours(4))) == at("2024-01-09", "11:00", UTC)
    assert int(c.warn_at(start, hours(4), before=hours(1))) == at("2024-01-09", "10:00", UTC)
    for warn in (
        MetricPolicy({1: hours(4)}, warn_before_s=hours(1)),
        MetricPolicy({1: hours(4)}, warn_at_fraction=Fraction(3, 4)),
    ):
        tab = run(
            CaseBuilder().opened(start, priority=1),
            now=start,
            policies=[Policy({Metric.TRT: warn})],
            tables=[table(v, 2024, 2024)],
        )
        trt = cycle(tab, Metric.TRT)
        assert trt.due_at == at("2024-01-09", "11:00", UTC)
        assert trt.warn_at == at("2024-01-09", "10:00", UTC)


def test_C22_substituted_working_day_and_spring_festival() -> None:
    sha = "Asia/Shanghai"
    v = with_holidays(version(sha, range(5), span("09:00", "17:00")), "CN", 2024)
    assert date(2024, 2, 4) in dict(v.extra_working)
    c = clock(v, 2024, 2024)
    assert int(c.elapsed(at("2024-02-04", "00:00", sha), at("2024-02-05", "00:00", sha))) == 28800
    assert int(c.elapsed(at("2024-02-12", "00:00", sha), at("2024-02-13", "00:00", sha))) == 0


def test_C23_zero_target_outside_hours_is_due_at_start() -> None:
    c = clock(LONDON_9_17)
    start = at(MON, "20:00")
    assert int(c.due(start, 0)) == start
    assert int(c.Binv(c.B(start))) == at(MON, "17:00")  # why the clamp is needed
    pol = Policy({Metric.FRT: MetricPolicy({1: 0})})
    tab = run(CaseBuilder().created(start, priority=1).agent(start), now=start, policies=[pol])
    frt = cycle(tab, Metric.FRT)
    assert frt.due_at == start
    assert frt.state == CycleState.MET
    assert not frt.breached


@pytest.mark.parametrize("every_day_holiday", [False, True])
def test_C24_no_working_time_gives_nat_promptly(every_day_holiday: bool) -> None:
    if every_day_holiday:
        days = {date(2024, 1, 1).fromordinal(date(2024, 1, 1).toordinal() + i) for i in range(366)}
        v = CalendarVersion(
            tz=NY, weekly=weekly_hours(range(7), (0, 86400)), holidays=frozenset(days)
        )
    else:
        v = CalendarVersion(tz=NY, weekly=weekly_hours([]))
    c = clock(v, 2024, 2024)
    start = at("2024-05-01", "10:00", NY)
    assert bool(is_nat(c.due(start, hours(1))))
    assert int(c.due(start, hours(1))) == NAT
    assert int(c.elapsed(start, at("2024-06-01", "10:00", NY))) == 0


# ---------------------------------------------------------------------------------------------
# M01–M22: metric semantics (Europe/London Mon–Fri 09–17, week of Mon 2025-01-06)


def test_M01_baseline_first_reply() -> None:
    case = CaseBuilder().created(at(MON, "10:00"), priority=1).agent(at(MON, "10:45"))
    frt = cycle(run(case, now=at(MON, "12:00")), Metric.FRT)
    assert frt.elapsed_business_s == 2700
    assert frt.due_at == at(MON, "11:00")
    assert frt.state == CycleState.MET
    assert frt.remaining_s == 900
    assert frt.fulfilled_by == FulfilledBy.REPLY


def test_M02_carry_over_into_next_day() -> None:
    case = CaseBuilder().created(at(MON, "16:30"), priority=2).agent(at(TUE, "13:00"))
    frt = cycle(run(case, now=at(TUE, "14:00")), Metric.FRT)
    assert frt.elapsed_business_s == 16200
    assert frt.breached_at == at(TUE, "12:30")
    assert frt.state == CycleState.BREACHED_MET
    assert frt.remaining_s == -1800


def _m03() -> CaseBuilder:
    return (
        CaseBuilder()
        .opened(at(MON, "09:00"), priority=2)
        .status(at(MON, "11:00"), Status.WAITING)
        .customer(at(WED, "11:00"))
        .status(at(WED, "11:00"), Status.OPEN)
        .status(at(WED, "15:00"), Status.SOLVED)
    )


def test_M03_pauses_in_waiting_for_rwt_not_trt() -> None:
    tab = run(_m03(), now=at(THU, "12:00"))
    rwt = cycle(tab, Metric.RWT)
    assert rwt.elapsed_business_s == 21600
    assert rwt.paused_business_s == 57600
    assert rwt.paused_calendar_s == 172800
    assert rwt.due_at == at(THU, "17:00")
    assert rwt.state == CycleState.MET
    trt = cycle(tab, Metric.TRT)
    assert trt.elapsed_business_s == 79200
    assert trt.breached_at == at(TUE, "17:00")
    assert trt.state == CycleState.BREACHED_MET


def test_M04_on_hold_stays_paused_past_deadlines() -> None:
    case = (
        CaseBuilder().opened(at(MON, "09:00"), priority=1).status(at(MON, "10:00"), Status.ON_HOLD)
    )
    awt = cycle(run(case, now=at(TUE, "17:00")), Metric.AWT)
    assert awt.elapsed_business_s == 3600
    assert awt.remaining_s == 10800
    assert awt.due_at is None
    assert not awt.breached
    assert awt.state == CycleState.PAUSED
    case.status(at(WED, "09:00"), Status.OPEN)
    awt = cycle(run(case, now=at(WED, "09:30")), Metric.AWT)
    assert awt.elapsed_business_s == 5400
    assert awt.due_at == at(WED, "12:00")
    assert awt.state == CycleState.RUNNING


def test_M05_breach_survives_a_later_pause() -> None:
    case = (
        CaseBuilder().opened(at(MON, "09:00"), priority=1).status(at(MON, "14:00"), Status.ON_HOLD)
    )
    awt = cycle(run(case, now=at(TUE, "12:00")), Metric.AWT)
    assert awt.elapsed_business_s == 18000
    assert awt.breached_at == at(MON, "13:00")
    assert awt.remaining_s == -3600
    assert awt.state == CycleState.BREACHED_PAUSED
    later = cycle(run(case, now=at(WED, "12:00")), Metric.AWT)
    assert later.remaining_s == -3600  # frozen while paused


MEDIUM, HIGH = 5, 6
CUSTOM = Policy({Metric.FRT: MetricPolicy({MEDIUM: hours(3), HIGH: hours(2)})})


def test_M06_priority_change_keeps_start_and_elapsed() -> None:
    case = CaseBuilder().created(at(MON, "10:00"), priority=MEDIUM).priority(at(MON, "11:00"), HIGH)
    frt = cycle(run(case, now=at(MON, "11:00"), policies=[CUSTOM]), Metric.FRT)
    assert frt.elapsed_business_s == 3600
    assert frt.due_at == at(MON, "12:00")
    assert frt.start_at == at(MON, "10:00")
    assert frt.target_s == hours(2)


def test_M07_stricter_target_breaches_at_the_change_instant() -> None:
    case = CaseBuilder().created(at(MON, "09:00"), priority=3).priority(at(MON, "13:00"), 1)
    frt = cycle(run(case, now=at(MON, "13:01")), Metric.FRT)
    assert frt.elapsed_business_s == 14460
    assert frt.breached
    assert frt.breached_at == at(MON, "13:00")
    assert frt.state == CycleState.BREACHED_RUNNING
    # M07b: a reply at exactly the change instant is met.
    case_b = (
        CaseBuilder()
        .created(at(MON, "09:00"), priority=3)
        .priority(at(MON, "13:00"), 1)
        .agent(at(MON, "13:00"))
    )
    frt_b = cycle(run(case_b, now=at(MON, "13:01")), Metric.FRT)
    assert frt_b.state == CycleState.MET
    assert not frt_b.breached


def test_M08_breach_is_sticky_after_lowering_priority() -> None:
    case = (
        CaseBuilder()
        .created(at(MON, "09:00"), priority=1)
        .priority(at(MON, "11:00"), 3)
        .agent(at(MON, "12:00"))
    )
    frt = cycle(run(case, now=at(MON, "13:00")), Metric.FRT)
    assert frt.elapsed_business_s == 10800
    assert frt.breached
    assert frt.breached_at == at(MON, "10:00")
    assert frt.remaining_s == 18000
    assert frt.state == CycleState.BREACHED_MET


def _m09() -> CaseBuilder:
    return (
        CaseBuilder()
        .opened(at(MON, "09:00"), priority=2)
        .status(at(MON, "15:00"), Status.SOLVED)
        .status(at(WED, "10:00"), Status.OPEN)
        .status(at(WED, "16:00"), Status.SOLVED)
    )


def test_M09_reopen_excludes_solved_time() -> None:
    trt = cycle(run(_m09(), now=at(THU, "09:00")), Metric.TRT)
    assert trt.elapsed_business_s == 43200
    assert trt.state == CycleState.MET
    assert trt.stop_at == at(WED, "16:00")


def test_M10_solved_time_counts_option() -> None:
    tab = run(_m09(), now=at(THU, "09:00"), options=Options(solved_time_counts=True))
    trt = cycle(tab, Metric.TRT)
    assert trt.elapsed_business_s == 82800
    assert trt.breached_at == at(TUE, "17:00")
    assert trt.state == CycleState.BREACHED_MET


NRT_2H = default_policy(NRT=MetricPolicy({2: hours(2)}))


def test_M11_next_reply_starts_at_oldest_unanswered_comment() -> None:
    case = (
        CaseBuilder()
        .created(at(MON, "09:00"), priority=2)
        .agent(at(MON, "10:00"))
        .customer(at(MON, "11:00"))
        .customer(at(MON, "14:00"))
        .agent(at(MON, "15:00"))
    )
    nrt = cycles(run(case, now=at(MON, "16:00"), policies=[NRT_2H]), Metric.NRT)
    assert len(nrt) == 1
    assert nrt[0].start_at == at(MON, "11:00")
    assert nrt[0].elapsed_business_s == 14400
    assert nrt[0].breached_at == at(MON, "13:00")


def test_M12_private_note_is_not_a_reply() -> None:
    case = (
        CaseBuilder()
        .created(at(MON, "09:00"), priority=1)
        .agent(at(MON, "09:30"), public=False)
        .agent(at(MON, "10:30"))
    )
    frt = cycle(run(case, now=at(MON, "11:00")), Metric.FRT)
    assert frt.elapsed_business_s == 5400
    assert frt.breached_at == at(MON, "10:00")
    assert frt.stop_at == at(MON, "10:30")


def test_M13_privately_created_case_starts_at_first_customer_comment() -> None:
    from kontosjef.engine.sla import Author

    case = (
        CaseBuilder()
        .created(at(MON, "09:00"), priority=1, by=Author.AGENT, public=False)
        .customer(at(MON, "11:00"))
        .agent(at(MON, "11:30"))
    )
    tab = run(case, now=at(MON, "12:00"))
    frt = cycle(tab, Metric.FRT)
    assert frt.start_at == at(MON, "11:00")
    assert frt.elapsed_business_s == 1800
    assert frt.state == CycleState.MET
    assert cycles(tab, Metric.NRT) == []


def test_M14_next_escalation_ignores_inactive_next_reply() -> None:
    pol = default_policy(FRT=MetricPolicy({2: hours(4)}), NRT=MetricPolicy({2: hours(1)}))
    tab = run(CaseBuilder().created(at(MON, "09:00"), priority=2), now=at(MON, "09:00"),
              policies=[pol])  # fmt: skip
    assert cycles(tab, Metric.NRT) == []
    summary = next_due_at(tab.select(metric=Metric.FRT))
    assert summary.next_due_at.tolist() == [at(MON, "13:00")]
    whole = next_due_at(tab)  # resolution metrics (16 h) fall due later
    assert whole.next_due_at.tolist() == [at(MON, "13:00")]


def test_M15_same_instant_statuses_last_state_wins() -> None:
    first = (
        CaseBuilder()
        .opened(at(MON, "09:00"))
        .status(at(MON, "10:00"), Status.WAITING)
        .status(at(MON, "10:00"), Status.SOLVED)
    )
    tab = run(first, now=at(MON, "12:00"))
    for metric in (Metric.TRT, Metric.RWT):
        c = cycle(tab, metric)
        assert c.stop_at == at(MON, "10:00")
        assert c.paused_business_s == 0
        assert c.paused_calendar_s == 0
    second = (
        CaseBuilder()
        .opened(at(MON, "09:00"))
        .status(at(MON, "11:00"), Status.WAITING)
        .status(at(MON, "11:00"), Status.OPEN)
    )
    tab2 = run(second, now=at(MON, "12:00"))
    for metric in (Metric.TRT, Metric.RWT):
        c = cycle(tab2, metric)
        assert c.paused_business_s == 0
        assert c.paused_calendar_s == 0
        assert c.elapsed_business_s == hours(3)
        assert c.state == CycleState.RUNNING


def test_M16_pause_straddling_closing_time() -> None:
    case = (
        CaseBuilder()
        .opened(at(MON, "09:00"), priority=2)
        .status(at(MON, "16:00"), Status.WAITING)
        .status(at(MON, "20:00"), Status.OPEN)
        .status(at(TUE, "12:00"), Status.SOLVED)
    )
    rwt = cycle(run(case, now=at(TUE, "13:00")), Metric.RWT)
    assert rwt.elapsed_business_s == 36000
    assert rwt.paused_business_s == 3600
    assert rwt.paused_calendar_s == 14400


@pytest.mark.parametrize(
    ("reply", "state"),
    [
        ("20:00:00", CycleState.BREACHED_MET),
        ("17:00:00", CycleState.MET),
        ("17:00:01", CycleState.BREACHED_MET),
    ],
)
def test_M17_stop_after_hours_after_due_is_breached(reply: str, state: CycleState) -> None:
    case = CaseBuilder().created(at(MON, "09:00"), priority=3).agent(at(MON, reply))
    frt = cycle(run(case, now=at(MON, "21:00")), Metric.FRT)
    assert frt.state == state
    assert frt.elapsed_business_s == 28800
    assert frt.target_s == 28800
    if state == CycleState.MET:
        assert frt.breached_at is None
        assert frt.due_at == at(MON, "17:00")
    else:
        assert frt.breached_at == at(MON, "17:00")


def test_M18_percent_is_never_rounded_into_a_breach() -> None:
    pol = Policy({Metric.FRT: MetricPolicy({1: 10000})})
    start = at(MON, "09:00")
    case = CaseBuilder().created(start, priority=1).agent(start + 9951)
    frt = cycle(run(case, now=start + 20000, policies=[pol]), Metric.FRT)
    assert frt.state == CycleState.MET
    assert frt.remaining_s == 49
    assert frt.percent == pytest.approx(99.51, abs=1e-12)


def test_M19_twenty_four_seven_with_a_pause() -> None:
    case = (
        CaseBuilder()
        .opened(at(SAT0, "10:00"), priority=1)
        .status(at(SAT0, "11:00"), Status.WAITING)
        .status(at(SUN0, "11:00"), Status.OPEN)
    )
    rwt = cycle(run(case, now=at(SUN0, "11:00"), tables=[table(LONDON_24X7, 2025, 2025)]),
                Metric.RWT)  # fmt: skip
    assert rwt.due_at == at(SUN0, "14:00")
    assert rwt.elapsed_business_s == 3600


def test_M20_status_sets_of_awt_rwt_trt() -> None:
    case = (
        CaseBuilder()
        .created(at(MON, "09:00"))
        .status(at(MON, "09:30"), Status.OPEN)
        .status(at(MON, "10:00"), Status.WAITING)
        .status(at(MON, "12:00"), Status.ON_HOLD)
        .status(at(MON, "14:00"), Status.OPEN)
        .status(at(MON, "15:00"), Status.SOLVED)
    )
    tab = run(case, now=at(MON, "16:00"), tables=[table(LONDON_24X7, 2025, 2025)])
    assert cycle(tab, Metric.AWT).elapsed_business_s == 7200
    assert cycle(tab, Metric.RWT).elapsed_business_s == 14400
    assert cycle(tab, Metric.TRT).elapsed_business_s == 21600


def _m21() -> CaseBuilder:
    return (
        CaseBuilder()
        .opened(at(MON, "09:00"))
        .status(at(MON, "11:00"), Status.WAITING)
        .customer(at(MON, "12:00"))
        .status(at(MON, "15:00"), Status.OPEN)
        .status(at(MON, "16:00"), Status.SOLVED)
    )


def test_M21_customer_reply_resumes_a_waiting_clock() -> None:
    rwt = cycle(run(_m21(), now=at(MON, "17:00")), Metric.RWT)
    assert rwt.paused_business_s == 3600
    assert rwt.elapsed_business_s == 21600
    off = run(_m21(), now=at(MON, "17:00"), options=Options(customer_reply_resumes=False))
    rwt_off = cycle(off, Metric.RWT)
    assert rwt_off.paused_business_s == 14400
    assert rwt_off.elapsed_business_s == 10800


@pytest.mark.parametrize(
    ("recurrence", "start", "due"),
    [(Recurrence.INDEPENDENT, "10:00", "12:00"), (Recurrence.SEQUENTIAL, "11:00", "13:00")],
)
def test_M22_recurrence_independent_and_sequential(
    recurrence: Recurrence, start: str, due: str
) -> None:
    case = (
        CaseBuilder()
        .created(at(MON, "08:00"), priority=2)
        .agent(at(MON, "08:30"))  # answers FRT so that NRT can recur
        .customer(at(MON, "09:00"))
        .agent(at(MON, "09:30"))
        .customer(at(MON, "10:00"))
    )
    tab = run(case, now=at(MON, "11:30"), policies=[NRT_2H], options=Options(recurrence=recurrence))
    first, second = cycles(tab, Metric.NRT)
    assert (first.start_at, first.stop_at) == (at(MON, "09:00"), at(MON, "09:30"))
    assert first.due_at == at(MON, "11:00")
    assert second.start_at == at(MON, start)
    assert second.due_at == at(MON, due)
    assert second.calendar == 0 and second.calendar != ALWAYS_ON
