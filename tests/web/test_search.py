"""Global search: accounts, contacts and cases the user may read, by name, e-mail, case number or
subject; a case number goes straight to the case."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_account, make_case, make_contact
from tests.pages import assert_no_inline_script


def search(client, user, q):
    client.force_login(user)
    return client.get(reverse("search"), {"q": q})


def groups(response):
    return {g["kind"]: g for g in response.context["groups"]}


def found(response, kind):
    return [str(row) for row in groups(response)[kind]["rows"]]


@pytest.fixture
def cases(acme, globex, mona, support, engineering):
    return {
        "support": make_case(account=acme, by=mona, subject="VAT report is wrong",
                             department=support),
        "engineering": make_case(account=globex, by=mona, subject="VAT export crashes",
                                 department=engineering),
    }  # fmt: skip


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("search"), {"q": "acme"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_finds_accounts_contacts_and_cases_whatever_the_case(client, mona, acme, cases):
    make_contact(account=acme, by=mona, name="Kari Nordmann", email="kari@acme.example")
    response = search(client, mona, "ACME")
    assert found(response, "accounts") == ["Acme AS"]
    assert found(response, "contacts") == ["Kari Nordmann"]  # by e-mail
    assert found(response, "cases") == []
    assert {str(c) for c in groups(search(client, mona, "vat"))["cases"]["rows"]} == {
        str(cases["support"]),
        str(cases["engineering"]),
    }
    assert found(search(client, mona, "nordMANN"), "contacts") == ["Kari Nordmann"]


def test_it_folds_norwegian_letters(client, mona):
    make_account(name="Bjørkely Bygg AS", by=mona)
    assert found(search(client, mona, "bjørkely"), "accounts") == ["Bjørkely Bygg AS"]
    assert found(search(client, mona, "BJØRKELY"), "accounts") == ["Bjørkely Bygg AS"]


def test_it_goes_straight_to_a_case_by_its_number(client, mona, cases):
    case = cases["support"]
    for q in (str(case.pk), f"#{case.pk}", f" #{case.pk} "):
        response = search(client, mona, q)
        assert response.status_code == 302
        assert response["Location"] == reverse("case_detail", args=[case.pk])


def test_it_shows_results_when_no_case_has_the_number(client, mona, cases):
    response = search(client, mona, "#999999")
    assert response.status_code == 200
    assert groups(response)["cases"]["count"] == 0


def test_it_keeps_an_agent_to_their_departments_cases(client, gina, cases, acme, globex):
    response = search(client, gina, "vat")
    assert found(response, "cases") == [str(cases["support"])]
    assert reverse("case_detail", args=[cases["engineering"].pk]) not in response.content.decode()
    # Globex has only Engineering's case: Gina cannot read the account either.
    assert found(search(client, gina, "AS"), "accounts") == ["Acme AS"]
    other = search(client, gina, f"#{cases['engineering'].pk}")
    assert other.status_code == 200 and groups(other)["cases"]["count"] == 0


def test_it_keeps_a_tam_to_their_portfolio(
    client, bob, acme, globex, acme_contact, globex_contact, cases
):
    response = search(client, bob, "a")
    assert found(response, "accounts") == ["Globex ASA"]
    assert found(response, "contacts") == ["Ola Nordmann"]
    assert found(search(client, bob, "vat"), "cases") == [str(cases["engineering"])]
    html = search(client, bob, "nordmann").content.decode()
    assert "Kari Nordmann" not in html and "Acme AS" not in html
    # Acme is Alice's: its case number finds nothing for Bob.
    other = search(client, bob, f"#{cases['support'].pk}")
    assert other.status_code == 200 and groups(other)["cases"]["count"] == 0
    response = search(client, bob, f"#{cases['engineering'].pk}")
    assert response.status_code == 302


def test_it_lets_a_viewer_find_every_account(
    client, vera, acme, globex, acme_contact, globex_contact, cases
):
    response = search(client, vera, "a")
    assert set(found(response, "accounts")) == {"Acme AS", "Globex ASA"}
    assert set(found(response, "contacts")) == {"Kari Nordmann", "Ola Nordmann"}
    assert groups(search(client, vera, "vat"))["cases"]["count"] == 2
    response = search(client, vera, f"#{cases['support'].pk}")
    assert response.status_code == 302


def test_it_caps_each_group_and_says_how_many_there_are(client, mona, acme):
    for i in range(25):
        make_case(account=acme, by=mona, subject=f"Printer {i} is offline")
    response = search(client, mona, "printer")
    assert groups(response)["cases"]["count"] == 25
    assert len(groups(response)["cases"]["rows"]) == 20
    assert "Showing the first 20 of 25" in response.content.decode()


def test_it_keeps_the_query_in_the_search_box(client, mona, acme):
    response = search(client, mona, "Acme & co")
    assert response.context["search_query"] == "Acme & co"
    html = response.content.decode()
    assert 'value="Acme &amp; co"' in html
    assert_no_inline_script(html)


def test_it_shows_a_hint_for_an_empty_query(client, mona):
    response = search(client, mona, "  ")
    assert response.status_code == 200 and response.context["groups"] == []
    assert "by number" in response.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_it_searches_in_a_constant_number_of_queries(
    client, mona, alice, n, django_assert_num_queries
):
    for i in range(n):
        account = make_account(name=f"Fjord {i:02d} AS", by=mona, tam=alice)
        make_contact(account=account, by=mona, name=f"Fjord Kontakt {i}")
        make_case(account=account, by=mona, subject=f"Fjord sync {i} fails")
    client.force_login(mona)
    # session, user; count and rows of accounts (+ current TAMs), contacts and cases; nav count
    with django_assert_num_queries(10):
        response = client.get(reverse("search"), {"q": "fjord"})
    assert {k: g["count"] for k, g in groups(response).items()} == {
        "accounts": n,
        "contacts": n,
        "cases": n,
    }
