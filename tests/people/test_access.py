"""The role and account-scope matrix, proved through the services and the list queries."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from kontosjef.accounts.services import account_assign_tam, account_create, contact_create
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import CaseEvent
from kontosjef.cases.services import case_add_note, case_open
from kontosjef.people import access
from tests.factories import T0, make_case

EVERYONE = ["adam", "mona", "alice", "bob", "vera", "gina", "erik"]


@pytest.fixture
def people(adam, mona, alice, bob, vera, gina, erik):
    return {u.username: u for u in (adam, mona, alice, bob, vera, gina, erik)}


@pytest.fixture
def acme_support_case(acme, mona, support):
    return make_case(account=acme, by=mona, department=support)


def allowed(call) -> bool:
    before = (AuditEntry.objects.count(), CaseEvent.objects.count())
    try:
        call()
    except PermissionDenied:
        assert (AuditEntry.objects.count(), CaseEvent.objects.count()) == before, "refusal wrote"
        return False
    return True


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("adam", True),
        ("mona", True),
        ("alice", True),
        ("bob", False),
        ("vera", False),
        ("gina", False),
        ("erik", False),
    ],
)
def test_it_lets_only_the_portfolio_tam_and_managers_change_an_account(people, acme, who, expected):
    assert (
        allowed(lambda: contact_create(account=acme, by=people[who], name="Nina", now=T0))
        is expected
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("adam", True),
        ("mona", True),
        ("alice", True),
        ("bob", False),
        ("vera", False),
        ("gina", True),
        ("erik", False),
    ],
)
def test_it_lets_only_the_right_people_act_on_a_case(people, acme_support_case, who, expected):
    case = acme_support_case
    assert (
        allowed(
            lambda: case_add_note(
                case=case, by=people[who], body="n", now=T0, expected_version=case.version
            )
        )
        is expected
    )


@pytest.mark.parametrize(
    ("who", "department", "expected"),
    [
        ("alice", None, True),
        ("bob", None, False),
        ("vera", None, False),
        ("gina", "support", True),
        ("gina", "engineering", False),
        ("erik", "support", False),
    ],
)
def test_it_lets_only_the_right_people_open_a_case(
    people, acme, support, engineering, who, department, expected
):
    dept = {"support": support, "engineering": engineering, None: None}[department]
    assert (
        allowed(
            lambda: case_open(account=acme, by=people[who], subject="s", now=T0, department=dept)
        )
        is expected
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("adam", True),
        ("mona", True),
        ("alice", False),
        ("bob", False),
        ("vera", False),
        ("gina", False),
    ],
)
def test_it_lets_only_managers_assign_a_tam_or_create_an_account(people, acme, bob, who, expected):
    assert (
        allowed(
            lambda: account_assign_tam(
                account=acme, tam=bob, by=people[who], reason="Rebalance", now=T0
            )
        )
        is expected
    )
    assert (
        allowed(lambda: account_create(by=people[who], name=f"New {who}", country="NO", now=T0))
        is expected
    )


def test_it_shows_each_role_the_cases_it_may_read(
    people, acme_support_case, globex, mona, engineering
):
    globex_case = make_case(account=globex, by=mona, department=engineering)
    visible = {
        who: set(access.readable_cases(people[who]).values_list("pk", flat=True))
        for who in EVERYONE
    }
    both = {acme_support_case.pk, globex_case.pk}
    for who in ["adam", "mona", "vera"]:
        assert visible[who] == both, who
    assert visible["alice"] == {acme_support_case.pk}
    assert visible["bob"] == {globex_case.pk}
    assert visible["gina"] == {acme_support_case.pk}
    assert visible["erik"] == {globex_case.pk}


def test_it_shows_an_agent_their_departments_accounts_and_a_tam_their_portfolio(
    people, acme_support_case, globex
):
    assert list(access.readable_accounts(people["gina"])) == [acme_support_case.account]
    assert list(access.readable_accounts(people["bob"])) == [globex]
    assert list(access.actionable_accounts(people["bob"])) == [globex]
    assert list(access.actionable_accounts(people["vera"])) == []


def test_it_refuses_a_deactivated_user(people, acme_support_case):
    alice = people["alice"]
    alice.is_active = False
    alice.save()
    case = acme_support_case
    assert not allowed(
        lambda: case_add_note(case=case, by=alice, body="n", now=T0, expected_version=case.version)
    )
    assert not access.readable_cases(alice).exists()
