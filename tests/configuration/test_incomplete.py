"""Configuration pages on incomplete configuration: a policy or calendar created by name only (in
the admin), no policies at all, a tier without a policy. Each page says what is missing and what
to do next; none answers 500."""

from __future__ import annotations

from django.urls import reverse

from kontosjef.cases.models import Calendar, SlaPolicy, TierSla
from tests.pages import assert_no_inline_script


def test_it_shows_a_policy_without_versions_as_not_configured(client, mona, frozen):
    # What the admin writes when someone saves a policy by its name only.
    policy = SlaPolicy.objects.create(name="Gold")
    client.force_login(mona)
    listing = client.get(reverse("configuration_policies"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Gold" in html and "No targets yet" in html
    assert_no_inline_script(html)
    detail = client.get(reverse("configuration_policy", args=[policy.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "No targets yet" in html and "Save the first targets" in html
    assert_no_inline_script(html)


def test_it_shows_a_calendar_without_versions_as_not_configured(client, mona, frozen):
    calendar = Calendar.objects.create(name="Bergen office")
    client.force_login(mona)
    listing = client.get(reverse("configuration_calendars"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Bergen office" in html and "No business hours yet" in html
    detail = client.get(reverse("configuration_calendar", args=[calendar.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "No business hours yet" in html and "Save the first hours" in html
    assert_no_inline_script(html)
    index = client.get(reverse("configuration"))
    assert index.status_code == 200


def test_it_says_what_to_do_when_there_are_no_policies_at_all(client, adam, db):
    client.force_login(adam)
    html = client.get(reverse("configuration_policies")).content.decode()
    assert "There are no SLA policies yet" in html
    assert f'href="{reverse("configuration_policy_new")}"' in html
    html = client.get(reverse("configuration_calendars")).content.decode()
    assert f'href="{reverse("configuration_calendar_new")}"' in html
    html = client.get(reverse("configuration_tiers")).content.decode()
    assert "No tier has an SLA policy" in html
    assert f'href="{reverse("configuration_policy_new")}"' in html


def test_it_answers_extending_holidays_of_a_calendar_without_versions_with_a_message(
    client, mona, frozen
):
    calendar = Calendar.objects.create(name="Bergen office")
    client.force_login(mona)
    url = reverse("configuration_calendar_extend", args=[calendar.pk])
    response = client.post(url, {"to_year": "2030"})
    assert response.status_code == 200
    assert "takes no public holidays from a country" in response.content.decode()


def test_it_shows_a_tier_set_in_the_admin_to_a_policy_without_targets(client, mona, acme, frozen):
    policy = SlaPolicy.objects.create(name="Gold")
    TierSla.objects.create(tier="enterprise", policy=policy)  # the admin does not check
    client.force_login(mona)
    for url in [
        reverse("configuration"),
        reverse("configuration_tiers"),
        reverse("configuration_tier", args=["enterprise"]),
        reverse("configuration_policies"),
        reverse("configuration_policy", args=[policy.pk]),
        reverse("configuration_account_sla", args=[acme.pk]),
        reverse("home"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    html = client.get(reverse("configuration")).content.decode()
    assert "The SLA policy “Gold” has no targets yet." in html
