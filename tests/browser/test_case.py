"""The case page in a real browser: a TAM answers a customer and sees the first-reply clock stop
(as met, or as breached when it was already overdue), and a reply written against an older
version of the case is refused with its text kept."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.site import DemoSite, demo_env, kontosjef, shot

CASE_LINK = re.compile(r'href="(/cases/(\d+)/)"')
# The first-reply row of the clocks table while the clock runs, not yet breached.
RUNNING_FIRST_REPLY = re.compile(
    r'<tr class="clock-row look-(?:running|warning)" data-metric="first_reply">'
)
# The same row once the clock is overdue but still running (no reply yet).
OVERDUE_FIRST_REPLY = re.compile(
    r'<tr class="clock-row look-breached" data-metric="first_reply">(?:(?!</tr>).)*'
    r"Breached, running",
    re.S,
)


def open_cases_of_portfolio(page: Page) -> dict[int, str]:
    """Number to path of the open cases of the signed-in TAM's accounts, found through the pages
    (the portfolio, then each account's open cases), read with the context's request API (same
    cookies) without drawing them."""
    page.goto("/")
    accounts = [link.get_attribute("href") for link in page.locator("main table tbody th a").all()]
    assert accounts, "the TAM has accounts"
    cases: dict[int, str] = {}
    for account in accounts:
        html = page.request.get(str(account)).text()
        table = html[html.index('<div id="open-cases">') : html.index('<div id="closed-cases">')]
        cases |= {int(number): path for path, number in CASE_LINK.findall(table)}
    assert cases, "the TAM's accounts have open cases"
    return cases


def case_with_running_first_reply(page: Page) -> tuple[str, bool]:
    """The path of the newest case in the TAM's portfolio whose first reply is still due, and
    whether its clock is already overdue. A case still in time is preferred; how many of the
    demo's clocks are overdue depends on the hour the demo was loaded."""
    cases = open_cases_of_portfolio(page)
    overdue = None
    for number in sorted(cases, reverse=True):
        html = page.request.get(cases[number]).text()
        if RUNNING_FIRST_REPLY.search(html):
            return cases[number], False
        if overdue is None and OVERDUE_FIRST_REPLY.search(html):
            overdue = cases[number]
    if overdue is not None:
        return overdue, True
    raise LookupError(f"none of {len(cases)} open cases waits for its first reply")


# A customer of one of the TAM's accounts writes in now, as an e-mail import would record it.
WRITE_IN = """
from django.utils import timezone
from kontosjef.accounts.models import Account
from kontosjef.cases.services import case_open
from kontosjef.people.models import User
tam = User.objects.get(username="{tam}")
account = Account.objects.in_portfolio_of(tam).order_by("name").first()
contact = account.contacts.order_by("pk").first()
case = case_open(account=account, by=tam, subject="Export stopped overnight", requester=contact,
                 opened_by_customer=True, description="Our nightly export did not run.",
                 priority="p2", now=timezone.now())
print(case.pk)
"""


def case_waiting_for_a_reply(page: Page, site: DemoSite, tam: str) -> tuple[str, bool]:
    """A case of the TAM's portfolio whose first-reply clock runs: found through the pages, or,
    when the demo (loaded at some hour of some day) has none, one a customer opens now."""
    try:
        return case_with_running_first_reply(page)
    except LookupError:
        number = kontosjef("shell", "-c", WRITE_IN.format(tam=tam), env=demo_env(site.var_dir))
        return f"/cases/{int(number.strip().splitlines()[-1])}/", False


def test_it_stops_the_first_reply_clock_when_a_tam_replies(
    open_page: Callable[..., Page], demo_site: DemoSite
) -> None:
    page = open_page("alice")
    path, overdue = case_waiting_for_a_reply(page, demo_site, "alice")
    page.goto(path)
    clock = page.locator("#case-clocks tr[data-metric='first_reply']")
    if overdue:
        expect(clock.locator(".clock")).to_have_text("Breached, running")
        expect(clock).to_contain_text(re.compile(r"overdue|Overdue"))
    else:
        expect(clock.locator(".clock")).to_have_text(re.compile(r"^(Running|Due soon)$"))
        expect(clock).to_contain_text(re.compile(r"\d+ (h|min|d)\b.* left"))
    stopped = "Breached" if overdue else "Met"
    before = clock.inner_text()
    events = page.locator("ol.case-timeline > li")
    count = events.count()

    reply = "Thank you for the report. We are looking at it now and will write again today."
    page.get_by_label("Public reply").fill(reply)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator("#case-main .messages")).to_contain_text("Your public reply is added.")
    expect(clock.locator(".clock")).to_have_text(stopped)
    expect(clock).to_contain_text("took")
    assert clock.inner_text() != before
    expect(events).to_have_count(count + 1)
    expect(page.locator("ol.case-timeline > li.public").last).to_contain_text(reply)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))  # swapped in place
    shot(page, "case-replied")

    page.reload()
    expect(clock.locator(".clock")).to_have_text(stopped)


def test_it_keeps_the_text_of_a_reply_to_a_changed_case(open_page: Callable[..., Page]) -> None:
    first = open_page("alice")
    cases = open_cases_of_portfolio(first)
    first.goto(cases[min(cases)])  # the oldest open case: not the one the other test answers
    second = first.context.new_page()
    second.goto(first.url)

    first.get_by_label("Public reply").fill("We have a fix; it ships tonight.")
    first.get_by_role("button", name="Send reply").click()
    expect(first.locator("#case-main .messages")).to_contain_text("Your public reply is added.")

    text = "Could you send us the log file from this morning?"
    second.get_by_label("Public reply").fill(text)
    second.get_by_role("button", name="Send reply").click()
    expect(second.locator("#case-main .banner[role=alert]")).to_contain_text(
        "Someone else changed this case while you were writing."
    )
    expect(second.locator("#reply-form .form-errors")).to_contain_text("your text is kept")
    expect(second.get_by_label("Public reply")).to_have_value(text)
    expect(second.locator("ol.case-timeline")).to_contain_text("We have a fix; it ships tonight.")
    expect(second.locator("ol.case-timeline")).not_to_contain_text(text)
    shot(second, "case-conflict")

    # Having seen the other change, the writer sends again, and this time it goes through.
    second.get_by_role("button", name="Send reply").click()
    expect(second.locator("#case-main .messages")).to_contain_text("Your public reply is added.")
    expect(second.locator("ol.case-timeline")).to_contain_text(text)
    expect(second.get_by_label("Public reply")).to_have_value("")
