"""The home page: sign-in required, each role sees its own accounts, constant query count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_account, make_case


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_signs_in_with_username_and_password(client, alice, acme):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert "Acme AS" in response.content.decode()


def test_it_rejects_a_wrong_password(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_it_shows_a_tam_only_their_portfolio(client, alice, acme, globex):
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert "Acme AS" in page and "Globex ASA" not in page


def test_it_shows_a_manager_every_account_with_its_tam(client, mona, acme, globex):
    client.force_login(mona)
    page = client.get(reverse("home")).content.decode()
    assert "Acme AS" in page and "Globex ASA" in page and "Alice" in page and "Bob" in page


def test_it_counts_open_cases(client, alice, acme):
    make_case(account=acme, by=alice)
    make_case(account=acme, by=alice)
    client.force_login(alice)
    response = client.get(reverse("home"))
    assert response.context["page"].object_list[0].open_cases == 2


def test_it_shows_the_page_in_norwegian(client, alice, acme):
    client.force_login(alice)
    response = client.get(reverse("home"), headers={"accept-language": "nb"})
    assert "Mine kunder" in response.content.decode()


def test_it_sends_a_content_security_policy(client, alice):
    client.force_login(alice)
    response = client.get(reverse("home"))
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_accounts_in_a_constant_number_of_queries(
    client, mona, alice, n, django_assert_num_queries
):
    for i in range(n):
        account = make_account(name=f"Kunde {i:02d} AS", by=mona, tam=alice)
        make_case(account=account, by=mona)
    client.force_login(mona)
    # session, user, count, page of accounts, current TAMs prefetch
    with django_assert_num_queries(5):
        response = client.get(reverse("home"))
    assert len(response.context["page"].object_list) == n
