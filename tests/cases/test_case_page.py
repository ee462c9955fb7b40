"""The case page: history, live SLA clocks, the actions, conflicts and scoping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import CaseEvent, MetricCycle
from kontosjef.cases.services import (
    calendar_create,
    case_add_note,
    case_change_priority,
    case_change_status,
    case_hand_off,
    case_reply,
    sla_policy_create,
    tier_sla_set,
)
from tests.factories import make_case
from tests.pages import assert_no_inline_script

OSLO = ZoneInfo("Europe/Oslo")
HOUR = 3600
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=OSLO)  # a Monday, office open 08-16


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


@pytest.fixture
def office_sla(mona):
    """Enterprise tier (Acme): Oslo office hours 08-16 Mon-Fri; first reply 4 h (warn at 75 %),
    agent work 8 h (paused while waiting on the customer), total resolution 16 h."""
    now = oslo(2026, 1, 1, 0, 0)
    calendar = calendar_create(by=mona, name="Oslo office", time_zone="Europe/Oslo", now=now)
    policy = sla_policy_create(
        by=mona, name="Enterprise", now=now,
        metrics={
            "first_reply": {"targets": {"p1": HOUR, "p3": 4 * HOUR}, "warn_at_fraction": 0.75},
            "agent_work": {"targets": {"p1": 4 * HOUR, "p3": 8 * HOUR}},
            "total_resolution": {"targets": {"p1": 8 * HOUR, "p3": 16 * HOUR}},
        },
    )  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=calendar, now=now)
    return policy


@pytest.fixture
def case(office_sla, acme, acme_contact, gina, support):
    """Acme's customer wrote in on Monday 09:00; the case is in Support's queue."""
    return make_case(account=acme, by=gina, requester=acme_contact, opened_by_customer=True,
                     now=OPENED, department=support)  # fmt: skip


def page(client: Client, case, **params: str) -> str:
    response = client.get(reverse("case_detail", args=[case.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def clock_row(html: str, metric: str) -> str:
    match = re.search(rf'<tr class="clock-row[^"]*" data-metric="{metric}">(.*?)</tr>', html, re.S)
    assert match, f"no {metric} clock on the page"
    return " ".join(match.group(1).split())


def events_of(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("kind", flat=True))


# History ---------------------------------------------------------------------------------------


def test_it_shows_the_history_with_internal_notes_marked(client, mona, gina, erik, case):
    case_reply(case=case, by=gina, body="We are looking at it.", now=OPENED + timedelta(hours=1),
               expected_version=1)  # fmt: skip
    case_add_note(case=case, by=gina, body="Looks like the tax API again.",
                  now=OPENED + timedelta(hours=2), expected_version=2)  # fmt: skip
    case_change_priority(case=case, by=gina, to="p1", reason="Payroll day",
                         now=OPENED + timedelta(hours=3), expected_version=3)  # fmt: skip
    case_hand_off(case=case, by=gina, assignee=erik, reason="Needs a developer",
                  now=OPENED + timedelta(hours=4), expected_version=4)  # fmt: skip
    case_change_status(case=case, by=mona, to="solved", now=OPENED + timedelta(hours=5),
                       expected_version=5)  # fmt: skip
    client.force_login(mona)
    html = page(client, case)
    note = re.search(r'<li id="event-3" class="([^"]*)">(.*?)</li>', html, re.S)
    assert note and "internal" in note.group(1).split()
    assert "Internal note" in note.group(2) and "Looks like the tax API again." in note.group(2)
    reply = re.search(r'<li id="event-2" class="([^"]*)">(.*?)</li>', html, re.S)
    assert reply and "public" in reply.group(1).split() and "internal" not in reply.group(1)
    assert "Public reply" in reply.group(2) and "Gina" in reply.group(2) and "(Support)" in html
    assert "Wrote in and opened the case" in html and "Kari Nordmann" in html
    assert (
        "Changed the priority from <strong>P3 – normal</strong> to <strong>P1 – urgent</strong>"
        in html
    )
    assert "Payroll day" in html
    assert "Handed the case to <strong>Erik</strong> in <strong>Engineering</strong>" in html
    assert "Changed the status from <strong>New</strong> to <strong>Solved</strong>" in html
    assert html.index('id="event-1"') < html.index('id="event-6"')
    newest = page(client, case, order="newest")
    assert newest.index('id="event-6"') < newest.index('id="event-1"')


def test_it_shows_the_case_header(client, mona, case):
    client.force_login(mona)
    html = page(client, case)
    assert "<h1>" in html and "Invoices are not sent" in html
    assert 'class="badge prio-P3"' in html and "Kari Nordmann" in html and "Support" in html
    assert "Acme AS" in html
    assert_no_inline_script(html)


def test_it_pages_a_long_history(client, mona, acme):
    case = make_case(account=acme, by=mona)
    for i in range(104):
        case_add_note(case=case, by=mona, body=f"Note {i}", now=OPENED + timedelta(minutes=i),
                      expected_version=case.version)  # fmt: skip
    client.force_login(mona)
    first = page(client, case)
    assert first.count('<li id="event-') == 100 and 'id="event-100"' in first
    assert "Page 1 of 2" in first
    second = page(client, case, page="2")
    assert second.count('<li id="event-') == 5 and 'id="event-105"' in second
    newest = page(client, case, order="newest")
    assert newest.index('id="event-105"') < newest.index('id="event-104"')


# Clocks ----------------------------------------------------------------------------------------


def test_it_shows_the_remaining_business_time_of_a_running_clock(client, mona, case):
    client.force_login(mona)
    with time_machine.travel(oslo(2026, 3, 2, 11, 30), tick=False):
        row = clock_row(page(client, case), "first_reply")
    assert "clock-running" in row and "1 h 30 min left" in row


def test_it_counts_only_business_hours_overnight(
    client, mona, acme, acme_contact, gina, office_sla
):
    # Opened at 15:00 with 4 h to reply: 1 h today, so at 17:30 three business hours remain
    # (the wall clock would say 1 h 30 min), due 11:00 the next morning.
    case = make_case(account=acme, by=gina, requester=acme_contact, opened_by_customer=True,
                     now=oslo(2026, 3, 2, 15, 0), department=gina.department)  # fmt: skip
    client.force_login(mona)
    with time_machine.travel(oslo(2026, 3, 2, 17, 30), tick=False):
        row = clock_row(page(client, case), "first_reply")
    assert "3 h left" in row
    assert oslo(2026, 3, 3, 11, 0).isoformat() in row


def test_it_warns_when_a_clock_is_due_soon(client, mona, case):
    client.force_login(mona)
    with time_machine.travel(oslo(2026, 3, 2, 12, 15), tick=False):
        row = clock_row(page(client, case), "first_reply")
    assert "clock-warning" in row and "Due soon" in row and "45 min left" in row


def test_it_shows_a_breached_clock_as_overdue(client, mona, case):
    client.force_login(mona)
    with time_machine.travel(oslo(2026, 3, 2, 14, 0), tick=False):
        row = clock_row(page(client, case), "first_reply")
    assert "clock-breached" in row and "Breached, running" in row and "1 h overdue" in row


def test_it_shows_a_clock_breached_after_closing_time_as_overdue(
    client, mona, acme, acme_contact, gina, office_sla
):
    # Due 16:00; at 16:30 no business time has passed since, yet the reply is late.
    case = make_case(account=acme, by=gina, requester=acme_contact, opened_by_customer=True,
                     now=oslo(2026, 3, 2, 12, 0), department=gina.department)  # fmt: skip
    client.force_login(mona)
    with time_machine.travel(oslo(2026, 3, 2, 16, 30), tick=False):
        row = clock_row(page(client, case), "first_reply")
    assert "clock-breached" in row and "Overdue" in row and "left" not in row


def test_it_shows_a_paused_clock_while_waiting_on_the_customer(client, mona, gina, case):
    case_reply(case=case, by=gina, body="Which version?", then_status="waiting_on_customer",
               now=OPENED + timedelta(hours=1), expected_version=1)  # fmt: skip
    client.force_login(mona)
    with time_machine.travel(OPENED + timedelta(hours=5), tick=False):
        html = page(client, case)
    work = clock_row(html, "agent_work")
    assert "clock-paused" in work and "Paused" in work and "7 h left" in work
    assert "clock-met" in clock_row(html, "first_reply")
    assert "clock-running" in clock_row(html, "total_resolution")


def test_it_says_when_no_sla_applies(client, mona, acme):
    case = make_case(account=acme, by=mona)
    client.force_login(mona)
    assert "No SLA applies to this case" in page(client, case)


def test_it_refreshes_the_clocks_every_minute(client, mona, gina, case):
    client.force_login(mona)
    html = page(client, case)
    url = reverse("case_clocks", args=[case.pk])
    assert f'hx-get="{url}?seen=1"' in html and 'hx-trigger="every 60s"' in html
    with time_machine.travel(oslo(2026, 3, 2, 10, 0), tick=False):
        fragment = client.get(url, {"seen": "1"}).content.decode()
    assert "<html" not in fragment and "3 h left" in fragment
    assert "changed since you opened it" not in fragment
    case_add_note(case=case, by=gina, body="Calling them", now=OPENED + timedelta(hours=1),
                  expected_version=1)  # fmt: skip
    fragment = client.get(url, {"seen": "1"}).content.decode()
    assert "This case has changed since you opened it." in fragment


# Actions ---------------------------------------------------------------------------------------


def test_it_meets_the_first_reply_clock_with_a_reply(client, gina, case):
    client.force_login(gina)
    with time_machine.travel(oslo(2026, 3, 2, 10, 0), tick=False):
        response = client.post(
            reverse("case_reply", args=[case.pk]),
            {"reply-version": "1", "reply-body": "We are on it.", "reply-then_status": ""},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("case_detail", args=[case.pk])
        html = client.get(response["Location"]).content.decode()
    assert "Your public reply is added." in html
    row = clock_row(html, "first_reply")
    assert "clock-met" in row and "took 1 h" in row
    frt = MetricCycle.objects.get(case=case, metric="first_reply")
    assert (frt.state, frt.elapsed_business_seconds) == ("met", HOUR)


@pytest.mark.parametrize(
    ("action", "data", "kinds", "check"),
    [
        ("reply", {"body": "Try again now.", "then_status": "waiting_on_customer"},
         ["created", "reply", "status"], {"status": "waiting_on_customer"}),
        ("note", {"body": "Customer called."}, ["created", "note"], {}),
        ("status", {"to": "on_hold", "reason": "Waiting for a fix"}, ["created", "status"],
         {"status": "on_hold"}),
        ("priority", {"to": "p1", "reason": "Payroll day"}, ["created", "priority"],
         {"priority": "p1"}),
        ("handoff", {"department": "", "assignee": "erik", "reason": "Needs a developer"},
         ["created", "handoff"], {"assignee": "erik"}),
    ],
)  # fmt: skip
def test_it_performs_each_action(client, mona, erik, case, action, data, kinds, check):
    if data.get("assignee") == "erik":
        data = {**data, "assignee": str(erik.pk)}
    client.force_login(mona)
    post = {f"{action}-{key}": value for key, value in data.items()}
    with time_machine.travel(oslo(2026, 3, 2, 10, 0), tick=False):
        response = client.post(
            reverse(f"case_{action}", args=[case.pk]), {f"{action}-version": "1", **post}
        )
    assert response.status_code == 302
    assert events_of(case) == kinds
    case.refresh_from_db()
    assert case.version == 2
    for field, value in check.items():
        actual = getattr(case, field)
        assert (actual.username if field == "assignee" else actual) == value
    if action == "handoff":
        assert case.department == erik.department
    html = client.get(response["Location"]).content.decode()
    assert 'class="messages"' in html


def test_it_swaps_the_page_in_place_with_htmx(client, gina, case):
    client.force_login(gina)
    with time_machine.travel(oslo(2026, 3, 2, 10, 0), tick=False):
        response = client.post(
            reverse("case_note", args=[case.pk]),
            {"note-version": "1", "note-body": "Checked the logs."},
            headers={"HX-Request": "true"},
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="case-main"') and "<html" not in html
    assert "Checked the logs." in html and "Your internal note is added." in html
    assert 'role="status"' in html and 'value="2"' in html  # the forms now carry version 2
    assert_no_inline_script(html)


def test_it_keeps_the_text_and_writes_nothing_on_a_stale_version(client, gina, mona, case):
    case_change_priority(case=case, by=mona, to="p1", now=OPENED + timedelta(minutes=5),
                         expected_version=1)  # fmt: skip
    audits = AuditEntry.objects.count()
    client.force_login(gina)
    with time_machine.travel(oslo(2026, 3, 2, 10, 0), tick=False):
        response = client.post(
            reverse("case_reply", args=[case.pk]),
            {"reply-version": "1", "reply-body": "My careful answer", "reply-then_status": ""},
        )
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this case while you were writing" in html
    assert "your text is kept below" in html
    assert re.search(r"<textarea[^>]*>\s*My careful answer</textarea>", html)
    assert 'name="reply-version" value="2"' in html, "a second send uses the version now shown"
    assert events_of(case) == ["created", "priority"]
    assert AuditEntry.objects.count() == audits
    assert MetricCycle.objects.get(case=case, metric="first_reply").state == "running"


def test_it_shows_the_conflict_in_the_htmx_fragment(client, gina, mona, case):
    case_add_note(case=case, by=mona, body="Mine", now=OPENED + timedelta(minutes=5),
                  expected_version=1)  # fmt: skip
    client.force_login(gina)
    response = client.post(
        reverse("case_note", args=[case.pk]),
        {"note-version": "1", "note-body": "Theirs"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert "Someone else changed this case" in html and "Theirs</textarea>" in html
    assert events_of(case) == ["created", "note"]


def test_it_shows_field_errors_and_writes_nothing(client, gina, case):
    client.force_login(gina)
    response = client.post(
        reverse("case_status", args=[case.pk]),
        {"status-version": "1", "status-to": "new", "status-reason": ""},
    )
    assert response.status_code == 400
    assert "The case already has this status." in response.content.decode()
    response = client.post(
        reverse("case_reply", args=[case.pk]),
        {"reply-version": "1", "reply-body": "   ", "reply-then_status": ""},
    )
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    response = client.post(
        reverse("case_handoff", args=[case.pk]),
        {"handoff-version": "1", "handoff-department": "", "handoff-assignee": "",
         "handoff-reason": "Somebody else"},
    )  # fmt: skip
    assert "Name a department or a person to hand the case to." in response.content.decode()
    assert events_of(case) == ["created"]


def test_it_explains_a_form_without_a_version(client, gina, case):
    client.force_login(gina)
    response = client.post(reverse("case_note", args=[case.pk]), {"note-body": "Hello"})
    assert response.status_code == 400
    assert re.search(
        r'class="form-errors" role="alert">.*required', response.content.decode(), re.S
    )
    assert events_of(case) == ["created"]


def test_it_sends_an_agent_home_after_handing_a_case_out_of_their_department(
    client, gina, engineering, case
):
    client.force_login(gina)
    response = client.post(
        reverse("case_handoff", args=[case.pk]),
        {"handoff-version": "1", "handoff-department": str(engineering.pk),
         "handoff-assignee": "", "handoff-reason": "A bug"},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == reverse("home")
    assert f"Case {case.pk} is no longer in your queue." in response.content.decode()
    assert events_of(case) == ["created", "handoff"]


def test_it_offers_no_priority_or_hand_off_on_a_solved_case(client, gina, case):
    case_change_status(case=case, by=gina, to="solved", now=OPENED + timedelta(hours=1),
                       expected_version=1)  # fmt: skip
    client.force_login(gina)
    html = page(client, case)
    assert 'id="reply-form"' in html and 'id="status-form"' in html
    assert 'id="priority-form"' not in html and 'id="handoff-form"' not in html
    case_change_status(case=case, by=gina, to="closed", now=OPENED + timedelta(hours=2),
                       expected_version=2)  # fmt: skip
    html = page(client, case)
    assert "<textarea" not in html and 'id="status-form"' not in html
    assert "This case is closed" in html


# Scoping ---------------------------------------------------------------------------------------


def test_it_hides_a_case_from_an_agent_of_another_department(client, erik, case):
    client.force_login(erik)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("case_clocks", args=[case.pk])).status_code == 404
    response = client.post(reverse("case_note", args=[case.pk]),
                           {"note-version": "1", "note-body": "Sneaky"})  # fmt: skip
    assert response.status_code == 404
    assert events_of(case) == ["created"]


def test_it_lets_a_viewer_read_but_not_act(client, vera, case):
    client.force_login(vera)
    html = page(client, case)
    assert "<textarea" not in html and 'id="status-form"' not in html
    assert "You can read this case but not change it." in html
    response = client.post(reverse("case_note", args=[case.pk]),
                           {"note-version": "1", "note-body": "Viewer note"})  # fmt: skip
    assert response.status_code == 403
    assert f"You may not change case {case.pk}." in response.content.decode()
    assert events_of(case) == ["created"]


def test_it_hides_a_case_from_the_tam_of_another_portfolio(client, bob, case):
    client.force_login(bob)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("case_clocks", args=[case.pk])).status_code == 404
    for action, data in [
        ("case_priority", {"priority-version": "1", "priority-to": "p1"}),
        ("case_note", {"note-version": "1", "note-body": "Sneaky"}),
    ]:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(reverse(action, args=[case.pk]), data, headers=headers)
            assert response.status_code == 404, action
    assert events_of(case) == ["created"]


def test_it_lets_the_accounts_tam_act(client, alice, case):
    client.force_login(alice)
    assert 'id="reply-form"' in page(client, case)
    response = client.post(reverse("case_note", args=[case.pk]),
                           {"note-version": "1", "note-body": "Spoke to Kari"})  # fmt: skip
    assert response.status_code == 302 and events_of(case) == ["created", "note"]


def test_it_sends_an_anonymous_visitor_to_sign_in(client, case):
    response = client.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_refuses_a_post_without_a_csrf_token(gina, case):
    client = Client(enforce_csrf_checks=True)
    client.force_login(gina)
    response = client.post(reverse("case_note", args=[case.pk]),
                           {"note-version": "1", "note-body": "No token"})  # fmt: skip
    assert response.status_code == 403
    assert events_of(case) == ["created"]
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 5


def test_it_refuses_a_get_on_an_action(client, gina, case):
    client.force_login(gina)
    assert client.get(reverse("case_note", args=[case.pk])).status_code == 405


# Performance -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 30])
def test_it_renders_in_a_constant_number_of_queries(
    client, mona, gina, case, n, django_assert_num_queries
):
    kinds = [case_add_note, case_reply]
    for i in range(n - 1):
        write = kinds[i % 2]
        write(case=case, by=gina if i % 3 else mona, body=f"Message {i}",
              now=OPENED + timedelta(minutes=i + 1), expected_version=case.version)  # fmt: skip
    client.force_login(mona)
    with time_machine.travel(OPENED + timedelta(hours=1), tick=False):
        # session, user, case, event count, cycles, calendar versions, events, the navigation's
        # inbox count, departments and people (hand-off selects)
        with django_assert_num_queries(10):
            response = client.get(reverse("case_detail", args=[case.pk]))
    assert len(response.context["events"]) == n
