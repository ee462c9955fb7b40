"""Health, KPIs, expectations and attention items over the API: what the pages show, with the
same scoping, and the items' actions through the same services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kontosjef.attention.models import AttentionItem
from tests.api.conftest import error_code
from tests.attention.conftest import clock, first_reply_sla, items, lonely  # noqa: F401
from tests.attention.items import LATER, NOW, frt

pytestmark = pytest.mark.usefixtures("items", "clock")


def test_it_reads_an_accounts_health_kpis_and_expectations(api_as, alice, acme):
    client = api_as(alice, scope="read")
    health = client.get(f"/accounts/{acme.pk}/health")
    assert health.status_code == 200, health.content
    body = health.json()
    assert body["on"] == NOW.date().isoformat(), body
    assert (
        body["score"] is not None and body["score"] < 100 and body["band"] in ("healthy", "watch")
    )
    frt_row = next(c for c in body["contributions"] if c["code"] == "frt_attainment_30d")
    assert (frt_row["value"], frt_row["is_met"], frt_row["samples"]) == (0.0, False, 1)
    assert [t["days"] for t in body["trends"]] == [30, 90, 365]
    kpis = client.get(f"/accounts/{acme.pk}/kpis").json()
    assert kpis["windows"]["30"]["frt_attainment"] == 0.0
    expectations = client.get(f"/accounts/{acme.pk}/expectations").json()
    assert {"frt_attainment_30d", "p1_breaches_30d"} <= {e["code"] for e in expectations}
    history = client.get(f"/accounts/{acme.pk}/health/history").json()
    assert [d["on"] for d in history["days"]] == [NOW.date().isoformat()]


def test_it_hides_another_portfolios_health_and_items(api_as, bob, gina, acme):
    item = frt(acme)
    for user in (bob, gina):
        client = api_as(user)
        assert client.get(f"/accounts/{acme.pk}/health").status_code == 404
        assert client.get(f"/attention-items/{item.pk}").status_code == 404
        assert client.post(f"/attention-items/{item.pk}/acknowledge").status_code == 404
    assert [i["id"] for i in api_as(bob).get("/attention-items").json()["items"]] != [item.pk]
    assert api_as(gina).get("/attention-items").json()["items"] == []


def test_it_lists_the_callers_inbox_and_acts_on_an_item(api_as, alice, acme):
    client = api_as(alice)
    page = client.get("/attention-items")
    assert page.status_code == 200
    ids = [i["id"] for i in page.json()["items"]]
    item = frt(acme)
    assert item.pk in ids
    detail = client.get(f"/attention-items/{item.pk}").json()
    assert detail["evidence"]["basis"] == "breached" and detail["history"][0]["kind"] == "opened"
    assert client.post(f"/attention-items/{item.pk}/acknowledge").json()["state"] == "acknowledged"
    until = (LATER + timedelta(days=2)).isoformat()
    snoozed = client.post(f"/attention-items/{item.pk}/snooze", {"until": until})
    assert snoozed.status_code == 200 and snoozed.json()["snoozed_until"] is not None
    assert item.pk not in [i["id"] for i in client.get("/attention-items").json()["items"]]
    assert item.pk in [
        i["id"] for i in client.get("/attention-items", show="snoozed").json()["items"]
    ]
    comment = client.post(f"/attention-items/{item.pk}/comments", {"body": "Called them"})
    assert comment.status_code == 201
    resolved = client.post(
        f"/attention-items/{item.pk}/resolve", {"outcome": "fixed", "comment": "Rota fixed"}
    )
    assert resolved.status_code == 200
    assert (resolved.json()["state"], resolved.json()["outcome"]) == ("resolved", "fixed")
    assert [e["kind"] for e in resolved.json()["history"]][-2:] == ["commented", "resolved"]
    closed = client.get("/attention-items", show="closed").json()["items"]
    assert [i["id"] for i in closed] == [item.pk]


def test_it_refuses_bad_or_forbidden_actions_with_a_message(api_as, alice, vera, acme):
    item = frt(acme)
    bad = api_as(alice).post(f"/attention-items/{item.pk}/resolve", {"outcome": "cleared",
                                                                     "comment": "x"})  # fmt: skip
    assert bad.status_code == 422 and error_code(bad) == "invalid"
    past = api_as(alice).post(f"/attention-items/{item.pk}/snooze",
                              {"until": (LATER - timedelta(days=1)).isoformat()})  # fmt: skip
    assert past.status_code == 422
    read_only = api_as(alice, scope="read").post(f"/attention-items/{item.pk}/acknowledge")
    assert read_only.status_code == 403
    viewer = api_as(vera).post(f"/attention-items/{item.pk}/acknowledge")
    assert viewer.status_code == 403
    assert AttentionItem.objects.get(pk=item.pk).state == "open"


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_items_in_a_constant_number_of_queries(api_as, mona, n, django_assert_num_queries):
    from tests.attention.items import late_reply
    from tests.factories import make_account

    for k in range(n):
        late_reply(make_account(name=f"Extra {n}-{k}", by=mona), mona, days_ago=2)
    from kontosjef.attention.services import health_refresh

    health_refresh(now=NOW)
    client = api_as(mona)
    # token lookup, token touch, the page
    with django_assert_num_queries(3):
        response = client.get("/attention-items", queue="all", limit=200)
    assert len(response.json()["items"]) >= n
