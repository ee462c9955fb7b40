"""Behaviour of calendars, compilation and clock queries (spec §3, §8.1, §8.2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from kontosjef.engine.businesstime import (
    ALWAYS_ON,
    DELTA,
    NAT,
    BusinessClock,
    Calendar,
    CalendarError,
    CalendarVersion,
    ClockSet,
    Closure,
    CompiledTable,
    OutsideTableError,
    apply_holiday_snapshot,
    clear_compile_cache,
    compile_calendar,
    holiday_snapshot,
    is_nat,
    local_to_utc,
    parse_clock,
    to_instant,
    weekly_hours,
)

from .support import LONDON_9_17, MON, TUE, WED, at, clock, hours, span, table, version

NY = "America/New_York"


def test_it_converts_local_times_with_gap_and_fold_rules() -> None:
    assert local_to_utc(NY, date(2024, 3, 10), parse_clock("02:30")) == at(
        "2024-03-10", "07:00", "UTC"
    )
    assert local_to_utc(NY, date(2024, 11, 3), parse_clock("01:30")) == at(
        "2024-11-03", "05:30", "UTC"
    )
    scl = local_to_utc("America/Santiago", date(2024, 9, 8), 0)
    assert scl == at("2024-09-08", "04:00", "UTC")


def test_it_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_instant(datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test
    aware = datetime(2025, 1, 1, 1, tzinfo=ZoneInfo("Europe/Oslo"))
    assert to_instant(aware) == at("2025-01-01", "00:00", "UTC")


def test_it_parses_wall_clock_times() -> None:
    assert parse_clock("09:30") == 34200
    assert parse_clock("24:00") == 86400
    assert parse_clock("06:00(+1)") == 108000
    assert parse_clock("00:00:01") == 1
    for bad in ("25:00", "9", "12:60", "24:01"):
        with pytest.raises(ValueError):
            parse_clock(bad)


def test_it_rejects_invalid_calendar_definitions() -> None:
    with pytest.raises(CalendarError, match="zone"):
        CalendarVersion(tz="Mars/Olympus", weekly=weekly_hours([]))
    with pytest.raises(CalendarError, match="172800"):
        CalendarVersion(tz="UTC", weekly=weekly_hours([0], (0, 172801)))
    with pytest.raises(CalendarError, match="172800"):
        CalendarVersion(tz="UTC", weekly=weekly_hours([0], (3600, 3600)))
    with pytest.raises(CalendarError, match="both holiday and extra"):
        CalendarVersion(
            tz="UTC",
            weekly=weekly_hours([]),
            holidays=frozenset({date(2025, 1, 4)}),
            extra_working=((date(2025, 1, 4), ((0, 3600),)),),
        )
    v = version("UTC", range(5), span("09:00", "17:00"))
    with pytest.raises(CalendarError, match="increase"):
        Calendar((v, CalendarVersion(tz="UTC", weekly=v.weekly, valid_from=10),
                  CalendarVersion(tz="UTC", weekly=v.weekly, valid_from=10)))  # fmt: skip
    with pytest.raises(CalendarError, match="valid_from"):
        Calendar((v, v))


def test_it_merges_touching_intervals_into_one_for_24x7() -> None:
    t = table(version("UTC", range(7), span("00:00", "24:00")), 2024, 2024)
    assert len(t) == 1
    c = BusinessClock(t)
    x = np.array([t.t_begin, t.t_begin + 12345, t.t_end])
    assert c.B(x).tolist() == (x - t.t_begin).tolist()


def test_it_merges_overlapping_weekly_spans() -> None:
    v = CalendarVersion(
        tz="UTC", weekly=weekly_hours([0], (9 * 3600, 12 * 3600), (11 * 3600, 14 * 3600))
    )
    c = clock(v, 2025, 2025)
    assert int(c.elapsed(at(MON, "00:00", "UTC"), at(TUE, "00:00", "UTC"))) == hours(5)


def test_it_applies_closures_and_extra_working_days() -> None:
    v = CalendarVersion(
        tz="Europe/London",
        weekly=LONDON_9_17.weekly,
        closures=(Closure(date(2025, 1, 7), parse_clock("15:00"), parse_clock("17:00")),),
        extra_working=((date(2025, 1, 11), ((parse_clock("10:00"), parse_clock("12:00")),)),),
    )
    c = clock(v, 2025, 2025)
    assert int(c.elapsed(at(TUE, "00:00"), at(WED, "00:00"))) == hours(6)
    assert int(c.elapsed(at("2025-01-11", "00:00"), at("2025-01-12", "00:00"))) == hours(2)


def test_it_raises_for_queries_outside_the_table() -> None:
    c = clock(LONDON_9_17, 2025, 2025)
    with pytest.raises(OutsideTableError):
        c.B(c.table.t_end + 1)
    with pytest.raises(OutsideTableError):
        c.elapsed(c.table.t_begin - 1, c.table.t_begin)
    with pytest.raises(OutsideTableError):
        c.b_scalar(c.table.t_end + 1)
    clocks = ClockSet([c.table])
    with pytest.raises(OutsideTableError):
        clocks.B(0, c.table.t_end + 1)
    assert int(clocks.B(ALWAYS_ON, c.table.t_end + 10**9)) == c.table.t_end + 10**9


def test_it_returns_nat_beyond_the_table_and_passes_nat_through() -> None:
    c = clock(LONDON_9_17, 2025, 2025)
    assert int(c.Binv(c.table.total + 1)) == NAT
    assert int(c.Binv(c.table.total)) == int(c.table.ends[-1])
    assert c.binv_scalar(c.table.total + 1) == NAT
    assert int(c.Binv(0)) == c.table.t_begin
    assert int(c.Binv(-5)) == c.table.t_begin
    mixed = np.array([NAT, at(MON, "10:00")])
    assert is_nat(c.B(mixed)).tolist() == [True, False]
    assert is_nat(c.Binv(np.array([NAT, 1]))).tolist() == [True, False]
    assert is_nat(c.due(mixed, 60)).tolist() == [True, False]


def test_it_agrees_between_scalar_and_vector_queries() -> None:
    c = clock(LONDON_9_17, 2025, 2025)
    rng = np.random.default_rng(7)
    ts = rng.integers(c.table.t_begin, c.table.t_end, 500)
    bs = rng.integers(-10, c.table.total + 10, 500)
    assert c.B(ts).tolist() == [c.b_scalar(int(t)) for t in ts]
    assert c.Binv(bs).tolist() == [c.binv_scalar(int(b)) for b in bs]


def test_it_answers_mixed_calendar_batches_like_single_clocks() -> None:
    tabs = [
        table(LONDON_9_17, 2024, 2025),
        table(version(NY, range(7), span("22:00", "06:00(+1)")), 2024, 2025),
        table(CalendarVersion(tz="UTC", weekly=weekly_hours([])), 2024, 2025),
    ]
    clocks = ClockSet(tabs)
    rng = np.random.default_rng(3)
    n = 3000
    cal = rng.integers(-1, 3, n)
    lo = max(t.t_begin for t in tabs)
    hi = min(t.t_end for t in tabs)
    ts = rng.integers(lo, hi, n)
    bs = rng.integers(-100, 3 * 10**7, n)
    got_b = clocks.B(cal, ts)
    got_inv = clocks.Binv(cal, bs)
    for i in range(n):
        k = int(cal[i])
        if k == ALWAYS_ON:
            assert got_b[i] == ts[i]
            assert got_inv[i] == bs[i]
        else:
            single = clocks.clock(k)
            assert got_b[i] == single.b_scalar(int(ts[i]))
            assert got_inv[i] == single.binv_scalar(int(bs[i]))
    assert DELTA > 2**39


def test_it_stitches_versions_into_a_continuous_clock() -> None:
    boundary = at("2025-01-08", "13:00")
    old = LONDON_9_17
    new = CalendarVersion(tz="Europe/London", weekly=weekly_hours(range(7), (0, 86400)),
                          valid_from=boundary)  # fmt: skip
    stitched = clock(Calendar((old, new)), 2025, 2025)
    plain = clock(old, 2025, 2025)
    before = [at(MON, "08:00"), at(MON, "12:00"), at(WED, "09:00"), boundary]
    assert stitched.B(before).tolist() == plain.B(before).tolist()  # history is unchanged
    assert int(stitched.B(boundary + 1)) == int(stitched.B(boundary)) + 1
    assert int(stitched.elapsed(at(WED, "12:00"), at(WED, "23:00"))) == hours(1 + 10)


def test_it_caches_compiled_tables_by_content() -> None:
    clear_compile_cache()
    a = Calendar.single(version("Europe/Oslo", range(5), span("08:00", "16:00")))
    b = Calendar.single(version("Europe/Oslo", range(5), span("08:00", "16:00")))
    start, end = at("2025-03-01", "00:00", "UTC"), at("2025-04-01", "00:00", "UTC")
    assert a.content_hash() == b.content_hash()
    assert compile_calendar(a, start=start, end=end) is compile_calendar(b, start=start, end=end)
    other = Calendar.single(version("Europe/Oslo", range(5), span("08:00", "16:01")))
    assert compile_calendar(other, start=start, end=end).content_hash != a.content_hash()


def test_it_widens_ranges_to_whole_utc_years() -> None:
    t = compile_calendar(Calendar.single(LONDON_9_17), start=at(MON, "10:00"), end=at(WED, "10:00"))
    assert t.t_begin == at("2025-01-01", "00:00", "UTC")
    assert t.t_end == at("2026-01-01", "00:00", "UTC")


def test_it_snapshots_holidays_with_provenance() -> None:
    snap = holiday_snapshot("CN", years=(2024, 2024))
    assert snap.provenance.years == (2024, 2024)
    assert snap.provenance.package_version
    assert date(2024, 2, 4) in snap.working_days
    assert all(d.year == 2024 for d in snap.working_days + snap.dates)
    us = holiday_snapshot("US", years=(2022, 2022))
    assert {date(2022, 12, 25), date(2022, 12, 26)} <= set(us.dates)
    assert "public" in us.provenance.categories


def test_it_extends_holiday_coverage_without_touching_covered_years() -> None:
    base = version(NY, range(5), span("09:00", "17:00"))
    v2024 = apply_holiday_snapshot(base, holiday_snapshot("US", years=(2024, 2024)))
    edited = CalendarVersion(
        tz=v2024.tz, weekly=v2024.weekly, holidays=v2024.holidays - {date(2024, 7, 4)},
        coverage=v2024.coverage, provenance=v2024.provenance,
    )  # fmt: skip
    extended = apply_holiday_snapshot(edited, holiday_snapshot("US", years=(2024, 2025)))
    assert extended.coverage == (2024, 2025)
    assert date(2024, 7, 4) not in extended.holidays  # the stored 2024 list wins
    assert date(2025, 7, 4) in extended.holidays
    assert len(extended.provenance) == 2
    with pytest.raises(CalendarError, match="gap"):
        apply_holiday_snapshot(v2024, holiday_snapshot("US", years=(2027, 2027)))


def test_it_never_compiles_past_the_holiday_coverage() -> None:
    v = apply_holiday_snapshot(
        version(NY, range(5), span("09:00", "17:00")), holiday_snapshot("US", years=(2024, 2024))
    )
    t = compile_calendar(Calendar.single(v), start=at("2024-06-01", "00:00", "UTC"),
                         end=at("2026-06-01", "00:00", "UTC"))  # fmt: skip
    assert t.t_end == local_to_utc(NY, date(2025, 1, 1), 0)
    c = BusinessClock(t)
    assert int(c.due(at("2024-12-31", "16:00", NY), hours(2))) == NAT
    with pytest.raises(CalendarError):
        compile_calendar(Calendar.single(v), start=at("2026-01-01", "00:00", "UTC"),
                         end=at("2026-02-01", "00:00", "UTC"))  # fmt: skip


def test_it_handles_calendars_without_any_intervals() -> None:
    t = CompiledTable.from_intervals([], [], t_begin=0, t_end=1000)
    c = BusinessClock(t)
    assert c.B([0, 500, 1000]).tolist() == [0, 0, 0]
    assert int(c.Binv(1)) == NAT
    clocks = ClockSet([t])
    assert clocks.B([0, 0], [10, 20]).tolist() == [0, 0]
    assert clocks.Binv([0, ALWAYS_ON], [1, 7]).tolist() == [NAT, 7]


def test_it_rejects_malformed_interval_tables() -> None:
    with pytest.raises(CalendarError):
        CompiledTable.from_intervals([10, 15], [20, 30], t_begin=0, t_end=100)
    with pytest.raises(CalendarError):
        CompiledTable.from_intervals([10], [200], t_begin=0, t_end=100)


def test_it_places_warnings_a_fixed_business_time_before_due() -> None:
    c = clock(LONDON_9_17, 2025, 2025)
    start = at(MON, "16:00")
    due = int(c.due(start, hours(3)))
    warn = int(c.warn_at(start, hours(3), before=hours(1)))
    assert (due, warn) == (at(TUE, "11:00"), at(TUE, "10:00"))
    assert int(c.warn_at(start, hours(3), before=hours(5))) == start  # already due: warn now


def test_it_refuses_negative_due_targets() -> None:
    c = clock(LONDON_9_17, 2025, 2025)
    with pytest.raises(ValueError, match="non-negative"):
        c.due(at(MON, "10:00"), -1)


def test_it_returns_epoch_seconds_for_the_whole_table_range() -> None:
    t = table(LONDON_9_17, 2025, 2025)
    days = (t.t_end - t.t_begin) // 86400
    assert days == 365
    assert datetime.fromtimestamp(t.t_begin, ZoneInfo("UTC")) + timedelta(days=365) == (
        datetime.fromtimestamp(t.t_end, ZoneInfo("UTC"))
    )
