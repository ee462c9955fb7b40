"""SLA clocks on real cases: configuration, live recompute on every event, the sweep."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from kontosjef.cases.models import MetricCycle, SlaAlert
from kontosjef.cases.services import (
    calendar_create,
    case_change_status,
    case_reply,
    sla_policy_create,
    tier_sla_set,
)
from kontosjef.cases.sla import sla_recompute, sla_sweep
from tests.factories import make_case

OSLO = ZoneInfo("Europe/Oslo")
HOUR = 3600


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


@pytest.fixture
def office_sla(mona):
    """Enterprise tier: Oslo office hours 08-16 Mon-Fri; first reply 4 h, resolution 16 h."""
    now = oslo(2026, 1, 1, 0, 0)
    calendar = calendar_create(by=mona, name="Oslo office", time_zone="Europe/Oslo", now=now)
    policy = sla_policy_create(
        by=mona, name="Enterprise", now=now,
        metrics={
            "first_reply": {"targets": {"p1": HOUR, "p3": 4 * HOUR}, "warn_at_fraction": 0.75},
            "total_resolution": {"targets": {"p1": 8 * HOUR, "p3": 16 * HOUR}},
        },
    )  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=now)
    return policy


@pytest.fixture(autouse=True)
def _gina_in_support(gina, support):
    """Gina takes cases in for Support."""


def customer_case(account, contact, by, now):
    return make_case(account=account, by=by, requester=contact, opened_by_customer=True,
                     now=now, department=by.department)  # fmt: skip


def cycle(case, metric: str, index: int = 0) -> MetricCycle:
    return MetricCycle.objects.get(case=case, metric=metric, cycle_index=index)


def test_it_meets_the_first_reply_target_in_business_hours(office_sla, acme, acme_contact, gina):
    opened = oslo(2026, 3, 2, 9, 0)  # a Monday
    case = customer_case(acme, acme_contact, gina, opened)
    frt = cycle(case, "first_reply")
    assert (frt.state, frt.due_at) == ("running", oslo(2026, 3, 2, 13, 0))
    case_reply(case=case, by=gina, body="On it", now=opened + timedelta(hours=2),
               expected_version=case.version)  # fmt: skip
    frt = cycle(case, "first_reply")
    assert (frt.state, frt.elapsed_business_seconds, frt.fulfilled_by) == ("met", 2 * HOUR, "reply")


def test_it_breaches_across_a_weekend_at_the_right_instant(office_sla, acme, acme_contact, gina):
    opened = oslo(2026, 3, 6, 15, 0)  # a Friday, one business hour left
    case = customer_case(acme, acme_contact, gina, opened)
    assert cycle(case, "first_reply").due_at == oslo(2026, 3, 9, 11, 0)
    case_reply(case=case, by=gina, body="Sorry", now=oslo(2026, 3, 9, 12, 0),
               expected_version=case.version)  # fmt: skip
    frt = cycle(case, "first_reply")
    assert (frt.state, frt.breached_at, frt.elapsed_business_seconds) == (
        "breached_met",
        oslo(2026, 3, 9, 11, 0),
        5 * HOUR,
    )


def test_it_pauses_nothing_on_total_resolution_while_waiting(office_sla, acme, acme_contact, gina):
    opened = oslo(2026, 3, 2, 9, 0)
    case = customer_case(acme, acme_contact, gina, opened)
    case_reply(case=case, by=gina, body="Which version?", now=oslo(2026, 3, 2, 10, 0),
               expected_version=1, then_status="waiting_on_customer")  # fmt: skip
    case_reply(case=case, by=gina, as_contact=acme_contact, body="7", now=oslo(2026, 3, 3, 10, 0),
               expected_version=2)  # fmt: skip
    case_change_status(case=case, by=gina, to="solved", now=oslo(2026, 3, 3, 12, 0),
                       expected_version=3)  # fmt: skip
    trt = cycle(case, "total_resolution")
    # TRT runs while waiting (Zendesk's default), so 1 h + 6 h + 4 h of office time.
    assert (trt.state, trt.elapsed_business_seconds, trt.paused_business_seconds) == (
        "met",
        11 * HOUR,
        0,
    )


def test_it_gives_no_clocks_without_a_policy(acme, mona):
    case = make_case(account=acme, by=mona)
    assert not MetricCycle.objects.filter(case=case).exists()


def test_it_rejects_an_unknown_metric_or_priority(mona):
    with pytest.raises(ValidationError):
        sla_policy_create(by=mona, name="Bad", now=oslo(2026, 1, 1),
                          metrics={"time_to_coffee": {"targets": {"p1": 60}}})  # fmt: skip
    with pytest.raises(ValidationError):
        sla_policy_create(by=mona, name="Bad", now=oslo(2026, 1, 1),
                          metrics={"first_reply": {"targets": {"urgent": 60}}})  # fmt: skip


def test_it_stores_public_holidays_as_explicit_dates(mona):
    calendar = calendar_create(by=mona, name="Norway", time_zone="Europe/Oslo",
                               now=oslo(2026, 1, 1), holiday_country="NO",
                               holiday_years=(2025, 2026))  # fmt: skip
    version = calendar.versions.get()
    assert "2026-05-17" in version.holidays and "2025-12-25" in version.holidays
    assert version.coverage == [2025, 2026]
    assert version.holiday_source["country"] == "NO" and version.holiday_source["package_version"]


def test_it_sweeps_a_due_breach_exactly_once(office_sla, acme, acme_contact, gina):
    opened = oslo(2026, 3, 2, 9, 0)
    case = customer_case(acme, acme_contact, gina, opened)
    assert sla_sweep(now=oslo(2026, 3, 2, 11, 0)) == 0
    assert sla_sweep(now=oslo(2026, 3, 2, 12, 5)) == 1  # warning at 75 % of 4 h
    assert sla_sweep(now=oslo(2026, 3, 2, 13, 1)) == 1  # breach at 13:00
    assert sla_sweep(now=oslo(2026, 3, 2, 13, 2)) == 0
    sla_recompute(now=oslo(2026, 3, 2, 13, 3), cases=[case.pk])
    assert sla_sweep(now=oslo(2026, 3, 2, 13, 4)) == 0, "a recompute keeps the alert flags"
    kinds = sorted(SlaAlert.objects.values_list("kind", "metric"))
    assert kinds == [("breach", "first_reply"), ("warning", "first_reply")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one worker")
def test_it_records_each_breach_once_with_two_workers(office_sla, acme, acme_contact, gina):
    opened = oslo(2026, 3, 2, 9, 0)
    cases = [customer_case(acme, acme_contact, gina, opened + timedelta(minutes=i))
             for i in range(20)]  # fmt: skip
    results: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(sla_sweep(now=oslo(2026, 3, 3, 9, 0)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each case: one first-reply breach; total resolution (16 h) is not due yet.
    assert sum(results) == SlaAlert.objects.count() == len(cases)


def test_it_recomputes_from_the_command_line(office_sla, acme, acme_contact, gina):
    customer_case(acme, acme_contact, gina, oslo(2026, 3, 2, 9, 0))
    MetricCycle.objects.all().delete()
    out = StringIO()
    call_command("sla", "recompute", stdout=out)
    assert "1 cases, 2 metric cycles" in out.getvalue()
    assert MetricCycle.objects.count() == 2


def test_it_shows_the_cycles_in_the_admin(client, adam, office_sla, acme, acme_contact):
    case = customer_case(acme, acme_contact, adam, oslo(2026, 3, 2, 9, 0))
    client.force_login(adam)
    page = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "First reply" in page and "Total resolution time" in page


def test_it_says_when_a_calendars_holidays_do_not_reach_now(mona, acme, acme_contact, gina):
    calendar = calendar_create(by=mona, name="Old Norway", time_zone="Europe/Oslo",
                               now=oslo(2020, 1, 1), holiday_country="NO",
                               holiday_years=(2019, 2020))  # fmt: skip
    policy = sla_policy_create(by=mona, name="P", now=oslo(2020, 1, 1),
                               metrics={"first_reply": {"targets": {"p3": HOUR}}})  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=oslo(2020, 1, 1))
    # Case work goes on: the clocks just are not updated.
    case = customer_case(acme, acme_contact, gina, oslo(2026, 3, 2, 9, 0))
    assert case.pk and not MetricCycle.objects.filter(case=case).exists()
    with pytest.raises(CommandError, match="Old Norway: its public holidays do not cover"):
        call_command("sla", "recompute", stdout=StringIO())
