"""Helpers for the inbox and item page tests: items raised through the real rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kontosjef.accounts.models import Account
from kontosjef.attention.models import AttentionItem
from kontosjef.cases.services import case_reply
from kontosjef.people.models import User
from tests.factories import make_case, make_contact

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LATER = NOW + timedelta(hours=1)
HTMX = {"HX-Request": "true"}


def late_reply(account: Account, by: User, *, days_ago: int = 3) -> None:
    """A customer case answered an hour late: first-reply attainment falls below target."""
    contact = make_contact(account=account, by=by, name=f"Kari {account.pk}")
    opened = NOW - timedelta(days=days_ago)
    case = make_case(account=account, by=by, requester=contact, opened_by_customer=True,
                     now=opened, subject=f"Login fails for {account.name}")  # fmt: skip
    case_reply(case=case, by=by, body="Hello", now=opened + timedelta(minutes=90),
               expected_version=case.version)  # fmt: skip


def frt(account: Account) -> AttentionItem:
    return AttentionItem.objects.get(account=account, key="expectation:frt_attainment_30d")
