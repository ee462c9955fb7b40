"""Import throughput on the real data sets, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_import.py [--pg postgres://postgres@127.0.0.1/kontosjef_bench]

Each run starts from a freshly migrated, empty database, imports the file, then imports it again
(the idempotent no-op). Prints rows per second for both. Needs ../shared/data.
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
DATA = ROOT.parent / "shared" / "data"
KONTOSJEF = str(Path(sys.executable).parent / "kontosjef")
UCI = str(DATA / "servicenow-incidents/incident_event_log.zip")
HELPDESK = str(DATA / "helpdesk-italy/helpdesk.csv")
JOBS = [
    ("UCI ServiceNow", 141_712, ["servicenow", UCI]),
    ("helpdesk-italy", 21_348, ["eventlog", HELPDESK, "--mapping", "helpdesk-italy"]),
]


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([KONTOSJEF, *args], env=env, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def fresh_pg(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)  # noqa: S603, S607


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1/kontosjef_bench")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        for label, rows, job in JOBS:
            with tempfile.TemporaryDirectory() as var:
                env = {**os.environ, "KONTOSJEF_VAR_DIR": var}
                if backend == "postgresql":
                    fresh_pg(args.pg)
                    env["DATABASE_URL"] = args.pg
                else:
                    env.pop("DATABASE_URL", None)
                run(["migrate", "-v0"], env)
                report = ["--report", os.devnull]
                first = run(["import", *job, *report], env)
                again = run(["import", *job, *report], env)
                print(f"{backend:10} {label:15} {rows:>8,} rows  first {first:5.1f} s "
                      f"({rows / first:>7,.0f} rows/s)  again {again:5.1f} s "
                      f"({rows / again:>7,.0f} rows/s)")  # fmt: skip


if __name__ == "__main__":
    main()
