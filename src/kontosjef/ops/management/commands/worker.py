"""`kontosjef worker`: django-tasks-db's `db_worker`, with the same options, plus a heartbeat."""

from __future__ import annotations

import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from kontosjef.ops.heartbeat import HeartbeatThread, ProcessBeat
from kontosjef.ops.models import Heartbeat


class Command(DbWorkerCommand):
    help = (
        "Run background tasks from the database queue (as db_worker, same options) and leave "
        "a heartbeat that the status page shows."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # With --reload this process only watches files and restarts a child running this same
        # command; the child, which runs the tasks, is the one that beats.
        watcher = (
            options["reload"]
            and not options["batch"]
            and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        )
        if watcher:
            super().handle(*args, **options)
            return
        beat = HeartbeatThread(ProcessBeat(kind=Heartbeat.Kind.WORKER))
        beat.start()
        try:
            super().handle(*args, **options)
        finally:
            beat.stop()
