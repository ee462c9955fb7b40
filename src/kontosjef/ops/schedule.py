"""The periodic jobs of `settings.KONTOSJEF_SCHEDULE` and when each is next due.

A job is a Django task (or plain function) that takes no arguments, run either every N seconds or
daily at a local time ("HH:MM" in `settings.TIME_ZONE`):

    KONTOSJEF_SCHEDULE = [
        {"name": "sla_sweep", "task": "kontosjef.cases.tasks.sweep_slas", "every": 60},
        {"name": "digests", "task": "kontosjef.integrations.tasks.send_digests",
         "daily_at": "07:00"},
    ]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.tasks import Task
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One periodic job: exactly one of `every` and `daily_at` is set."""

    name: str
    task_path: str
    every: timedelta | None = None
    daily_at: time | None = None

    @property
    def spec(self) -> str:
        """The schedule in a canonical, untranslated form; a change of it reschedules the job."""
        if self.every is not None:
            return f"every {int(self.every.total_seconds())}s"
        return f"daily {self._at:%H:%M}"

    def describe(self) -> str:
        if self.every is not None:
            seconds = int(self.every.total_seconds())
            if seconds % 3600 == 0:
                return _("every %(n)d h") % {"n": seconds // 3600}
            if seconds % 60 == 0:
                return _("every %(n)d min") % {"n": seconds // 60}
            return _("every %(n)d s") % {"n": seconds}
        return _("daily at %(time)s") % {"time": f"{self._at:%H:%M}"}

    def first_run_at(self, *, now: datetime) -> datetime:
        """When a new job first runs: an interval job at once, a daily job at its time."""
        if self.every is not None:
            return now
        return self._next_daily(now)

    def next_run_after(self, *, due: datetime, now: datetime) -> datetime:
        """The first due time strictly after `now`; due times missed while nothing ran are skipped,
        so a scheduler that was down enqueues a job once, not once per missed time."""
        if self.every is not None:
            missed = (now - due) // self.every if now >= due else -1
            return due + (missed + 1) * self.every
        return self._next_daily(now)

    @property
    def _at(self) -> time:
        if self.daily_at is None:
            raise ValueError(f"job {self.name} runs every {self.every}, not daily")
        return self.daily_at

    def _next_daily(self, now: datetime) -> datetime:
        zone = ZoneInfo(settings.TIME_ZONE)
        local = now.astimezone(zone)
        # A local time that the spring DST change skips runs an hour later that day (02:30 → 03:30).
        candidate = datetime.combine(local.date(), self._at, tzinfo=zone)
        if candidate <= now:
            candidate = datetime.combine(local.date() + timedelta(days=1), self._at, tzinfo=zone)
        return candidate.astimezone(UTC)


def load_schedule(entries: Iterable[Mapping[str, Any]] | None = None) -> tuple[Job, ...]:
    """The jobs of `entries` (default: `settings.KONTOSJEF_SCHEDULE`), validated.

    Raises ImproperlyConfigured with the offending entry named. Task paths are not imported here:
    a job whose module is missing fails on its own when it is due, and the others still run.
    """
    raw = settings.KONTOSJEF_SCHEDULE if entries is None else entries
    jobs: list[Job] = []
    for index, entry in enumerate(raw):
        where = f"KONTOSJEF_SCHEDULE[{index}]"
        name, path = entry.get("name"), entry.get("task")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,64}", name):
            raise ImproperlyConfigured(f"{where}: 'name' must be 1-64 of a-z, 0-9 and _")
        if not isinstance(path, str) or "." not in path:
            raise ImproperlyConfigured(f"{where} ({name}): 'task' must be a dotted path")
        every, daily = entry.get("every"), entry.get("daily_at")
        if (every is None) == (daily is None):
            raise ImproperlyConfigured(f"{where} ({name}): give exactly one of 'every', 'daily_at'")
        unknown = set(entry) - {"name", "task", "every", "daily_at"}
        if unknown:
            raise ImproperlyConfigured(f"{where} ({name}): unknown keys {sorted(unknown)}")
        if every is not None:
            if not isinstance(every, int) or isinstance(every, bool) or every <= 0:
                raise ImproperlyConfigured(f"{where} ({name}): 'every' must be seconds > 0")
            jobs.append(Job(name=name, task_path=path, every=timedelta(seconds=every)))
        else:
            match = _DAILY.match(daily) if isinstance(daily, str) else None
            if match is None:
                raise ImproperlyConfigured(f"{where} ({name}): 'daily_at' must be 'HH:MM'")
            at = time(int(match.group(1)), int(match.group(2)))
            jobs.append(Job(name=name, task_path=path, daily_at=at))
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured("KONTOSJEF_SCHEDULE: job names must be unique")
    return tuple(jobs)


def job_named(name: str, jobs: Iterable[Job] | None = None) -> Job:
    for job in load_schedule() if jobs is None else jobs:
        if job.name == name:
            return job
    raise LookupError(f"no job named {name!r} in KONTOSJEF_SCHEDULE")


def job_callable(job: Job) -> Callable[[], object]:
    """The function that runs `job` in this process. Raises ImportError when its path does not
    import. A Django task is called directly (its `call`), not enqueued again."""
    target = import_string(job.task_path)
    if isinstance(target, Task):
        return target.call
    if not callable(target):
        raise ImportError(f"{job.task_path} is neither a task nor a function")
    return target
