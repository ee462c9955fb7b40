"""A calendar set up on the first morning takes its country's holidays from this year; an
imported history years older is then measured, its holidays added for the missing years, instead
of the whole import failing."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import CalendarVersion, MetricCycle
from kontosjef.cases.services import calendar_create, sla_policy_create, tier_sla_set
from kontosjef.cases.sla import sla_recompute
from tests.factories import make_case

OSLO = ZoneInfo("Europe/Oslo")
TODAY = datetime(2026, 12, 7, 9, 0, tzinfo=OSLO)
# Wednesday 16 May 2012, 15:00, the day before Norway's Constitution Day (a holiday).
OLD = datetime(2012, 5, 16, 15, 0, tzinfo=OSLO)


def office(mona, **holidays):
    calendar = calendar_create(by=mona, name="Office", time_zone="Europe/Oslo", now=TODAY,
                               **holidays)  # fmt: skip
    policy = sla_policy_create(by=mona, name="Support", now=TODAY,
                               metrics={"first_reply": {"targets": {"p3": 4 * 3600}}})  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=TODAY)
    return calendar


def test_it_adds_the_missing_years_of_holidays_and_measures_the_history(mona, acme, acme_contact):
    calendar = office(mona, holiday_country="NO", holiday_years=(2026, 2027))
    case = make_case(account=acme, by=mona, requester=acme_contact, opened_by_customer=True,
                     priority="p3", now=OLD)  # fmt: skip
    sla_recompute(now=TODAY, cases=[case.pk])
    version = CalendarVersion.objects.get(calendar=calendar)
    assert version.coverage == [2012, 2027]  # stored years kept, history added
    assert "2012-05-17" in version.holidays and "2026-05-17" in version.holidays
    assert version.holiday_source["extensions"][-1]["years"] == [2012, 2025]
    # The 17th of May is off: 1 h on the 16th, then 3 h on Friday the 18th (08:00-11:00).
    cycle = MetricCycle.objects.get(case=case, metric="first_reply")
    assert cycle.due_at == datetime(2012, 5, 18, 11, 0, tzinfo=OSLO)
    entry = AuditEntry.objects.get(action="calendar.cover_history")
    assert entry.actor is None and entry.after == {"coverage": {str(version.pk): [2012, 2027]}}


def test_it_keeps_the_years_already_stored(mona, acme, acme_contact):
    calendar = office(mona, holiday_country="NO", holiday_years=(2026, 2027),
                      extra_holidays=[date(2026, 12, 24)])  # fmt: skip
    stored = set(CalendarVersion.objects.get(calendar=calendar).holidays)
    case = make_case(account=acme, by=mona, requester=acme_contact, now=OLD)
    sla_recompute(now=TODAY, cases=[case.pk])
    now_stored = set(CalendarVersion.objects.get(calendar=calendar).holidays)
    assert stored <= now_stored
    assert {d for d in now_stored if d >= "2026"} == {d for d in stored if d >= "2026"}


def test_it_changes_nothing_when_the_history_is_covered(mona, acme, acme_contact):
    office(mona, holiday_country="NO", holiday_years=(2011, 2027))
    case = make_case(account=acme, by=mona, requester=acme_contact, now=OLD)
    sla_recompute(now=TODAY, cases=[case.pk])
    assert not AuditEntry.objects.filter(action="calendar.cover_history").exists()
