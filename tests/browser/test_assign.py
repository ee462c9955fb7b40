"""A manager assigns a TAM from the managers' queue of the inbox: the drawer shows the ranked
suggestions, the assignment swaps the card in place, and the item lands in the TAM's inbox."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from kontosjef.demo.simulate import EMPLOYEES
from tests.browser.site import shot

USERNAMES = {f"{first} {last}": username for username, first, last, *_ in EMPLOYEES}


def test_it_lets_a_manager_assign_a_tam_from_the_managers_queue(
    open_page: Callable[..., Page],
) -> None:
    page = open_page("mona")
    page.goto("/inbox/")
    page.get_by_label("Queue").select_option("managers")  # submits itself (data-autosubmit)
    expect(page).to_have_url(re.compile(r"[?&]queue=managers"))
    page.get_by_label("Kind").select_option("expectation")
    expect(page).to_have_url(re.compile(r"[?&]kind=expectation"))
    cards = page.locator("main article[id^='item-']")
    expect(cards).not_to_have_count(0)
    card = cards.first
    expect(card).to_contain_text("Managers' queue")
    item = card.get_attribute("id")
    account = card.locator(".item-line .account").inner_text()

    card.locator("summary", has_text="Assign TAM").click()  # the drawer loads its panel
    suggestions = card.locator("table.suggestions tbody tr")
    expect(suggestions).not_to_have_count(0)
    scores = [float(s) for s in card.locator("table.suggestions td.score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True), f"suggestions are not ranked: {scores}"
    best = suggestions.first.locator("td").first.inner_text()
    tam = card.get_by_label("TAM", exact=True)
    expect(tam.locator("option:checked")).to_have_text(best)  # the best one is offered first
    card.get_by_label("Reason").fill("Needs a TAM who knows the tier; best suggestion.")
    shot(page, "inbox-assign")
    card.get_by_role("button", name="Assign", exact=True).click()

    card = page.locator(f"#{item}")
    expect(card.locator(".notice")).to_have_text(f"{best} is now the TAM of {account}.")
    expect(card).to_contain_text(f"Owner: {best}")
    expect(page.locator("#inbox-status")).to_have_text(f"{best} is now the TAM of {account}.")

    tam_page = open_page(USERNAMES[best])
    tam_page.goto("/inbox/")
    tam_page.get_by_label("Account", exact=True).fill(account)
    tam_page.get_by_role("button", name="Filter").click()
    expect(tam_page.locator(f"#{item}")).to_be_visible()
    expect(tam_page.locator(f"#{item}")).to_contain_text(f"Owner: {best}")
