"""Changing a case over the API: append an event through the UI's services, with optimistic
concurrency; read the case's history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.cases.services import case_add_note
from tests.api.conftest import error_code
from tests.factories import T0, make_case


def append(client, case, **body):
    return client.post(f"/cases/{case.pk}/events", body)


def test_it_records_a_public_reply_and_sets_a_status_in_one_step(api_as, alice, acme_case):
    response = append(
        api_as(alice),
        acme_case,
        kind="reply",
        body="We are on it.",
        then_status="waiting_on_customer",
        expected_version=1,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [e["kind"] for e in body["events"]] == ["reply", "status"]
    assert (body["case"]["status"], body["case"]["version"]) == ("waiting_on_customer", 2)
    assert body["events"][0]["is_public"] is True


def test_it_records_a_customers_reply(api_as, alice, acme_case, acme_contact):
    response = append(
        api_as(alice),
        acme_case,
        kind="reply",
        body="Still broken",
        as_contact=acme_contact.pk,
        expected_version=1,
    )
    assert response.status_code == 201
    event = response.json()["events"][0]
    assert (event["actor_kind"], event["actor_contact"]) == ("contact", acme_contact.pk)


def test_it_adds_notes_changes_status_and_priority_and_hands_off(
    api_as, alice, acme_case, engineering, erik
):
    client = api_as(alice)
    steps = [
        {"kind": "note", "body": "Looks like the SSO certificate."},
        {"kind": "priority", "to": "p1", "reason": "Whole company locked out"},
        {"kind": "status", "to": "open"},
        {"kind": "handoff", "department": engineering.pk, "assignee": erik.pk, "reason": "SSO"},
    ]
    for version, step in enumerate(steps, start=1):
        response = append(client, acme_case, expected_version=version, **step)
        assert response.status_code == 201, (step, response.content)
    case = Case.objects.get(pk=acme_case.pk)
    assert (case.priority, case.status, case.department, case.assignee) == (
        "p1",
        "open",
        engineering,
        erik,
    )
    assert list(case.events.values_list("kind", flat=True)) == [
        "created",
        "note",
        "priority",
        "status",
        "handoff",
    ]


def test_it_answers_409_when_someone_else_changed_the_case(api_as, alice, mona, acme_case):
    case_add_note(case=acme_case, by=mona, body="first", now=T0, expected_version=1)
    response = append(api_as(alice), acme_case, kind="note", body="second", expected_version=1)
    assert response.status_code == 409
    assert error_code(response) == "conflict"
    assert "version 1" in response.json()["error"]["message"]
    assert list(acme_case.events.values_list("body", flat=True)) == ["", "first"]


def test_it_does_not_let_bob_change_a_case_of_alices_account(api_as, bob, acme_case):
    client = api_as(bob)
    before = (AuditEntry.objects.count(), CaseEvent.objects.count())
    response = append(client, acme_case, kind="note", body="mine", expected_version=1)
    # Another portfolio's case is not Bob's to see, let alone change.
    assert response.status_code == 404
    assert (AuditEntry.objects.count(), CaseEvent.objects.count()) == before


def test_it_does_not_let_an_agent_reach_another_departments_case(api_as, erik, acme_case):
    response = append(api_as(erik), acme_case, kind="note", body="x", expected_version=1)
    assert response.status_code == 404
    assert acme_case.events.count() == 1


def test_it_lets_the_departments_agent_work_the_case(api_as, gina, acme_case):
    response = append(api_as(gina), acme_case, kind="note", body="On it", expected_version=1)
    assert response.status_code == 201


def test_it_refuses_a_change_the_case_cannot_take(api_as, alice, acme_case):
    client = api_as(alice)
    assert (
        append(client, acme_case, kind="status", to="closed", expected_version=1).status_code == 201
    )
    response = append(client, acme_case, kind="note", body="late", expected_version=2)
    assert response.status_code == 422
    assert "closed" in response.json()["error"]["message"]


def test_it_explains_an_unknown_kind_and_missing_fields(api_as, alice, acme_case):
    client = api_as(alice)
    unknown = append(client, acme_case, kind="delete", expected_version=1)
    assert unknown.status_code == 422
    assert "kind" in unknown.json()["error"]["fields"]
    missing = append(client, acme_case, kind="note")
    assert missing.status_code == 422
    assert set(missing.json()["error"]["fields"]) == {"note.body", "note.expected_version"}


def test_it_refuses_a_contact_of_another_account(api_as, alice, acme_case, globex_contact):
    response = append(
        api_as(alice),
        acme_case,
        kind="reply",
        body="hi",
        as_contact=globex_contact.pk,
        expected_version=1,
    )
    assert response.status_code == 422
    assert "as_contact" in response.json()["error"]["fields"]


def test_it_lists_a_cases_events_oldest_first(api_as, vera, mona, acme_case):
    for minute in range(1, 4):
        case_add_note(
            case=acme_case,
            by=mona,
            body=f"note {minute}",
            now=T0 + timedelta(minutes=minute),
            expected_version=minute,
        )
    client = api_as(vera)
    first = client.get(f"/cases/{acme_case.pk}/events", limit=3).json()
    assert [e["seq"] for e in first["items"]] == [1, 2, 3]
    rest = client.get(f"/cases/{acme_case.pk}/events", cursor=first["next_cursor"]).json()
    assert [e["body"] for e in rest["items"]] == ["note 3"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_events_in_a_constant_number_of_queries(
    api_as, vera, mona, acme, n, django_assert_num_queries
):
    case = make_case(account=acme, by=mona)
    for i in range(1, n):
        case_add_note(
            case=case, by=mona, body="n", now=T0 + timedelta(minutes=i), expected_version=i
        )
    client = api_as(vera)
    # token (with user), token's last use, the case, page of events
    with django_assert_num_queries(4):
        response = client.get(f"/cases/{case.pk}/events", limit=100)
    assert len(response.json()["items"]) == n
