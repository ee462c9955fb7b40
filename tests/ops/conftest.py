from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.tasks import task_backends
from django.tasks.backends.dummy import DummyBackend

from kontosjef.ops.schedule import Job, load_schedule

REPO = Path(__file__).resolve().parents[2]

SCHEDULE = [
    {"name": "sweep", "task": "tests.ops.jobs.succeed", "every": 60},
    {"name": "broken", "task": "tests.ops.jobs.fail", "every": 300},
    {"name": "digest", "task": "tests.ops.jobs.plain", "daily_at": "07:00"},
]


@pytest.fixture
def schedule(settings) -> tuple[Job, ...]:
    settings.KONTOSJEF_SCHEDULE = SCHEDULE
    return load_schedule()


@pytest.fixture
def dummy_tasks(settings) -> Iterator[DummyBackend]:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    assert isinstance(backend, DummyBackend)
    yield backend
    backend.clear()


class SharedDatabase:
    """The test database, reachable from a child process.

    PostgreSQL: by URL. SQLite: the test database lives in this process's memory, so `push()`
    copies it to a file the child opens (as a real install's `var/kontosjef.sqlite3`, in WAL
    mode) and `pull()` copies the child's writes back, so assertions use the ORM as usual.
    """

    def __init__(self, var_dir: Path) -> None:
        self.env = dict(os.environ)
        self.env |= {
            "KONTOSJEF_VAR_DIR": str(var_dir),
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "PYTHONUNBUFFERED": "1",
        }
        self.file: Path | None = None
        conf = connection.settings_dict
        if connection.vendor == "postgresql":
            auth = quote(conf["USER"] or "")
            if conf["PASSWORD"]:
                auth += ":" + quote(conf["PASSWORD"])
            host = conf["HOST"] or "localhost"
            port = f":{conf['PORT']}" if conf["PORT"] else ""
            self.env["DATABASE_URL"] = f"postgres://{auth}@{host}{port}/{quote(conf['NAME'])}"
        elif connection.vendor == "sqlite" and connection.is_in_memory_db():
            self.env.pop("DATABASE_URL", None)
            self.file = var_dir / "kontosjef.sqlite3"
        elif connection.vendor == "sqlite":
            self.env["DATABASE_URL"] = f"sqlite:///{conf['NAME']}"
        else:
            pytest.skip(f"no way to share a {connection.vendor} test database with a child")

    def push(self) -> None:
        if self.file is None:
            return
        connection.ensure_connection()
        target = sqlite3.connect(self.file)
        try:
            connection.connection.backup(target)
        finally:
            target.close()

    def pull(self) -> None:
        if self.file is None:
            return
        source = sqlite3.connect(self.file, timeout=20)
        try:
            source.backup(connection.connection)
        finally:
            source.close()


@pytest.fixture
def shared_database(transactional_db, tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


def kontosjef(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `kontosjef ARGS` as a child process, output into `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "kontosjef", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s; child output:\n{log.read_text()}")
        time.sleep(0.2)


def stop(child: subprocess.Popen[bytes], *, timeout: float = 15) -> int:
    if child.poll() is None:
        child.terminate()
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
