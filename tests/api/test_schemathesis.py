"""Schemathesis against /api/v1/openapi.json: requests generated from the document (valid and
invalid) for every operation, as a manager with a read-write token, find no server error and
no answer outside the documented status codes, content types and schemas."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kontosjef.api.auth import webhook_signature
from kontosjef.people.services import api_token_create
from tests.factories import T0, make_case, make_contact

SECRET = "schemathesis"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _shared_test_connection():
    # As Django's test client does: the WSGI app must not close the connection that holds the
    # test's transaction when a request ends.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _webhook_secret(settings) -> None:
    settings.KONTOSJEF_WEBHOOK_SECRET = SECRET


@pytest.fixture
def token(mona, acme, globex, acme_contact, support, engineering, gina, alice) -> str:
    # Rows with small ids, so generated ids often name something real.
    for day in range(3):
        make_case(account=acme, by=mona, department=support, now=T0 + timedelta(days=day))
        make_case(account=globex, by=mona, department=engineering, requester=None)
    make_contact(account=globex, by=mona, name="Ola Nordmann")
    return api_token_create(by=mona, name="schemathesis", scope="read_write", now=T0).secret


# Loaded when the module is collected (reading the document needs no database). Schemathesis'
# lazy fixture loader does not work with pytest 9. 25 examples per operation and mode keep the
# run within about 15 s; raise it locally to hunt (it found an enum clash in the document).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=25, database="none"
)
HYPOTHESIS = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@schema.exclude(tag="webhooks").parametrize()
@HYPOTHESIS
def test_it_answers_every_generated_request_within_its_schema(case, token, _shared_test_connection):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.include(tag="webhooks").parametrize()
@HYPOTHESIS
def test_it_answers_every_generated_signed_webhook_within_its_schema(
    case, token, _shared_test_connection
):
    # Sign exactly the bytes sent: the generated body, serialized here and passed as the body.
    if case.body is NOT_SET:
        raw = b""
    elif isinstance(case.body, bytes):
        raw = case.body
    else:
        raw = json.dumps(case.body).encode()
    signature = webhook_signature(raw, SECRET)
    case.call_and_validate(headers={"X-Kontosjef-Signature": signature}, data=raw, checks=CHECKS)
