"""The `kontosjef` console script runs Django's and the project's commands."""

from __future__ import annotations

import shutil
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kontosjef") or sys.executable
    cmd = [exe, *args] if exe != sys.executable else [exe, "-m", "kontosjef", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def test_it_lists_django_and_project_commands():
    result = run("help")
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout and "demo" in result.stdout


def test_it_runs_a_django_management_command():
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
