"""Figures "as of" a day: a history that ended years ago is measured where it ends, not over empty
windows ending today; pages and `kontosjef health refresh --as-of/--since` say so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from kontosjef.accounts.health import data_as_of, end_of_day, health_snapshot
from kontosjef.accounts.models import HealthSnapshot, KpiSnapshot
from kontosjef.attention.models import AttentionItem
from kontosjef.attention.services import health_refresh
from kontosjef.cases.services import case_change_status
from tests.factories import make_answered_case, make_strict_first_reply_sla

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A log imported from years ago: its last event is on 2014-01-03.
OLD = datetime(2013, 12, 1, 10, 0, tzinfo=UTC)
LAST_DAY = date(2014, 1, 3)
HOUR = 3600


@pytest.fixture
def history(mona, acme, acme_contact):
    """Acme's cases from 2013: two answered late and solved, one opened on 1 Dec and still open,
    the last event on 3 January 2014."""
    make_strict_first_reply_sla(by=mona, now=OLD)
    solved = []
    for day in range(3):
        case = make_answered_case(
            account=acme, contact=acme_contact, by=mona, opened=OLD + timedelta(days=day),
            minutes=90,
        )  # fmt: skip
        solved.append(case)
    for case in solved[1:]:
        case_change_status(case=case, by=mona, to="solved",
                           now=datetime(2014, 1, 3, 15, 0, tzinfo=UTC),
                           expected_version=case.version)  # fmt: skip
    return solved[0]  # still open since 1 December 2013


def test_it_measures_an_old_history_where_it_ends(history):
    as_of = data_as_of(TODAY)
    assert as_of == end_of_day(LAST_DAY)
    # Data that is still coming in is measured now.
    assert data_as_of(datetime(2014, 1, 10, tzinfo=UTC)) == datetime(2014, 1, 10, tzinfo=UTC)


def test_it_computes_backlog_ages_as_of_the_data_end_not_today(history, mona):
    health_refresh(now=TODAY)
    snapshot = HealthSnapshot.objects.get(account=history.account)
    assert snapshot.on == LAST_DAY
    kpis = KpiSnapshot.objects.get(account=history.account, window_days=30).values
    # 24×7 (no calendar): opened 1 Dec 10:00, measured to the end of 3 Jan.
    assert kpis["backlog_count"] == 1
    assert kpis["backlog_age_max"] == (end_of_day(LAST_DAY) - OLD).total_seconds()
    # Resolution time of the cases no TRT clock measured: opening to solve on the calendar.
    assert kpis["ttr_median"] == pytest.approx(
        (datetime(2014, 1, 3, 15, 0, tzinfo=UTC) - OLD - timedelta(days=1.5)).total_seconds()
    )
    assert snapshot.score is not None and snapshot.score < 100


def test_it_raises_items_as_of_the_data_end(history):
    health_refresh(now=TODAY)
    item = AttentionItem.objects.get(account=history.account, key="expectation:backlog_age_max")
    assert item.opened_at == end_of_day(LAST_DAY)
    assert item.evidence["basis"] == "oldest_open" and item.evidence["cases"] == [history.pk]


def test_it_shows_the_portfolio_as_of_the_data_end(client, alice, history):
    health_refresh(now=TODAY)
    client.force_login(alice)
    with time_machine.travel(TODAY, tick=False):
        html = client.get(reverse("home")).content.decode()
    assert "Figures as of" in html and "3 Jan 2014" in html and "the last day with activity" in html
    row = next(r for r in client.get(reverse("home")).context["rows"])
    assert row.score is not None and row.history[-1] == row.account.health


def test_it_shows_a_chosen_past_day_and_the_way_back(client, alice, history):
    call_command("health", "refresh", "--since", "2013-12-20", stdout=StringIO())
    client.force_login(alice)
    with time_machine.travel(TODAY, tick=False):
        response = client.get(reverse("account_detail", args=[history.account.pk]),
                              {"as_of": "2013-12-25"})  # fmt: skip
    html = response.content.decode()
    assert response.context["health"].snapshot.on == date(2013, 12, 25)
    assert "Figures as of the end of" in html and "Back to the latest figures" in html


def test_it_backfills_every_day_from_the_command(history):
    out = StringIO()
    call_command("health", "refresh", "--since", "2013-12-01", stdout=out)
    days = list(HealthSnapshot.objects.filter(account=history.account).values_list("on", flat=True))
    assert len(days) == (LAST_DAY - date(2013, 12, 1)).days + 1
    assert "as of the end of 2014-01-03" in out.getvalue()
    assert "34 day(s)" in out.getvalue()
    out = StringIO()
    call_command("health", "refresh", "--as-of", "2013-12-10", stdout=out)
    assert "as of the end of 2013-12-10" in out.getvalue()


def test_it_keeps_todays_items_when_looking_at_the_past(history):
    health_refresh(now=TODAY)
    before = set(AttentionItem.objects.values_list("pk", "state"))
    health_snapshot(now=end_of_day(date(2013, 12, 10)))
    health_refresh(now=TODAY, as_of=end_of_day(date(2013, 12, 10)))
    assert set(AttentionItem.objects.values_list("pk", "state")) == before


def test_it_refuses_a_backfill_that_starts_after_it_ends(history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="comes after"):
        call_command("health", "refresh", "--since", "2014-02-01", stdout=StringIO())
