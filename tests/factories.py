"""Keyword-only factories that go through the real services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kontosjef.accounts.models import Account, Contact
from kontosjef.accounts.services import account_assign_tam, account_create, contact_create
from kontosjef.cases.models import Case, SlaPolicy
from kontosjef.cases.services import case_open, case_reply, sla_policy_create, tier_sla_set
from kontosjef.people.models import Department, User
from kontosjef.people.services import user_create

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PASSWORD = "a-long-test-password"


def make_user(
    *, username: str, role: str, department: Department | None = None, by: User | None = None
) -> User:
    return user_create(
        by=by,
        username=username,
        password=PASSWORD,
        role=role,
        department=department,
        now=T0,
        first_name=username.capitalize(),
    )


def make_account(
    *,
    name: str,
    by: User,
    tam: User | None = None,
    tier: str = "enterprise",
    country: str = "NO",
    time_zone: str = "Europe/Oslo",
) -> Account:
    account = account_create(
        by=by, name=name, country=country, tier=tier, time_zone=time_zone, now=T0
    )
    if tam is not None:
        account_assign_tam(account=account, tam=tam, by=by, reason="Initial assignment", now=T0)
    return account


def make_contact(*, account: Account, by: User, name: str, email: str = "") -> Contact:
    return contact_create(
        account=account,
        by=by,
        name=name,
        now=T0,
        email=email or f"{name.split()[0].lower()}@{account.name.split()[0].lower()}.example",
    )


def make_case(
    *,
    account: Account,
    by: User,
    now: datetime = T0,
    priority: str = "p3",
    subject: str = "Invoices are not sent",
    department: Department | None = None,
    requester: Contact | None = None,
    opened_by_customer: bool = False,
) -> Case:
    return case_open(
        account=account,
        by=by,
        subject=subject,
        priority=priority,
        now=now,
        department=department,
        requester=requester,
        opened_by_customer=opened_by_customer,
        description="It stopped on Monday." if opened_by_customer else "",
    )


def make_strict_first_reply_sla(*, by: User, now: datetime, minutes: int = 30) -> SlaPolicy:
    """24x7 clocks; first reply within `minutes` for every priority, on every tier."""
    policy = sla_policy_create(by=by, name="Strict", now=now, metrics={
        "first_reply": {"targets": {p: minutes * 60 for p in ("p1", "p2", "p3", "p4")},
                        "business_hours": False},
    })  # fmt: skip
    for tier in ("strategic", "enterprise", "standard"):
        tier_sla_set(by=by, tier=tier, policy=policy, calendar=None, now=now)
    return policy


def make_answered_case(
    *, account: Account, contact: Contact, by: User, opened: datetime, minutes: int, **fields: Any
) -> Case:
    """A case the customer opened at `opened`, first answered `minutes` later."""
    case = make_case(account=account, by=by, requester=contact, opened_by_customer=True,
                     now=opened, **fields)  # fmt: skip
    case_reply(case=case, by=by, body="Hello", now=opened + timedelta(minutes=minutes),
               expected_version=case.version)  # fmt: skip
    return case
