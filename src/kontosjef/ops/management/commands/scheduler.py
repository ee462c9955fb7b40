"""`kontosjef scheduler [--once]`: enqueue the periodic jobs of KONTOSJEF_SCHEDULE when due."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from kontosjef.ops.heartbeat import ProcessBeat
from kontosjef.ops.models import Heartbeat
from kontosjef.ops.schedule import Job, load_schedule
from kontosjef.ops.services import heartbeat_prune, scheduler_pass

logger = logging.getLogger("kontosjef.ops")

# The longest sleep between passes, so a stop signal or a schedule change is noticed quickly.
MAX_SLEEP = 5.0


class Command(BaseCommand):
    help = (
        "Enqueue each periodic job of KONTOSJEF_SCHEDULE when it is due (exactly once per due "
        "time, even with several schedulers); a worker runs them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run one scheduling pass and exit (for cron)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            jobs = load_schedule()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["once"]:
            done = scheduler_pass(jobs=jobs, now=timezone.now())
            for name in done.enqueued:
                self.stdout.write(f"{name}: enqueued")
            for name in done.failed:
                self.stdout.write(f"{name}: not run, see the status page")
            if not done.enqueued and not done.failed:
                self.stdout.write("No job was due.")
            return
        self._loop(jobs, verbose=options["verbosity"] > 1)

    def _loop(self, jobs: tuple[Job, ...], *, verbose: bool) -> None:
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        process = ProcessBeat(kind=Heartbeat.Kind.SCHEDULER)
        last_beat: datetime | None = None
        self.stdout.write(f"Scheduler started: {', '.join(job.name for job in jobs) or 'no jobs'}.")
        try:
            while not stopping.is_set():
                close_old_connections()
                now = timezone.now()
                try:
                    beat_due = last_beat is None or now - last_beat >= process.interval
                    if beat_due and process.beat(now=now):
                        last_beat = now
                        heartbeat_prune(now=now)
                    done = scheduler_pass(jobs=jobs, now=now)
                except DatabaseError:
                    # The database may be restarting: log it and try again on the next pass.
                    logger.exception("Scheduler pass failed")
                    stopping.wait(MAX_SLEEP)
                    continue
                if verbose and (done.enqueued or done.failed):
                    self.stdout.write(
                        f"{now:%H:%M:%S} enqueued {done.enqueued}, not run {done.failed}"
                    )
                wait = MAX_SLEEP
                if done.next_run_at is not None:
                    wait = (done.next_run_at - timezone.now()).total_seconds()
                stopping.wait(min(max(wait, 0.0), MAX_SLEEP))
        finally:
            process.stop(now=timezone.now())
            self.stdout.write("Scheduler stopped.")
