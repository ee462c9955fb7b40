"""Configuration fixtures: Oslo office hours and an enterprise policy, at a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from kontosjef.cases.models import Calendar, SlaPolicy
from kontosjef.cases.services import calendar_create, sla_policy_create, tier_sla_set
from kontosjef.people.models import User

OSLO = ZoneInfo("Europe/Oslo")
HOUR = 3600
# Monday 2 March 2026, 09:30 in Oslo: within office hours.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=OSLO)
SET_UP = datetime(2026, 1, 1, tzinfo=OSLO)


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def office(mona: User) -> Calendar:
    """Oslo office hours, 08:00–16:00 on weekdays, Norwegian public holidays 2025–2027."""
    return calendar_create(
        by=mona, name="Oslo office", time_zone="Europe/Oslo", now=SET_UP,
        holiday_country="NO", holiday_years=(2025, 2027),
    )  # fmt: skip


@pytest.fixture
def enterprise_sla(mona: User, office: Calendar) -> SlaPolicy:
    """The enterprise tier: first reply within 4 business hours (P3), 1 hour (P1)."""
    policy = sla_policy_create(
        by=mona, name="Enterprise SLA", now=SET_UP,
        metrics={"first_reply": {"targets": {"p1": HOUR, "p3": 4 * HOUR},
                                 "warn_at_fraction": 0.75}},
    )  # fmt: skip
    tier_sla_set(by=mona, tier="enterprise", policy=policy, calendar=office, now=SET_UP)
    return policy
