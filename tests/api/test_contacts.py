"""Contacts over the API: those of the accounts the caller may read; changed by the account's
TAM and managers only."""

from __future__ import annotations

import pytest

from kontosjef.accounts.models import Contact
from tests.factories import make_case, make_contact


def test_it_lists_and_filters_contacts(api_as, vera, acme_contact, globex_contact):
    client = api_as(vera)
    response = client.get("/contacts")
    assert [c["name"] for c in response.json()["items"]] == ["Kari Nordmann", "Ola Nordmann"]
    only_acme = client.get("/contacts", account=acme_contact.account_id).json()["items"]
    assert [c["id"] for c in only_acme] == [acme_contact.pk]
    by_email = client.get("/contacts", email=acme_contact.email.upper()).json()["items"]
    assert [c["id"] for c in by_email] == [acme_contact.pk]
    assert client.get("/contacts", q="ola").json()["items"][0]["id"] == globex_contact.pk


def test_it_hides_contacts_of_accounts_an_agent_cannot_read(
    api_as, gina, mona, support, acme_contact, globex_contact
):
    make_case(account=acme_contact.account, by=mona, department=support)
    client = api_as(gina)
    assert [c["id"] for c in client.get("/contacts").json()["items"]] == [acme_contact.pk]
    assert client.get(f"/contacts/{globex_contact.pk}").status_code == 404


def test_it_lets_alice_add_a_contact_to_her_account(api_as, alice, acme):
    response = api_as(alice).post(
        "/contacts", {"account": acme.pk, "name": "Nina Hansen", "email": "nina@acme.example"}
    )
    assert response.status_code == 201, response.content
    assert Contact.objects.get(pk=response.json()["id"]).account == acme


def test_it_does_not_let_bob_add_a_contact_to_alices_account(api_as, bob, acme):
    response = api_as(bob).post("/contacts", {"account": acme.pk, "name": "Nina Hansen"})
    # Acme is outside Bob's portfolio, so to him it is an unknown account.
    assert response.status_code == 422
    assert "account" in response.json()["error"]["fields"]
    assert not Contact.objects.filter(name="Nina Hansen").exists()


def test_it_refuses_a_contact_for_an_unknown_account(api_as, mona):
    response = api_as(mona).post("/contacts", {"account": 424242, "name": "Nina"})
    assert response.status_code == 422
    assert "account" in response.json()["error"]["fields"]


def test_it_explains_an_invalid_email(api_as, alice, acme):
    response = api_as(alice).post(
        "/contacts", {"account": acme.pk, "name": "Nina", "email": "not-an-address"}
    )
    assert response.status_code == 422
    assert "email" in response.json()["error"]["fields"]


def test_it_lets_alice_change_her_contact_but_not_bob(api_as, alice, bob, acme_contact):
    path = f"/contacts/{acme_contact.pk}"
    assert api_as(bob).patch(path, {"language": "nb"}).status_code == 404
    response = api_as(alice).patch(path, {"language": "nb", "email": "kari@acme.example"})
    assert response.status_code == 200, response.content
    acme_contact.refresh_from_db()
    assert (acme_contact.language, acme_contact.email) == ("nb", "kari@acme.example")


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_contacts_in_a_constant_number_of_queries(
    api_as, vera, mona, acme, n, django_assert_num_queries
):
    for i in range(n):
        make_contact(account=acme, by=mona, name=f"Person {i:02d}")
    client = api_as(vera)
    # token (with user), token's last use, page of contacts
    with django_assert_num_queries(3):
        response = client.get("/contacts")
    assert len(response.json()["items"]) == n
