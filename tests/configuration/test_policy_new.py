"""A new SLA policy from the app: targets per metric and priority, business hours or 24×7 per
metric, warnings, running statuses and options; the first targets of a policy created by name
only; and its name."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import MetricCycle, SlaPolicy, SlaPolicyVersion
from kontosjef.cases.services import (
    sla_policy_create,
    sla_policy_rename,
    sla_policy_update,
    sla_policy_versions,
    tier_sla_set,
)
from tests.configuration.conftest import HOUR, NOW, oslo
from tests.factories import make_case
from tests.pages import assert_no_inline_script

DEFAULT_RUNNING = ["new", "open", "waiting_on_customer", "on_hold"]


def new_policy(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Premium", "description": "Strategic customers",
        "first_reply__p1": "1", "first_reply__p2": "2", "first_reply__p3": "4",
        "first_reply__p4": "8", "first_reply__business_hours": "on", "first_reply__warn": "75",
        "first_reply__running": DEFAULT_RUNNING,
        "total_resolution__p1": "8", "total_resolution__p3": "40",
        "total_resolution__business_hours": "on", "total_resolution__warn_before": "2",
        "total_resolution__running": DEFAULT_RUNNING,
        "option__customer_reply_resumes": "True", "option__solved_time_counts": "False",
        "option__recurrence": "independent",
    }  # fmt: skip
    return data | changes


def test_it_shows_the_empty_form_with_the_default_running_statuses(client, mona):
    client.force_login(mona)
    response = client.get(reverse("configuration_policy_new"))
    form = response.context["form"]
    assert form["agent_work__running"].initial == ["new", "open"]
    assert form["first_reply__business_hours"].initial is True
    html = response.content.decode()
    assert "When each clock runs" in html and "When a solved case is reopened" in html
    assert_no_inline_script(html)


def test_it_creates_a_policy_with_targets_warnings_running_statuses_and_options(
    client, mona, frozen
):
    client.force_login(mona)
    data = new_policy(
        first_reply__business_hours="",  # P1 support runs around the clock
        agent_work__p3="16", agent_work__business_hours="on",
        agent_work__running=["open"],
        option__customer_reply_resumes="False",
        option__recurrence="sequential",
    )  # fmt: skip
    response = client.post(reverse("configuration_policy_new"), data, follow=True)
    policy = SlaPolicy.objects.get(name="Premium")
    assert response.redirect_chain[-1][0] == reverse("configuration_policy", args=[policy.pk])
    (version,) = sla_policy_versions(policy)
    assert version.valid_from is None
    assert version.metrics == {
        "first_reply": {
            "targets": {"p1": HOUR, "p2": 2 * HOUR, "p3": 4 * HOUR, "p4": 8 * HOUR},
            "business_hours": False,
            "warn_at_fraction": 0.75,
        },
        "agent_work": {"targets": {"p3": 16 * HOUR}, "business_hours": True, "running": ["open"]},
        "total_resolution": {
            "targets": {"p1": 8 * HOUR, "p3": 40 * HOUR},
            "business_hours": True,
            "warn_before_s": 2 * HOUR,
        },
    }
    assert version.options == {"customer_reply_resumes": False, "recurrence": "sequential"}
    assert policy.description == "Strategic customers"
    entry = AuditEntry.objects.get(action="sla_policy.create")
    assert entry.actor == mona and entry.after["metrics"] == version.metrics
    html = response.content.decode()
    assert "The policy “Premium” is saved." in html
    assert "runs while Open" in html
    assert "the clock waits until someone changes the status" in html
    assert "customer_reply_resumes=" not in html  # options read as sentences, not as code


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "Enterprise SLA"}, "name", "is already taken"),
        ({"first_reply__p3": "0"}, "first_reply__p3", "longer than zero"),
        ({"total_resolution__warn_before": "0"}, "total_resolution__warn_before", "positive"),
        ({"first_reply__warn_before": "1"}, "first_reply__warn_before", "not both"),
        ({"first_reply__running": ["solved"]}, "first_reply__running", "valid choice"),
        ({"first_reply__p1": "", "first_reply__p2": "", "first_reply__p3": "",
          "first_reply__p4": "", "total_resolution__p1": "", "total_resolution__p3": ""},
         "__all__", "at least one target"),
    ],
)  # fmt: skip
def test_it_says_what_is_wrong_and_creates_nothing(
    client, mona, enterprise_sla, changes, field, message
):
    client.force_login(mona)
    response = client.post(reverse("configuration_policy_new"), new_policy(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert "Nothing was saved" in response.content.decode()
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Enterprise SLA"]


def test_it_refuses_what_the_engine_cannot_measure_in_the_service(mona):
    def create(metrics: dict, **kwargs: object) -> None:
        sla_policy_create(by=mona, name="Bad", now=NOW, metrics=metrics, **kwargs)

    with pytest.raises(ValidationError, match="not both"):
        create({"first_reply": {"targets": {"p1": HOUR}, "warn_at_fraction": 0.5,
                                "warn_before_s": 60}})  # fmt: skip
    with pytest.raises(ValidationError, match="at least one open status"):
        create({"first_reply": {"targets": {"p1": HOUR}, "running": ["solved"]}})
    with pytest.raises(ValidationError, match="not a policy option"):
        create({"first_reply": {"targets": {"p1": HOUR}}}, options={"recurrence": "weekly"})
    with pytest.raises(ValidationError, match="Set at least one target"):
        create({})
    assert not SlaPolicy.objects.exists()


def test_it_keeps_the_options_of_the_current_version_in_a_new_one(client, mona, frozen):
    policy = sla_policy_create(
        by=mona, name="Old terms", now=NOW,
        metrics={"first_reply": {"targets": {"p3": HOUR}}},
        options={"solved_time_counts": True, "calendar_change": "last"},
    )  # fmt: skip
    client.force_login(mona)
    url = reverse("configuration_policy", args=[policy.pk])
    page = client.get(url)
    assert page.context["form"]["option__solved_time_counts"].initial == "True"
    assert "the time it was solved counts towards resolution" in page.content.decode()
    data = {"valid_from_on": "2026-03-02", "first_reply__p3": "2",
            "first_reply__business_hours": "on", "first_reply__running": DEFAULT_RUNNING,
            "option__customer_reply_resumes": "True", "option__solved_time_counts": "True",
            "option__recurrence": "independent"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    _first, second = sla_policy_versions(policy)
    # The option this page does not show (calendar_change) carries over unchanged.
    assert second.options == {"solved_time_counts": True, "calendar_change": "last"}


def test_it_writes_the_first_targets_of_a_policy_created_by_name_only(
    client, mona, alice, acme, acme_contact, office, frozen
):
    policy = SlaPolicy.objects.create(name="Gold")  # as the admin writes it
    # A tier set to it in the admin (the service refuses a policy without targets).
    from kontosjef.cases.models import TierSla

    TierSla.objects.create(tier="enterprise", policy=policy, calendar=office)
    case = make_case(account=acme, by=alice, requester=acme_contact, opened_by_customer=True,
                     now=oslo(2026, 2, 2, 9, 0))  # fmt: skip
    assert not MetricCycle.objects.filter(case=case).exists()
    client.force_login(mona)
    url = reverse("configuration_policy", args=[policy.pk])
    assert "valid_from_on" not in client.get(url).context["form"].fields
    data = new_policy()
    del data["name"], data["description"]
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "“Gold” has targets now." in html
    assert "The SLA clocks of 1 case were recomputed." in html
    (version,) = sla_policy_versions(policy)
    assert version.valid_from is None  # for every case, also the one opened in February
    assert MetricCycle.objects.get(case=case, metric="first_reply").target_seconds == 4 * HOUR
    entry = AuditEntry.objects.get(action="sla_policy.update")
    assert entry.before == {} and entry.after["valid_from"] is None


def test_it_renames_a_policy_without_touching_its_targets(client, mona, enterprise_sla, frozen):
    client.force_login(mona)
    url = reverse("configuration_policy_rename", args=[enterprise_sla.pk])
    response = client.post(url, {"name": "Enterprise", "description": "Tier default"}, follow=True)
    assert "The policy is now called “Enterprise”." in response.content.decode()
    enterprise_sla.refresh_from_db()
    assert (enterprise_sla.name, enterprise_sla.description) == ("Enterprise", "Tier default")
    assert SlaPolicyVersion.objects.filter(policy=enterprise_sla).count() == 1
    assert AuditEntry.objects.filter(action="sla_policy.rename").count() == 1


def test_it_lets_only_managers_create_or_rename_policies(client, alice, enterprise_sla):
    with pytest.raises(PermissionDenied):
        sla_policy_create(by=alice, name="Mine", now=NOW,
                          metrics={"first_reply": {"targets": {"p1": HOUR}}})  # fmt: skip
    with pytest.raises(PermissionDenied):
        sla_policy_rename(policy=enterprise_sla, by=alice, now=NOW, name="Mine", description="")
    with pytest.raises(PermissionDenied):
        sla_policy_update(policy=enterprise_sla, by=alice, now=NOW, valid_from_on=None,
                          metrics={"first_reply": {"targets": {"p1": HOUR}}})  # fmt: skip
    with pytest.raises(PermissionDenied):
        tier_sla_set(by=alice, tier="standard", policy=enterprise_sla, calendar=None, now=NOW)
    client.force_login(alice)
    assert client.post(reverse("configuration_policy_new"), new_policy()).status_code == 403
    assert not SlaPolicy.objects.filter(name="Premium").exists()


def test_it_runs_the_chosen_priorities_around_the_clock(client, mona, frozen):
    client.force_login(mona)
    data = new_policy(option__around_the_clock=["p1", "p2"])
    response = client.post(reverse("configuration_policy_new"), data, follow=True)
    policy = SlaPolicy.objects.get(name="Premium")
    (version,) = sla_policy_versions(policy)
    assert version.options["around_the_clock"] == ["p1", "p2"]
    assert "Around the clock (24×7): P1, P2" in response.content.decode()
    edit = client.get(reverse("configuration_policy", args=[policy.pk]))
    assert "Priorities whose clocks run around the clock" in edit.content.decode()
    with pytest.raises(ValidationError):
        sla_policy_create(by=mona, name="Odd", now=NOW,
                          metrics={"first_reply": {"targets": {"p1": HOUR}}},
                          options={"around_the_clock": ["p9"]})  # fmt: skip
