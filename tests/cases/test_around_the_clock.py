"""A policy can measure some priorities around the clock (24×7) whatever the account's business
hours, as real support contracts do for P1: a P1 opened on a Sunday night is late by Monday."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kontosjef.cases.models import MetricCycle
from kontosjef.cases.services import (
    calendar_create,
    case_change_priority,
    case_reply,
    sla_policy_create,
    tier_sla_set,
)
from tests.factories import make_case

OSLO = ZoneInfo("Europe/Oslo")
SUNDAY_NIGHT = datetime(2026, 3, 1, 3, 32, tzinfo=OSLO)
MONDAY = datetime(2026, 3, 2, 8, 33, tzinfo=OSLO)


@pytest.fixture
def office(mona):
    calendar = calendar_create(
        by=mona, name="Office", time_zone="Europe/Oslo", now=SUNDAY_NIGHT,
        holiday_country="NO", holiday_years=(2026, 2027),
    )  # fmt: skip
    policy = sla_policy_create(
        by=mona, name="Support", now=SUNDAY_NIGHT,
        metrics={"first_reply": {"targets": {"p1": 1800, "p2": 3600, "p3": 7200, "p4": 14400}}},
        options={"around_the_clock": ["p1"]},
    )  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=SUNDAY_NIGHT)
    return calendar


def first_reply(case):
    return MetricCycle.objects.get(case=case, metric="first_reply")


def test_it_runs_a_p1_clock_through_the_night(office, mona, acme, acme_contact, client):
    case = make_case(account=acme, by=mona, requester=acme_contact, opened_by_customer=True,
                     priority="p1", now=SUNDAY_NIGHT)  # fmt: skip
    case_reply(case=case, by=mona, body="On it", now=MONDAY, expected_version=case.version)
    cycle = first_reply(case)
    assert cycle.business_hours is False
    assert cycle.elapsed_business_seconds == (MONDAY - SUNDAY_NIGHT).total_seconds()
    assert cycle.state == "breached_met"
    client.force_login(mona)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "took 29 h 1 min" in html


def test_it_keeps_other_priorities_on_business_hours_and_says_so(
    office, mona, acme, acme_contact, client
):
    case = make_case(account=acme, by=mona, requester=acme_contact, opened_by_customer=True,
                     priority="p3", now=SUNDAY_NIGHT)  # fmt: skip
    case_reply(case=case, by=mona, body="On it", now=MONDAY, expected_version=case.version)
    cycle = first_reply(case)
    assert (cycle.business_hours, cycle.elapsed_business_seconds, cycle.state) == (
        True, 33 * 60, "met"
    )  # fmt: skip
    client.force_login(mona)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "took 33 min of business hours (29 h 1 min since it started)" in html


def test_it_switches_to_the_clock_when_a_case_becomes_p1(office, mona, acme, acme_contact):
    case = make_case(
        account=acme,
        by=mona,
        requester=acme_contact,
        opened_by_customer=True,
        priority="p3",
        now=datetime(2026, 2, 27, 15, 30, tzinfo=OSLO),
    )  # Friday
    escalated = datetime(2026, 2, 27, 15, 50, tzinfo=OSLO)
    case_change_priority(case=case, by=mona, to="p1", now=escalated,
                         expected_version=case.version)  # fmt: skip
    case.refresh_from_db()
    case_reply(case=case, by=mona, body="On it", now=datetime(2026, 2, 28, 9, 0, tzinfo=OSLO),
               expected_version=case.version)  # fmt: skip
    cycle = first_reply(case)
    # 20 business minutes on Friday as P3, then 24×7 from 15:50 Friday to 09:00 Saturday.
    assert cycle.elapsed_business_seconds == 20 * 60 + (17 * 3600 + 10 * 60)
    assert cycle.business_hours is False


def test_it_refuses_an_unknown_priority(mona):
    with pytest.raises(ValidationError):
        sla_policy_create(by=mona, name="Bad", now=SUNDAY_NIGHT,
                          metrics={"first_reply": {"targets": {"p1": 60}}},
                          options={"around_the_clock": ["urgent"]})  # fmt: skip
