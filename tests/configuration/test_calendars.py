"""Calendars: list, a new version from a date, extending public holidays, and the clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import Calendar, CalendarVersion, MetricCycle
from kontosjef.cases.services import (
    calendar_create,
    calendar_extend_holidays,
    calendar_update,
    calendar_versions,
    sla_policy_create,
    tier_sla_set,
)
from kontosjef.cases.sla import calendar_to_engine
from tests.configuration.conftest import HOUR, NOW, SET_UP, oslo
from tests.factories import make_case
from tests.pages import assert_no_inline_script


def customer_case(account, contact, by, now):
    return make_case(account=account, by=by, requester=contact, opened_by_customer=True, now=now)


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def form(**changes: str) -> dict[str, str]:
    data = {
        "valid_from_on": "2026-03-02", "time_zone": "Europe/Oslo", "holiday_country": "NO",
        "holiday_subdiv": "", "holiday_first_year": "2026", "holiday_last_year": "2027",
        "extra_holidays": "",
        **{day: "08:00–16:00" for day in WEEKDAYS[:5]}, "sat": "", "sun": "",
    }  # fmt: skip
    return data | changes


def test_it_lists_calendars_with_their_hours_holidays_and_users(
    client, mona, office, enterprise_sla, acme, frozen
):
    client.force_login(mona)
    html = client.get(reverse("configuration_calendars")).content.decode()
    assert "Oslo office" in html and "Europe/Oslo" in html
    assert "08:00–16:00" in html and "2025–2027" in html
    assert "Enterprise" in html  # the tier that uses it
    assert_no_inline_script(html)


def test_it_lists_calendars_in_the_same_number_of_queries_for_3_and_30(
    client, mona, django_assert_num_queries
):
    client.force_login(mona)
    url = reverse("configuration_calendars")

    def make(n: int) -> None:
        for i in range(Calendar.objects.count(), n):
            calendar_create(by=mona, name=f"Calendar {i}", time_zone="Europe/Oslo", now=SET_UP)

    make(3)
    client.get(url)  # warm the session and caches
    with django_assert_num_queries(8) as three:
        assert client.get(url).status_code == 200
    make(30)
    with django_assert_num_queries(len(three.captured_queries)):
        assert client.get(url).status_code == 200


def test_it_writes_a_new_version_from_the_chosen_day_and_audits_it(client, mona, office, frozen):
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[office.pk])
    data = form(mon="08:00–11:30, 12:00–16:00", fri="08:00–14:00", valid_from_on="2026-03-09",
                extra_holidays="2026-12-24\n2026-12-31")  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == url
    first, second = calendar_versions(office)
    assert first.valid_from is None  # history stays
    assert second.valid_from == oslo(2026, 3, 9)
    assert second.weekly[0] == [[8 * HOUR, 11 * HOUR + 1800], [12 * HOUR, 16 * HOUR]]
    assert second.weekly[4] == [[8 * HOUR, 14 * HOUR]]
    assert second.coverage == [2026, 2027]
    assert "2026-05-17" in second.holidays  # Norway's constitution day, from the package
    assert "2026-12-24" in second.holidays and "2026-12-31" in second.holidays
    entry = AuditEntry.objects.get(action="calendar.update")
    assert entry.actor == mona and entry.object_id == str(office.pk)
    assert entry.after["extra_holidays"] == ["2026-12-24", "2026-12-31"]
    page = client.get(url).content.decode()
    assert "A new version of “Oslo office” is in force from 2026-03-09." in page
    assert "08:00–11:30, 12:00–16:00" in page
    # The engine takes both versions (PostgreSQL sorts the first, NULL, start last).
    assert len(calendar_to_engine(Calendar.objects.get(pk=office.pk)).versions) == 2


def test_it_recomputes_the_clocks_of_open_cases_on_the_calendar(
    client, mona, alice, acme, acme_contact, office, enterprise_sla, frozen
):
    case = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    clock = MetricCycle.objects.get(case=case, metric="first_reply")
    assert clock.due_at == oslo(2026, 3, 2, 13, 0)  # 4 business hours
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[office.pk])
    response = client.post(url, form(mon="08:00–10:00"), follow=True)
    assert "The SLA clocks of 1 case were recomputed." in response.content.decode()
    clock = MetricCycle.objects.get(case=case, metric="first_reply")
    # One hour on Monday until 10:00, three on Tuesday from 08:00.
    assert clock.due_at == oslo(2026, 3, 3, 11, 0)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tue": "16:00–08:00"}, "tue", "ends before it starts"),
        ({"wed": "8 to 4"}, "wed", "Write hours as start–end"),
        ({"thu": "08:00–25:00"}, "thu", "is not a time of day"),
        ({"valid_from_on": "2026-03-01"}, "valid_from_on", "cannot start in the past"),
        ({"holiday_country": "XX"}, "holiday_country", "Select a valid choice"),
        ({"holiday_subdiv": "ZZ"}, "holiday_subdiv", "is not a subdivision of NO"),
        ({"holiday_first_year": "2027"}, "holiday_last_year", "must include 2026"),
        ({"holiday_first_year": "2028"}, "holiday_last_year", "before the first"),
        ({"extra_holidays": "24.12.2026"}, "extra_holidays", "is not a date"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
    ],
)
def test_it_shows_what_is_wrong_and_writes_nothing(
    client, mona, office, frozen, changes, field, message
):
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[office.pk])
    response = client.post(url, form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    html = response.content.decode()
    assert "Nothing was saved" in html and 'aria-invalid="true"' in html
    assert CalendarVersion.objects.filter(calendar=office).count() == 1
    assert not AuditEntry.objects.filter(action="calendar.update").exists()


def test_it_refuses_a_second_version_on_the_same_day(mona, office):
    weekly = [[[8 * HOUR, 16 * HOUR]]] * 5 + [[], []]
    kwargs = dict(calendar=office, by=mona, now=NOW, time_zone="Europe/Oslo", weekly=weekly)
    calendar_update(valid_from_on=date(2026, 3, 9), **kwargs)
    with pytest.raises(ValidationError, match="a new version must start later"):
        calendar_update(valid_from_on=date(2026, 3, 9), **kwargs)


def test_it_lets_only_managers_change_a_calendar(alice, office):
    with pytest.raises(PermissionDenied):
        calendar_update(calendar=office, by=alice, now=NOW, valid_from_on=date(2026, 3, 9),
                        time_zone="Europe/Oslo", weekly=[[]] * 7)  # fmt: skip
    with pytest.raises(PermissionDenied):
        calendar_extend_holidays(calendar=office, by=alice, now=NOW, to_year=2030)


@pytest.fixture
def old_norway(mona, acme):
    """Holidays stored for 2024–2025 only: this calendar cannot measure 2026."""
    calendar = calendar_create(by=mona, name="Old Norway", time_zone="Europe/Oslo", now=SET_UP,
                               holiday_country="NO", holiday_years=(2024, 2025))  # fmt: skip
    policy = sla_policy_create(by=mona, name="P", now=SET_UP,
                               metrics={"first_reply": {"targets": {"p3": HOUR}}})  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=SET_UP)
    return calendar


def test_it_extends_the_holidays_of_a_calendar_that_ended_and_measures_again(
    client, mona, alice, acme, acme_contact, old_norway, frozen
):
    case = customer_case(acme, acme_contact, alice, oslo(2026, 3, 2, 9, 0))
    assert not MetricCycle.objects.filter(case=case).exists()
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[old_norway.pk])
    page = client.get(url).content.decode()
    assert "Public holidays are stored only up to 2025" in page
    assert "cannot measure new events" in client.get(reverse("configuration")).content.decode()

    extend = reverse("configuration_calendar_extend", args=[old_norway.pk])
    response = client.post(extend, {"to_year": "2027"}, follow=True)
    html = response.content.decode()
    assert "now stored up to 2027" in html and "The SLA clocks of 1 case were recomputed" in html
    (version,) = calendar_versions(old_norway)
    assert version.coverage == [2024, 2027]
    assert "2026-05-17" in version.holidays and "2025-05-17" in version.holidays
    assert [e["years"] for e in version.holiday_source["extensions"]] == [[2026, 2027]]
    entry = AuditEntry.objects.get(action="calendar.extend_holidays")
    assert entry.before["coverage"] == {str(version.pk): [2024, 2025]}
    assert MetricCycle.objects.filter(case=case, metric="first_reply").exists()
    assert "Public holidays are stored only up to" not in html


def test_it_extends_earlier_versions_only_up_to_where_the_next_one_starts(mona, old_norway):
    weekly = [[[8 * HOUR, 16 * HOUR]]] * 5 + [[], []]
    now = datetime(2025, 6, 2, 10, tzinfo=UTC)
    calendar_update(calendar=old_norway, by=mona, now=now, valid_from_on=date(2026, 1, 5),
                    time_zone="Europe/Oslo", weekly=weekly, holiday_country="NO",
                    holiday_years=(2026, 2026))  # fmt: skip
    calendar_extend_holidays(calendar=old_norway, by=mona, now=NOW, to_year=2028)
    first, second = calendar_versions(old_norway)
    assert first.coverage == [2024, 2026] and second.coverage == [2026, 2028]


def test_it_does_not_extend_to_a_year_already_stored(client, mona, office, frozen):
    client.force_login(mona)
    extend = reverse("configuration_calendar_extend", args=[office.pk])
    response = client.post(extend, {"to_year": "2026"})
    assert response.status_code == 200
    assert "already stored up to 2027" in response.content.decode()
    assert not AuditEntry.objects.filter(action="calendar.extend_holidays").exists()


def test_it_suggests_the_day_after_the_latest_version_for_the_next_one(
    client, mona, office, frozen
):
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[office.pk])
    assert client.get(url).context["form"].initial["valid_from_on"] == date(2026, 3, 2)
    client.post(url, form(fri="08:00–14:00"))
    assert client.get(url).context["form"].initial["valid_from_on"] == date(2026, 3, 3)
    response = client.post(url, form(fri="08:00–12:00", valid_from_on="2026-03-03"))
    assert response.status_code == 302
