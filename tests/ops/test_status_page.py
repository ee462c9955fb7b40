"""/status/: the periodic jobs' last runs and the processes' heartbeats, for managers and admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from kontosjef.ops.models import ScheduledJob
from kontosjef.ops.services import heartbeat_beat, heartbeat_stop, scheduler_pass
from kontosjef.ops.tasks import run_job

NOW = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
NO_WORKER = "No worker is running: SLA breaches and attention items are not being processed"
NO_SCHEDULER = "No scheduler is running"
TEN_SECONDS = timedelta(seconds=10)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def beat(kind: str, *, ago: timedelta, pid: int = 100, host: str = "app1") -> None:
    heartbeat_beat(
        kind=kind,
        host=host,
        pid=pid,
        started_at=NOW - timedelta(hours=1),
        interval=TEN_SECONDS,
        now=NOW - ago,
    )


def page(client, user, **headers) -> str:
    client.force_login(user)
    response = client.get(reverse("ops_status"), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("ops_status"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_refuses_a_tam(client, alice):
    client.force_login(alice)
    assert client.get(reverse("ops_status")).status_code == 403


def test_it_links_the_page_for_managers_only(client, mona, alice):
    assert reverse("ops_status") in page(client, mona)
    client.force_login(alice)
    assert reverse("ops_status") not in client.get(reverse("home")).content.decode()


def test_it_warns_that_no_worker_runs_when_none_ever_reported(client, mona, schedule):
    html = page(client, mona)
    assert NO_WORKER in html and NO_SCHEDULER in html
    assert "never scheduled" in html


def test_it_shows_running_processes_without_a_warning(client, adam, schedule):
    beat("worker", ago=timedelta(seconds=3))
    beat("scheduler", ago=timedelta(seconds=3), pid=101)
    html = page(client, adam)
    assert NO_WORKER not in html and NO_SCHEDULER not in html
    assert html.count("state-running") == 2


def test_it_shows_a_stale_worker_and_warns(client, mona, schedule):
    beat("worker", ago=timedelta(seconds=31))  # three beats of 10 s missed
    beat("scheduler", ago=timedelta(seconds=2), pid=101)
    html = page(client, mona)
    assert ">stale<" in html
    assert NO_WORKER in html and NO_SCHEDULER not in html


def test_it_does_not_count_a_worker_that_stopped(client, mona, schedule):
    beat("worker", ago=timedelta(seconds=5))
    heartbeat_stop(kind="worker", host="app1", pid=100, now=NOW - timedelta(seconds=4))
    html = page(client, mona)
    assert ">stopped<" in html and NO_WORKER in html


def test_it_shows_each_jobs_last_run_and_failure(client, mona, schedule, dummy_tasks):
    scheduler_pass(jobs=schedule, now=NOW - timedelta(minutes=1))
    run_job.call("sweep")
    with pytest.raises(RuntimeError):
        run_job.call("broken")
    html = page(client, mona)
    assert "every 1 min" in html and "every 5 min" in html and "daily at 07:00" in html
    assert "RuntimeError: the job broke" in html
    assert ">failed<" in html and ">OK<" in html


def test_it_marks_a_job_overdue_when_no_scheduler_enqueued_it(client, mona, schedule, dummy_tasks):
    scheduler_pass(jobs=schedule, now=NOW - timedelta(minutes=10))
    html = page(client, mona)
    assert "overdue" in html and "not enqueued: is the scheduler running?" in html


def test_it_marks_a_job_overdue_when_no_worker_started_it(client, mona, schedule, dummy_tasks):
    scheduler_pass(jobs=schedule, now=NOW - timedelta(minutes=3))
    ScheduledJob.objects.update(next_run_at=NOW + timedelta(minutes=1))
    html = page(client, mona)
    assert "not started: is a worker running?" in html


def test_it_shows_the_page_in_norwegian(client, mona, schedule):
    html = page(client, mona, accept_language="nb")
    assert "Ingen arbeidsprosess kjører" in html


@pytest.mark.parametrize("processes", [3, 30])
def test_it_reads_the_page_in_constant_queries(
    client, mona, schedule, dummy_tasks, processes, django_assert_num_queries
):
    scheduler_pass(jobs=schedule, now=NOW)
    for pid in range(processes):
        beat("worker", ago=timedelta(seconds=pid), pid=pid)
    client.force_login(mona)
    # The page's own reads plus one for the navigation's inbox count.
    with django_assert_num_queries(5):
        assert client.get(reverse("ops_status")).status_code == 200
