"""`kontosjef flush`: Django's flush, allowed through the append-only history triggers."""

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from kontosjef.audit.appendonly import close_purge_window, open_purge_window


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        open_purge_window(connection)
        try:
            super().handle(**options)
        finally:
            close_purge_window(connection)
