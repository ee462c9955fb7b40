"""How well Kontosjef's resolution SLA verdict agrees with ServiceNow's own `made_sla` (UCI log).

    .venv/bin/python bench/uci_sla_agreement.py [--var DIR]

Imports the UCI incident log into a fresh SQLite database (in DIR, default a temporary folder),
computes resolution cycles for three running sets on a 24x7 clock, infers one target per priority
from the data (the threshold that best separates made from missed SLAs), recomputes with those
targets through the normal adapter path, and prints the agreement. docs/sla.md records the result.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
UCI = ROOT.parent / "shared" / "data" / "servicenow-incidents" / "incident_event_log.zip"
KONTOSJEF = str(Path(sys.executable).parent / "kontosjef")
# Each metric is the resolution clock with a different set of running statuses.
VARIANTS = {
    "total_resolution": "runs in every open status (Zendesk TRT)",
    "requester_wait": "stops while waiting on the customer (Awaiting User Info / Evidence)",
    "agent_work": "stops while waiting on anyone (Awaiting User Info, Vendor, Problem)",
}
NEVER = 10 * 365 * 86400
GRID = np.concatenate([np.arange(0, 4 * 3600, 300), np.arange(4 * 3600, 400 * 3600, 1800)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", help="keep the database in this folder")
    args = parser.parse_args()
    var = args.var or tempfile.mkdtemp(prefix="kontosjef-uci-")
    os.environ["KONTOSJEF_VAR_DIR"] = var
    os.environ.pop("DATABASE_URL", None)
    env = dict(os.environ)
    subprocess.run([KONTOSJEF, "migrate", "-v0"], env=env, check=True)  # noqa: S603
    subprocess.run([KONTOSJEF, "import", "servicenow", str(UCI), "--report", os.devnull],  # noqa: S603
                   env=env, check=True, capture_output=True)  # fmt: skip

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kontosjef.settings")
    django.setup()
    from kontosjef.cases.models import Case, MetricCycle
    from kontosjef.cases.services import sla_policy_create, tier_sla_set
    from kontosjef.cases.sla import sla_recompute

    now = datetime(2017, 6, 1, tzinfo=UTC)
    prios = ["p1", "p2", "p3", "p4"]
    policy = sla_policy_create(by=None, name="UCI probe", now=now, metrics={
        "total_resolution": {"targets": dict.fromkeys(prios, NEVER), "business_hours": False},
        "requester_wait": {"targets": dict.fromkeys(prios, NEVER), "business_hours": False},
        "agent_work": {"targets": dict.fromkeys(prios, NEVER), "business_hours": False},
    })  # fmt: skip
    tier_sla_set(by=None, tier="standard", policy=policy, calendar=None, now=now)
    sla_recompute(now=now)

    made = dict(Case.objects.values_list("pk", "source_sla_met"))
    priority = dict(Case.objects.values_list("pk", "priority"))
    best: dict[str, tuple[float, dict[str, int]]] = {}
    for metric in VARIANTS:
        rows = MetricCycle.objects.filter(metric=metric).values_list(
            "case_id", "elapsed_business_seconds"
        )
        elapsed = dict(rows)
        targets, hits, total = {}, 0, 0
        for p in prios:
            ids = [c for c in elapsed if priority[c] == p and made[c] is not None]
            e = np.array([elapsed[c] for c in ids])
            m = np.array([made[c] for c in ids])
            scores = [((e <= t) == m).sum() for t in GRID]
            k = int(np.argmax(scores))
            targets[p], hits, total = int(GRID[k]), hits + scores[k], total + len(ids)
        best[metric] = (hits / total, targets)
        print(f"{metric:17} {VARIANTS[metric]:70} inferred agreement {hits / total:.2%}")
    metric = max(best, key=lambda k: best[k][0])
    targets = best[metric][1]
    print("chosen:", metric, {p: f"{t / 3600:g} h" for p, t in targets.items()})

    # Apply the inferred targets as a new policy through the normal path and recompute.
    chosen = {metric: {"targets": targets, "business_hours": False}}
    inferred = sla_policy_create(by=None, name="UCI inferred", now=now, metrics=chosen)
    tier_sla_set(by=None, tier="standard", policy=inferred, calendar=None, now=now)
    sla_recompute(now=now)
    verdict = {
        c: s != "breached_met"
        for c, s in MetricCycle.objects.filter(metric=metric).values_list("case_id", "state")
    }
    confusion: Counter[tuple[str, bool, bool]] = Counter()
    for c, ours in verdict.items():
        if made[c] is not None:
            confusion[(priority[c], bool(made[c]), ours)] += 1
    agree = sum(n for (p, s, o), n in confusion.items() if s == o)
    total = sum(confusion.values())
    print(f"cases compared {total:,}; agreement {agree / total:.2%}")
    for p in prios:
        row = {k: n for k, n in confusion.items() if k[0] == p}
        both_made = row.get((p, True, True), 0)
        both_missed = row.get((p, False, False), 0)
        src_only = row.get((p, True, False), 0)
        ours_only = row.get((p, False, True), 0)
        n = both_made + both_missed + src_only + ours_only
        share = (both_made + both_missed) / max(n, 1)
        print(f"  {p}: n={n:,} agree={share:.2%} "
              f"both made={both_made:,} both missed={both_missed:,} "
              f"source made/we missed={src_only:,} "
              f"source missed/we made={ours_only:,}")  # fmt: skip


if __name__ == "__main__":
    main()
