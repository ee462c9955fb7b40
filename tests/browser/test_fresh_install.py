"""The first morning on a fresh install (no demo): the administrator from `createsuperuser`
follows the home page's guidance and sets Kontosjef up in the app, without the Django admin."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.site import FRESH_PASSWORD, DemoSite, demo_env, kontosjef, login, shot

HELPDESK = Path(__file__).resolve().parents[2].parent / "shared/data/helpdesk-italy/helpdesk.csv"

GUIDE = "section.setup-guide"


def steps(page: Page) -> list[str]:
    """The guidance's steps as "done" or "todo", in order."""
    page.goto("/")
    return [
        item.get_attribute("class") or ""
        for item in page.locator(f"{GUIDE} ol.setup-steps > li").all()
    ]


def saved(page: Page, text: str) -> None:
    expect(page.locator("ul.messages")).to_contain_text(text)


def test_it_sets_up_a_fresh_install_from_the_guidance(
    open_fresh_page: Callable[..., Page], fresh_site: DemoSite
):
    page = open_fresh_page("admin")
    expect(page.locator("header details.usermenu summary")).to_contain_text("Administrator")
    expect(page.locator(GUIDE)).to_contain_text("Set up Kontosjef")
    # Only the tier expectations, seeded by the migrations, are in place.
    assert steps(page) == ["todo", "todo", "todo", "todo", "done", "todo"]
    shot(page, "setup-guide-fresh")

    # 1. A department and a person, from the guidance's links.
    page.locator(GUIDE).get_by_role("link", name="Departments").click()
    page.get_by_label("Name", exact=True).fill("Support")
    page.get_by_role("button", name="Add the department").click()
    saved(page, "The department “Support” is added.")
    page.goto("/")
    page.locator(GUIDE).get_by_role("link", name="People").click()
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("User name").fill("gina")
    page.get_by_label("First name").fill("Gina")
    page.get_by_label("Last name").fill("Hansen")
    page.get_by_label("E-mail").fill("gina@example.com")
    page.get_by_label("Role").select_option(label="Agent")
    page.get_by_label("Department").select_option(label="Support")
    page.get_by_label("First password").fill("gina-" + FRESH_PASSWORD)
    page.get_by_label("The password again").fill("gina-" + FRESH_PASSWORD)
    page.get_by_role("button", name="Add the person").click()
    saved(page, "Gina Hansen is added.")
    shot(page, "setup-person")
    assert steps(page)[0] == "done"

    # 2. A calendar: office hours in Oslo with Norwegian public holidays.
    page.locator(GUIDE).get_by_role("link", name="New calendar").click()
    page.get_by_label("Name", exact=True).fill("Oslo office")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Oslo")
    expect(page.get_by_label("Monday")).to_have_value("08:00–16:00")
    page.get_by_label("Friday").fill("08:00–11:30, 12:00–15:00")
    page.get_by_label("Public holidays of").select_option("NO")
    page.get_by_role("button", name="Save the calendar").click()
    saved(page, "The calendar “Oslo office” is saved.")
    expect(page.locator("main")).to_contain_text("08:00–11:30, 12:00–15:00")
    shot(page, "setup-calendar")

    # 3. An SLA policy: urgent cases around the clock, the rest in business hours.
    page.goto("/")
    page.locator(GUIDE).get_by_role("link", name="New SLA policy").click()
    page.get_by_label("Name", exact=True).fill("Standard SLA")
    page.get_by_label("First reply, P1: target in hours").fill("1")
    page.get_by_label("First reply, P3: target in hours").fill("4")
    page.get_by_label("First reply: warn at % of the target").fill("75")
    page.get_by_label("Total resolution time, P3: target in hours").fill("40")
    shot(page, "setup-policy-new")
    page.get_by_role("button", name="Save the policy").click()
    saved(page, "The policy “Standard SLA” is saved.")
    expect(page.locator("main")).to_contain_text("4 h")
    assert steps(page)[:3] == ["done", "done", "done"]

    # 4. The policy and calendar for a tier.
    page.locator(GUIDE).get_by_role("link", name="Tiers and accounts").click()
    page.get_by_role("link", name=re.compile(r"Edit\s+Standard")).click()
    page.get_by_label("SLA policy").select_option(label="Standard SLA")
    page.get_by_label("Calendar").select_option(label="Oslo office")
    page.get_by_role("button", name="Save").click()
    saved(page, "The Standard tier is saved.")
    standard = page.locator("tr", has=page.get_by_role("rowheader", name="Standard"))
    expect(standard).to_contain_text("Standard SLA")
    expect(standard).to_contain_text("Oslo office")
    shot(page, "setup-tiers")

    # Everything but the data is ticked; the last step says how to import.
    assert steps(page) == ["done", "done", "done", "done", "done", "todo"]
    expect(page.locator(GUIDE)).to_contain_text("kontosjef import")
    shot(page, "setup-guide-configured")

    # 5. A real service-desk history (2010-2014), imported through the CLI while the server runs:
    # the site keeps answering, and the portfolio reads the figures as of the data's last day.
    env = demo_env(fresh_site.var_dir)
    done: dict[str, str | BaseException] = {}

    def run(name: str, *args: str) -> None:
        try:
            done[name] = kontosjef(*args, env=env, timeout=600)
        except BaseException as error:  # noqa: BLE001 (reported by the assertion below)
            done[name] = error

    importing = threading.Thread(
        target=run,
        args=("import", "import", "eventlog", str(HELPDESK), "--mapping", "helpdesk-italy",
              "--report", str(fresh_site.var_dir / "import-report.csv")),
    )  # fmt: skip
    importing.start()
    answered = 0
    while importing.is_alive():
        page.goto("/configuration/")
        expect(page.locator("h1")).to_be_visible()
        answered += 1
    importing.join()
    assert isinstance(done["import"], str), done["import"]
    assert "4,580 cases" in done["import"] and answered >= 1
    run("refresh", "health", "refresh")
    assert isinstance(done["refresh"], str), done["refresh"]

    page.goto("/")
    notice = page.locator(".as-of-notice")
    expect(notice).to_contain_text("Figures as of")
    expect(notice).to_contain_text("the last day with activity in the data")
    rows = page.locator("table.portfolio tbody tr")
    expect(rows.first).to_be_visible()
    scores = page.locator("table.portfolio tbody .badge.score").all_inner_texts()
    assert scores and not all(s.strip() == "100" for s in scores), scores
    shot(page, "fresh-portfolio-as-of")

    # The new agent signs in with her password and gets no set-up guidance.
    agent = open_fresh_page()
    login(agent, "gina", "gina-" + FRESH_PASSWORD)
    expect(agent.locator("header details.usermenu summary")).to_contain_text("Agent")
    expect(agent.locator(GUIDE)).to_have_count(0)


def test_it_fits_the_guidance_and_the_policy_form_on_a_phone(open_fresh_page):
    page = open_fresh_page("admin", width=375)
    expect(page.locator(GUIDE)).to_be_visible()
    shot(page, "setup-guide-phone")  # checks that nothing scrolls sideways
    page.goto("/configuration/sla-policies/new/")
    shot(page, "setup-policy-phone")
