"""The job wrapper records each run's start, finish, duration and outcome on the job's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.tasks import TaskResultStatus

from kontosjef.ops.models import ScheduledJob
from kontosjef.ops.services import schedule_sync
from kontosjef.ops.tasks import run_job

T0 = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)


@pytest.fixture
def rows(db, schedule):
    return schedule_sync(jobs=schedule, now=T0)


def test_it_records_a_successful_run_with_its_duration(rows):
    run_job.call("sweep")
    row = ScheduledJob.objects.get(name="sweep")
    assert row.last_status == "ok" and row.last_error == ""
    assert row.last_duration >= timedelta(milliseconds=20)  # the job sleeps 20 ms
    assert row.last_started_at <= row.last_finished_at
    assert not row.is_running


def test_it_records_a_failing_run_and_fails_the_task(rows):
    with pytest.raises(RuntimeError, match="the job broke"):
        run_job.call("broken")
    row = ScheduledJob.objects.get(name="broken")
    assert row.last_status == "error"
    assert row.last_error == "RuntimeError: the job broke"
    assert row.last_duration is not None and row.last_finished_at is not None


def test_it_records_the_next_success_after_a_failure(rows, settings):
    with pytest.raises(RuntimeError):
        run_job.call("broken")
    settings.KONTOSJEF_SCHEDULE = [{"name": "broken", "task": "tests.ops.jobs.plain", "every": 300}]
    run_job.call("broken")
    row = ScheduledJob.objects.get(name="broken")
    assert (row.last_status, row.last_error) == ("ok", "")


def test_it_runs_through_django_tasks_and_marks_the_result(rows, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    assert run_job.enqueue("sweep").status == TaskResultStatus.SUCCESSFUL
    failed = run_job.enqueue("broken")
    assert failed.status == TaskResultStatus.FAILED
    assert failed.errors[0].exception_class is RuntimeError
    assert ScheduledJob.objects.get(name="broken").last_status == "error"


def test_it_refuses_a_job_that_is_not_in_the_schedule(rows):
    with pytest.raises(LookupError, match="no job named 'gone'"):
        run_job.call("gone")
