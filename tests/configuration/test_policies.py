"""SLA policies: list with who uses them, and new versions of the targets."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from kontosjef.accounts.services import account_create
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import MetricCycle, SlaPolicy, SlaPolicyVersion
from kontosjef.cases.services import sla_policy_create, sla_policy_update, sla_policy_versions
from tests.configuration.conftest import HOUR, NOW, SET_UP, oslo
from tests.factories import make_case
from tests.pages import assert_no_inline_script


def form(policy: SlaPolicy, **changes: str) -> dict[str, str]:
    """The form as the page fills it in from the current version, with `changes`."""
    data = {"valid_from_on": "2026-03-02"}
    for metric, spec in sla_policy_versions(policy)[-1].metrics.items():
        for priority, seconds in spec["targets"].items():
            data[f"{metric}__{priority}"] = str(seconds / HOUR)
        if spec.get("business_hours", True):
            data[f"{metric}__business_hours"] = "on"
        if spec.get("warn_at_fraction"):
            data[f"{metric}__warn"] = str(round(spec["warn_at_fraction"] * 100))
    return data | changes


def customer_case(account, contact, by, now):
    return make_case(account=account, by=by, requester=contact, opened_by_customer=True, now=now)


def test_it_lists_policies_with_their_targets_and_who_uses_them(
    client, mona, enterprise_sla, acme, frozen
):
    account_create(by=mona, name="Own Terms AS", country="NO", tier="standard", now=SET_UP)
    client.force_login(mona)
    html = client.get(reverse("configuration_policies")).content.decode()
    assert "Enterprise SLA" in html and "First reply" in html
    assert "4 h" in html and "1 h" in html
    assert "Enterprise: 1 account" in html
    assert_no_inline_script(html)


def test_it_lists_policies_in_the_same_number_of_queries_for_3_and_30(
    client, mona, django_assert_num_queries
):
    client.force_login(mona)
    url = reverse("configuration_policies")

    def make(n: int) -> None:
        for i in range(SlaPolicy.objects.count(), n):
            sla_policy_create(by=mona, name=f"Policy {i}", now=SET_UP,
                              metrics={"first_reply": {"targets": {"p1": HOUR}}})  # fmt: skip

    make(3)
    client.get(url)
    with django_assert_num_queries(8) as three:
        assert client.get(url).status_code == 200
    make(30)
    with django_assert_num_queries(len(three.captured_queries)):
        assert client.get(url).status_code == 200


def test_it_shows_the_tiers_and_accounts_using_a_policy(client, mona, enterprise_sla, frozen):
    own = account_create(by=mona, name="Own Terms AS", country="NO", tier="standard", now=SET_UP)
    own.sla_policy = enterprise_sla
    own.save(update_fields=["sla_policy"])  # the override has no web form: the admin sets it
    client.force_login(mona)
    html = client.get(reverse("configuration_policy", args=[enterprise_sla.pk])).content.decode()
    assert "Enterprise tier: 0 accounts" in html
    assert "Own Terms AS" in html and "(its own policy)" in html


def test_it_writes_a_new_version_for_cases_opened_from_then_and_audits_it(
    client, mona, alice, acme, acme_contact, enterprise_sla, frozen
):
    earlier = customer_case(acme, acme_contact, alice, oslo(2026, 2, 27, 9, 0))
    today = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    client.force_login(mona)
    url = reverse("configuration_policy", args=[enterprise_sla.pk])
    data = form(enterprise_sla, first_reply__p3="2", first_reply__p4="0:30",
                total_resolution__p3="16", total_resolution__business_hours="on")  # fmt: skip
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "applies to cases opened from 2026-03-02" in html
    assert "The SLA clocks of 1 case were recomputed" in html
    first, second = sla_policy_versions(enterprise_sla)
    assert first.valid_from is None and second.valid_from == oslo(2026, 3, 2)
    assert second.metrics["first_reply"] == {
        "targets": {"p1": HOUR, "p3": 2 * HOUR, "p4": 1800},
        "business_hours": True,
        "warn_at_fraction": 0.75,
    }
    assert second.metrics["total_resolution"]["targets"] == {"p3": 16 * HOUR}
    entry = AuditEntry.objects.get(action="sla_policy.update")
    assert entry.actor == mona and entry.before["metrics"] == first.metrics
    # The case opened today follows the new targets; the one opened before keeps the old ones.
    assert MetricCycle.objects.get(case=today, metric="first_reply").target_seconds == 2 * HOUR
    assert MetricCycle.objects.get(case=earlier, metric="first_reply").target_seconds == 4 * HOUR
    assert MetricCycle.objects.filter(case=today, metric="total_resolution").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"first_reply__p3": "four"}, "first_reply__p3", "Enter hours"),
        ({"first_reply__p3": "-2"}, "first_reply__p3", "longer than zero"),
        ({"first_reply__p3": "1:75"}, "first_reply__p3", "Enter hours"),
        ({"first_reply__warn": "150"}, "first_reply__warn", "less than or equal to 99"),
        ({"valid_from_on": "2026-02-01"}, "valid_from_on", "cannot start in the past"),
        ({"first_reply__p1": "", "first_reply__p3": ""}, "__all__", "at least one target"),
    ],
)
def test_it_shows_what_is_wrong_and_writes_nothing(
    client, mona, enterprise_sla, frozen, changes, field, message
):
    client.force_login(mona)
    url = reverse("configuration_policy", args=[enterprise_sla.pk])
    response = client.post(url, form(enterprise_sla, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert "Nothing was saved" in response.content.decode()
    assert SlaPolicyVersion.objects.filter(policy=enterprise_sla).count() == 1
    assert not AuditEntry.objects.filter(action="sla_policy.update").exists()


def test_it_lets_only_managers_change_a_policy(alice, enterprise_sla):
    with pytest.raises(PermissionDenied):
        sla_policy_update(policy=enterprise_sla, by=alice, now=NOW, valid_from_on=date(2026, 3, 9),
                          metrics={"first_reply": {"targets": {"p1": HOUR}}})  # fmt: skip
