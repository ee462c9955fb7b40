"""Business-time benchmarks (spec §8.6): compile, batched look-ups, businesstimedelta side by side.

Run: ``.venv/bin/python bench/bench_businesstime.py`` (single-threaded numpy; prints its figures).
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from datetime import time as dtime

import numpy as np

from kontosjef.engine.businesstime import (
    BusinessClock,
    Calendar,
    CalendarVersion,
    ClockSet,
    apply_holiday_snapshot,
    clear_compile_cache,
    compile_calendar,
    holiday_snapshot,
    to_instant,
    weekly_hours,
)

NY = "America/New_York"
FIRST, LAST = 2010, 2030  # 21 years


def _instant(year: int, month: int = 1, day: int = 1) -> int:
    return to_instant(datetime(year, month, day, tzinfo=UTC))


def _us_calendar() -> tuple[Calendar, float]:
    started = time.perf_counter()
    snapshot = holiday_snapshot("US", years=(FIRST, LAST))
    snap_s = time.perf_counter() - started
    base = CalendarVersion(tz=NY, weekly=weekly_hours(range(5), (9 * 3600, 17 * 3600)))
    return Calendar.single(apply_holiday_snapshot(base, snapshot)), snap_s


def bench_compile(cal: Calendar) -> BusinessClock:
    start, end = _instant(FIRST), _instant(LAST, 12, 31)
    clear_compile_cache()
    t0 = time.perf_counter()
    table = compile_calendar(cal, start=start, end=end)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(5):
        clear_compile_cache()
        t0 = time.perf_counter()
        compile_calendar(cal, start=start, end=end)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    compile_calendar(cal, start=start, end=end)
    cached = time.perf_counter() - t0
    print(f"compile 21y US Mon-Fri 09-17 + federal holidays: {len(table)} intervals")
    print(f"  cold (incl. zone transition scan): {cold * 1e3:.1f} ms   target < 500 ms")
    print(f"  best of 5 cold compiles:           {min(warm) * 1e3:.1f} ms")
    print(f"  cache hit:                         {cached * 1e6:.1f} us")
    return BusinessClock(table)


def bench_lookups(clock: BusinessClock) -> None:
    rng = np.random.default_rng(1)
    n = 10_000_000
    tab = clock.table
    a = rng.integers(tab.t_begin, tab.t_end, n)
    b = rng.integers(tab.t_begin, tab.t_end, n)
    x, y = np.minimum(a, b), np.maximum(a, b)
    clock.elapsed(x[:1000], y[:1000])  # warm up
    best_b = best_e = best_d = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        clock.B(x)
        best_b = min(best_b, time.perf_counter() - t0)
        t0 = time.perf_counter()
        clock.elapsed(x, y)
        best_e = min(best_e, time.perf_counter() - t0)
        t0 = time.perf_counter()
        clock.due(x, y - x)
        best_d = min(best_d, time.perf_counter() - t0)
    print(f"batched look-ups, one calendar, {n:,} queries per call (best of 3):")
    print(f"  B(t):         {n / best_b / 1e6:6.1f} M/s")
    print(f"  elapsed(x,y): {n / best_e / 1e6:6.1f} M/s   target >= 2 M/s")
    print(f"  due(x, s):    {n / best_d / 1e6:6.1f} M/s")
    # The same through a ClockSet mixing 8 calendars (one searchsorted with 2**40 offsets).
    tables = [tab] + [
        compile_calendar(
            Calendar.single(
                CalendarVersion(tz=tz, weekly=weekly_hours(range(5), (8 * 3600, 16 * 3600)))
            ),
            start=_instant(FIRST),
            end=_instant(LAST, 12, 31),
        )
        for tz in ("Europe/Oslo", "Asia/Tokyo", "Australia/Sydney", "America/Chicago",
                   "Europe/London", "Asia/Kolkata", "America/Sao_Paulo")
    ]  # fmt: skip
    clocks = ClockSet(tables)
    cal = rng.integers(0, len(tables), n)
    clocks.elapsed(cal[:1000], x[:1000], y[:1000])
    t0 = time.perf_counter()
    clocks.elapsed(cal, x, y)
    mixed = time.perf_counter() - t0
    print(f"  elapsed over 8 mixed calendars: {n / mixed / 1e6:6.1f} M/s")


def bench_against_businesstimedelta(cal: Calendar, clock: BusinessClock) -> None:
    import businesstimedelta as btd
    import pytz

    version = cal.versions[0]
    ptz = pytz.timezone(NY)
    rules = btd.Rules(
        [
            btd.WorkDayRule(
                start_time=dtime(9),
                end_time=dtime(17),
                working_days=[0, 1, 2, 3, 4],
                tz=ptz,
            ),
            btd.HolidayRule(sorted(version.holidays), tz=ptz),
        ]
    )
    rng = np.random.default_rng(2)
    n = 2000
    lo, hi = _instant(2012), _instant(2028)
    a = rng.integers(lo, hi, n)
    span = rng.integers(0, 30 * 86400, n)
    x, y = a, a + span
    seconds = rng.integers(1, 5 * 8 * 3600, n)
    dx = [datetime.fromtimestamp(int(v), UTC) for v in x]
    dy = [datetime.fromtimestamp(int(v), UTC) for v in y]

    t0 = time.perf_counter()
    theirs_diff = [
        int(rules.difference(p, q).timedelta.total_seconds()) for p, q in zip(dx, dy, strict=True)
    ]
    their_diff_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs_add = [
        to_instant(p + btd.BusinessTimeDelta(rules, seconds=int(s)))
        for p, s in zip(dx, seconds, strict=True)
    ]
    their_add_s = time.perf_counter() - t0

    ours_diff = clock.elapsed(x, y)
    ours_add = clock.due(x, seconds)
    diff_mismatch = int(np.sum(ours_diff != np.array(theirs_diff)))
    add_mismatch = int(np.sum(ours_add != np.array(theirs_add)))

    # Our throughput on the same intervals, batched (repeat to get a stable timing).
    reps = 500
    xr, yr, sr = np.tile(x, reps), np.tile(y, reps), np.tile(seconds, reps)
    t0 = time.perf_counter()
    clock.elapsed(xr, yr)
    our_diff_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    clock.due(xr, sr)
    our_add_s = time.perf_counter() - t0
    our_diff_rate = n * reps / our_diff_s
    our_add_rate = n * reps / our_add_s
    their_diff_rate = n / their_diff_s
    their_add_rate = n / their_add_s
    print(f"side by side with businesstimedelta on {n} random intervals (NY, US holidays):")
    xs, ys, ss = x.tolist(), y.tolist(), seconds.tolist()
    t0 = time.perf_counter()
    for _ in range(20):
        for p, q in zip(xs, ys, strict=True):
            clock.b_scalar(q) - clock.b_scalar(p)
    scalar_diff_rate = 20 * n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(20):
        for p, s in zip(xs, ss, strict=True):
            max(p, clock.binv_scalar(clock.b_scalar(p) + s))
    scalar_add_rate = 20 * n / (time.perf_counter() - t0)
    for name, bad, theirs, ours in (
        ("elapsed", diff_mismatch, their_diff_rate, our_diff_rate),
        ("add", add_mismatch, their_add_rate, our_add_rate),
    ):
        print(f"  {name:8s} mismatches {bad}/{n}; businesstimedelta {theirs:,.0f}/s, "
              f"engine {ours:,.0f}/s, ratio {ours / theirs:,.0f}x")  # fmt: skip
    print(f"  one Python call per interval (b_scalar): elapsed {scalar_diff_rate:,.0f}/s "
          f"({scalar_diff_rate / their_diff_rate:,.0f}x), add {scalar_add_rate:,.0f}/s "
          f"({scalar_add_rate / their_add_rate:,.0f}x)")  # fmt: skip
    print("  target: identical values, ratio >= 200x")


def main() -> None:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    print(f"python {platform.python_version()}, numpy {np.__version__}, nproc {os.cpu_count()}, "
          f"cpu {cpu}")  # fmt: skip
    cal, snap_s = _us_calendar()
    print(f"holiday snapshot US {FIRST}-{LAST} (configuration time, not compile): {snap_s:.2f} s")
    clock = bench_compile(cal)
    bench_lookups(clock)
    bench_against_businesstimedelta(cal, clock)


if __name__ == "__main__":
    main()
