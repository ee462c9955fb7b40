"""`kontosjef sla recompute [--account ID]` and `kontosjef sla sweep`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from kontosjef.accounts.models import Account
from kontosjef.cases.models import Case
from kontosjef.cases.sla import SlaConfigurationError, sla_recompute, sla_sweep


class Command(BaseCommand):
    help = "Recompute SLA metric cycles, or record due breaches and warnings."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        rec = sub.add_parser("recompute", help="recompute every case's cycles (or one account's)")
        rec.add_argument("--account", type=int, help="only this account (id)")
        sub.add_parser("sweep", help="record breaches and warnings that are due now")
        for p in sub.choices.values():
            p.add_argument("--verbosity", "-v", type=int, default=1)
            p.add_argument("--no-color", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["action"] == "sweep":
            self.stdout.write(f"{sla_sweep(now=now)} alerts recorded.")
            return
        account = None
        if options["account"] is not None:
            account = Account.objects.filter(pk=options["account"]).first()
            if account is None:
                raise CommandError(f"no account with id {options['account']}")
        total = Case.objects.filter(account=account).count() if account else Case.objects.count()
        started = time.perf_counter()
        with tqdm(total=total, unit="case", desc="Recomputing", disable=None, leave=False) as bar:
            try:
                written = sla_recompute(now=now, account=account, progress=bar.update)
            except SlaConfigurationError as exc:
                raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(f"{total:,} cases, {written:,} metric cycles in {seconds:.1f} s.")
