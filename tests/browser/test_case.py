"""The case page in a real browser: a TAM answers a customer and sees the first-reply clock stop
as met, and a reply written against an older version of the case is refused with its text kept."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.site import shot

CASE_LINK = re.compile(r'href="(/cases/(\d+)/)"')
# The first-reply row of the clocks table while the clock runs and is not yet breached.
RUNNING_FIRST_REPLY = re.compile(
    r'<tr class="clock-row look-(?:running|warning)" data-metric="first_reply">'
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


def case_with_running_first_reply(page: Page) -> str:
    """The path of the newest case in the TAM's portfolio whose first reply is still due."""
    cases = open_cases_of_portfolio(page)
    for number in sorted(cases, reverse=True):
        html = page.request.get(cases[number]).text()
        if RUNNING_FIRST_REPLY.search(html):
            return cases[number]
    raise AssertionError(f"none of {len(cases)} open cases waits for its first reply")


def test_it_stops_the_first_reply_clock_when_a_tam_replies(
    open_page: Callable[..., Page],
) -> None:
    page = open_page("alice")
    path = case_with_running_first_reply(page)
    page.goto(path)
    clock = page.locator("#case-clocks tr[data-metric='first_reply']")
    expect(clock.locator(".clock")).to_have_text(re.compile(r"^(Running|Due soon)$"))
    expect(clock).to_contain_text(re.compile(r"\d+ (h|min|d)\b.* left"))
    before = clock.inner_text()
    events = page.locator("ol.case-timeline > li")
    count = events.count()

    reply = "Thank you for the report. We are looking at it now and will write again today."
    page.get_by_label("Public reply").fill(reply)
    page.get_by_role("button", name="Send reply").click()

    expect(page.locator("#case-main .messages")).to_contain_text("Your public reply is added.")
    expect(clock.locator(".clock")).to_have_text("Met")
    expect(clock).to_contain_text("took")
    assert clock.inner_text() != before
    expect(events).to_have_count(count + 1)
    expect(page.locator("ol.case-timeline > li.public").last).to_contain_text(reply)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))  # swapped in place
    shot(page, "case-replied")

    page.reload()
    expect(clock.locator(".clock")).to_have_text("Met")


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
