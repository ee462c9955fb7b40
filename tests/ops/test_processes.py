"""Real processes on the database task backend: `kontosjef worker` runs an enqueued job and leaves
a heartbeat; `kontosjef serve` serves pages with a worker and a scheduler, and stops all three."""

from __future__ import annotations

import signal
import urllib.request
from urllib.error import URLError

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kontosjef.ops.models import Heartbeat, ScheduledJob
from kontosjef.ops.schedule import load_schedule
from kontosjef.ops.services import scheduler_pass
from tests.ops.conftest import free_port, kontosjef, stop, wait_until

SWEEP = [{"name": "sla_sweep", "task": "kontosjef.cases.tasks.sweep_slas", "every": 60}]


def test_it_runs_an_enqueued_job_in_a_worker_process(shared_database, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.KONTOSJEF_SCHEDULE = SWEEP
    assert scheduler_pass(jobs=load_schedule(), now=timezone.now()).enqueued == ["sla_sweep"]
    queued = DBTaskResult.objects.get(task_path="kontosjef.ops.tasks.run_job")
    shared_database.push()
    log = tmp_path / "worker.log"
    worker = kontosjef(
        "worker", "--no-reload", "--no-startup-delay", "--interval", "0.2",
        env=shared_database.env, log=log,
    )  # fmt: skip
    try:

        def done() -> bool:
            shared_database.pull()
            queued.refresh_from_db()
            return (
                queued.status == "SUCCESSFUL" and Heartbeat.objects.filter(kind="worker").exists()
            )

        wait_until(done, timeout=30, what="the task did not succeed", log=log)
    finally:
        code = stop(worker)
    assert code == 0, log.read_text()
    shared_database.pull()
    job = ScheduledJob.objects.get(name="sla_sweep")
    assert job.last_status == "ok" and job.last_duration is not None
    beat = Heartbeat.objects.get(kind="worker")
    assert beat.pid == worker.pid
    assert beat.stopped_at is not None  # it recorded its clean stop


def test_it_serves_pages_with_a_worker_and_a_scheduler(shared_database, tmp_path):
    shared_database.push()
    port = free_port()
    log = tmp_path / "serve.log"
    serve = kontosjef("serve", "--port", str(port), env=shared_database.env, log=log)
    try:

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:  # noqa: S310
                    return r.status == 200
            except URLError:
                return False

        wait_until(answers, timeout=30, what="the web server did not answer", log=log)

        def both_beat() -> bool:
            shared_database.pull()
            return set(Heartbeat.objects.values_list("kind", flat=True)) == {"worker", "scheduler"}

        wait_until(both_beat, timeout=30, what="worker and scheduler did not beat", log=log)
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(30)
    finally:
        stop(serve)
    assert code == 0, log.read_text()
    assert f"Kontosjef serves http://127.0.0.1:{port}/" in log.read_text()
    shared_database.pull()
    assert all(beat.stopped_at for beat in Heartbeat.objects.all())
