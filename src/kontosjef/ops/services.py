"""Writes of the operations app: the schedule's job rows, their runs, and process heartbeats.

Not audited: these rows are the machinery's own state, written every few seconds, not a person's
change to the company's data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from kontosjef.ops.models import Heartbeat, ScheduledJob
from kontosjef.ops.schedule import Job, job_callable

logger = logging.getLogger("kontosjef.ops")

# Heartbeats of processes gone this long are deleted; the status page only needs the recent past.
HEARTBEAT_KEEP = timedelta(days=7)
_ERROR_MAX = 2000


@dataclass(frozen=True, slots=True)
class SchedulerPass:
    """What one pass did: jobs enqueued, jobs that could not be (their error is on their row),
    and the earliest time a job of this schedule is due next (None for an empty schedule)."""

    enqueued: list[str]
    failed: list[str]
    next_run_at: datetime | None


def schedule_sync(*, jobs: Sequence[Job], now: datetime) -> dict[str, ScheduledJob]:
    """The row of each job, created on first sight and rescheduled when its task or schedule
    changed in the settings. Rows of jobs no longer in the schedule are deleted."""
    rows = {row.name: row for row in ScheduledJob.objects.all()}
    names = {job.name for job in jobs}
    if set(rows) - names:
        ScheduledJob.objects.exclude(name__in=names).delete()
    for job in jobs:
        row = rows.get(job.name)
        if row is None:
            rows[job.name], _ = ScheduledJob.objects.get_or_create(
                name=job.name,
                defaults={
                    "task_path": job.task_path,
                    "schedule": job.spec,
                    "next_run_at": job.first_run_at(now=now),
                },
            )
        elif (row.task_path, row.schedule) != (job.task_path, job.spec):
            row.task_path, row.schedule = job.task_path, job.spec
            row.next_run_at = job.first_run_at(now=now)
            ScheduledJob.objects.filter(pk=row.pk).update(
                task_path=row.task_path, schedule=row.schedule, next_run_at=row.next_run_at
            )
    return {name: rows[name] for name in names}


def scheduler_pass(*, jobs: Sequence[Job], now: datetime) -> SchedulerPass:
    """Enqueue every job due at `now`, each due time exactly once across concurrent schedulers.

    A job whose task path does not import is not enqueued: its row records the error, the error
    is logged, and the other jobs go on. It is tried again at its next due time.
    """
    # Imported here because the task module imports this one.
    from kontosjef.ops.tasks import run_job

    rows = schedule_sync(jobs=jobs, now=now)
    enqueued: list[str] = []
    failed: list[str] = []
    upcoming: list[datetime] = []
    for job in jobs:
        row = rows[job.name]
        if row.next_run_at > now:
            upcoming.append(row.next_run_at)
            continue
        next_at = job.next_run_after(due=row.next_run_at, now=now)
        try:
            job_callable(job)
        # A missing module or name, or a module that does not compile: the others must still run.
        except (ImportError, SyntaxError) as exc:
            error = _error_text(exc, prefix=f"cannot import {job.task_path}")
        else:
            error = ""
        changes: dict[str, Any] = {"next_run_at": next_at}
        if error:
            changes |= {"last_status": ScheduledJob.Status.ERROR, "last_error": error}
            changes |= {"last_finished_at": now, "last_duration": None}
        else:
            changes["last_enqueued_at"] = now
        with transaction.atomic():
            # Claim by UPDATE: two schedulers can read the same due row before either one writes.
            claimed = ScheduledJob.objects.filter(pk=row.pk, next_run_at=row.next_run_at).update(
                **changes
            )
            if not claimed:
                continue
            if error:
                logger.error("Scheduled job %s was not run: %s", job.name, error)
                failed.append(job.name)
            else:
                run_job.enqueue(job.name)
                enqueued.append(job.name)
        upcoming.append(next_at)
    return SchedulerPass(enqueued=enqueued, failed=failed, next_run_at=min(upcoming, default=None))


def job_started(*, name: str, now: datetime) -> None:
    ScheduledJob.objects.filter(name=name).update(last_started_at=now)


def job_finished(*, name: str, now: datetime, duration: timedelta, error: str = "") -> None:
    ScheduledJob.objects.filter(name=name).update(
        last_finished_at=now,
        last_duration=duration,
        last_status=ScheduledJob.Status.ERROR if error else ScheduledJob.Status.OK,
        last_error=error,
    )


def job_run(*, job: Job) -> None:
    """Run `job` in this process and record its start, finish, duration and outcome on its row.

    The one service that reads the clock itself: a run's start and its end are two moments.
    A failure is recorded and then raised again, so the task result fails too.
    """
    started = time.monotonic()
    job_started(name=job.name, now=timezone.now())
    try:
        job_callable(job)()
    # Whatever a job raises must reach the status page; it is re-raised at once, never swallowed.
    except Exception as exc:
        duration = timedelta(seconds=time.monotonic() - started)
        job_finished(name=job.name, now=timezone.now(), duration=duration, error=_error_text(exc))
        raise
    duration = timedelta(seconds=time.monotonic() - started)
    job_finished(name=job.name, now=timezone.now(), duration=duration)


def heartbeat_beat(
    *, kind: str, host: str, pid: int, started_at: datetime, interval: timedelta, now: datetime
) -> None:
    """Record that the process is alive at `now`; the first beat creates its row."""
    Heartbeat.objects.update_or_create(
        kind=kind,
        host=host,
        pid=pid,
        defaults={
            "started_at": started_at,
            "last_seen_at": now,
            "interval": interval,
            "stopped_at": None,
        },
    )


def heartbeat_stop(*, kind: str, host: str, pid: int, now: datetime) -> None:
    """Record a clean stop, so the process shows as stopped rather than stale."""
    Heartbeat.objects.filter(kind=kind, host=host, pid=pid).update(stopped_at=now, last_seen_at=now)


def heartbeat_prune(*, now: datetime) -> int:
    deleted, _ = Heartbeat.objects.filter(last_seen_at__lt=now - HEARTBEAT_KEEP).delete()
    return deleted


def _error_text(exc: BaseException, *, prefix: str = "") -> str:
    text = f"{type(exc).__name__}: {exc}"
    return (f"{prefix}: {text}" if prefix else text)[:_ERROR_MAX]
