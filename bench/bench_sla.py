"""Full metric pass benchmark (spec §8.6): 1 million cases / 10 million events on one core.

Run: ``.venv/bin/python bench/bench_sla.py [n_cases]`` (default 1,000,000). Prints the figures.
The input is synthetic: every case has 10 events drawn from a few realistic templates (replies,
waiting, on hold, priority changes, solves, reopens, closes) on two calendars and two policies.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from kontosjef.engine.businesstime import (
    Calendar,
    CalendarVersion,
    ClockSet,
    compile_calendar,
    to_instant,
    weekly_hours,
)
from kontosjef.engine.sla import (
    Author,
    CycleTable,
    EventArrays,
    EventKind,
    Metric,
    MetricPolicy,
    Policy,
    Status,
    evaluate,
)

K, S, R, P = EventKind.CREATED, EventKind.STATUS, EventKind.REPLY, EventKind.PRIORITY
C, A = Author.CUSTOMER, Author.AGENT
# (kind, status, author) per event; every case has exactly 10 events.
TEMPLATES = [
    [(K, -1, C), (S, Status.OPEN, -1), (R, -1, A), (R, -1, C), (S, Status.WAITING, -1),
     (R, -1, C), (R, -1, A), (P, -1, -1), (S, Status.SOLVED, -1), (R, -1, C)],
    [(K, -1, C), (R, -1, A), (S, Status.OPEN, -1), (S, Status.ON_HOLD, -1), (S, Status.OPEN, -1),
     (R, -1, C), (R, -1, A), (R, -1, C), (S, Status.SOLVED, -1), (S, Status.CLOSED, -1)],
    [(K, -1, A), (R, -1, C), (S, Status.OPEN, -1), (R, -1, A), (R, -1, C), (R, -1, A),
     (S, Status.WAITING, -1), (S, Status.SOLVED, -1), (S, Status.OPEN, -1), (R, -1, A)],
]  # fmt: skip
EVENTS_PER_CASE = 10


def synthetic_events(n_cases: int, seed: int = 0) -> tuple[EventArrays, int]:
    rng = np.random.default_rng(seed)
    tpl = np.array(TEMPLATES, dtype=np.int64)  # (T, 10, 3)
    which = rng.integers(0, len(TEMPLATES), n_cases)
    rows = tpl[which]  # (n, 10, 3)
    base = to_instant(datetime(2025, 1, 1, tzinfo=UTC))
    start = base + rng.integers(0, 300 * 86400, n_cases)
    gaps = rng.exponential(4 * 3600, (n_cases, EVENTS_PER_CASE)).astype(np.int64) // 60 * 60
    gaps[:, 0] = 0
    t = start[:, None] + np.cumsum(gaps, axis=1)
    n = n_cases * EVENTS_PER_CASE
    case = np.repeat(np.arange(n_cases, dtype=np.int64), EVENTS_PER_CASE)
    seq = np.tile(np.arange(EVENTS_PER_CASE, dtype=np.int64), n_cases)
    kind = rows[:, :, 0].ravel()
    created = kind == K
    events = EventArrays(
        case=case,
        t=t.ravel(),
        seq=seq,
        kind=kind,
        status=rows[:, :, 1].ravel(),
        author=rows[:, :, 2].ravel(),
        public=rng.random(n) < 0.9,
        priority=np.where(created | (kind == P), rng.integers(1, 4, n), -1),
        policy=np.where(created, rng.integers(0, 2, n), -1),
        calendar=np.where(created, rng.integers(0, 2, n), -1),
    )
    now = int(t.max()) + 3600
    return events, now


def policies() -> list[Policy]:
    h = 3600
    reply = {1: h, 2: 4 * h, 3: 8 * h}
    resolution = {1: 4 * h, 2: 16 * h, 3: 40 * h}
    full = Policy(
        {
            Metric.FRT: MetricPolicy(reply, warn_before_s=15 * 60),
            Metric.NRT: MetricPolicy(reply),
            Metric.PU: MetricPolicy({1: 4 * h, 2: 8 * h, 3: 24 * h}),
            Metric.PAU: MetricPolicy({1: 4 * h, 2: 8 * h, 3: 24 * h}),
            Metric.AWT: MetricPolicy(resolution),
            Metric.RWT: MetricPolicy(resolution),
            Metric.TRT: MetricPolicy(resolution, warn_at_fraction=None),
        }
    )
    calendar_hours = Policy(
        {
            Metric.FRT: MetricPolicy(reply, business_hours=False),
            Metric.NRT: MetricPolicy(reply, business_hours=False),
            Metric.TRT: MetricPolicy(resolution),
        }
    )
    return [full, calendar_hours]


def clocks() -> ClockSet:
    start = to_instant(datetime(2024, 12, 1, tzinfo=UTC))
    end = to_instant(datetime(2027, 12, 31, tzinfo=UTC))
    tables = [
        compile_calendar(
            Calendar.single(
                CalendarVersion(tz=tz, weekly=weekly_hours(range(5), (9 * 3600, 17 * 3600)))
            ),
            start=start,
            end=end,
        )
        for tz in ("Europe/Oslo", "America/New_York")
    ]
    return ClockSet(tables)


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def _timed(label: str, fn: Callable[[], CycleTable]) -> tuple[CycleTable, float]:
    u0, s0 = _cpu()
    t0 = time.perf_counter()
    table = fn()
    wall = time.perf_counter() - t0
    u1, s1 = _cpu()
    print(f"{label}: {wall:.2f} s wall (user {u1 - u0:.2f} s, sys {s1 - s0:.2f} s) "
          f"-> {len(table):,} cycles")  # fmt: skip
    return table, wall


def main() -> None:
    n_cases = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(f"python {platform.python_version()}, numpy {np.__version__}, nproc {os.cpu_count()}")
    t0 = time.perf_counter()
    events, now = synthetic_events(n_cases)
    print(
        f"generated {n_cases:,} cases / {len(events):,} events in {time.perf_counter() - t0:.1f} s"
    )
    cs, pols = clocks(), policies()
    evaluate(events.take(np.arange(10_000)), policies=pols, clocks=cs, now=now)  # warm up

    table, _ = _timed(
        "full metric pass, input sorted by (case, t, seq)",
        lambda: evaluate(events, policies=pols, clocks=cs, now=now),
    )
    shuffled = events.take(np.random.default_rng(1).permutation(len(events)))
    table2, _ = _timed(
        "full metric pass, input shuffled (sort included)",
        lambda: evaluate(shuffled, policies=pols, clocks=cs, now=now),
    )
    same = all(
        bool(np.array_equal(getattr(table, c), getattr(table2, c), equal_nan=c == "percent"))
        for c in ("case", "metric", "cycle_index", "elapsed_business_s", "due_at", "percent")
    )
    print(f"shuffled and sorted input give the same table: {same}")
    counts = np.bincount(table.metric, minlength=len(Metric))
    print("cycles per metric: " + ", ".join(f"{m.name} {counts[m]:,}" for m in Metric if counts[m]))
    print(f"breached cycles: {int(table.breached.sum()):,}")
    print(f"peak RSS: {_rss_gb():.1f} GB   target: < 10 s on one core")


if __name__ == "__main__":
    main()
