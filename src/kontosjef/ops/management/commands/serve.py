"""`kontosjef serve`: the web server, a worker and the scheduler together, for one machine.

Each runs as a child process of the same `kontosjef`; this process only watches them. A stop
signal is passed on to all three; when one of them ends, the others are stopped too and the exit
status is non-zero, so a service manager restarts the whole set.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kontosjef.ops.management.commands.web import add_server_arguments, server_url

# How long the children get to finish (a worker completes the task it is running) before they are
# killed.
STOP_TIMEOUT = 30.0


class Command(BaseCommand):
    help = "Run the web server (waitress), a task worker and the scheduler together."

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        kontosjef = [sys.executable, "-m", "kontosjef"]
        web = [*kontosjef, "web", "--host", options["host"], "--port", str(options["port"])]
        web += ["--threads", str(options["threads"])]
        if options["trusted_proxy"]:
            web += ["--trusted-proxy", options["trusted_proxy"]]
        children = {
            "web": web,
            # Every queue: on one machine no task may wait for a worker that is never started.
            "worker": [*kontosjef, "worker", "--no-reload", "--queue-name", "*"],
            "scheduler": [*kontosjef, "scheduler"],
        }
        supervisor = Supervisor(children, out=self.stdout.write)
        self.stdout.write(
            f"Kontosjef serves {server_url(options['host'], options['port'])} with a task worker "
            "and the scheduler (Ctrl-C stops all three)."
        )
        code = supervisor.run()
        if code:
            sys.exit(code)


class Supervisor:
    """Starts named child processes, passes stop signals on, and stops all when one ends."""

    def __init__(self, commands: dict[str, list[str]], *, out: Callable[[str], object]) -> None:
        self.commands = commands
        self.out = out
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._signals: list[int] = []
        self._wake = threading.Event()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)
        self._wake.set()

    def run(self) -> int:
        """Run until a stop signal (status 0) or until a child ends (its status, at least 1)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        try:
            for name, command in self.commands.items():
                # A process group of its own: Ctrl-C in a terminal reaches only this process,
                # which passes it on once, instead of every child seeing it twice.
                self.children[name] = subprocess.Popen(command, process_group=0)  # noqa: S603
            while not self._signals:
                for name, child in self.children.items():
                    code = child.poll()
                    if code is not None:
                        self.out(f"The {name} process ended (exit status {code}); stopping all.")
                        self._send(signal.SIGTERM)
                        self._stop(passed_on=len(self._signals))
                        return code if code > 0 else 1
                self._wake.wait(0.5)
            self._stop(passed_on=0)
            return 0
        finally:
            for child in self.children.values():
                if child.poll() is None:
                    child.kill()
                    child.wait()

    def _send(self, signum: int) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def _stop(self, *, passed_on: int) -> None:
        """Pass on each stop signal from index `passed_on` (a second Ctrl-C makes the worker give
        up its task) until every child has ended or STOP_TIMEOUT has passed."""
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            while passed_on < len(self._signals):
                self._send(self._signals[passed_on])
                passed_on += 1
            if all(child.poll() is not None for child in self.children.values()):
                return
            if time.monotonic() > deadline:
                self.out("Stopping took too long; killing what is left.")
                return
            self._wake.clear()
            self._wake.wait(0.2)
