"""`kontosjef health refresh [--days N]`: KPI and health snapshots, then the attention rules."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from kontosjef.attention.services import health_backfill


class Command(BaseCommand):
    help = "Compute KPI and health snapshots and evaluate the attention rules."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        refresh = sub.add_parser("refresh", help="today's snapshots and rules (or the last N days)")
        refresh.add_argument("--days", type=int, default=1, help="also the N-1 days before today")
        refresh.add_argument("--verbosity", "-v", type=int, default=1)
        refresh.add_argument("--no-color", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        days = max(1, options["days"])
        run = health_backfill(now=timezone.now(), days=days)
        self.stdout.write(
            f"{days} day(s) in {time.perf_counter() - started:.1f} s: {len(run.opened)} items "
            f"opened, {run.updated} updated, {run.resolved} resolved, {run.routed} re-routed."
        )
