"""Which policy and calendar each tier uses, and accounts with their own: set in the app,
audited, and the clocks recomputed."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kontosjef.accounts.services import account_create
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import Calendar, MetricCycle, SlaPolicy, TierSla
from kontosjef.cases.services import (
    account_sla_set,
    sla_policy_create,
    tier_sla_clear,
    tier_sla_set,
)
from tests.configuration.conftest import HOUR, NOW, SET_UP, oslo
from tests.factories import make_case
from tests.pages import assert_no_inline_script


def customer_case(account, contact, by, now):
    return make_case(account=account, by=by, requester=contact, opened_by_customer=True, now=now)


@pytest.fixture
def around_the_clock(mona) -> SlaPolicy:
    return sla_policy_create(by=mona, name="24x7 first reply", now=SET_UP, metrics={
        "first_reply": {"targets": {"p3": 2 * HOUR}, "business_hours": False},
    })  # fmt: skip


def test_it_shows_each_tier_with_its_policy_calendar_and_accounts(
    client, mona, enterprise_sla, office, acme, globex, frozen
):
    client.force_login(mona)
    response = client.get(reverse("configuration_tiers"))
    html = response.content.decode()
    rows = {row.tier: row for row in response.context["rows"]}
    assert rows["enterprise"].tier_sla.policy == enterprise_sla
    assert rows["enterprise"].accounts == 1
    assert rows["strategic"].tier_sla is None and rows["strategic"].without_clocks == 1
    assert "Enterprise SLA" in html and "Oslo office" in html
    assert "1 account gets no SLA clocks" in html  # Globex, strategic, no policy
    assert_no_inline_script(html)


def test_it_gives_a_tier_a_policy_and_recomputes_its_cases(
    client, mona, alice, acme, acme_contact, around_the_clock, frozen
):
    case = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    assert not MetricCycle.objects.filter(case=case).exists()  # no policy yet
    client.force_login(mona)
    url = reverse("configuration_tier", args=["enterprise"])
    response = client.post(url, {"policy": around_the_clock.pk, "calendar": ""}, follow=True)
    html = response.content.decode()
    assert "The Enterprise tier is saved." in html
    assert "The SLA clocks of 1 case were recomputed." in html
    clock = MetricCycle.objects.get(case=case, metric="first_reply")
    assert clock.due_at == oslo(2026, 3, 2, 11, 0) and not clock.business_hours
    tier = TierSla.objects.get(tier="enterprise")
    assert tier.policy == around_the_clock and tier.calendar is None
    entry = AuditEntry.objects.get(action="tier_sla.set")
    assert entry.actor == mona and entry.after["policy"] == around_the_clock.pk


def test_it_takes_a_tier_policy_away_and_the_clocks_with_it(
    client, mona, alice, acme, acme_contact, enterprise_sla, frozen
):
    case = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    assert MetricCycle.objects.filter(case=case).exists()
    client.force_login(mona)
    url = reverse("configuration_tier", args=["enterprise"])
    assert client.post(url, {"policy": "", "calendar": ""}).status_code == 302
    assert not TierSla.objects.filter(tier="enterprise").exists()
    assert not MetricCycle.objects.filter(case=case).exists()
    assert AuditEntry.objects.filter(action="tier_sla.clear").exists()


def test_it_refuses_a_policy_without_targets_or_a_calendar_without_hours(client, mona, frozen):
    empty_policy = SlaPolicy.objects.create(name="Gold")
    empty_calendar = Calendar.objects.create(name="Bergen")
    client.force_login(mona)
    url = reverse("configuration_tier", args=["standard"])
    response = client.post(url, {"policy": empty_policy.pk, "calendar": ""})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "“Gold” has no targets yet: save its targets first." in errors["policy"]
    with pytest.raises(ValidationError, match="no business hours yet"):
        policy = sla_policy_create(by=mona, name="Silver", now=NOW,
                                   metrics={"first_reply": {"targets": {"p1": HOUR}}})  # fmt: skip
        tier_sla_set(by=mona, tier="standard", policy=policy, calendar=empty_calendar, now=NOW)
    assert not TierSla.objects.exists()


def test_it_answers_404_for_a_tier_that_does_not_exist(client, mona):
    client.force_login(mona)
    assert client.get(reverse("configuration_tier", args=["platinum"])).status_code == 404


def test_it_gives_an_account_its_own_policy_and_calendar(
    client, mona, alice, acme, acme_contact, enterprise_sla, around_the_clock, frozen
):
    case = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    assert MetricCycle.objects.get(case=case, metric="first_reply").target_seconds == 4 * HOUR
    client.force_login(mona)
    url = reverse("configuration_account_sla", args=[acme.pk])
    page = client.get(url).content.decode()
    assert "The tier&#x27;s: Enterprise SLA" in page and "The tier&#x27;s: Oslo office" in page
    response = client.post(url, {"sla_policy": around_the_clock.pk, "calendar": ""}, follow=True)
    html = response.content.decode()
    assert "The SLA of Acme AS is saved." in html
    assert "The SLA clocks of 1 case were recomputed." in html
    acme.refresh_from_db()
    assert acme.sla_policy == around_the_clock and acme.calendar is None
    assert MetricCycle.objects.get(case=case, metric="first_reply").target_seconds == 2 * HOUR
    entry = AuditEntry.objects.get(action="account.set_sla")
    assert entry.before["sla_policy"] is None and entry.after["sla_policy"] == around_the_clock.pk
    # The tiers page lists it among the accounts with their own SLA.
    listing = client.get(reverse("configuration_tiers"))
    assert [a.name for a in listing.context["overrides"].object_list] == ["Acme AS"]


def test_it_finds_an_account_to_give_its_own_sla(client, mona, acme, globex):
    client.force_login(mona)
    response = client.get(reverse("configuration_tiers"), {"q": "glob"})
    assert [a.name for a in response.context["found"]] == ["Globex ASA"]
    assert reverse("configuration_account_sla", args=[globex.pk]) in response.content.decode()
    response = client.get(reverse("configuration_tiers"), {"q": "initech"})
    assert "No account is called anything like “initech”." in response.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_accounts_with_their_own_sla_in_the_same_number_of_queries(
    client, mona, office, enterprise_sla, n, django_assert_num_queries
):
    for i in range(n):
        account = account_create(by=mona, name=f"Kunde {i:02d}", country="NO", now=SET_UP)
        account_sla_set(account=account, by=mona, now=SET_UP, sla_policy=enterprise_sla,
                        calendar=office if i % 2 else None)  # fmt: skip
    client.force_login(mona)
    # session, user, tier counts, tier policies, any policy, count and page of accounts with
    # their own SLA, inbox count in the navigation
    with django_assert_num_queries(8):
        response = client.get(reverse("configuration_tiers"))
    assert response.status_code == 200
    assert len(response.context["overrides"].object_list) == min(n, 25)


def test_it_lets_only_managers_choose_policies_for_tiers_and_accounts(
    client, alice, vera, gina, acme, enterprise_sla, office
):
    for user in (alice, vera, gina):
        client.force_login(user)
        assert client.get(reverse("configuration_tiers")).status_code == 403
        assert (
            client.post(
                reverse("configuration_tier", args=["standard"]), {"policy": enterprise_sla.pk}
            ).status_code
            == 403
        )
        assert (
            client.post(
                reverse("configuration_account_sla", args=[acme.pk]),
                {"sla_policy": enterprise_sla.pk},
            ).status_code
            == 403
        )
        with pytest.raises(PermissionDenied):
            tier_sla_set(by=user, tier="standard", policy=enterprise_sla, calendar=None, now=NOW)
        with pytest.raises(PermissionDenied):
            tier_sla_clear(by=user, tier="enterprise", now=NOW)
        with pytest.raises(PermissionDenied):
            account_sla_set(account=acme, by=user, now=NOW, sla_policy=enterprise_sla,
                            calendar=office)  # fmt: skip
    acme.refresh_from_db()
    assert acme.sla_policy is None
    assert not TierSla.objects.filter(tier="standard").exists()


def test_it_writes_nothing_when_a_tier_is_set_to_what_it_has(mona, enterprise_sla, office):
    change = tier_sla_set(by=mona, tier="enterprise", policy=enterprise_sla, calendar=office,
                          now=NOW)  # fmt: skip
    assert change.recomputed == 0
    assert AuditEntry.objects.filter(action="tier_sla.set").count() == 1  # the fixture's
