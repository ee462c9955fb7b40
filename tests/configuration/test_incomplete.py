"""Configuration pages on incomplete configuration: a policy or calendar created by name only (in
the admin), no policies at all, a tier without a policy. Each page says what is missing and what
to do next; none answers 500."""

from __future__ import annotations

from django.urls import reverse

from kontosjef.cases.models import Calendar, SlaPolicy
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
