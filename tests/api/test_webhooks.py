"""The inbound webhook: signed by the shared secret, idempotent by the sender's event id,
recorded as the sending integration's own user."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from kontosjef.audit.models import AuditEntry
from kontosjef.cases import services
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.people.models import User
from tests.api.conftest import error_code
from tests.factories import make_case, make_user

SECRET = "test-webhook-secret"
URL = "/api/v1/webhooks/case-events"


@pytest.fixture(autouse=True)
def _secret(settings) -> None:
    settings.KONTOSJEF_WEBHOOK_SECRET = SECRET


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, event: dict, *, signature: str | None = None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(event).encode()
    headers = {"X-Kontosjef-Signature": signature if signature is not None else sign(body)}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def note(target: Case, event_id: str = "evt-1", **extra) -> dict:
    return {
        "source": "zendesk",
        "event_id": event_id,
        "case": {"id": target.pk},
        "kind": "note",
        "body": "Customer called about this.",
        **extra,
    }


def test_it_records_a_signed_event_as_the_integrations_user(client, acme_case):
    response = deliver(client, note(acme_case))
    assert response.status_code == 201, response.content
    event = CaseEvent.objects.get(case=acme_case, kind="note")
    integration = User.objects.get(username="integration.zendesk")
    assert event.actor_user == integration
    assert event.external_id == "zendesk:evt-1"
    assert response.json()["events"][0]["id"] == event.pk
    assert not integration.has_usable_password()
    assert AuditEntry.objects.filter(action="case.note", actor=integration).exists()


def test_it_records_a_replayed_event_once(client, acme_case):
    first = deliver(client, note(acme_case))
    writes = (CaseEvent.objects.count(), AuditEntry.objects.count(), User.objects.count())
    again = deliver(client, note(acme_case))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["events"] == first.json()["events"]
    assert (CaseEvent.objects.count(), AuditEntry.objects.count(), User.objects.count()) == writes


def test_it_keeps_the_event_ids_of_two_integrations_apart(client, acme_case):
    assert deliver(client, note(acme_case)).status_code == 201
    assert deliver(client, note(acme_case, source="jira")).status_code == 201
    assert acme_case.events.filter(kind="note").count() == 2


def test_it_addresses_a_case_by_the_sources_own_id(client, acme, mona):
    case = make_case(account=acme, by=mona)
    Case.objects.filter(pk=case.pk).update(external_source="zendesk", external_id="Z-77")
    event = note(case, case={"external_id": "Z-77"})
    assert deliver(client, event).status_code == 201
    other = note(case, event_id="evt-2", case={"external_source": "zendesk", "external_id": "Z-77"})
    assert deliver(client, other).status_code == 201
    missing = note(case, event_id="evt-3", case={"external_id": "Z-78"})
    assert deliver(client, missing).status_code == 404


def test_it_maps_each_kind_to_the_case_services(client, acme_case, acme_contact, engineering):
    acme_contact.email = "kari@acme.example"
    acme_contact.save()
    events = [
        {"kind": "reply", "body": "It works again", "contact_email": "KARI@acme.example"},
        {"kind": "status", "to": "open"},
        {"kind": "priority", "to": "p2", "reason": "Escalated"},
        {"kind": "handoff", "department": "engineering", "reason": "Needs a developer"},
    ]
    for i, event in enumerate(events):
        payload = {**note(acme_case, event_id=f"e{i}"), "body": "", **event}
        response = deliver(client, payload)
        assert response.status_code == 201, (event, response.content)
    case = Case.objects.get(pk=acme_case.pk)
    assert (case.status, case.priority, case.department) == ("open", "p2", engineering)
    reply = case.events.get(kind="reply")
    assert (reply.actor_kind, reply.actor_contact) == ("contact", acme_contact)


def test_it_refuses_a_wrong_or_missing_signature(client, acme_case):
    body = json.dumps(note(acme_case)).encode()
    for signature in ["", "sha256=00", sign(body, secret="guess"), sign(body + b" ")]:
        response = deliver(client, note(acme_case), signature=signature, raw=body)
        assert response.status_code == 401, signature
        assert error_code(response) == "unauthenticated"
    assert not CaseEvent.objects.filter(kind="note").exists()


def test_it_refuses_a_signature_with_odd_characters(client, acme_case):
    response = deliver(client, note(acme_case), signature="sha256=ø\u2603")
    assert response.status_code == 401


def test_it_checks_the_signature_before_reading_the_body(client, db):
    response = deliver(client, {}, signature="sha256=nope", raw=b"not json at all")
    assert response.status_code == 401


def test_it_is_switched_off_without_a_secret(client, settings, acme_case):
    settings.KONTOSJEF_WEBHOOK_SECRET = ""
    response = deliver(client, note(acme_case), signature=sign(b"x", secret="x"))
    assert response.status_code == 503
    assert "KONTOSJEF_WEBHOOK_SECRET" in response.json()["error"]["message"]


def test_it_answers_404_for_an_unknown_case(client, db):
    response = deliver(client, {**note(Case(pk=99999))})
    assert response.status_code == 404


def test_it_explains_an_invalid_event(client, acme_case):
    response = deliver(client, note(acme_case, kind="status", to="sleeping"))
    assert response.status_code == 422
    assert "to" in response.json()["error"]["fields"]
    response = deliver(client, note(acme_case, event_id="e2", kind="handoff", department="nope"))
    assert response.status_code == 422
    response = deliver(client, note(acme_case, event_id="", source="Not A Slug"))
    assert set(response.json()["error"]["fields"]) == {"event_id", "source"}
    assert not CaseEvent.objects.filter(kind__in=["status", "handoff"]).exists()


def test_it_does_not_take_over_a_persons_user_name(client, acme_case):
    make_user(username="integration.zendesk", role="viewer")
    response = deliver(client, note(acme_case))
    assert response.status_code == 422
    assert "source" in response.json()["error"]["fields"]
    assert not CaseEvent.objects.filter(kind="note").exists()


def test_it_retries_when_a_person_changes_the_case_at_the_same_moment(
    client, acme_case, mona, monkeypatch
):
    real_note = services.case_add_note

    def person_first(**kwargs):
        # Mona's note lands between the webhook reading the case and writing to it.
        if not acme_case.events.filter(body="meanwhile").exists():
            real_note(
                case=Case.objects.get(pk=acme_case.pk),
                by=mona,
                body="meanwhile",
                now=timezone.now(),
                expected_version=kwargs["expected_version"],
            )
        return real_note(**kwargs)

    monkeypatch.setattr(services, "case_add_note", person_first)
    response = deliver(client, note(acme_case))
    assert response.status_code == 201, response.content
    assert list(acme_case.events.values_list("body", flat=True)) == [
        "",
        "meanwhile",
        "Customer called about this.",
    ]
    assert response.json()["case"]["version"] == 3


def test_it_answers_200_when_the_same_event_arrives_twice_at_once(client, acme_case, monkeypatch):
    real_note = services.case_add_note

    def twin_first(**kwargs):
        # The other delivery of the same event commits first.
        if not acme_case.events.filter(kind="note").exists():
            real_note(**{**kwargs, "case": Case.objects.get(pk=acme_case.pk)})
        return real_note(**kwargs)

    monkeypatch.setattr(services, "case_add_note", twin_first)
    response = deliver(client, note(acme_case))
    assert response.status_code == 200, response.content
    assert acme_case.events.filter(kind="note").count() == 1
