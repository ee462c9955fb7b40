"""Pure-compute cost of account KPIs, expectations, health scores and trends at scale.

    .venv/bin/python bench/bench_health.py [--accounts 10000] [--cases 1000000] [--repeat 3]

Builds synthetic columns (a year of cases, about three SLA cycles per case, survey answers) with
a fixed seed, then times compute_standard_kpis (7/30/90 days), expectations_for_accounts,
evaluate_expectations, health_scores and health_trend. Prints the best and median of the
repeats; no database is involved. Figures go into docs/benchmarks.md.
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

from kontosjef.engine.businesstime import NAT
from kontosjef.engine.health import (
    CaseColumns,
    CycleColumns,
    FeedbackColumns,
    compute_standard_kpis,
    evaluate_expectations,
    expectations_for_accounts,
    health_scores,
    health_trend,
)

DAY = 86_400
NOW = 1_798_761_600  # 2027-01-01T00:00:00Z


def synthetic(
    n_accounts: int, n_cases: int, seed: int
) -> tuple[CaseColumns, CycleColumns, FeedbackColumns, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Account sizes are skewed, as in real portfolios: a few accounts raise most cases.
    weights = rng.pareto(1.5, n_accounts) + 0.1
    account = rng.choice(n_accounts, n_cases, p=weights / weights.sum()).astype(np.int64)
    opened = NOW - rng.integers(1, 365 * DAY, n_cases)
    duration = rng.exponential(3 * DAY, n_cases).astype(np.int64) + 60
    is_open = opened + duration >= NOW
    solved = np.where(is_open, NAT, opened + duration)
    closed = np.where(is_open | (rng.random(n_cases) < 0.3), NAT, solved + 2 * DAY)
    closed = np.where(closed >= NOW, NAT, closed)
    priority = rng.choice(4, n_cases, p=[0.05, 0.20, 0.50, 0.25]).astype(np.int64)
    cases = CaseColumns(
        account=account,
        case=np.arange(1, n_cases + 1, dtype=np.int64),
        opened_at=opened,
        solved_at=solved,
        closed_at=closed,
        is_open=is_open,
        priority=priority,
        reopen_count=(rng.random(n_cases) < 0.08).astype(np.int64),
        handoff_count=rng.poisson(0.7, n_cases).astype(np.int64),
        requester=account * 50 + rng.integers(0, 50, n_cases),
        resolution_business_s=np.where(is_open, NAT, duration // 3),
        backlog_age_business_s=np.where(is_open, (NOW - opened) // 3, NAT),
    )
    # FRT and TRT for every case, and about one NRT cycle per case on average.
    n_nrt = n_cases
    every = np.arange(n_cases)
    case_ix = np.concatenate([every, every, rng.integers(0, n_cases, n_nrt)])
    metric = np.repeat(np.array([0, 6, 1], dtype=np.int64), [n_cases, n_cases, n_nrt])
    n_cyc = len(case_ix)
    stop = opened[case_ix] + rng.exponential(DAY, n_cyc).astype(np.int64)
    stop = np.where(metric == 6, solved[case_ix], stop)
    stop = np.where(stop >= NOW, NAT, stop)
    breached = rng.random(n_cyc) < 0.12
    cycles = CycleColumns(
        account=account[case_ix],
        case=case_ix + 1,
        metric=metric,
        stop_at=stop,
        breached=breached,
        breached_at=np.where(breached, opened[case_ix] + DAY // 2, NAT),
        priority=priority[case_ix],
        is_cancelled=rng.random(n_cyc) < 0.01,
    )
    n_fb = n_cases // 5
    fb_case = rng.integers(0, n_cases, n_fb)
    feedback = FeedbackColumns(
        account=account[fb_case],
        answered_at=np.minimum(opened[fb_case] + 5 * DAY, NOW - 1),
        csat=rng.integers(1, 6, n_fb).astype(np.float64),
        nps=np.where(rng.random(n_fb) < 0.3, rng.integers(0, 11, n_fb), np.nan),
    )
    tiers = rng.choice(["strategic", "enterprise", "standard"], n_accounts, p=[0.05, 0.25, 0.70])
    return cases, cycles, feedback, tiers


def timed[T](fn: Callable[[], T], repeat: int) -> tuple[T, list[float]]:
    times: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    assert result is not None
    return result, times


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}"
    )
    started = time.perf_counter()
    cases, cycles, feedback, tiers = synthetic(args.accounts, args.cases, args.seed)
    built = time.perf_counter() - started
    print(
        f"data: {args.accounts:,} accounts, {len(cases):,} cases, {len(cycles):,} cycles, "
        f"{len(feedback):,} survey answers (built in {built:.1f} s)"
    )

    n = args.accounts
    tables, t_kpis = timed(
        lambda: compute_standard_kpis(cases, cycles, n_accounts=n, now=NOW, feedback=feedback),
        args.repeat,
    )
    plan, t_plan = timed(lambda: expectations_for_accounts(tiers), args.repeat)
    evaluation, t_eval = timed(lambda: evaluate_expectations(tables, plan), args.repeat)
    scores, t_score = timed(lambda: health_scores(evaluation), args.repeat)
    rng = np.random.default_rng(args.seed)
    days = np.arange(NOW // DAY - 29, NOW // DAY + 1)
    history = np.clip(scores.score[:, None] + rng.normal(0, 3, (n, 30)), 0, 100)
    _, t_trend = timed(lambda: health_trend(days, history), args.repeat)

    rows = [
        ("compute_standard_kpis (7/30/90 d)", t_kpis),
        ("expectations_for_accounts", t_plan),
        ("evaluate_expectations", t_eval),
        ("health_scores", t_score),
        ("health_trend (30 daily snapshots)", t_trend),
    ]
    best_total = sum(min(t) for _, t in rows)
    median_total = sum(statistics.median(t) for _, t in rows)
    print(f"{'step':36} {'best':>8} {'median':>8}   ({args.repeat} runs)")
    for label, t in rows:
        print(f"{label:36} {min(t):7.3f}s {statistics.median(t):7.3f}s")
    print(f"{'total':36} {best_total:7.3f}s {median_total:7.3f}s")
    failing = int(evaluation.unmet.sum())
    print(
        f"expectations: {len(plan.expectations)}, unmet (account, expectation) pairs: "
        f"{failing:,}; mean health {scores.score.mean():.1f}"
    )


if __name__ == "__main__":
    main()
