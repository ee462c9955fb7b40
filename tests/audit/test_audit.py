"""Every service write leaves an audit entry: who, what, when, before and after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from kontosjef.accounts.services import account_assign_tam, account_update
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.services import case_change_priority, case_hand_off
from tests.factories import T0, make_case


def last_entry() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry is not None
    return entry


def test_it_records_a_priority_change_with_before_and_after(acme, alice):
    case = make_case(account=acme, by=alice)
    at = T0 + timedelta(hours=2)
    case_change_priority(case=case, by=alice, to="p1", now=at, expected_version=1)
    entry = last_entry()
    assert (entry.actor, entry.action, entry.at, entry.object_id) == (
        alice,
        "case.priority",
        at,
        str(case.pk),
    )
    assert (entry.before["priority"], entry.after["priority"]) == ("p3", "p1")
    assert (entry.before["version"], entry.after["version"]) == (1, 2)


def test_it_records_a_hand_off(acme, mona, support, erik):
    case = make_case(account=acme, by=mona, department=support)
    case_hand_off(case=case, by=mona, assignee=erik, reason="Bug", now=T0, expected_version=1)
    entry = last_entry()
    assert (entry.action, entry.before["department"], entry.after["assignee"]) == (
        "case.handoff",
        support.pk,
        erik.pk,
    )


def test_it_records_a_tam_assignment_and_an_account_change(acme, mona, alice, bob):
    account_assign_tam(account=acme, tam=bob, by=mona, reason="Alice is on leave", now=T0)
    entry = last_entry()
    assert (entry.action, entry.before, entry.after) == (
        "account.assign_tam",
        {"tam": alice.pk},
        {"tam": bob.pk, "reason": "Alice is on leave"},
    )
    account_update(account=acme, by=mona, now=T0, tier="strategic")
    entry = last_entry()
    assert (entry.action, entry.before["tier"], entry.after["tier"]) == (
        "account.update",
        "enterprise",
        "strategic",
    )


def test_it_records_the_creation_of_people_accounts_and_cases(acme, mona, acme_contact):
    make_case(account=acme, by=mona)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "user.create",
        "account.create",
        "account.assign_tam",
        "contact.create",
        "case.open",
    } <= actions


def test_it_writes_no_audit_entry_when_a_write_fails(acme, mona):
    case = make_case(account=acme, by=mona)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        case_change_priority(case=case, by=mona, to="p3", now=T0, expected_version=1)
    assert AuditEntry.objects.count() == before
