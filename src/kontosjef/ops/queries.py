"""The status page's reads: each periodic job's last run and each process's heartbeat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.tasks import task_backends
from django.tasks.backends.immediate import ImmediateBackend
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kontosjef.ops.models import Heartbeat, ScheduledJob
from kontosjef.ops.schedule import Job

# A due job not enqueued, or an enqueued job not started, for this long is overdue: the
# scheduler or the worker is not doing its part.
OVERDUE_AFTER = timedelta(minutes=2)
# The heartbeats shown: the most recent of each kind; older ones are in the admin.
HEARTBEATS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class JobStatus:
    job: Job
    row: ScheduledJob | None
    overdue_reason: str

    @property
    def is_overdue(self) -> bool:
        return bool(self.overdue_reason)

    @property
    def duration_seconds(self) -> float | None:
        if self.row is None or self.row.last_duration is None:
            return None
        return self.row.last_duration.total_seconds()


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    heartbeat: Heartbeat
    state: str  # "running", "stale" or "stopped"

    @property
    def is_stale(self) -> bool:
        return self.state == "stale"


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    jobs: list[JobStatus]
    processes: list[ProcessStatus]
    has_worker: bool
    has_scheduler: bool
    needs_worker: bool

    @property
    def worker_missing(self) -> bool:
        return self.needs_worker and not self.has_worker


def status_report(*, jobs: Sequence[Job], now: datetime) -> StatusReport:
    """Two queries: the job rows and the latest heartbeats."""
    rows = {row.name: row for row in ScheduledJob.objects.filter(name__in=[j.name for j in jobs])}
    job_statuses = [
        JobStatus(
            job=job, row=rows.get(job.name), overdue_reason=overdue_reason(rows.get(job.name), now)
        )
        for job in jobs
    ]
    processes = [
        ProcessStatus(heartbeat=beat, state=_state(beat, now))
        for beat in Heartbeat.objects.order_by("-last_seen_at")[:HEARTBEATS_SHOWN]
    ]
    processes.sort(key=lambda p: (p.heartbeat.kind, -p.heartbeat.last_seen_at.timestamp()))
    alive = {p.heartbeat.kind for p in processes if p.state == "running"}
    return StatusReport(
        now=now,
        jobs=job_statuses,
        processes=processes,
        has_worker=Heartbeat.Kind.WORKER in alive,
        has_scheduler=Heartbeat.Kind.SCHEDULER in alive,
        # Tasks run inline under the immediate backend (tests, some small installs): no worker.
        needs_worker=not isinstance(task_backends["default"], ImmediateBackend),
    )


def _state(beat: Heartbeat, now: datetime) -> str:
    if beat.stopped_at is not None:
        return "stopped"
    return "stale" if beat.is_stale(now=now) else "running"


def overdue_reason(row: ScheduledJob | None, now: datetime) -> str:
    """Why the job is overdue, or "" when it is not."""
    if row is None:
        return _("never scheduled: is the scheduler running?")
    if now - row.next_run_at > OVERDUE_AFTER:
        return _("due since %(time)s but not enqueued: is the scheduler running?") % {
            "time": _local_time(row.next_run_at)
        }
    enqueued = row.last_enqueued_at
    if enqueued is None or (row.last_started_at is not None and row.last_started_at >= enqueued):
        return ""
    if now - enqueued > OVERDUE_AFTER:
        return _("enqueued at %(time)s but not started: is a worker running?") % {
            "time": _local_time(enqueued)
        }
    return ""


def _local_time(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at), "SHORT_DATETIME_FORMAT")
