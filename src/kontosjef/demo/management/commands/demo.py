"""`kontosjef demo`: load the fictional demo company and print the demo logins."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from kontosjef.accounts.models import Account
from kontosjef.demo.load import demo_loaded, load_company
from kontosjef.demo.simulate import DEMO_PASSWORD, EMPLOYEES, plan_company, planted_dates


class Command(BaseCommand):
    help = "Load the demo company (Fjordlys Programvare AS): deterministic for a seed and a date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument(
            "--now",
            help="the simulated present, ISO 8601 with offset (default: the current time)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_loaded():
            self.stdout.write("The demo company is already loaded.")
            self.print_logins()
            return
        if Account.objects.exists():
            raise CommandError(
                "This database already holds accounts that are not demo data; "
                "load the demo into an empty database."
            )
        now = self.parse_now(options["now"])
        started = time.perf_counter()
        plan = plan_company(seed=options["seed"], now=now)
        planned = time.perf_counter() - started
        with tqdm(total=len(plan.cases), unit="case", desc="Loading demo", disable=None) as bar:
            summary = load_company(plan, progress=bar.update)
        total = time.perf_counter() - started
        self.stdout.write(
            f"Demo company loaded in {total:.1f} s (planning {planned:.1f} s): "
            f"{summary.accounts} accounts, {summary.contacts} contacts, {summary.users} employees, "
            f"{summary.cases} cases, {summary.events} events."
        )
        for name, day in planted_dates(plan):
            self.stdout.write(f"  planted: {name} from {day.isoformat()}")
        self.print_logins()

    def parse_now(self, value: str | None) -> datetime:
        if not value:
            return timezone.now()
        try:
            now = datetime.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--now: {value!r} is not an ISO 8601 date-time") from exc
        if now.tzinfo is None:
            raise CommandError("--now needs a UTC offset, e.g. 2026-11-28T12:00+01:00")
        return now

    def print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        shown: set[str] = set()
        for username, first, _last, role, dept in EMPLOYEES:
            if role in shown and role != "tam":
                continue
            if role == "tam" and username not in {"alice", "bjorn"}:
                continue
            shown.add(role)
            self.stdout.write(f"  {role:<8} {username:<8} ({first}, {dept})")
