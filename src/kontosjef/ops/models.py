from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

# A process is stale when this many of its heartbeats in a row are missing.
STALE_AFTER_BEATS = 3


class ScheduledJob(models.Model):
    """One periodic job of `KONTOSJEF_SCHEDULE`: when it is next due and how its last run went.

    The scheduler claims a due job by moving `next_run_at` on with a conditional UPDATE, so each
    due time is enqueued once however many schedulers run. Operational state, not history: rows
    follow the schedule setting and are not audited.
    """

    class Status(models.TextChoices):
        OK = "ok", _("OK")
        ERROR = "error", _("Error")

    name = models.CharField(_("name"), max_length=64, unique=True)
    task_path = models.CharField(_("task"), max_length=200)
    schedule = models.CharField(_("schedule"), max_length=40)
    next_run_at = models.DateTimeField(_("next run at"), db_index=True)
    last_enqueued_at = models.DateTimeField(_("last enqueued at"), null=True, blank=True)
    last_started_at = models.DateTimeField(_("last started at"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished at"), null=True, blank=True)
    last_status = models.CharField(
        _("last status"), max_length=8, choices=Status.choices, blank=True, default=""
    )
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_duration = models.DurationField(_("last duration"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_status__in=["", "ok", "error"]),
                name="scheduled_job_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.last_started_at is not None and (
            self.last_finished_at is None or self.last_finished_at < self.last_started_at
        )


class Heartbeat(models.Model):
    """The latest sign of life of one worker or scheduler process, written every `interval`."""

    class Kind(models.TextChoices):
        WORKER = "worker", _("Worker")
        SCHEDULER = "scheduler", _("Scheduler")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    last_seen_at = models.DateTimeField(_("last seen at"), db_index=True)
    interval = models.DurationField(_("interval"))
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)

    class Meta:
        ordering = ["kind", "-last_seen_at"]
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "host", "pid"], name="heartbeat_process_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["worker", "scheduler"]), name="heartbeat_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.host}:{self.pid}"

    def stale_since(self) -> datetime:
        return self.last_seen_at + STALE_AFTER_BEATS * self.interval

    def is_stale(self, *, now: datetime) -> bool:
        """Still claims to run, but missed its last beats: hung, killed, or cut off the database."""
        return self.stopped_at is None and now > self.stale_since()

    def is_alive(self, *, now: datetime) -> bool:
        return self.stopped_at is None and not self.is_stale(now=now)
