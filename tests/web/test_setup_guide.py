"""First-run guidance on the home page: what an administrator (or manager) sets up, in order,
each step ticked when done, gone once everything is."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kontosjef.accounts.models import Expectation
from kontosjef.cases.services import calendar_create, sla_policy_create, tier_sla_set
from kontosjef.people.services import department_create
from tests.factories import T0, make_account, make_case, make_user
from tests.pages import assert_no_inline_script

STEPS = ["people", "calendar", "policy", "tiers", "expectations", "data"]


def guide(client) -> dict[str, bool] | None:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    steps = response.context["setup"]
    html = response.content.decode()
    if steps is None:
        assert "Set up Kontosjef" not in html
        return None
    assert "Set up Kontosjef" in html
    assert_no_inline_script(html)
    return {step.key: step.done for step in steps}


def test_it_guides_the_first_administrator_of_a_fresh_install(client, adam):
    client.force_login(adam)
    assert guide(client) == {
        "people": False, "calendar": False, "policy": False, "tiers": False,
        "expectations": True,  # the tier defaults are in place from the start
        "data": False,
    }  # fmt: skip
    html = client.get(reverse("home")).content.decode()
    steps = re.findall(r'<li class="(done|todo)">', html)
    assert steps == ["todo", "todo", "todo", "todo", "done", "todo"]
    for name in [
        "configuration_people",
        "configuration_departments",
        "configuration_calendar_new",
        "configuration_policy_new",
        "configuration_tiers",
        "configuration_expectations",
    ]:
        assert f'href="{reverse(name)}"' in html, name  # fmt: skip


def test_it_ticks_each_step_when_it_is_done_and_then_goes_away(client, adam):
    client.force_login(adam)
    support = department_create(by=adam, name="Support", now=T0)
    assert guide(client)["people"] is False  # a department, but nobody to work in it
    make_user(username="gina", role="agent", department=support, by=adam)
    assert guide(client)["people"] is True
    calendar = calendar_create(by=adam, name="Oslo", time_zone="Europe/Oslo", now=T0)
    assert guide(client)["calendar"] is True
    policy = sla_policy_create(by=adam, name="Gold", now=T0,
                               metrics={"first_reply": {"targets": {"p1": 3600}}})  # fmt: skip
    assert guide(client)["policy"] is True
    tier_sla_set(by=adam, tier="enterprise", policy=policy, calendar=calendar, now=T0)
    assert guide(client)["tiers"] is True  # no account is left without a policy
    account = make_account(name="Acme AS", by=adam, tier="standard")
    assert guide(client)["tiers"] is False  # a standard account, and that tier has no policy
    html = client.get(reverse("home")).content.decode()
    assert "1 account gets no SLA clocks yet." in html
    tier_sla_set(by=adam, tier="standard", policy=policy, calendar=calendar, now=T0)
    assert guide(client)["tiers"] is True
    make_case(account=account, by=adam)
    assert guide(client) is None


def test_it_asks_for_expectations_when_a_tier_has_none_active(client, adam):
    Expectation.objects.filter(tier="standard").update(is_active=False)
    client.force_login(adam)
    assert guide(client)["expectations"] is False


def test_it_guides_a_manager_but_leaves_people_to_administrators(client, mona):
    client.force_login(mona)
    assert guide(client) is not None
    html = client.get(reverse("home")).content.decode()
    assert "Administrators do this step." in html
    assert f'href="{reverse("configuration_people")}"' not in html


@pytest.mark.parametrize("persona", ["alice", "vera", "gina"])
def test_it_shows_no_guidance_to_everyone_else(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert guide(client) is None


def test_it_shows_the_guidance_in_norwegian(client, adam):
    adam.language = "nb"
    adam.save(update_fields=["language"])
    client.force_login(adam)
    html = client.get(reverse("home"), headers={"accept-language": "nb"}).content.decode()
    assert "Sett opp Kontosjef" in html
