"""The handling review of an account: its figures, its page, its API endpoint and who may see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kontosjef.accounts.models import Account
from kontosjef.cases.handling import Window, handling_review
from kontosjef.cases.services import case_change_status, case_hand_off, case_reply
from tests.factories import T0, make_account, make_case

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
WINDOW = Window(start=T0 - timedelta(days=1), end=T0 + timedelta(days=2))
QUERY = {"as_of": (T0 + timedelta(days=1)).date().isoformat(), "days": 30}


def ping_pong_case(account, mona, support, engineering, gina, erik, start=T0):
    """Support → engineering → support, solved after five hours (24×7: no calendar is set)."""
    case = make_case(account=account, by=mona, department=support, now=start)
    case_hand_off(case=case, by=gina, reason="Needs a fix in the exporter", now=start + H,
                  expected_version=case.version, department=engineering, assignee=erik)  # fmt: skip
    case_reply(case=case, by=erik, body="Working on it.", now=start + 3 * H,
               expected_version=case.version)  # fmt: skip
    case_hand_off(case=case, by=erik, reason="Fixed; back to support", now=start + 4 * H,
                  expected_version=case.version, department=support, assignee=gina)  # fmt: skip
    case_change_status(case=case, by=gina, to="solved", now=start + 5 * H,
                       expected_version=case.version)  # fmt: skip
    return case


@pytest.fixture
def acme_ping_pong(acme, mona, support, engineering, gina, erik):
    return ping_pong_case(acme, mona, support, engineering, gina, erik)


def test_it_reviews_who_held_the_case_and_how_it_moved(alice, acme, acme_ping_pong):
    review = handling_review(alice, acme, WINDOW)
    assert review.cases == 1
    assert review.handoffs == 2
    assert review.department_returns == 1
    assert review.resolved == 1
    held = {d.name: (d.open_seconds, round(d.share, 2)) for d in review.departments}
    assert held == {"Support": (2 * 3600, 0.4), "Engineering": (3 * 3600, 0.6)}
    people = {p.name: p.open_seconds for p in review.people}
    assert people == {"Nobody": 3600, "Erik": 3 * 3600, "Gina": 3600}
    routes = {(r.from_department, r.to_department): r for r in review.handoff_routes}
    assert routes["Support", "Engineering"].reasons == [("Needs a fix in the exporter", 1)]
    assert routes["Support", "Engineering"].reply_median_seconds == 2 * 3600
    assert routes["Engineering", "Support"].returns == 1
    assert [(v.path, v.cases, v.resolved) for v in review.variants] == [
        (["Support", "Engineering", "Support"], 1, 1)
    ]
    assert [c.id for c in review.top_cases] == [acme_ping_pong.pk]


def test_it_ranks_the_account_against_its_tier(
    alice, mona, acme, acme_ping_pong, support, engineering, gina, erik
):
    # Three quiet accounts of Acme's tier: each case is solved in first line within an hour.
    for i in range(3):
        other = make_account(name=f"Quiet {i}", by=mona, tier=acme.tier)
        for k in range(3):
            case = make_case(account=other, by=mona, department=support, now=T0 + k * H)
            case_change_status(case=case, by=gina, to="solved", now=T0 + k * H + H / 2,
                               expected_version=case.version)  # fmt: skip
    review = handling_review(alice, acme, WINDOW)
    assert review.peers == 4
    top = review.top_findings[0]
    assert top.percentile == pytest.approx(100 * 3.5 / 4)
    assert top.is_unusual
    keys = {f.key for f in review.top_findings}
    assert {"handoffs_per_case", "ping_pong_share"} <= keys
    handoffs = next(f for f in review.findings if f.key == "handoffs_per_case")
    assert handoffs.text == "2.00 hand-offs per case (tier norm 0.00, 88th percentile)"


def test_it_reads_the_same_number_of_queries_for_3_and_30_cases(
    alice, mona, acme, support, engineering, gina, erik
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            handling_review(alice, acme, Window(T0 - timedelta(days=1), T0 + timedelta(days=40)))
        return len(queries)

    for k in range(3):
        ping_pong_case(acme, mona, support, engineering, gina, erik, start=T0 + k * 24 * H)
    few = count()
    for k in range(3, 30):
        ping_pong_case(acme, mona, support, engineering, gina, erik, start=T0 + k * 24 * H)
    assert count() == few


def test_it_refuses_a_tam_of_another_portfolio_and_an_agent(bob, gina, acme, acme_ping_pong):
    with pytest.raises(Account.DoesNotExist):
        handling_review(bob, acme, WINDOW)
    with pytest.raises(PermissionDenied):
        handling_review(gina, acme, WINDOW)


def test_it_shows_the_review_page_linked_from_the_account_page(client, alice, acme, acme_ping_pong):
    client.force_login(alice)
    account_page = client.get(f"/accounts/{acme.pk}/")
    assert f'href="/accounts/{acme.pk}/handling/"' in account_page.content.decode()
    page = client.get(f"/accounts/{acme.pk}/handling/", QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Time per department" in html
    assert "Support → Engineering → Support" in html
    assert "Needs a fix in the exporter" in html


def test_it_shows_the_page_in_norwegian(client, alice, acme, acme_ping_pong):
    client.force_login(alice)
    page = client.get(f"/accounts/{acme.pk}/handling/", QUERY, headers={"accept-language": "nb"})
    html = page.content.decode()
    assert "Tid per avdeling" in html


def test_it_gives_404_to_a_tam_of_another_portfolio_and_403_to_an_agent(
    client, bob, gina, acme, acme_ping_pong
):
    client.force_login(bob)
    assert client.get(f"/accounts/{acme.pk}/handling/").status_code == 404
    client.force_login(gina)
    assert client.get(f"/accounts/{acme.pk}/handling/").status_code == 403


def test_it_documents_the_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "get" in schema["paths"]["/api/v1/accounts/{account_id}/handling"]
