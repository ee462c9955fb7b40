"""`kontosjef health refresh [--as-of DATE] [--since DATE | --days N]`: KPI and health
snapshots, then the attention rules."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from kontosjef.accounts.health import data_as_of, end_of_day, snapshot_day
from kontosjef.attention.services import health_backfill


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Compute KPI and health snapshots and evaluate the attention rules."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        refresh = sub.add_parser(
            "refresh",
            help="snapshots as of now (or the data's last day, or --as-of), then the rules",
            description=(
                "Compute the KPI and health snapshots as of now, or as of the end of the data's "
                "last day of activity when that is more than KONTOSJEF_STALE_DATA_DAYS (30) days "
                "ago, and run the attention rules. --since or --days also fill in every day "
                "before it (a history for trends and charts after an import)."
            ),
        )
        refresh.add_argument("--as-of", help="the last day to compute (YYYY-MM-DD)")
        history = refresh.add_mutually_exclusive_group()
        history.add_argument("--since", help="also every day from this one (YYYY-MM-DD)")
        history.add_argument("--days", type=int, default=1, help="also the N-1 days before")
        refresh.add_argument("--verbosity", "-v", type=int, default=1)
        refresh.add_argument("--no-color", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        now = timezone.now()
        if options["as_of"]:
            day = _day(options["as_of"])
            as_of = min(now, end_of_day(day))
        else:
            as_of = data_as_of(now)
        last = snapshot_day(as_of)
        if options["since"]:
            since = _day(options["since"])
        else:
            since = last - timedelta(days=max(1, options["days"]) - 1)
        n_days = (last - since).days + 1
        if n_days < 1:
            raise CommandError(f"--since {since} comes after the last day {last}")
        if as_of != now:
            self.stdout.write(f"Figures as of the end of {last} (the data's last day or --as-of).")
        bar = tqdm(total=n_days, unit="day", disable=n_days < 2 or options["verbosity"] < 1)
        try:
            run = health_backfill(since=since, now=now, as_of=as_of, progress=bar.update)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{n_days} day(s) in {time.perf_counter() - started:.1f} s: {len(run.opened)} items "
            f"opened, {run.updated} updated, {run.resolved} resolved, {run.routed} re-routed."
        )
