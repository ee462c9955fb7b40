"""KPIs, health and attention rules end to end on a large database.

    .venv/bin/python bench/bench_health_db.py [--pg URL] [--accounts 10000] [--cases 1000000]

Fills a fresh PostgreSQL database (default postgres://postgres@127.0.0.1/kontosjef_bench) with
synthetic accounts, cases, their events and SLA cycles by COPY (the data a year of a large
support organisation would leave), then times `health_refresh`: read the columns, compute the
7/30/90-day KPIs, evaluate every expectation, score every account, store the snapshots, and run
the attention rules. Prints the figures; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

KONTOSJEF = str(Path(sys.executable).parent / "kontosjef")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1/kontosjef_bench")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    name = args.pg.rsplit("/", 1)[1]
    admin = args.pg.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
    os.environ["DATABASE_URL"] = args.pg
    subprocess.run([KONTOSJEF, "migrate", "-v0"], check=True)  # noqa: S603

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kontosjef.settings")
    django.setup()
    from django.db import transaction

    from kontosjef.accounts.models import Account
    from kontosjef.attention.services import health_refresh
    from kontosjef.bulk import allocate_ids, raw_insert
    from kontosjef.cases.models import Case, CaseEvent, MetricCycle

    rng = np.random.default_rng(2026)
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    t0 = time.perf_counter()
    n_acc, n_cases = args.accounts, args.cases
    tiers = rng.choice(["strategic", "enterprise", "standard"], n_acc, p=[0.05, 0.25, 0.7])
    with transaction.atomic():
        acc_ids = allocate_ids(Account, n_acc)
        raw_insert(Account, ["id", "name", "tier", "country", "time_zone", "status",
                             "external_source", "external_id", "created_at"],
                   ([i, f"Account {i}", str(t), "NO", "Europe/Oslo", "active", "bench", str(i),
                     now - timedelta(days=800)]
                    for i, t in zip(acc_ids, tiers, strict=True)))  # fmt: skip
        weights = rng.pareto(1.5, n_acc) + 1
        account = rng.choice(np.array(acc_ids), n_cases, p=weights / weights.sum())
        opened = (
            now - timedelta(days=365) + rng.uniform(0, 365 * 86400, n_cases) * timedelta(seconds=1)
        )
        duration = rng.exponential(3 * 86400, n_cases)
        is_open = opened + duration * timedelta(seconds=1) > now
        prio = rng.choice(["p1", "p2", "p3", "p4"], n_cases, p=[0.05, 0.2, 0.5, 0.25])
        reopen = (rng.random(n_cases) < 0.08).astype(int)
        case_ids = allocate_ids(Case, n_cases)
        rows = []
        for i in range(n_cases):
            op = opened[i]
            solved = None if is_open[i] else op + timedelta(seconds=float(duration[i]))
            rows.append([case_ids[i], int(account[i]), "Synthetic case", "", str(prio[i]),
                         "open" if is_open[i] else "closed", "email", "bench", str(i), op, solved,
                         solved, solved or op, 2, int(reopen[i]), 1, {}])  # fmt: skip
        raw_insert(Case, ["id", "account_id", "subject", "description", "priority", "status",
                          "channel", "external_source", "external_id", "opened_at", "solved_at",
                          "closed_at", "last_event_at", "last_seq", "reopen_count", "version",
                          "attributes"], rows)  # fmt: skip
        events = []
        for i in range(n_cases):
            events.append([case_ids[i], opened[i], 1, "created", "system", False, str(prio[i]),
                           "", "", ""])  # fmt: skip
            if rng.random() < 0.4:
                events.append([case_ids[i], opened[i] + timedelta(hours=1), 2, "handoff",
                               "system", False, "", "", "", ""])  # fmt: skip
        raw_insert(CaseEvent, ["case_id", "at", "seq", "kind", "actor_kind", "is_public",
                               "to_value", "from_value", "body", "external_id"],
                   events)  # fmt: skip
        cycles = []
        breach = rng.random((n_cases, 2)) < 0.12
        for i in range(n_cases):
            op = opened[i]
            stop = None if is_open[i] else op + timedelta(seconds=float(duration[i]))
            for m, (metric, target) in enumerate((("first_reply", 4 * 3600),
                                                  ("total_resolution", 40 * 3600))):  # fmt: skip
                b = bool(breach[i, m])
                cycles.append([case_ids[i], metric, 0, "breached_met" if b else "met", op,
                               stop or op, target, int(duration[i] // 3), int(duration[i]), 0, 0,
                               0, None, None, op + timedelta(hours=4) if b else None, False,
                               True, now, ""])  # fmt: skip
        raw_insert(MetricCycle, ["case_id", "metric", "cycle_index", "state", "start_at",
                                 "stop_at", "target_seconds", "elapsed_business_seconds",
                                 "elapsed_calendar_seconds", "paused_business_seconds",
                                 "paused_calendar_seconds", "remaining_seconds", "due_at",
                                 "warn_at", "breached_at", "is_running", "business_hours",
                                 "computed_at", "fulfilled_by"], cycles)  # fmt: skip
    print(f"filled {n_acc:,} accounts, {n_cases:,} cases, {len(events):,} events, "
          f"{len(cycles):,} cycles in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    subprocess.run(["psql", args.pg, "-qc", "VACUUM ANALYZE"], check=True)  # noqa: S603, S607
    for attempt in (1, 2):
        started = time.perf_counter()
        run = health_refresh(now=now + timedelta(minutes=attempt))
        print(f"health_refresh run {attempt}: {time.perf_counter() - started:.1f} s "
              f"({len(run.opened):,} items opened, {run.updated:,} updated, "
              f"{run.resolved:,} resolved)")  # fmt: skip


if __name__ == "__main__":
    main()
