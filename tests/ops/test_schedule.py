"""The schedule setting: validation, and when interval and daily jobs are next due."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from kontosjef.ops.schedule import Job, job_callable, job_named, load_schedule
from tests.ops import jobs

T0 = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)


def test_it_reads_the_default_schedule():
    names = {job.name: job.spec for job in load_schedule()}
    assert names == {
        "sla_sweep": "every 60s",
        "health": "every 3600s",
        "notifications": "every 60s",
        "digests": "daily 07:00",
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "task": "a.b"}, "exactly one of"),
        ({"name": "x", "task": "a.b", "every": 60, "daily_at": "07:00"}, "exactly one of"),
        ({"name": "x", "task": "a.b", "every": 0}, "seconds > 0"),
        ({"name": "x", "task": "a.b", "every": "60"}, "seconds > 0"),
        ({"name": "x", "task": "a.b", "daily_at": "7:00"}, "HH:MM"),
        ({"name": "x", "task": "a.b", "daily_at": "24:00"}, "HH:MM"),
        ({"name": "X Y", "task": "a.b", "every": 60}, "'name'"),
        ({"name": "x", "task": "nodots", "every": 60}, "dotted path"),
        ({"name": "x", "task": "a.b", "every": 60, "cron": "* * * * *"}, "unknown keys"),
    ],
)
def test_it_refuses_a_malformed_job(entry, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_schedule([entry])


def test_it_refuses_two_jobs_with_one_name():
    entry = {"name": "x", "task": "a.b", "every": 60}
    with pytest.raises(ImproperlyConfigured, match="unique"):
        load_schedule([entry, entry])


def test_it_runs_an_interval_job_at_once_then_on_its_beat():
    job = Job(name="sweep", task_path="a.b", every=timedelta(seconds=60))
    assert job.first_run_at(now=T0) == T0
    assert job.next_run_after(due=T0, now=T0 + timedelta(seconds=1)) == T0 + timedelta(minutes=1)


def test_it_skips_the_times_missed_while_nothing_ran():
    job = Job(name="sweep", task_path="a.b", every=timedelta(seconds=60))
    late = T0 + timedelta(minutes=10, seconds=30)
    assert job.next_run_after(due=T0, now=late) == T0 + timedelta(minutes=11)


def test_it_runs_a_daily_job_at_its_local_time(settings):
    settings.TIME_ZONE = "Europe/Oslo"
    job = Job(name="digest", task_path="a.b", daily_at=time(7, 0))
    # 06:00 in Oslo (UTC+1 in winter): due in an hour, then at the same time tomorrow.
    morning = datetime(2026, 3, 6, 5, 0, tzinfo=UTC)
    assert job.first_run_at(now=morning) == datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
    seven = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
    assert job.next_run_after(due=seven, now=seven) == datetime(2026, 3, 7, 6, 0, tzinfo=UTC)


def test_it_keeps_a_daily_job_at_local_time_across_the_summer_time_change(settings):
    settings.TIME_ZONE = "Europe/Oslo"
    job = Job(name="digest", task_path="a.b", daily_at=time(7, 0))
    saturday = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # 07:00 CET
    # Summer time starts on 29 March: 07:00 CEST is 05:00 UTC.
    assert job.next_run_after(due=saturday, now=saturday) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_it_describes_the_schedule_for_people():
    assert Job(name="a", task_path="a.b", every=timedelta(seconds=60)).describe() == "every 1 min"
    assert Job(name="a", task_path="a.b", every=timedelta(hours=2)).describe() == "every 2 h"
    assert Job(name="a", task_path="a.b", every=timedelta(seconds=90)).describe() == "every 90 s"
    assert Job(name="a", task_path="a.b", daily_at=time(7, 5)).describe() == "daily at 07:05"


def test_it_calls_a_task_directly_and_a_plain_function_as_it_is():
    jobs.CALLS.clear()
    job_callable(Job(name="a", task_path="tests.ops.jobs.succeed", every=timedelta(60)))()
    job_callable(Job(name="b", task_path="tests.ops.jobs.plain", every=timedelta(60)))()
    assert jobs.CALLS == ["succeed", "plain"]


def test_it_names_a_path_that_does_not_import():
    with pytest.raises(ImportError):
        job_callable(Job(name="a", task_path="kontosjef.nowhere.tasks.run", every=timedelta(60)))


def test_it_finds_a_job_by_name():
    schedule = load_schedule([{"name": "x", "task": "a.b", "every": 60}])
    assert job_named("x", schedule).task_path == "a.b"
    with pytest.raises(LookupError, match="no job named 'y'"):
        job_named("y", schedule)
