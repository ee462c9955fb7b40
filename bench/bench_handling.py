"""Pure-compute cost of the handling review (`kontosjef.engine.handling`).

    .venv/bin/python bench/bench_handling.py [--cases 5000] [--tier-accounts 10000]
                                             [--tier-cases 1000000] [--repeat 3]

Builds synthetic event arrays with a fixed seed (about ten events per case: creation, hand-offs
between six departments and 25 people, status moves, replies, notes; a tenth of the cases with
an SLA breach; office hours in Oslo with Norwegian holidays for most accounts, 24×7 for the
rest) and times:

1. one account's review: `handle_cases` with detail (paths), `account_figures`, `variants`;
2. the tier norm: `handle_cases` without detail over every case of the tier, `account_figures`
   for all its accounts, and `findings` for one account against them.

Prints the best and median of the repeats; no database is involved. Figures go into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from kontosjef.engine import ALWAYS_ON, ClockSet, compile_calendar
from kontosjef.engine.businesstime import (
    Calendar,
    CalendarVersion,
    apply_holiday_snapshot,
    holiday_snapshot,
    parse_clock,
    weekly_hours,
)
from kontosjef.engine.handling import (
    BreachArrays,
    HandlingEvents,
    HandlingKind,
    account_figures,
    findings,
    handle_cases,
    variants,
)
from kontosjef.engine.sla import Author, Status

DAY = 86_400
NOW = 1_798_761_600  # 2027-01-01T00:00:00Z
DEPARTMENTS, PEOPLE, REASONS = 6, 25, 5


def clocks() -> ClockSet:
    version = CalendarVersion(
        tz="Europe/Oslo",
        weekly=weekly_hours(range(5), (parse_clock("08:00"), parse_clock("16:00"))),
    )
    version = apply_holiday_snapshot(version, holiday_snapshot("NO", years=(2025, 2027)))
    table = compile_calendar(Calendar((version,)), start=NOW - 400 * DAY, end=NOW)
    return ClockSet([table])


def synthetic(n_accounts: int, n_cases: int, seed: int) -> tuple[HandlingEvents, BreachArrays]:
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.5, n_accounts) + 0.1
    account = np.sort(rng.choice(n_accounts, n_cases, p=weights / weights.sum())).astype(np.int64)
    per_case = 1 + rng.poisson(9, n_cases)
    n = int(per_case.sum())
    starts = np.concatenate([[0], np.cumsum(per_case)[:-1]])
    case = np.repeat(np.arange(n_cases, dtype=np.int64), per_case)
    first = np.zeros(n, np.bool_)
    first[starts] = True
    opened = NOW - rng.integers(DAY, 360 * DAY, n_cases)
    gaps = rng.exponential(4 * 3600, n).astype(np.int64)
    gaps[starts] = 0
    cum = np.cumsum(gaps)
    t = np.repeat(opened, per_case) + cum - np.repeat(cum[starts], per_case)
    t = np.minimum(t, NOW)
    seq = np.arange(n, dtype=np.int64) - np.repeat(starts, per_case) + 1
    kind = rng.choice(
        [HandlingKind.HANDOFF, HandlingKind.STATUS, HandlingKind.REPLY, HandlingKind.NOTE],
        n,
        p=[0.12, 0.25, 0.43, 0.20],
    ).astype(np.int8)
    kind[first] = HandlingKind.CREATED
    status = np.where(
        kind == HandlingKind.STATUS,
        rng.choice(
            [Status.OPEN, Status.WAITING, Status.ON_HOLD, Status.SOLVED], n, p=[0.4, 0.2, 0.1, 0.3]
        ),
        -1,
    ).astype(np.int8)
    actor = rng.choice([Author.CUSTOMER, Author.AGENT, Author.SYSTEM], n, p=[0.3, 0.65, 0.05])
    calendar = np.where(np.repeat(account, per_case) % 10 == 0, ALWAYS_ON, 0).astype(np.int64)
    events = HandlingEvents(
        case=case,
        t=t,
        seq=seq,
        kind=kind,
        actor=actor.astype(np.int8),
        public=rng.random(n) < 0.8,
        status=status,
        department=rng.integers(0, DEPARTMENTS, n),
        person=rng.integers(-1, PEOPLE, n),
        reason=rng.integers(-1, REASONS, n),
        account=np.repeat(account, per_case),
        calendar=calendar,
    )
    breached = np.flatnonzero(rng.random(n_cases) < 0.1)
    last = starts + per_case - 1
    span = np.maximum(t[last[breached]] - opened[breached], 1)
    breaches = BreachArrays(
        case=breached.astype(np.int64),
        t=opened[breached] + rng.integers(0, span),
        metric=rng.integers(0, 3, len(breached)),
    )
    return events, breaches


def timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    print(f"{label:<60} best {min(runs):7.3f} s  median {statistics.median(runs):7.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--tier-accounts", type=int, default=10_000)
    parser.add_argument("--tier-cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{platform.python_version()} numpy {np.__version__}, {os.cpu_count()} cores")
    clock = clocks()

    events, breaches = synthetic(1, args.cases, args.seed)
    print(f"one account: {args.cases:,} cases, {len(events):,} events, {len(breaches):,} breaches")

    def one_account() -> None:
        h = handle_cases(events, breaches, clocks=clock, now=NOW, detail=True)
        account_figures(h, n_accounts=1, n_departments=DEPARTMENTS)
        variants(h)

    timed("one account: handle_cases(detail) + figures + variants", one_account, args.repeat)

    tier_events, tier_breaches = synthetic(args.tier_accounts, args.tier_cases, args.seed + 1)
    print(
        f"tier: {args.tier_accounts:,} accounts, {args.tier_cases:,} cases, "
        f"{len(tier_events):,} events, {len(tier_breaches):,} breaches"
    )
    members = np.arange(args.tier_accounts, dtype=np.int64)

    def tier() -> None:
        h = handle_cases(tier_events, tier_breaches, clocks=clock, now=NOW, detail=False)
        f = account_figures(h, n_accounts=args.tier_accounts, n_departments=DEPARTMENTS)
        findings(f, account=0, tier=members)

    timed("tier norm: handle_cases + figures (all) + findings (one)", tier, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
