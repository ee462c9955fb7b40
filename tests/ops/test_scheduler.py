"""`kontosjef scheduler`: each due time of a job is enqueued once, however many schedulers run."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.tasks.signals import task_enqueued

from kontosjef.ops.models import ScheduledJob
from kontosjef.ops.schedule import load_schedule
from kontosjef.ops.services import scheduler_pass

T0 = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
SWEEP = [{"name": "sweep", "task": "tests.ops.jobs.succeed", "every": 60}]


def enqueued(backend) -> list[tuple[str, list[str]]]:
    return [(result.task.name, list(result.args)) for result in backend.results]


def test_it_enqueues_a_due_job_once_and_again_at_its_next_time(db, dummy_tasks):
    jobs = load_schedule(SWEEP)
    assert scheduler_pass(jobs=jobs, now=T0).enqueued == ["sweep"]
    assert scheduler_pass(jobs=jobs, now=T0).enqueued == []
    assert scheduler_pass(jobs=jobs, now=T0 + timedelta(seconds=59)).enqueued == []
    assert scheduler_pass(jobs=jobs, now=T0 + timedelta(seconds=60)).enqueued == ["sweep"]
    assert enqueued(dummy_tasks) == [("run_job", ["sweep"]), ("run_job", ["sweep"])]
    row = ScheduledJob.objects.get(name="sweep")
    assert row.next_run_at == T0 + timedelta(seconds=120)
    assert row.last_enqueued_at == T0 + timedelta(seconds=60)


def test_it_enqueues_once_after_a_long_stop_not_once_per_missed_time(db, dummy_tasks):
    jobs = load_schedule(SWEEP)
    scheduler_pass(jobs=jobs, now=T0)
    done = scheduler_pass(jobs=jobs, now=T0 + timedelta(hours=3, seconds=5))
    assert done.enqueued == ["sweep"]
    assert done.next_run_at == T0 + timedelta(hours=3, minutes=1)
    assert len(dummy_tasks.results) == 2


def test_it_waits_for_the_daily_time(db, dummy_tasks, settings):
    settings.TIME_ZONE = "Europe/Oslo"
    jobs = load_schedule([{"name": "digest", "task": "tests.ops.jobs.plain", "daily_at": "07:00"}])
    six_in_oslo = datetime(2026, 3, 6, 5, 0, tzinfo=UTC)
    assert scheduler_pass(jobs=jobs, now=six_in_oslo).enqueued == []
    seven_in_oslo = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
    assert scheduler_pass(jobs=jobs, now=seven_in_oslo).enqueued == ["digest"]
    assert scheduler_pass(jobs=jobs, now=seven_in_oslo + timedelta(hours=1)).enqueued == []


def test_it_reports_a_job_that_does_not_import_and_runs_the_others(db, dummy_tasks, caplog):
    jobs = load_schedule(
        [
            {"name": "health", "task": "kontosjef.nowhere.tasks.refresh_health", "every": 3600},
            *SWEEP,
        ]
    )
    with caplog.at_level(logging.ERROR, logger="kontosjef.ops"):
        done = scheduler_pass(jobs=jobs, now=T0)
    assert (done.enqueued, done.failed) == (["sweep"], ["health"])
    assert enqueued(dummy_tasks) == [("run_job", ["sweep"])]
    health = ScheduledJob.objects.get(name="health")
    assert health.last_status == "error"
    assert "cannot import kontosjef.nowhere.tasks.refresh_health" in health.last_error
    assert health.next_run_at == T0 + timedelta(hours=1)
    assert "health" in caplog.text and "kontosjef.nowhere" in caplog.text


def test_it_reschedules_a_job_whose_interval_changed(db, dummy_tasks):
    scheduler_pass(jobs=load_schedule(SWEEP), now=T0)
    hourly = [{"name": "sweep", "task": "tests.ops.jobs.succeed", "every": 3600}]
    later = T0 + timedelta(seconds=10)
    assert scheduler_pass(jobs=load_schedule(hourly), now=later).enqueued == ["sweep"]
    assert ScheduledJob.objects.get().next_run_at == later + timedelta(hours=1)


def test_it_forgets_a_job_removed_from_the_schedule(db, dummy_tasks, schedule):
    scheduler_pass(jobs=schedule, now=T0)
    scheduler_pass(jobs=load_schedule(SWEEP), now=T0)
    assert list(ScheduledJob.objects.values_list("name", flat=True)) == ["sweep"]


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_each_due_time_once_when_two_schedulers_race(dummy_tasks):
    jobs = load_schedule(SWEEP)
    seen: list[str] = []

    def count(sender, task_result, **kwargs):
        seen.append(task_result.args[0])

    task_enqueued.connect(count)
    try:
        rounds = [T0 + timedelta(minutes=i) for i in range(5)]
        if connection.vendor == "postgresql":
            passes = [pair for now in rounds for pair in _race(jobs, now)]
        else:
            # SQLite takes one writer at a time: the passes run one after the other.
            passes = [scheduler_pass(jobs=jobs, now=now) for now in rounds for _ in range(2)]
    finally:
        task_enqueued.disconnect(count)
    assert seen == ["sweep"] * len(rounds)
    assert sum(len(done.enqueued) for done in passes) == len(rounds)


def _race(jobs, now):
    barrier = threading.Barrier(2)

    def one_scheduler(_: int):
        try:
            barrier.wait(timeout=10)
            return scheduler_pass(jobs=jobs, now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one_scheduler, range(2)))


def test_it_runs_one_pass_from_the_command_line(db, dummy_tasks, schedule, capsys):
    call_command("scheduler", "--once")
    out = capsys.readouterr().out
    assert "sweep: enqueued" in out and "broken: enqueued" in out
    call_command("scheduler", "--once")
    assert "No job was due." in capsys.readouterr().out


def test_it_refuses_to_start_with_a_malformed_schedule(db, settings):
    settings.KONTOSJEF_SCHEDULE = [{"name": "x", "task": "a.b"}]
    with pytest.raises(CommandError, match="exactly one of"):
        call_command("scheduler", "--once")
