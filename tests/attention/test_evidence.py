"""An item's evidence is the cases that drove its figure: the breached cases of an attainment,
the slowest cases of a median resolution time, the oldest open cases of a backlog age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.urls import reverse

from kontosjef.attention.models import AttentionItem
from kontosjef.attention.services import health_refresh
from kontosjef.cases.services import case_change_status
from tests.factories import make_answered_case, make_strict_first_reply_sla

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def solved_after(account, contact, by, *, days_ago, hours, minutes=5):
    case = make_answered_case(account=account, contact=contact, by=by,
                              opened=NOW - timedelta(days=days_ago), minutes=minutes)  # fmt: skip
    case_change_status(case=case, by=by, to="solved",
                       now=NOW - timedelta(days=days_ago) + timedelta(hours=hours),
                       expected_version=case.version)  # fmt: skip
    return case


def test_it_names_the_slowest_cases_behind_a_median_resolution_time(
    client, mona, alice, acme, acme_contact
):
    make_strict_first_reply_sla(by=mona, now=NOW - timedelta(days=60))
    quick = solved_after(acme, acme_contact, mona, days_ago=20, hours=30)
    slow = solved_after(acme, acme_contact, mona, days_ago=15, hours=90)
    slower = solved_after(acme, acme_contact, mona, days_ago=10, hours=120)
    health_refresh(now=NOW)
    item = AttentionItem.objects.get(account=acme, key="expectation:ttr_median_30d")
    assert item.value == 90 * 3600  # the median of 30, 90 and 120 hours (24×7)
    assert item.evidence["basis"] == "slowest_solved"
    assert item.evidence["cases"] == [slower.pk, slow.pk, quick.pk]
    assert item.evidence["figures"] == [120 * 3600, 90 * 3600, 30 * 3600]
    client.force_login(alice)
    html = client.get(reverse("attention_item", args=[item.pk])).content.decode()
    assert "the 3 slowest cases solved in the 30 days" in html
    assert "resolved in 120 h" in html


def test_it_names_only_the_breached_cases_of_an_attainment(mona, acme, acme_contact):
    make_strict_first_reply_sla(by=mona, now=NOW - timedelta(days=60))
    late = make_answered_case(account=acme, contact=acme_contact, by=mona,
                              opened=NOW - timedelta(days=3), minutes=90)  # fmt: skip
    make_answered_case(account=acme, contact=acme_contact, by=mona,
                       opened=NOW - timedelta(days=2), minutes=5)  # fmt: skip
    health_refresh(now=NOW)
    item = AttentionItem.objects.get(account=acme, key="expectation:frt_attainment_30d")
    assert item.value == 0.5
    assert (item.evidence["basis"], item.evidence["cases"]) == ("breached", [late.pk])
