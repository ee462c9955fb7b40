"""The attention inbox in a real browser: acknowledging and dismissing swap the item in place
(htmx under the Content-Security-Policy), and a dismissed item leaves the inbox."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect


def test_it_acknowledges_and_dismisses_items_in_place(open_page: Callable[..., Page]) -> None:
    page = open_page("alice")
    page.goto("/inbox/")
    cards = page.locator("main article[id^='item-']")
    expect(cards).not_to_have_count(0)
    first, second = (cards.nth(i).get_attribute("id") for i in (0, 1))

    page.locator(f"#{first}").get_by_role("button", name="Acknowledge").click()
    acknowledged = page.locator(f"#{first}")
    expect(acknowledged).to_contain_text("Acknowledged")
    expect(acknowledged.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page).to_have_url("/inbox/")  # swapped in place, no page load

    card = page.locator(f"#{second}")
    card.locator("summary", has_text="Dismiss").click()
    card.get_by_label("Why dismiss it?").fill("Migration week; agreed with the customer.")
    card.get_by_role("button", name="Dismiss", exact=True).click()
    expect(page.locator(f"#{second}")).to_contain_text("Dismissed")
    expect(page.locator(f"#{second}")).to_contain_text("Migration week; agreed with the customer.")

    page.reload()
    expect(page.locator(f"#{first}")).to_contain_text("Acknowledged")
    expect(page.locator(f"#{second}")).to_have_count(0)
