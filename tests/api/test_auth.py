"""Who may call the API: a personal token acts as its owner; a read-only token never writes;
the browser session may read; nobody else gets in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kontosjef.api.api import api
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import CaseEvent
from kontosjef.people.models import ApiToken
from kontosjef.people.services import api_token_create, api_token_revoke
from tests.api.conftest import ApiClient, error_code
from tests.factories import T0


def test_it_refuses_a_request_without_credentials(api_as, db):
    response = api_as(None).get("/cases")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_an_unknown_token(client, alice):
    response = ApiClient(client, "ksj_" + "x" * 43).get("/cases")
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]["message"]


def test_it_refuses_a_revoked_token(client, alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    api_token_revoke(token=issued.token, by=alice, now=T0 + timedelta(hours=1))
    assert ApiClient(client, issued.secret).get("/cases").status_code == 401


def test_it_refuses_the_token_of_a_deactivated_user(client, alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    alice.is_active = False
    alice.save()
    assert ApiClient(client, issued.secret).get("/users/me").status_code == 401


def test_it_acts_as_the_tokens_owner(api_as, alice):
    response = api_as(alice, scope="read").get("/users/me")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_it_records_when_a_token_was_last_used(client, alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    assert issued.token.last_used_at is None
    ApiClient(client, issued.secret).get("/users/me")
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def _writes() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return [
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "patch", "put", "delete") and "/webhooks/" not in path
    ]


@pytest.mark.parametrize(("method", "path"), _writes())
def test_it_refuses_every_write_with_a_read_token(api_as, mona, acme_case, method, path):
    path = path.format(
        account_id=acme_case.account_id,
        case_id=acme_case.pk,
        contact_id=1,
        product_id=1,
        item_id=1,
    )
    client = api_as(mona, scope="read")
    before = (AuditEntry.objects.count(), CaseEvent.objects.count())
    response = client.send(method.lower(), path, {"kind": "note", "body": "x"})
    assert response.status_code == 403, (method, path)
    assert error_code(response) == "forbidden"
    assert (AuditEntry.objects.count(), CaseEvent.objects.count()) == before


def test_it_covers_every_write_operation_of_the_api():
    assert {path for _, path in _writes()} >= {
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/tam",
        "/contacts",
        "/contacts/{contact_id}",
        "/products",
        "/cases",
        "/cases/{case_id}/events",
    }


def test_it_lets_a_signed_in_browser_read(client, alice, acme):
    client.force_login(alice)
    response = client.get("/api/v1/accounts")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["items"]] == ["Acme AS"]


def test_it_does_not_let_the_browser_session_write(client, mona):
    client.force_login(mona)
    response = client.post(
        "/api/v1/products", data={"name": "Billing"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_it_does_not_fall_back_to_the_session_for_a_wrong_token(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer ksj_wrong"})
    assert response.status_code == 401


def test_it_stores_no_clear_secret(alice):
    issued = api_token_create(by=alice, name="laptop", scope="read_write", now=T0)
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret not in {stored.secret_hash, stored.prefix, stored.name}
    assert issued.secret.startswith(stored.prefix)
