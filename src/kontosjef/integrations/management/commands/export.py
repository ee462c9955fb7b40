"""`kontosjef export PATH`: everything, in Kontosjef's own format (see docs/import.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kontosjef.integrations.native import export_native


class Command(BaseCommand):
    help = "Export accounts, contacts, employees, cases and events as JSON Lines or a CSV zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="output file: .jsonl, .jsonl.gz, or .zip (CSV files)")
        parser.add_argument("--source", default="kontosjef", help="source name in the header")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        count = export_native(path, source=options["source"], csv_zip=path.endswith(".zip"))
        self.stdout.write(f"Exported {count:,} records to {path}.")
