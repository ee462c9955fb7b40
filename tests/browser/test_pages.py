"""A TAM's morning round through the main pages, and a manager's portfolio: every page loads its
styles and scripts, draws its charts and logs no error under the Content-Security-Policy.
The screenshots are the test artifacts (test-artifacts/screenshots) and docs/screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.site import shot


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def test_it_takes_a_tam_through_the_morning_round(open_page: Callable[..., Page]) -> None:
    page = open_page("alice")
    shot(page, "portfolio")

    page.locator("header nav").get_by_role("link", name=re.compile(r"^Inbox")).click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    shot(page, "inbox")
    item = page.locator("main article h2 a").first
    title = item.inner_text()
    item.click()
    expect(page).to_have_url(re.compile(r"/inbox/\d+/$"))
    expect(heading(page)).to_contain_text(title)
    shot(page, "attention-item")

    page.locator("header nav").get_by_role("link", name="Portfolio").click()
    account = page.locator("main table tbody th a").first
    name = account.inner_text()
    account.click()
    expect(page).to_have_url(re.compile(r"/accounts/\d+/$"))
    expect(heading(page)).to_have_text(name)
    shot(page, "account")

    case = page.locator("main a[href^='/cases/']:not([href*='?']):not([href$='/new/'])").first
    number = re.search(r"#(\d+)", case.inner_text())
    case.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    assert number, "case links show the case number"
    expect(heading(page)).to_contain_text(f"#{number[1]}")
    shot(page, "case")


def test_it_shows_a_manager_every_account(open_page: Callable[..., Page]) -> None:
    page = open_page("mona")
    expect(page.locator("main table tbody tr")).not_to_have_count(0)
    shot(page, "portfolio-manager")


def test_it_fits_the_main_pages_on_a_phone(open_page: Callable[..., Page]) -> None:
    """375 px wide: no page scrolls sideways (wide tables scroll inside their frame)."""
    page = open_page("alice", width=375)
    shot(page, "portfolio-phone")
    account = page.locator("main table tbody th a").first
    account.click()
    expect(page).to_have_url(re.compile(r"/accounts/\d+/$"))
    shot(page, "account-phone")
    page.locator("main a[href^='/cases/']:not([href*='?']):not([href$='/new/'])").first.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    shot(page, "case-phone")
    for row in page.locator("#case-clocks tr.clock-row").all():
        texts = (row.locator("td").nth(i).locator("span, time").first for i in (1, 2))
        left, right = (text.bounding_box() for text in texts)
        assert left and right, "a clock shows its remaining and due times"
        beside = right["x"] < left["x"] + left["width"] and right["y"] < left["y"] + left["height"]
        assert not beside, f"a clock's remaining and due times overlap: {row.inner_text()!r}"
    page.goto("/inbox/")
    expect(page.locator("main article[id^='item-']")).not_to_have_count(0)
    shot(page, "inbox-phone")
    page.goto("/search/?q=Havbris")
    shot(page, "search-phone")


def test_it_finds_accounts_contacts_and_cases(open_page: Callable[..., Page]) -> None:
    page = open_page("mona")
    page.locator("#global-search").fill("Havbris")
    page.locator("#global-search").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=Havbris$"))
    expect(heading(page)).to_have_text("Results for “Havbris”")
    expect(page.locator("#results-accounts tbody a").first).to_contain_text("Havbris")
    shot(page, "search")


def test_it_shows_a_manager_the_configuration(open_page: Callable[..., Page]) -> None:
    page = open_page("mona")
    page.locator("header nav").get_by_role("link", name="Configuration").click()
    expect(page).to_have_url(re.compile(r"/configuration/$"))
    expect(page.locator("main a[href^='/configuration/']")).not_to_have_count(0)
    shot(page, "configuration")
