"""A TAM reads only their own portfolio: another TAM's account and its cases answer 404, and the
search does not find them."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.site import ConsoleLog


def test_it_hides_another_portfolios_account_from_a_tam(
    open_page: Callable[..., Page], console: ConsoleLog
) -> None:
    alice = open_page("alice")
    link = alice.locator("main table tbody th a").first
    account, name = link.get_attribute("href"), link.inner_text()
    assert account and re.fullmatch(r"/accounts/\d+/", account), account
    alice.goto(account)
    case = alice.locator(
        "main a[href^='/cases/']:not([href*='?']):not([href$='/new/'])"
    ).first.get_attribute("href")
    assert case and re.fullmatch(r"/cases/\d+/", case), case
    number = case.strip("/").rsplit("/", 1)[1]

    bjorn = open_page("bjorn")
    expect(bjorn.locator("main table tbody th a", has_text=name)).to_have_count(0)
    own = bjorn.locator("main table tbody th a").first
    own_account, own_name = own.get_attribute("href"), own.inner_text()
    console.expect_error("404")  # the browser logs the failed page loads
    for path in (account, case):
        response = bjorn.goto(path)
        assert response is not None and response.status == 404, (path, response)
        expect(bjorn.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(bjorn.get_by_role("link", name="Back to the portfolio")).to_be_visible()
        expect(bjorn.locator("body")).not_to_contain_text(name)

    bjorn.goto("/")
    for query, found in ((own_name, own_account), (name, None)):
        bjorn.locator("#global-search").fill(query)
        bjorn.locator("#global-search").press("Enter")
        expect(bjorn).to_have_url(re.compile(r"/search/\?q="))
        accounts = bjorn.locator("#results-accounts tbody a")
        if found:  # the search works: bjorn finds his own account by its name
            expect(accounts).to_have_count(1)
            expect(accounts).to_have_attribute("href", found)
        else:
            expect(bjorn.locator("#results-accounts")).to_be_visible()
            expect(accounts).to_have_count(0)
    expect(bjorn.locator(f"main a[href='{account}']")).to_have_count(0)
    expect(bjorn.locator(f"main a[href='{case}']")).to_have_count(0)

    # A case number goes straight to a case the user may read; this one it stays a search.
    bjorn.locator("#global-search").fill(f"#{number}")
    bjorn.locator("#global-search").press("Enter")
    expect(bjorn).to_have_url(re.compile(r"/search/\?q=%23" + number + "$"))
    expect(bjorn.locator(f"main a[href='{case}']")).to_have_count(0)
