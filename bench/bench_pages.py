"""Server time of the web pages on the demo company: every page's p95 must stay under 150 ms.

    .venv/bin/python bench/bench_pages.py [--requests 50] [--source DIR]

The demo company is loaded into a fresh SQLite database in a temporary directory (migrate +
demo, about 25 s), or copied from the var directory of a loaded one (`--source`, default
$KONTOSJEF_VAR_DIR when set; the copy is made with SQLite's backup API and the source is never
written). With DATABASE_URL set the pages are timed on that database instead, after `migrate`
and `demo` there (the demo command does nothing when the demo is already loaded).

Personas sign in with Django's test Client in this process, and each page is requested once to
count its SQL queries and check it answers 200, then --requests times for the clock. The time is
the Client's round trip through the WSGI handler: URL resolving, every middleware, the view, the
templates and the database; no network and no HTTP server. Beside the wall-clock figures the
table gives the median CPU time of this process per request, a steadier figure on a shared
machine (with SQLite it includes the database's work; with PostgreSQL it does not). Pages whose
URL does not resolve are listed as missing. Exits 1 when a page fails (an error, a 404, a redirect
to the sign-in page) or its p95 is 150 ms or more.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

KONTOSJEF = [sys.executable, "-m", "kontosjef"]
TARGET_MS = 150.0


@dataclass
class Page:
    label: str
    persona: str
    path: str


@dataclass
class Result:
    page: Page
    status: str  # "200", "302 -> /cases/8160/", "missing", "404", "error: ..."
    queries: int = 0
    times_ms: np.ndarray | None = None
    cpu_ms: np.ndarray | None = None  # this process's CPU time (with SQLite: the queries too)

    @property
    def failed(self) -> bool:
        if self.status == "missing":
            return False
        return self.times_ms is None or self.p95 >= TARGET_MS

    @property
    def p95(self) -> float:
        return float(np.percentile(self.times_ms, 95)) if self.times_ms is not None else 0.0


def prepare_database(var_dir: Path, source: str | None) -> None:
    """A demo database for this run only, in `var_dir` (or DATABASE_URL's, if set)."""
    env = {**os.environ, "KONTOSJEF_VAR_DIR": str(var_dir)}
    if source and not os.environ.get("DATABASE_URL"):
        src = sqlite3.connect(f"file:{Path(source) / 'kontosjef.sqlite3'}?mode=ro", uri=True)
        dst = sqlite3.connect(var_dir / "kontosjef.sqlite3")
        src.backup(dst)
        src.close()
        dst.close()
    for command in (["migrate", "--no-input", "-v0"], ["demo"]):
        started = time.perf_counter()
        done = subprocess.run([*KONTOSJEF, *command], env=env, capture_output=True, text=True)  # noqa: S603
        if done.returncode:
            sys.exit(f"kontosjef {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        print(f"kontosjef {command[0]}: {time.perf_counter() - started:.1f} s", flush=True)


def choose_pages() -> list[Page]:
    """The main pages with the demo rows that make them heaviest: the largest accounts, the cases
    with the most events, each persona's inbox."""
    from django.db.models import Count, Q

    from kontosjef.accounts.models import Account
    from kontosjef.attention.models import AttentionItem
    from kontosjef.attention.queries import inbox_items
    from kontosjef.cases.models import Case
    from kontosjef.demo.simulate import Effects
    from kontosjef.people.models import User

    alice = User.objects.get(username="alice")
    mona = User.objects.get(username="mona")
    by_cases = Account.objects.annotate(n=Count("cases")).order_by("-n", "pk")
    own = by_cases.in_portfolio_of(alice)  # type: ignore[attr-defined]
    alice_account = own.first()
    biggest = by_cases.exclude(pk=alice_account.pk).first() if alice_account else None
    degrading = Account.objects.filter(name=Effects().degrading_account).first()
    smallest = by_cases.filter(tier=Account.Tier.STANDARD).last()
    by_events = Case.objects.annotate(n=Count("events")).order_by("-n", "pk")
    alice_case = by_events.filter(account__in=own.values("pk")).open().first()
    alice_item = inbox_items(alice).order_by("-opened_at").first()
    mona_item = (
        inbox_items(mona).filter(queue=AttentionItem.Queue.MANAGERS).order_by("-opened_at").first()
    )
    assert alice_account and biggest and degrading and smallest and alice_case, "no demo data?"
    word = alice_account.name.split()[0]

    biggest_path, alice_case_path = f"/accounts/{biggest.pk}/", f"/cases/{alice_case.pk}/"
    pages = [
        Page("portfolio", "alice", "/"),
        Page("portfolio, by backlog", "alice", "/?sort=-backlog"),
        Page("portfolio, strategic at risk", "alice", "/?tier=strategic&band=at_risk&items=on"),
        Page("portfolio (manager: every account)", "mona", "/"),
        Page("portfolio, unassigned by name", "mona", "/?tam=none&sort=name"),
        Page("portfolio, search", "mona", "/?q=as"),
        Page("portfolio, page 3", "mona", "/?page=3"),
        Page(f"account: {alice_account.name}", "alice", f"/accounts/{alice_account.pk}/"),
        Page(f"account: {biggest.name}", "mona", biggest_path),
        Page(f"account: {degrading.name}", "mona", f"/accounts/{degrading.pk}/"),
        Page(f"account: {smallest.name}", "mona", f"/accounts/{smallest.pk}/"),
        Page(f"account timeline, page 2: {biggest.name}", "mona", f"{biggest_path}?page=2"),
    ]
    pages += [
        Page(f"case {case.pk} ({case.n} events)", "mona", f"/cases/{case.pk}/")
        for case in by_events.filter(~Q(pk=alice_case.pk))[:2]
    ]
    pages += [
        Page(f"case {alice_case.pk} (open, {alice_case.n} events)", "alice", alice_case_path),
        Page("inbox", "alice", "/inbox/"),
        Page("inbox (manager)", "mona", "/inbox/"),
    ]
    pages += [
        Page(f"item: {item.title[:40]}", persona, f"/inbox/{item.pk}/")
        for persona, item in (("alice", alice_item), ("mona", mona_item))
        if item is not None
    ]
    pages += [
        Page(f"search: {word}", "alice", f"/search/?q={word}"),
        Page("search: as (a TAM's portfolio)", "alice", "/search/?q=as"),
        Page("search: as (many hits)", "mona", "/search/?q=as"),
        Page(f"search: case {alice_case.pk}", "mona", f"/search/?q={alice_case.pk}"),
        Page("configuration", "mona", "/configuration/"),
    ]
    return pages


def configuration_pages(get: Callable[[str], str]) -> list[Page]:
    """The configuration pages linked from /configuration/ (calendars, policies, ...)."""
    html = get("/configuration/")
    paths = dict.fromkeys(re.findall(r'href="(/configuration/[^"#?]+)"', html))
    return [Page(f"configuration: {p.removeprefix('/configuration/')}", "mona", p) for p in paths]


def measure(pages: list[Page], requests: int) -> list[Result]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve

    from kontosjef.people.models import User

    clients: dict[str, Client] = {}
    for page in pages:
        if page.persona not in clients:
            clients[page.persona] = Client()
            clients[page.persona].force_login(User.objects.get(username=page.persona))

    def get(persona: str, path: str) -> str:
        return clients[persona].get(path).content.decode()

    try:
        resolve("/configuration/")
        pages = pages + configuration_pages(lambda path: get("mona", path))
    except Resolver404:
        pass

    results = []
    for page in pages:
        try:
            resolve(urlsplit(page.path).path)
        except Resolver404:
            results.append(Result(page, "missing"))
            print(f"{page.label}: missing", flush=True)
            continue
        client = clients[page.persona]
        try:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page.path)
        except Exception as exc:  # noqa: BLE001  (a broken page is reported, the others timed)
            results.append(Result(page, f"error: {type(exc).__name__}: {exc}"))
            print(f"{page.label}: {results[-1].status}", flush=True)
            continue
        count = len(queries.captured_queries)  # before the next request resets the log
        status = str(response.status_code)
        if response.status_code in (301, 302):
            status += f" -> {response['Location']}"
        # A redirect is a page's answer too (a search for a case number opens the case), but
        # not one to the sign-in page.
        if response.status_code not in (200, 302) or "/login/" in status:
            results.append(Result(page, status))
            print(f"{page.label}: {status}", flush=True)
            continue
        times, cpu = np.empty(requests), np.empty(requests)
        for i in range(requests):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(page.path)
            times[i] = (time.perf_counter() - started) * 1000
            cpu[i] = (time.process_time() - cpu_started) * 1000
        result = Result(page, status, count, times, cpu)
        results.append(result)
        print(f"{page.label}: p95 {result.p95:.1f} ms", flush=True)
    return results


def report(results: list[Result], requests: int) -> None:
    width = max(len(r.page.label) for r in results)
    print()
    print(f"{requests} requests per page; times in ms; target p95 < {TARGET_MS:.0f} ms")
    print("cpu: median CPU time of this process per request (less than the wall time when")
    print("other work shares the cores; includes SQLite's work, not PostgreSQL's)")
    print(
        f"{'page':{width}}  {'as':6} {'median':>7} {'p95':>7} {'max':>7} {'cpu':>7} {'queries':>7}"
    )
    for r in results:
        if r.times_ms is None:
            print(f"{r.page.label:{width}}  {r.page.persona:6} {r.status}")
            continue
        flag = "  OVER" if r.failed else ""
        redirect = f"  ({r.status})" if r.status != "200" else ""
        print(
            f"{r.page.label:{width}}  {r.page.persona:6} {np.median(r.times_ms):7.1f} "
            f"{r.p95:7.1f} {r.times_ms.max():7.1f} {np.median(r.cpu_ms):7.1f} {r.queries:7d}"
            f"{flag}{redirect}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--source", default=os.environ.get("KONTOSJEF_VAR_DIR"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as var:
        prepare_database(Path(var), args.source)
        os.environ["KONTOSJEF_VAR_DIR"] = var
        os.environ["DJANGO_SETTINGS_MODULE"] = "kontosjef.settings"
        import django

        django.setup()
        from django.db import connection

        print(f"database: {connection.vendor}", flush=True)
        results = measure(choose_pages(), args.requests)
        report(results, args.requests)
        connection.close()
    if any(r.failed for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
