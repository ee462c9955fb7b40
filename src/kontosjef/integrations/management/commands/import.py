"""`kontosjef import servicenow|eventlog|cases PATH`: bring another service desk's history in."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from kontosjef.integrations.batch import ImportBatch, ImportFileError, Problem
from kontosjef.integrations.eventlog import parse_eventlog
from kontosjef.integrations.mapping import load_mapping
from kontosjef.integrations.native import parse_native
from kontosjef.integrations.servicenow import DEFAULT_MAPPING, parse_servicenow
from kontosjef.integrations.services import import_batch


class Command(BaseCommand):
    help = "Import cases and their history from a file. Nothing is written if a row is rejected."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="importer", required=True, metavar="IMPORTER")
        sn = sub.add_parser("servicenow", help="a ServiceNow incident audit export (CSV or zip)")
        sn.add_argument("--mapping", default=DEFAULT_MAPPING, help="mapping file (TOML)")
        ev = sub.add_parser("eventlog", help="a process event log (CSV or XES, plain or gzipped)")
        ev.add_argument("--mapping", required=True, help="mapping file (TOML) or built-in name")
        sub.add_parser("cases", help="Kontosjef's own format (JSON Lines, or a zip of CSV files)")
        for p in sub.choices.values():
            p.add_argument("path", help="the file to import")
            p.add_argument("--dry-run", action="store_true", help="validate, write nothing")
            p.add_argument(
                "--skip-invalid",
                action="store_true",
                help="import the valid rows even if some are rejected",
            )
            p.add_argument(
                "--report",
                help="write rejected and skipped rows to this CSV file (default: "
                f"{Path(settings.VAR_DIR) / 'import-reports'}/<file>.<time>.csv)",
            )
            # Django's own options must be accepted on the subcommand too.
            p.add_argument("--verbosity", "-v", type=int, default=1)
            p.add_argument("--no-color", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        importer, path = options["importer"], options["path"]
        now = timezone.now()
        started = time.perf_counter()
        bar = tqdm(unit="row", desc=f"Reading {Path(path).name}", disable=None, leave=False)
        try:
            batch = self.parse(importer, path, options, bar.update)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        parsed = time.perf_counter() - started
        with tqdm(
            total=len(batch.cases), unit="case", desc="Writing", disable=None, leave=False
        ) as wbar:
            try:
                result = import_batch(
                    batch=batch,
                    by=None,
                    now=now,
                    importer=importer,
                    path=str(path),
                    dry_run=options["dry_run"],
                    skip_invalid=options["skip_invalid"],
                    progress=wbar.update,
                )
            except ImportFileError as exc:
                raise CommandError(str(exc)) from exc
        total = time.perf_counter() - started
        report = self.write_report(path, options.get("report"), result.rejected, result.skipped)
        figures = ", ".join(f"{v:,} {k}" for k, v in sorted(result.figures.items()) if v)
        self.stdout.write(
            f"{importer}: {result.rows:,} rows read in {total:.1f} s "
            f"({result.rows / total:,.0f} rows/s; reading {parsed:.1f} s)."
        )
        self.stdout.write(f"  imported: {figures or 'nothing new'}")
        self.stdout.write(
            f"  skipped: {len(result.skipped):,} rows; rejected: {len(result.rejected):,} rows"
        )
        if report:
            self.stdout.write(f"  report of rejected and skipped rows: {report}")
        if result.sla_problem and result.outcome == "committed":
            self.stdout.write(f"  SLA: {result.sla_problem}")
        if result.outcome == "dry_run":
            self.stdout.write("Dry run: nothing was written.")
        elif result.outcome == "rejected":
            first = result.rejected[0]
            raise CommandError(
                f"{len(result.rejected):,} rows rejected, nothing was written (first: row "
                f"{first.row}, {first.column or 'row'}: {first.reason}). Fix the file, or "
                "use --skip-invalid to import the rest."
            )

    def parse(
        self, importer: str, path: str, options: dict[str, Any], progress: Any
    ) -> ImportBatch:
        if importer == "servicenow":
            return parse_servicenow(
                path, mapping=load_mapping(options["mapping"]), progress=progress
            )
        if importer == "eventlog":
            return parse_eventlog(path, mapping=load_mapping(options["mapping"]), progress=progress)
        return parse_native(path, progress=progress)

    def write_report(
        self, path: str, target: str | None, rejected: list[Problem], skipped: list[Problem]
    ) -> str | None:
        if not rejected and not skipped:
            return None
        if target:
            out = Path(target)
        else:
            folder = Path(settings.VAR_DIR) / "import-reports"
            folder.mkdir(parents=True, exist_ok=True)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            out = folder / f"{Path(path).name}.{stamp}.csv"
        with out.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["outcome", "row", "column", "reason"])
            for label, problems in (("rejected", rejected), ("skipped", skipped)):
                writer.writerows([label, p.row, p.column, p.reason] for p in problems)
        return str(out)
