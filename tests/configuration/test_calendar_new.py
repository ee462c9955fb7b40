"""A new calendar from the app: split and overnight hours, public holidays by country and
subdivision, days off by hand, extra working days and closures; and its name."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from kontosjef import engine
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import Calendar
from kontosjef.cases.services import calendar_create, calendar_rename, calendar_versions
from kontosjef.cases.sla import calendar_to_engine
from tests.configuration.conftest import HOUR, NOW, oslo
from tests.pages import assert_no_inline_script

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def new_calendar(**changes: str) -> dict[str, str]:
    data = {
        "name": "Munich support", "description": "Bavarian desk", "time_zone": "Europe/Berlin",
        "holiday_country": "DE", "holiday_subdiv": "by", "holiday_first_year": "2025",
        "holiday_last_year": "2027", "extra_holidays": "2026-12-24, 2026-12-31",
        **{day: "08:00–12:00, 13:00–17:00" for day in WEEKDAYS[:5]}, "sat": "", "sun": "",
        "extra_working": "", "closures": "",
    }  # fmt: skip
    return data | changes


def test_it_suggests_office_hours_in_the_site_zone_and_holidays_from_this_year(
    client, mona, frozen
):
    client.force_login(mona)
    response = client.get(reverse("configuration_calendar_new"))
    html = response.content.decode()
    initial = response.context["form"].initial
    assert initial["time_zone"] == "Europe/Oslo" and initial["mon"] == "08:00–16:00"
    assert (initial["holiday_first_year"], initial["holiday_last_year"]) == (2026, 2027)
    assert 'name="extra_working"' in html and 'name="closures"' in html
    assert_no_inline_script(html)


def test_it_starts_the_holidays_at_the_oldest_case_of_an_imported_history(
    client, mona, alice, acme, frozen
):
    from tests.factories import make_case

    make_case(account=acme, by=alice, now=oslo(2019, 5, 6, 10, 0))
    client.force_login(mona)
    initial = client.get(reverse("configuration_calendar_new")).context["form"].initial
    assert initial["holiday_first_year"] == 2019


def test_it_creates_a_calendar_with_every_kind_of_hours_and_audits_it(client, mona, frozen):
    client.force_login(mona)
    data = new_calendar(
        sat="22:00–06:00(+1)",
        extra_working="2026-12-27 10:00–14:00",
        closures="2026-12-23 12:00–17:00\n2026-06-05 08:00–10:00, 15:00–17:00",
    )
    response = client.post(reverse("configuration_calendar_new"), data, follow=True)
    calendar = Calendar.objects.get(name="Munich support")
    assert response.redirect_chain[-1][0] == reverse("configuration_calendar", args=[calendar.pk])
    html = response.content.decode()
    assert "The calendar “Munich support” is saved." in html
    (version,) = calendar_versions(calendar)
    assert version.valid_from is None  # the first version applies from the start
    assert version.time_zone == "Europe/Berlin" and calendar.description == "Bavarian desk"
    assert version.weekly[0] == [[8 * HOUR, 12 * HOUR], [13 * HOUR, 17 * HOUR]]
    assert version.weekly[5] == [[22 * HOUR, 30 * HOUR]]  # overnight into Sunday
    assert "2026-01-06" in version.holidays  # Epiphany: Bavaria, not all of Germany
    assert "2026-12-24" in version.holidays and "2026-12-31" in version.holidays
    assert version.coverage == [2025, 2027]
    assert version.holiday_source["subdiv"] == "BY"
    assert version.extra_working == {"2026-12-27": [[10 * HOUR, 14 * HOUR]]}
    assert version.closures == [
        ["2026-06-05", 8 * HOUR, 10 * HOUR],
        ["2026-06-05", 15 * HOUR, 17 * HOUR],
        ["2026-12-23", 12 * HOUR, 17 * HOUR],
    ]
    entry = AuditEntry.objects.get(action="calendar.create")
    assert entry.actor == mona and entry.after["holiday_subdiv"] == "BY"
    # The page shows what was saved, and the engine measures it.
    assert "2026-12-27 10:00–14:00" in html and "22:00–06:00(+1)" in html
    cal = calendar_to_engine(calendar)
    table = engine.compile_calendar(
        cal, start=engine.to_instant(oslo(2026, 12, 21)), end=engine.to_instant(oslo(2026, 12, 29))
    )
    clock = engine.BusinessClock(table)
    # Wednesday 23 December closes at noon: 08:00–12:00 is left. Sunday 27th is an extra working
    # day (4 hours), after the end of Saturday's night shift (00:00–06:00; the holiday on the 26th
    # removes only the part of the shift on its own day, specs/sla.md C13).
    wed = clock.elapsed(
        engine.to_instant(oslo(2026, 12, 23)), engine.to_instant(oslo(2026, 12, 24))
    )
    sun = clock.elapsed(
        engine.to_instant(oslo(2026, 12, 27)), engine.to_instant(oslo(2026, 12, 28))
    )
    assert int(wed) == 4 * HOUR and int(sun) == (6 + 4) * HOUR


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "Oslo office"}, "name", "is already taken"),
        ({"name": ""}, "name", "required"),
        ({"mon": "", "tue": "", "wed": "", "thu": "", "fri": ""}, "__all__", "at least one"),
        ({"tue": "17:00–08:00"}, "tue", "ends before it starts"),
        ({"extra_working": "27.12.2026 10:00–14:00"}, "extra_working", "does not start with"),
        ({"extra_working": "2026-12-27"}, "extra_working", "has no hours"),
        ({"extra_working": "2026-12-27 10:00–14:00\n2026-12-27 15:00–16:00"}, "extra_working",
         "listed twice"),
        ({"extra_working": "2026-12-24 10:00–14:00"}, "extra_working", "both an extra day off"),
        ({"extra_working": "2026-12-25 10:00–14:00"}, "extra_working", "public holidays cannot"),
        ({"closures": "2026-12-23 17:00–12:00"}, "closures", "ends before it starts"),
        ({"holiday_subdiv": "ZZ"}, "holiday_subdiv", "is not a subdivision of DE"),
        ({"holiday_country": "", "holiday_subdiv": "BY"}, "holiday_subdiv", "Choose the country"),
        ({"holiday_first_year": "1990"}, "holiday_last_year", "At most 30 years"),
        ({"holiday_last_year": "2040"}, "holiday_last_year", "At most 10 years ahead"),
    ],
)  # fmt: skip
def test_it_says_what_is_wrong_and_creates_nothing(
    client, mona, office, frozen, changes, field, message
):
    client.force_login(mona)
    response = client.post(reverse("configuration_calendar_new"), new_calendar(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert "Nothing was saved" in response.content.decode()
    assert list(Calendar.objects.values_list("name", flat=True)) == ["Oslo office"]
    assert (
        not AuditEntry.objects.filter(action="calendar.create", actor=mona)
        .exclude(object_id=str(office.pk))
        .exists()
    )


def test_it_renames_a_calendar_without_touching_its_hours(client, mona, office, frozen):
    client.force_login(mona)
    url = reverse("configuration_calendar_rename", args=[office.pk])
    response = client.post(url, {"name": "Oslo desk", "description": "Main office"}, follow=True)
    assert "The calendar is now called “Oslo desk”." in response.content.decode()
    office.refresh_from_db()
    assert (office.name, office.description) == ("Oslo desk", "Main office")
    assert len(calendar_versions(office)) == 1
    entry = AuditEntry.objects.get(action="calendar.rename")
    assert entry.before["name"] == "Oslo office" and entry.after["name"] == "Oslo desk"
    taken = calendar_create(by=mona, name="Bergen", time_zone="Europe/Oslo", now=NOW)
    response = client.post(url, {"name": taken.name, "description": ""})
    assert response.status_code == 200
    assert "is already taken" in " ".join(response.context["name_form"].errors["name"])


def test_it_writes_the_first_hours_of_a_calendar_created_by_name_only(
    client, mona, alice, acme, acme_contact, frozen
):
    from kontosjef.cases.models import MetricCycle
    from kontosjef.cases.services import sla_policy_create, tier_sla_set
    from tests.factories import make_case

    calendar = Calendar.objects.create(name="Bergen office")  # as the admin writes it
    policy = sla_policy_create(by=mona, name="P", now=NOW,
                               metrics={"first_reply": {"targets": {"p3": 4 * HOUR}}})  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=None, now=NOW)
    case = make_case(account=acme, by=alice, requester=acme_contact, opened_by_customer=True,
                     now=oslo(2026, 2, 27, 15, 0))  # fmt: skip
    acme.calendar = calendar
    acme.save(update_fields=["calendar"])
    client.force_login(mona)
    url = reverse("configuration_calendar", args=[calendar.pk])
    assert "valid_from_on" not in client.get(url).context["form"].fields
    data = new_calendar(time_zone="Europe/Oslo", holiday_country="NO", holiday_subdiv="",
                        extra_holidays="", holiday_first_year="2026")  # fmt: skip
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "“Bergen office” has business hours now." in html
    assert "The SLA clocks of 1 case were recomputed." in html
    (version,) = calendar_versions(calendar)
    assert version.valid_from is None
    # Opened Friday 15:00: 2 hours on Friday, 2 on Monday from 08:00 (with the lunch break).
    clock = MetricCycle.objects.get(case=case, metric="first_reply")
    assert clock.due_at == oslo(2026, 3, 2, 10, 0) and clock.business_hours


def test_it_lets_only_managers_create_or_rename_calendars(client, alice, office):
    with pytest.raises(PermissionDenied):
        calendar_create(by=alice, name="Mine", time_zone="Europe/Oslo", now=NOW)
    with pytest.raises(PermissionDenied):
        calendar_rename(calendar=office, by=alice, now=NOW, name="Mine", description="")
    client.force_login(alice)
    assert client.post(reverse("configuration_calendar_new"), new_calendar()).status_code == 403
    assert not Calendar.objects.filter(name="Munich support").exists()
