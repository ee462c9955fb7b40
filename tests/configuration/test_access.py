"""Who may open the configuration pages: managers and administrators; everyone their own
notification setting."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kontosjef.accounts.models import Expectation
from tests.pages import assert_no_inline_script


def manager_urls(calendar, policy) -> list[str]:
    expectation = Expectation.objects.filter(tier="enterprise").first()
    return [
        reverse("configuration"),
        reverse("configuration_calendars"),
        reverse("configuration_calendar", args=[calendar.pk]),
        reverse("configuration_policies"),
        reverse("configuration_policy", args=[policy.pk]),
        reverse("configuration_expectations"),
        reverse("configuration_expectation", args=[expectation.pk]),
        reverse("configuration_notifications"),
    ]


@pytest.mark.parametrize("persona", ["mona", "adam"])
def test_it_shows_every_page_to_managers_and_administrators(
    client, request, persona, office, enterprise_sla, frozen
):
    client.force_login(request.getfixturevalue(persona))
    for url in manager_urls(office, enterprise_sla):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_no_inline_script(html)
        assert html.count("<h1") == 1, url


@pytest.mark.parametrize("persona", ["alice", "vera", "gina"])
def test_it_refuses_everyone_else_the_configuration(
    client, request, persona, office, enterprise_sla, frozen
):
    client.force_login(request.getfixturevalue(persona))
    for url in manager_urls(office, enterprise_sla)[:-1]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    extend = reverse("configuration_calendar_extend", args=[office.pk])
    assert client.post(extend, {"to_year": 2030}).status_code == 403


@pytest.mark.parametrize("persona", ["alice", "vera", "gina"])
def test_it_lets_everyone_reach_their_own_notification_setting(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("configuration_notifications"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your notifications" in html
    assert "This site's notifications" not in html
    assert_no_inline_script(html)


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    for name in ["configuration", "configuration_calendars", "configuration_notifications"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_refuses_a_form_without_its_csrf_token(mona, office, frozen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[office.pk])
    assert client.post(url, {"time_zone": "Europe/Oslo"}).status_code == 403
    page = client.get(url).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # language switch, extend, edit


def test_it_links_every_section_and_the_admin_from_the_index(client, adam, mona):
    client.force_login(adam)
    html = client.get(reverse("configuration")).content.decode()
    for name in [
        "configuration_calendars", "configuration_policies", "configuration_expectations",
        "configuration_notifications", "admin:index",
    ]:  # fmt: skip
        assert f'href="{reverse(name)}"' in html, name
    client.force_login(mona)
    html = client.get(reverse("configuration")).content.decode()
    assert "ask one to make these changes" in html
