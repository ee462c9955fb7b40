"""GET /api/v1/accounts/{id}/handling: the handling review over the API, scoped like the page."""

from __future__ import annotations

import pytest

from tests.cases.test_handling_review import QUERY, ping_pong_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_ping_pong(acme, mona, support, engineering, gina, erik):
    return ping_pong_case(acme, mona, support, engineering, gina, erik)


def test_it_answers_the_review_over_the_api(api_as, alice, bob, gina, acme, acme_ping_pong):
    response = api_as(alice).get(f"/accounts/{acme.pk}/handling", **QUERY)
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == acme.pk
    assert body["handoffs"] == 2
    assert body["department_returns"] == 1
    assert {d["name"]: d["open_seconds"] for d in body["departments"]} == {
        "Support": 7200,
        "Engineering": 10800,
    }
    assert body["variants"][0]["path"] == ["Support", "Engineering", "Support"]
    assert api_as(bob).get(f"/accounts/{acme.pk}/handling").status_code == 404
    assert api_as(gina).get(f"/accounts/{acme.pk}/handling").status_code == 403
    assert api_as(alice).get(f"/accounts/{acme.pk}/handling", days=0).status_code == 422
