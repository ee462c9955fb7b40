"""Users and departments over the API: a read-only directory."""

from __future__ import annotations

import pytest

from tests.factories import make_user


def test_it_lists_users_by_user_name(api_as, vera, alice, gina):
    items = api_as(vera).get("/users").json()["items"]
    assert [u["username"] for u in items] == ["alice", "gina", "vera"]
    gina_out = items[1]
    assert (gina_out["role"], gina_out["department"], gina_out["name"]) == (
        "agent",
        gina.department_id,
        "Gina",
    )


def test_it_filters_users(api_as, vera, alice, bob, gina, erik, support):
    client = api_as(vera)
    assert [u["username"] for u in client.get("/users", role="tam").json()["items"]] == [
        "alice",
        "bob",
    ]
    in_support = client.get("/users", department=support.pk).json()["items"]
    assert [u["username"] for u in in_support] == ["gina"]
    assert [u["username"] for u in client.get("/users", q="eri").json()["items"]] == ["erik"]


def test_it_reads_one_user_and_the_caller(api_as, vera, alice):
    client = api_as(vera)
    assert client.get(f"/users/{alice.pk}").json()["username"] == "alice"
    assert client.get("/users/me").json()["username"] == "vera"
    assert client.get("/users/999999").status_code == 404


def test_it_lists_departments(api_as, vera, support, engineering):
    client = api_as(vera)
    items = client.get("/departments").json()["items"]
    assert [d["code"] for d in items] == ["engineering", "support"]
    assert client.get(f"/departments/{support.pk}").json()["name"] == "Support"


def test_it_does_not_change_users_or_departments(api_as, adam):
    client = api_as(adam)
    assert client.post("/users", {"username": "x"}).status_code == 405
    assert client.post("/departments", {"name": "x"}).status_code == 405


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_users_in_a_constant_number_of_queries(
    api_as, vera, support, n, django_assert_num_queries
):
    for i in range(n):
        make_user(username=f"agent{i:02d}", role="agent", department=support)
    client = api_as(vera)
    with django_assert_num_queries(3):
        response = client.get("/users", limit=100)
    assert len(response.json()["items"]) == n + 1
