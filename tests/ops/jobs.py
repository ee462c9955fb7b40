"""Small jobs for the scheduler tests: one that works, one that fails, one plain function."""

from __future__ import annotations

import time

from django.tasks import task

CALLS: list[str] = []


@task
def succeed() -> int:
    CALLS.append("succeed")
    time.sleep(0.02)
    return 42


@task
def fail() -> None:
    raise RuntimeError("the job broke")


def plain() -> None:
    CALLS.append("plain")
