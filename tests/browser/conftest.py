"""Fixtures of the browser tests: a real server on the demo company (and one on a fresh install,
`open_fresh_page`), Debian's Chromium driven by Playwright, and a page per test whose console
errors and CSP violations fail the test.

    def test_it_...(open_page):
        page = open_page("alice")          # a fresh browser context, signed in with the form
        page.goto("/inbox/")
        shot(page, "inbox")                # test-artifacts/screenshots/inbox.png

`page` is `open_page()` without signing in. Several personas in one test: call `open_page` once
per persona (each gets its own cookies). The server's database is its own SQLite file, not the
pytest-django test database: check results through the pages. While Playwright runs, its event
loop makes Django's ORM in this process refuse to run (SynchronousOnlyOperation), which is why
the browser lives per module and nothing here touches the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.site import (
    CHROMIUM,
    FRESH_PASSWORD,
    ConsoleLog,
    DemoSite,
    login,
    start_demo_site,
    start_fresh_site,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    require_chromium()
    site = start_demo_site(tmp_path_factory.mktemp("demo-site"))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@contextmanager
def _page_opener(
    browser: Browser, site: DemoSite, console: ConsoleLog, password: str | None = None
) -> Iterator[Callable[..., Page]]:
    """`open_(username)`: a fresh browser context on `site`, signed in with the form. On exit
    the server's log must hold no traceback and the browser no unexpected error."""
    contexts = []
    log_start = site.log.stat().st_size

    def open_(username: str | None = None, *, locale: str = "en-GB", width: int = 1280) -> Page:
        context = browser.new_context(
            base_url=site.url,
            locale=locale,
            timezone_id="Europe/Oslo",
            viewport={"width": width, "height": 900},
        )
        context.set_default_timeout(10_000)
        console.watch(context)
        contexts.append(context)
        page = context.new_page()
        if username:
            if password is None:
                login(page, username)
            else:
                login(page, username, password)
        return page

    yield open_
    for context in contexts:
        context.close()
    server_log = site.log_since(log_start)
    assert "Traceback" not in server_log, f"the server failed:\n{server_log}"
    unexpected = console.unexpected()
    assert not unexpected, "errors in the browser:\n" + "\n".join(unexpected)


@pytest.fixture
def open_page(
    browser: Browser, demo_site: DemoSite, console: ConsoleLog
) -> Iterator[Callable[..., Page]]:
    with _page_opener(browser, demo_site, console) as open_:
        yield open_


@pytest.fixture(scope="module")
def fresh_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A fresh install (no demo): only the administrator `admin` from createsuperuser."""
    require_chromium()
    site = start_fresh_site(tmp_path_factory.mktemp("fresh-site"))
    yield site
    site.stop()


@pytest.fixture
def open_fresh_page(
    browser: Browser, fresh_site: DemoSite, console: ConsoleLog
) -> Iterator[Callable[..., Page]]:
    """`open_page` on the fresh install; every login there has the password FRESH_PASSWORD."""
    with _page_opener(browser, fresh_site, console, FRESH_PASSWORD) as open_:
        yield open_


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()
