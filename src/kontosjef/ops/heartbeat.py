"""Heartbeats of the long-running processes, so the status page can tell one that stopped."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from kontosjef.ops.services import heartbeat_beat, heartbeat_stop

logger = logging.getLogger("kontosjef.ops")


def heartbeat_interval() -> timedelta:
    return timedelta(seconds=settings.KONTOSJEF_HEARTBEAT_SECONDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessBeat:
    """This process's identity in the heartbeat table."""

    kind: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: datetime = field(default_factory=timezone.now)
    interval: timedelta = field(default_factory=heartbeat_interval)

    def beat(self, *, now: datetime) -> bool:
        """Write the heartbeat; False (and a warning logged) when the database refused it, so a
        passing outage does not end the process."""
        try:
            heartbeat_beat(
                kind=self.kind,
                host=self.host,
                pid=self.pid,
                started_at=self.started_at,
                interval=self.interval,
                now=now,
            )
        except DatabaseError as exc:
            logger.warning("Could not write the %s heartbeat: %s", self.kind, exc)
            close_old_connections()
            return False
        return True

    def stop(self, *, now: datetime) -> None:
        try:
            heartbeat_stop(kind=self.kind, host=self.host, pid=self.pid, now=now)
        except DatabaseError as exc:
            logger.warning("Could not record the %s stop: %s", self.kind, exc)


class HeartbeatThread(threading.Thread):
    """Beats for a process whose main loop belongs to someone else (django-tasks-db's worker).

    It beats while the process lives, including while a long task runs; it cannot tell a hung
    task from a slow one, which the job's own last-run times on the status page show.
    """

    def __init__(self, process: ProcessBeat) -> None:
        super().__init__(name=f"{process.kind}-heartbeat", daemon=True)
        self.process = process
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while True:
                self.process.beat(now=timezone.now())
                if self._stopping.wait(self.process.interval.total_seconds()):
                    return
        finally:
            # This thread's own database connection; the main thread's stay open.
            connections.close_all()

    def stop(self) -> None:
        """End the beats and record the stop (from the calling thread)."""
        self._stopping.set()
        self.join(timeout=self.process.interval.total_seconds() + 5)
        self.process.stop(now=timezone.now())
