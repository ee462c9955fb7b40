"""The API tokens page: a signed-in user lists, creates and revokes their own tokens."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from kontosjef.people.models import ApiToken
from kontosjef.people.services import api_token_create
from tests.factories import T0
from tests.pages import assert_no_inline_script


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_links_the_page_from_the_navigation(client, alice):
    client.force_login(alice)
    assert reverse("api_tokens") in client.get(reverse("home")).content.decode()


def test_it_creates_a_token_and_shows_its_secret_only_once(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api_tokens"), {"name": "CRM sync", "scope": "read_write"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=alice)
    secret = response.context["issued"].secret
    page = response.content.decode()
    assert secret in page and "shown only once" in page
    assert (token.name, token.scope) == ("CRM sync", "read_write")
    assert "no-store" in response["Cache-Control"]
    later = client.get(reverse("api_tokens")).content.decode()
    assert secret not in later and token.prefix in later


def test_it_shows_form_errors_and_creates_nothing(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api_tokens"), {"name": "", "scope": "root"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "scope"}
    assert not ApiToken.objects.exists()


def test_it_lists_only_the_users_own_tokens(client, alice, bob):
    api_token_create(by=alice, name="Alice laptop", scope="read", now=T0)
    api_token_create(by=bob, name="Bob laptop", scope="read", now=T0)
    client.force_login(alice)
    page = client.get(reverse("api_tokens")).content.decode()
    assert "Alice laptop" in page and "Bob laptop" not in page


def test_it_revokes_a_token(client, alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    client.force_login(alice)
    response = client.post(reverse("api_token_revoke", args=[issued.token.pk]), follow=True)
    assert response.status_code == 200
    assert "is revoked" in response.content.decode()
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_it_does_not_let_bob_revoke_alices_token(client, alice, bob):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    client.force_login(bob)
    response = client.post(reverse("api_token_revoke", args=[issued.token.pk]))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_it_revokes_only_by_post(client, alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    client.force_login(alice)
    assert client.get(reverse("api_token_revoke", args=[issued.token.pk])).status_code == 405


def test_it_requires_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("api_tokens"), {"name": "CRM sync", "scope": "read"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_it_has_no_inline_script(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api_tokens"), {"name": "CRM sync", "scope": "read"})
    assert_no_inline_script(response.content.decode())
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_it_shows_the_page_in_norwegian(client, alice):
    client.force_login(alice)
    response = client.get(reverse("api_tokens"), headers={"accept-language": "nb"})
    assert "API-nøkler" in response.content.decode()
