"""The language switch in the header: Norwegian Bokmål and back to English."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.site import shot


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def switch_language(page: Page, code: str) -> None:
    page.locator("header form.lang select").select_option(code)
    page.locator("header form.lang button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_it_switches_to_norwegian_and_back(open_page: Callable[..., Page]) -> None:
    page = open_page("alice")
    switch_language(page, "nb")
    expect(page.locator("header form.lang button")).to_have_text("Bytt")
    expect(page.locator("header form.lang label")).to_have_text("Språk")
    shot(page, "portfolio-nb")
    page.locator("header details.usermenu summary").click()
    expect(page.locator("header details.usermenu form button")).to_have_text("Logg ut")

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "nb")

    switch_language(page, "en")
    expect(page.locator("header form.lang button")).to_have_text("Change")
    page.locator("header details.usermenu summary").click()
    expect(page.locator("header details.usermenu form button")).to_have_text("Sign out")


def test_it_shows_the_sign_in_page_in_norwegian_to_a_norwegian_browser(
    open_page: Callable[..., Page],
) -> None:
    page = open_page(locale="nb-NO")
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg inn")


def test_it_shows_the_main_pages_in_norwegian(open_page: Callable[..., Page]) -> None:
    """Portfolio, account, case and inbox in Norwegian: their headings and controls, and none of
    the English ones left over."""
    page = open_page("alice")
    switch_language(page, "nb")
    main = page.locator("main")
    nav = page.locator("header nav")
    expect(heading(page)).to_have_text("Mine kunder")
    expect(nav.locator("a[aria-current=page]")).to_have_text("Portefølje")
    expect(main.locator("thead")).to_contain_text("Helse")
    expect(main.get_by_role("button", name="Filtrer")).to_be_visible()
    expect(main).not_to_contain_text("My accounts")

    main.locator("table tbody th a").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/\d+/$"))
    for title in ("Helse", "Kontaktpersoner", "TAM-historikk", "Åpne saker", "Nylig løste saker"):
        expect(main.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(main.locator(".breadcrumbs")).to_contain_text("Portefølje")
    expect(main).not_to_contain_text("Open cases")
    shot(page, "account-nb")

    main.locator("a[href^='/cases/']:not([href*='?']):not([href$='/new/'])").first.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    for title in ("SLA-klokker", "Historikk", "Detaljer"):
        expect(main.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(main.locator(".breadcrumbs")).to_contain_text("Sak ")
    expect(main).not_to_contain_text("History")

    nav.get_by_role("link", name=re.compile(r"^Innboks")).click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(heading(page)).to_have_text("Innboks for oppfølging")
    expect(main.get_by_role("button", name="Bekreft").first).to_be_visible()
    expect(main.locator("summary", has_text="Avvis…").first).to_be_visible()
    expect(main).not_to_contain_text("Acknowledge")
    shot(page, "inbox-nb")
