"""What the browser tests drive: a real Kontosjef server on the demo company or on a fresh install,
and helpers for pages.

The server is `kontosjef web` (waitress, DEBUG off, static files from WhiteNoise's finders) in a
subprocess, with its own SQLite database in a temporary directory; it never touches the test
database of pytest-django nor `DATABASE_URL`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, FloatRect, Page, expect

from kontosjef.demo.simulate import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
KONTOSJEF = [sys.executable, "-m", "kontosjef"]
# Set to a directory (e.g. docs/screenshots) to save every screenshot there as well.
SCREENSHOTS_ENV = "KONTOSJEF_SCREENSHOTS"
# Set to the var directory of a loaded demo (e.g. /tmp/demo) to copy its database instead of
# loading the demo again (saves about 20 s when iterating on browser tests).
REUSE_DEMO_ENV = "KONTOSJEF_BROWSER_DEMO"
# Full-page screenshots of pages taller than TALL px keep only their first CLIP_HEIGHT px.
TALL = 4000
CLIP_HEIGHT = 2400
# Browsers report CSP violations as console errors too; this makes each one name its directive.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked "
    + (event.blockedURI || "inline code") + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


def kontosjef(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    """Run a `kontosjef` command; its output, or a failure that shows what it printed."""
    done = subprocess.run(  # noqa: S603  (our own command line)
        [*KONTOSJEF, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(
            f"kontosjef {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoSite:
    """A running `kontosjef web` over a private demo database."""

    var_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __call__(self, path: str) -> str:
        return self.url + path

    def log_since(self, offset: int) -> str:
        """What the server wrote (request errors with their tracebacks) after `offset` bytes."""
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def demo_env(var_dir: Path) -> dict[str, str]:
    """The environment of the server: SQLite in `var_dir` even when the suite runs on PostgreSQL,
    production-like settings (no DEBUG)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "STATIC_ROOT"}}
    return env | {"KONTOSJEF_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "kontosjef.settings"}


def copy_demo(source: Path, var_dir: Path) -> None:
    """Copy a loaded demo database with SQLite's backup API (safe with WAL files beside it)."""
    src = sqlite3.connect(f"file:{source / 'kontosjef.sqlite3'}?mode=ro", uri=True)
    dst = sqlite3.connect(var_dir / "kontosjef.sqlite3")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    if (source / "secret_key").exists():
        shutil.copy(source / "secret_key", var_dir / "secret_key")


def start_demo_site(var_dir: Path, *, wait: float = 60) -> DemoSite:
    """Migrate, load the demo company (or copy one, see REUSE_DEMO_ENV) and serve it."""
    env = demo_env(var_dir)
    reuse = os.environ.get(REUSE_DEMO_ENV)
    if reuse:
        copy_demo(Path(reuse), var_dir)
    kontosjef("migrate", "--no-input", "-v0", env=env)
    if not reuse:
        kontosjef("demo", env=env)
    return serve(var_dir, env=env, wait=wait)


# The first administrator of a fresh install (`start_fresh_site`).
FRESH_ADMIN = "admin"
FRESH_PASSWORD = "first-morning-2026"  # noqa: S105 (a test install's password)


def start_fresh_site(
    var_dir: Path,
    *,
    username: str = FRESH_ADMIN,
    password: str = FRESH_PASSWORD,
    wait: float = 60,
) -> DemoSite:
    """A fresh install as a new user makes one: an empty database migrated, the first
    administrator from `kontosjef createsuperuser --noinput` (its DJANGO_SUPERUSER_* variables),
    then `kontosjef web`. Nothing else: no demo, no configuration, no data. `kontosjef(...,
    env=demo_env(site.var_dir))` runs further commands (an import) against the same database."""
    env = demo_env(var_dir)
    kontosjef("migrate", "--no-input", "-v0", env=env)
    kontosjef(
        "createsuperuser", "--noinput",
        env=env | {"DJANGO_SUPERUSER_USERNAME": username, "DJANGO_SUPERUSER_PASSWORD": password,
                   "DJANGO_SUPERUSER_EMAIL": f"{username}@example.com"},
    )  # fmt: skip
    return serve(var_dir, env=env, wait=wait)


def serve(var_dir: Path, *, env: dict[str, str], wait: float = 60) -> DemoSite:
    """Start `kontosjef web` on a free port over the database in `var_dir`, once it answers."""
    port = free_port()
    log = var_dir / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own command line)
            [*KONTOSJEF, "web", "--host", "127.0.0.1", "--port", str(port), "--threads", "4"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    site = DemoSite(var_dir=var_dir, port=port, process=process, log=log)
    deadline = time.monotonic() + wait
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"kontosjef web ended ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(site("/login/"), timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return site
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            site.stop()
            raise RuntimeError(f"kontosjef web did not answer in {wait:.0f} s:\n{log.read_text()}")
        time.sleep(0.2)


@dataclass
class ConsoleLog:
    """Console errors, uncaught exceptions and CSP violations of every page of the watched
    browser contexts. A test that provokes an error on purpose (a 404 page) says so with
    `expect_error("404")`; every other error fails the test."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self._add(f"uncaught: {error.error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        where = message.location.get("url", "")
        # Browsers ask for /favicon.ico on their own when a page names no icon; not the page's.
        if message.type == "error" and not where.endswith("/favicon.ico"):
            self._add(f"console: {message.text} ({where})")

    def _add(self, text: str) -> None:
        self.errors.append(text)

    def expect_error(self, fragment: str) -> None:
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(f in e for f in self.expected)]


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in with the form, like a person would, and land on the page after it."""
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(
        page.locator("header details.usermenu"), f"{username} could not sign in"
    ).to_be_attached()


def logout(page: Page) -> None:
    page.locator("header details.usermenu summary").click()
    page.locator("header details.usermenu form button[type=submit]").click()
    expect(page.locator("#id_username")).to_be_visible()


def assert_charts_rendered(page: Page, timeout: float = 15_000) -> None:
    """Every Vega-Lite figure on the page became an SVG (vega-embed ran under the CSP)."""
    figures = page.locator("figure[data-vega-spec]")
    for i in range(figures.count()):
        figure = figures.nth(i)
        label = figure.get_attribute("aria-label") or figure.get_attribute("id") or str(i)
        expect(figure.locator("svg").first, f"chart {label!r} was not drawn").to_be_attached(
            timeout=timeout
        )


def assert_fits_width(page: Page) -> None:
    """No horizontal scrolling of the whole page: wide tables scroll inside their .table-wrap."""
    width, viewport = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= viewport, f"{page.url} is {width} px wide in a {viewport} px window"


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/screenshots/<name>.png (the top 2400 px of a page
    taller than 4000 px), once the page's charts are drawn and checked to fit the window's width;
    also in $KONTOSJEF_SCREENSHOTS/<name>.png when that is set
    (KONTOSJEF_SCREENSHOTS=docs/screenshots refreshes the README's pictures)."""
    page.wait_for_load_state("load")
    assert_charts_rendered(page)
    assert_fits_width(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    width, height = page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    # A very long page (a case with a long history) is cut to its top: that is what the picture
    # is for, and it keeps the files small.
    clip = FloatRect(x=0, y=0, width=width, height=CLIP_HEIGHT) if height > TALL else None
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    extra = os.environ.get(SCREENSHOTS_ENV)
    if extra:
        target = Path(extra) if Path(extra).is_absolute() else ROOT / extra
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / f"{name}.png")
    return path
