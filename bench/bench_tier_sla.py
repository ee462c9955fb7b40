"""How long a configuration change that moves many clocks takes in the request: a tier's new
policy (`tier_sla_set`) and an account's own (`account_sla_set`) recompute their cases' clocks.

    .venv/bin/python bench/bench_tier_sla.py

A fresh SQLite database with the demo company (`kontosjef demo`); then each tier in turn gets a
new 24x7 first-reply policy, and one account a policy of its own, each timed around the service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

KONTOSJEF = str(Path(sys.executable).parent / "kontosjef")
TIMED = """
import time
import django
django.setup()
from django.utils import timezone
from kontosjef.accounts.models import Account
from kontosjef.cases.models import Case, TierSla
from kontosjef.cases.services import account_sla_set, sla_policy_create, tier_sla_set
from kontosjef.people.models import User

mona = User.objects.filter(role="manager").first()
now = timezone.now()
policy = sla_policy_create(by=mona, name="Bench 24x7", now=now, metrics={"first_reply": {
    "targets": {"p1": 3600, "p2": 7200, "p3": 14400, "p4": 28800}, "business_hours": False}})
print("| change | cases recomputed | seconds |")
print("|---|---|---|")
for tier in ("standard", "enterprise", "strategic"):
    start = time.perf_counter()
    change = tier_sla_set(by=mona, tier=tier, policy=policy, calendar=None, now=now)
    print(f"| tier {tier} | {change.recomputed:,} | {time.perf_counter() - start:.2f} |")
account = Account.objects.order_by("-pk").first()
start = time.perf_counter()
change = account_sla_set(account=account, by=mona, now=now, sla_policy=policy, calendar=None)
print(f"| one account | {change.recomputed:,} | {time.perf_counter() - start:.2f} |")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as var:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {"KONTOSJEF_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "kontosjef.settings"}
        for command in (["migrate", "-v0"], ["demo"]):
            subprocess.run([KONTOSJEF, *command], env=env, check=True, capture_output=True)  # noqa: S603
        subprocess.run([sys.executable, "-c", TIMED], env=env, check=True)  # noqa: S603


if __name__ == "__main__":
    main()
