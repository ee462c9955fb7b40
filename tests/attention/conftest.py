"""Fixtures for the inbox and item page tests. `items` raises, through the real rules, an item
for Alice (Acme), one for Bob (Globex) and the managers' (Lonely AS has no TAM); `clock` stands
time at LATER for the views."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from kontosjef.accounts.models import Account
from kontosjef.attention.services import health_refresh
from kontosjef.cases.models import SlaPolicy
from kontosjef.people.models import User
from tests.attention.items import LATER, NOW, late_reply
from tests.factories import make_account, make_strict_first_reply_sla

MIN = 60


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(LATER, tick=False):
        yield


@pytest.fixture
def first_reply_sla(mona: User) -> SlaPolicy:
    """24x7 clocks; first reply within 30 minutes for every priority, on every tier."""
    return make_strict_first_reply_sla(by=mona, now=NOW)


@pytest.fixture
def lonely(mona: User) -> Account:
    return make_account(name="Lonely AS", by=mona, tier="standard")


@pytest.fixture
def items(
    first_reply_sla: SlaPolicy, mona: User, acme: Account, globex: Account, lonely: Account
) -> None:
    late_reply(acme, mona, days_ago=3)
    late_reply(globex, mona, days_ago=4)
    late_reply(lonely, mona, days_ago=5)
    health_refresh(now=NOW)
