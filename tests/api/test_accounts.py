"""Accounts over the API: read what the UI shows, change through the same services."""

from __future__ import annotations

import pytest

from kontosjef.accounts.models import Account
from kontosjef.audit.models import AuditEntry
from tests.api.conftest import error_code
from tests.factories import make_account, make_case


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_it_lists_accounts_by_name_with_their_tam(api_as, vera, acme, globex):
    response = api_as(vera).get("/accounts")
    assert names(response) == ["Acme AS", "Globex ASA"]
    acme_out = response.json()["items"][0]
    assert acme_out["tam"]["username"] == "alice"
    assert acme_out["tier"] == "enterprise" and acme_out["created_at"].endswith("Z")


def test_it_filters_accounts(api_as, mona, acme, globex):
    lonely = make_account(name="Initech AS", by=mona, tier="standard")
    client = api_as(mona)
    assert names(client.get("/accounts", tier="strategic")) == ["Globex ASA"]
    assert names(client.get("/accounts", has_tam="false")) == [lonely.name]
    assert names(client.get("/accounts", has_tam="true")) == ["Acme AS", "Globex ASA"]
    assert names(client.get("/accounts", tam=acme.current_tam.pk)) == ["Acme AS"]
    assert names(client.get("/accounts", q="glob")) == ["Globex ASA"]
    assert names(client.get("/accounts", status="churned")) == []


def test_it_shows_an_agent_only_the_accounts_of_their_departments_cases(
    api_as, gina, mona, acme, globex, support
):
    make_case(account=acme, by=mona, department=support)
    client = api_as(gina)
    assert names(client.get("/accounts")) == ["Acme AS"]
    assert client.get(f"/accounts/{globex.pk}").status_code == 404


def test_it_lets_a_manager_create_an_account(api_as, mona):
    response = api_as(mona).post(
        "/accounts", {"name": "Initech AS", "country": "se", "tier": "strategic"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["country"], body["tier"], body["tam"]) == (
        "Initech AS",
        "SE",
        "strategic",
        None,
    )
    assert AuditEntry.objects.filter(action="account.create", actor=mona).exists()


def test_it_refuses_a_tam_creating_an_account(api_as, alice):
    response = api_as(alice).post("/accounts", {"name": "Initech AS", "country": "SE"})
    assert response.status_code == 403
    assert not Account.objects.filter(name="Initech AS").exists()


def test_it_explains_invalid_account_fields(api_as, mona):
    response = api_as(mona).post("/accounts", {"name": "Initech", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "time_zone" in response.json()["error"]["fields"]


def test_it_lets_alice_change_her_own_account(api_as, alice, acme):
    response = api_as(alice).patch(f"/accounts/{acme.pk}", {"status": "onboarding"})
    assert response.status_code == 200
    assert response.json()["status"] == "onboarding"
    acme.refresh_from_db()
    assert acme.status == "onboarding"


def test_it_does_not_let_bob_change_alices_account(api_as, bob, acme):
    before = AuditEntry.objects.count()
    response = api_as(bob).patch(f"/accounts/{acme.pk}", {"name": "Bob's now"})
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    acme.refresh_from_db()
    assert acme.name == "Acme AS"
    assert AuditEntry.objects.count() == before + 1  # only Bob's token


def test_it_refuses_null_in_a_change(api_as, alice, acme):
    response = api_as(alice).patch(f"/accounts/{acme.pk}", {"name": None})
    assert response.status_code == 422
    assert "name" in response.json()["error"]["fields"]


def test_it_changes_nothing_for_an_empty_change(api_as, alice, acme):
    before = AuditEntry.objects.count()
    client = api_as(alice)
    response = client.patch(f"/accounts/{acme.pk}", {})
    assert response.status_code == 200
    assert AuditEntry.objects.count() == before + 1  # the token only


def test_it_lets_a_manager_hand_the_account_to_another_tam(api_as, mona, bob, acme):
    client = api_as(mona)
    response = client.post(f"/accounts/{acme.pk}/tam", {"tam": bob.pk, "reason": "Rebalance"})
    assert response.status_code == 200, response.content
    assert response.json()["tam"]["username"] == "bob"
    response = client.post(f"/accounts/{acme.pk}/tam", {"tam": None, "reason": "Leaving"})
    assert response.json()["tam"] is None


def test_it_does_not_let_a_tam_assign_tams(api_as, alice, bob, acme):
    response = api_as(alice).post(f"/accounts/{acme.pk}/tam", {"tam": bob.pk, "reason": "Mine"})
    assert response.status_code == 403


def test_it_answers_404_for_an_unknown_account(api_as, vera):
    response = api_as(vera).get("/accounts/999999")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_accounts_in_a_constant_number_of_queries(
    api_as, mona, alice, n, django_assert_num_queries
):
    for i in range(n):
        make_account(name=f"Kunde {i:02d} AS", by=mona, tam=alice)
    client = api_as(mona)
    # token (with user), token's last use, page of accounts, current TAMs prefetch
    with django_assert_num_queries(4):
        response = client.get("/accounts", limit=50)
    assert len(response.json()["items"]) == n
