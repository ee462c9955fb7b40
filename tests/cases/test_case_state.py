"""The case's current fields are a fold over its events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from kontosjef.cases.models import Case, CaseEvent
from kontosjef.cases.services import (
    PROJECTED_FIELDS,
    case_add_note,
    case_change_priority,
    case_change_status,
    case_hand_off,
    case_rebuild,
    case_reply,
)
from tests.factories import T0, make_case

H = timedelta(hours=1)


def projection(case: Case) -> dict[str, object]:
    return {name: getattr(case, Case._meta.get_field(name).attname) for name in PROJECTED_FIELDS}


def test_it_derives_every_field_from_the_events(
    acme, acme_contact, mona, gina, support, engineering, erik
):
    case = make_case(
        account=acme, by=mona, requester=acme_contact, opened_by_customer=True, department=support
    )
    assert (case.status, case.priority, case.department, case.version) == ("new", "p3", support, 1)
    case_reply(case=case, by=gina, body="Looking into it", now=T0 + H, expected_version=1)
    case_change_priority(case=case, by=gina, to="p2", now=T0 + 2 * H, expected_version=2)
    case_hand_off(
        case=case,
        by=gina,
        department=engineering,
        assignee=erik,
        reason="Needs a developer",
        now=T0 + 3 * H,
        expected_version=3,
    )
    case_reply(
        case=case,
        by=erik,
        body="Which version?",
        now=T0 + 4 * H,
        expected_version=4,
        then_status="waiting_on_customer",
    )
    assert case.status == "waiting_on_customer"
    case_reply(
        case=case,
        by=erik,
        as_contact=acme_contact,
        body="Version 7",
        now=T0 + 20 * H,
        expected_version=5,
    )
    assert case.status == "open", "a customer reply ends the wait"
    case_add_note(case=case, by=erik, body="Reproduced", now=T0 + 21 * H, expected_version=6)
    case_change_status(case=case, by=erik, to="solved", now=T0 + 22 * H, expected_version=7)
    assert case.solved_at == T0 + 22 * H
    case_reply(
        case=case,
        by=erik,
        as_contact=acme_contact,
        body="Broken again",
        now=T0 + 40 * H,
        expected_version=8,
    )
    assert (case.status, case.reopen_count, case.solved_at) == ("open", 1, None)
    case_change_status(case=case, by=erik, to="solved", now=T0 + 41 * H, expected_version=9)
    case_change_status(case=case, by=erik, to="closed", now=T0 + 90 * H, expected_version=10)

    stored = Case.objects.get(pk=case.pk)
    assert (stored.status, stored.priority, stored.department, stored.assignee) == (
        "closed",
        "p2",
        engineering,
        erik,
    )
    assert (stored.closed_at, stored.solved_at, stored.reopen_count) == (
        T0 + 90 * H,
        T0 + 41 * H,
        1,
    )
    assert stored.last_seq == CaseEvent.objects.filter(case=case).count() == 12
    assert projection(case_rebuild(stored)) == projection(stored)


def test_it_refuses_any_change_to_a_closed_case(acme, mona):
    case = make_case(account=acme, by=mona)
    case_change_status(case=case, by=mona, to="closed", now=T0 + H, expected_version=1)
    with pytest.raises(ValidationError, match="closed"):
        case_add_note(case=case, by=mona, body="too late", now=T0 + 2 * H, expected_version=2)
    assert case.events.count() == 2


def test_it_refuses_an_event_earlier_than_the_last_one(acme, mona):
    case = make_case(account=acme, by=mona, now=T0 + 5 * H)
    with pytest.raises(ValidationError) as info:
        case_add_note(case=case, by=mona, body="back in time", now=T0, expected_version=1)
    assert "at" in info.value.message_dict
    assert case.events.count() == 1


def test_it_names_the_field_of_invalid_input(acme, mona):
    case = make_case(account=acme, by=mona)
    with pytest.raises(ValidationError) as info:
        case_change_priority(case=case, by=mona, to="urgent!", now=T0 + H, expected_version=1)
    assert "to" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        case_reply(case=case, by=mona, body="   ", now=T0 + H, expected_version=1)
    assert "body" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        make_case(account=acme, by=mona, subject="")
    assert "subject" in info.value.message_dict
    case.refresh_from_db()
    assert (case.version, case.last_seq) == (1, 1)


def test_it_records_who_a_case_is_handed_to_and_why(acme, mona, support, engineering, erik):
    case = make_case(account=acme, by=mona, department=support)
    event = case_hand_off(
        case=case,
        by=mona,
        assignee=erik,
        reason="Stack trace points to API",
        now=T0 + H,
        expected_version=1,
    )
    assert (event.department, event.assignee, event.body) == (
        engineering,
        erik,
        "Stack trace points to API",
    )
    assert event.from_value == "Support" and "Engineering" in event.to_value
    assert (case.department, case.assignee) == (engineering, erik)


def test_it_leaves_the_case_unassigned_when_handed_to_a_department(
    acme, mona, gina, support, engineering
):
    case = make_case(account=acme, by=mona, department=support)
    case_hand_off(
        case=case,
        by=mona,
        department=support,
        assignee=gina,
        reason="Take it",
        now=T0 + H,
        expected_version=1,
    )
    case_hand_off(
        case=case, by=gina, department=engineering, reason="Bug", now=T0 + 2 * H, expected_version=2
    )
    assert (case.department, case.assignee) == (engineering, None)
