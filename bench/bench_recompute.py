"""End-to-end SLA recompute of the imported UCI log: read events, evaluate, write cycles.

    .venv/bin/python bench/bench_recompute.py [--pg postgres://postgres@127.0.0.1/kontosjef_bench]

For SQLite and PostgreSQL: a fresh database, the UCI import, one policy (first reply, next reply,
total resolution; Oslo office hours with Norwegian holidays) for every account, then
`kontosjef sla recompute` timed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UCI = ROOT.parent / "shared" / "data" / "servicenow-incidents" / "incident_event_log.zip"
KONTOSJEF = str(Path(sys.executable).parent / "kontosjef")
SETUP = """
from datetime import UTC, datetime
from kontosjef.cases.services import calendar_create, sla_policy_create, tier_sla_set
now = datetime(2017, 6, 1, tzinfo=UTC)
cal = calendar_create(by=None, name="Office", time_zone="Europe/Oslo", now=now,
                      holiday_country="NO", holiday_years=(2015, 2027))
h = 3600
targets = lambda *x: {f"p{i + 1}": int(v * h) for i, v in enumerate(x)}
pol = sla_policy_create(by=None, name="Bench", now=now, metrics={
    "first_reply": {"targets": targets(1, 2, 4, 8)},
    "next_reply": {"targets": targets(2, 4, 8, 16)},
    "total_resolution": {"targets": targets(8, 16, 40, 80)}})
tier_sla_set(by=None, tier="standard", policy=pol, calendar=cal, now=now)
"""


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run([KONTOSJEF, *args], env=env, check=True, capture_output=True, text=True)  # noqa: S603
    return time.perf_counter() - started, out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1/kontosjef_bench")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as var:
            env = {**os.environ, "KONTOSJEF_VAR_DIR": var}
            env.pop("DATABASE_URL", None)
            if backend == "postgresql":
                name = args.pg.rsplit("/", 1)[1]
                admin = args.pg.rsplit("/", 1)[0] + "/postgres"
                for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
                    subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
                env["DATABASE_URL"] = args.pg
            run(["migrate", "-v0"], env)
            run(["import", "servicenow", str(UCI), "--report", os.devnull], env)
            run(["shell", "-c", SETUP], env)
            seconds, out = run(["sla", "recompute"], env)
            print(f"{backend:10} sla recompute of the UCI import: {seconds:5.1f} s wall ({out})")


if __name__ == "__main__":
    main()
