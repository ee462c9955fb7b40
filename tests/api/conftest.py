"""API fixtures: a client that sends a persona's personal token, and a case for Acme."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.client import Client as DjangoClient

from kontosjef.cases.models import Case
from kontosjef.people.models import User
from kontosjef.people.services import api_token_create
from tests.factories import T0, make_case


class ApiClient:
    """Calls /api/v1/ with `Authorization: Bearer <token>` and JSON bodies."""

    def __init__(self, client: DjangoClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", data=params, headers=self.headers)

    def post(self, path: str, body: Any = None, **kwargs: Any):
        return self.send("post", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any):
        return self.send("patch", path, body, **kwargs)

    def send(self, method: str, path: str, body: Any, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body)
        return getattr(self.client, method)(
            f"/api/v1{path}", data=data, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def api_as(client: Client) -> Callable[..., ApiClient]:
    """`api_as(alice)` calls as Alice with a read-write token; `scope="read"` for read-only."""

    def make(user: User | None, scope: str = "read_write") -> ApiClient:
        if user is None:
            return ApiClient(client, None)
        issued = api_token_create(by=user, name=f"{user.username} test", scope=scope, now=T0)
        return ApiClient(client, issued.secret)

    return make


@pytest.fixture
def acme_case(acme, mona, support) -> Case:
    return make_case(account=acme, by=mona, department=support, subject="Acme cannot log in")


@pytest.fixture
def globex_case(globex, mona, engineering) -> Case:
    return make_case(account=globex, by=mona, department=engineering, subject="Globex export fails")


def error_code(response) -> str:
    return response.json()["error"]["code"]
