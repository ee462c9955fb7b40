"""Signing in and out with the form, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error, Page, expect

from tests.browser.site import ConsoleLog, login, logout, shot


def test_it_signs_alice_in_and_out(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    shot(page, "sign-in")
    login(page, "alice")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header nav a[aria-current=page]")).to_have_text("Portfolio")
    logout(page)
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_it_shows_an_error_for_a_wrong_password(page: Page) -> None:
    page.goto("/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("not-the-password")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your username and password did not match. Try again."
    )
    expect(page.locator("header details.usermenu")).to_have_count(0)


def test_it_reports_a_script_the_content_security_policy_blocks(
    page: Page, console: ConsoleLog
) -> None:
    """The guard every browser test relies on: an inline script is refused and reported."""
    page.goto("/login/")
    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="document.title = 'ran';")
    expect(page).not_to_have_title("ran")
    assert any("CSP violation: script-src" in error for error in console.errors), console.errors
    console.expect_error("Content Security Policy")
    console.expect_error("CSP violation: script-src")
