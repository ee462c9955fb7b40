"""Notifications of new attention items: who gets them, in which language, by e-mail (Django's test
outbox and a real SMTP server), as a daily digest, and by a signed webhook with retries."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from kontosjef.accounts.models import Account
from kontosjef.attention.models import AttentionItem
from kontosjef.audit.models import AuditEntry
from kontosjef.integrations.models import Notification
from kontosjef.integrations.notifications import (
    MAX_ATTEMPTS,
    notification_claim,
    notification_retry,
    notifications_deliver,
    notifications_for_new_items,
    notifications_send_digests,
)
from kontosjef.integrations.tasks import deliver_notifications, send_digests
from kontosjef.people.models import User
from kontosjef.people.services import integration_user, user_set_notification_preference
from tests import factories

SECRET = "webhook-shared-secret"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def make_item(
    *,
    account: Account,
    owner: User | None,
    now: datetime,
    key: str = "expectation:frt_attainment_30d",
    value: float = 0.81,
    evidence: dict[str, Any] | None = None,
) -> AttentionItem:
    """An open item as the rule engine raises it. Written with the model directly: the attention
    services are being written at the same time as notifications."""
    return AttentionItem.objects.create(
        account=account,
        kind=AttentionItem.Kind.EXPECTATION,
        key=key,
        title="First-reply SLA attainment, 30 days",
        severity="critical",
        queue=AttentionItem.Queue.TAM if owner else AttentionItem.Queue.MANAGERS,
        owner=owner,
        kpi="frt_attainment",
        value=value,
        threshold=0.95,
        comparator=">=",
        window_days=30,
        evidence=evidence or {},
        opened_at=now,
        updated_at=now,
    )


def set_user(user: User, **fields: Any) -> User:
    # Test set-up of profile fields no service under test writes (e-mail, language, activity).
    User.objects.filter(pk=user.pk).update(**fields)
    user.refresh_from_db()
    return user


@pytest.fixture(autouse=True)
def _emails(alice: User, bob: User, mona: User) -> None:
    for user in (alice, bob, mona):
        set_user(user, email=f"{user.username}@kontosjef.example")


@pytest.fixture
def initech(mona: User) -> Account:
    return factories.make_account(name="Initech AS", by=mona)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Routing and preferences -----------------------------------------------------------------------


def test_it_emails_the_accounts_tam_with_the_figures_and_the_evidence(
    alice, mona, acme, now, mailoutbox, settings
):
    settings.KONTOSJEF_BASE_URL = "https://kontosjef.example"
    case = factories.make_case(account=acme, by=alice, subject="Invoices are not sent")
    item = make_item(account=acme, owner=alice, now=now, evidence={"cases": [case.pk]})

    rows = notifications_for_new_items(items=[item], now=now)
    assert [(r.channel, r.recipient) for r in rows] == [("email", alice)]
    assert notifications_deliver(now=now) == 1

    [message] = mailoutbox
    assert message.to == ["alice@kontosjef.example"]
    assert message.subject == (
        "[Kontosjef] Acme AS: First-reply SLA attainment 81 % (expected ≥ 95 %)"
    )
    assert "over the last 30 days" in message.body
    assert f"#{case.pk} Invoices are not sent <https://kontosjef.example/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "https://kontosjef.example/" in html and "Invoices are not sent" in html
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, now)


def test_it_sends_items_of_an_account_without_a_tam_to_every_active_manager(
    alice, mona, initech, now, mailoutbox
):
    max_ = factories.make_user(username="max", role="manager")
    set_user(max_, email="max@kontosjef.example")
    gone = factories.make_user(username="gone", role="manager")
    set_user(gone, email="gone@kontosjef.example", is_active=False)
    robot = integration_user(source="servicenow", now=now)
    set_user(robot, email="robot@kontosjef.example")

    notifications_for_new_items(items=[make_item(account=initech, owner=None, now=now)], now=now)
    notifications_deliver(now=now)

    assert sorted(m.to[0] for m in mailoutbox) == [
        "max@kontosjef.example",
        "mona@kontosjef.example",
    ]


def test_it_sends_to_the_managers_when_the_owner_has_left(alice, mona, acme, now, mailoutbox):
    set_user(alice, is_active=False)
    notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)
    notifications_deliver(now=now)
    assert [m.to for m in mailoutbox] == [["mona@kontosjef.example"]]


def test_it_holds_items_for_digest_users_and_sends_nothing_to_those_who_switched_off(
    alice, bob, acme, globex, now, mailoutbox
):
    set_user(alice, notify=User.Notify.DIGEST)
    set_user(bob, notify=User.Notify.OFF)
    items = [
        make_item(account=acme, owner=alice, now=now),
        make_item(account=globex, owner=bob, now=now),
    ]

    assert notifications_for_new_items(items=items, now=now) == []
    assert notifications_deliver(now=now) == 0
    assert mailoutbox == []


def test_it_writes_once_per_item_however_often_it_is_called(alice, acme, now):
    item = make_item(account=acme, owner=alice, now=now)
    assert len(notifications_for_new_items(items=[item], now=now)) == 1
    assert notifications_for_new_items(items=[item], now=now) == []
    assert Notification.objects.count() == 1


def test_it_writes_to_a_norwegian_user_in_norwegian(alice, acme, now, mailoutbox):
    set_user(alice, language="nb")
    case = factories.make_case(account=acme, by=alice, subject="Fakturaer sendes ikke")
    item = make_item(account=acme, owner=alice, now=now, value=0.946, evidence={"cases": [case.pk]})

    notifications_for_new_items(items=[item], now=now)
    notifications_deliver(now=now)

    [message] = mailoutbox
    assert message.subject == (
        "[Kontosjef] Acme AS: Oppnådd SLA for første svar 94,6 % (forventet ≥ 95 %)"
    )
    assert "de siste 30 dagene" in message.body
    assert "Sakene bak" in message.body
    assert "Nytt oppfølgingspunkt for Acme AS" in message.body
    assert 'lang="nb"' in message.alternatives[0][0]


def test_it_lets_users_change_their_own_preference_and_managers_anyones(alice, bob, mona, now):
    user_set_notification_preference(user=alice, by=alice, notify="digest", now=now)
    assert User.objects.get(pk=alice.pk).notify == "digest"
    with pytest.raises(PermissionDenied):
        user_set_notification_preference(user=alice, by=bob, notify="off", now=now)
    user_set_notification_preference(user=alice, by=mona, notify="off", now=now)
    with pytest.raises(ValidationError):
        user_set_notification_preference(user=alice, by=alice, notify="hourly", now=now)

    entries = AuditEntry.objects.filter(action="user.set_notification_preference").order_by("id")
    assert [(e.actor, e.before, e.after) for e in entries] == [
        (alice, {"notify": "immediate"}, {"notify": "digest"}),
        (mona, {"notify": "digest"}, {"notify": "off"}),
    ]


# E-mail over SMTP ------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def test_it_delivers_through_a_real_smtp_server(alice, acme, now, settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.MAILERS = {
            "default": {
                "BACKEND": SMTP_BACKEND,
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)
        assert notifications_deliver(now=now) == 1
    finally:
        controller.stop()

    [message] = inbox.messages
    assert message["To"] == "alice@kontosjef.example"
    # Python's header folder leaves a doubled space where it folds before an encoded word.
    assert " ".join(message["Subject"].split()) == (
        "[Kontosjef] Acme AS: First-reply SLA attainment 81 % (expected ≥ 95 %)"
    )
    assert "Acme AS" in message.get_body(preferencelist=("plain",)).get_content()
    assert message.get_body(preferencelist=("html",)) is not None


def test_it_keeps_the_email_for_a_retry_when_the_smtp_server_is_down(alice, acme, now, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": SMTP_BACKEND,
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 5},
        }
    }
    notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)

    assert notifications_deliver(now=now) == 0
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        now + timedelta(minutes=1),
    )
    assert "ConnectionRefusedError" in row.last_error


# Webhook ---------------------------------------------------------------------------------------


@pytest.fixture
def webhook(settings) -> Iterator[SimpleNamespace]:
    """A receiver on 127.0.0.1 that checks the signature as docs/notifications.md tells
    receivers to, and answers with the queued statuses (then 204)."""
    hook = SimpleNamespace(received=[], statuses=[])

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(expected, self.headers.get("X-Kontosjef-Signature", ""))
            hook.received.append(
                {"body": json.loads(body), "headers": dict(self.headers), "signed": signed}
            )
            status = (hook.statuses.pop(0) if hook.statuses else 204) if signed else 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KONTOSJEF_NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hooks/kontosjef"
    settings.KONTOSJEF_NOTIFY_WEBHOOK_SECRET = SECRET
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_it_posts_a_signed_webhook_for_a_new_item(alice, acme, now, webhook, mailoutbox):
    case = factories.make_case(account=acme, by=alice, subject="Invoices are not sent")
    item = make_item(account=acme, owner=alice, now=now, evidence={"cases": [case.pk]})
    rows = notifications_for_new_items(items=[item], now=now)
    assert sorted(r.channel for r in rows) == ["email", "webhook"]

    assert notifications_deliver(now=now) == 2

    [request] = webhook.received
    assert request["signed"]
    hook_row = Notification.objects.get(channel="webhook")
    assert request["headers"]["X-Kontosjef-Delivery"] == str(hook_row.pk)
    body = request["body"]
    assert body["event"] == "attention_item.opened"
    assert body["delivery_id"] == hook_row.pk
    assert body["item"]["id"] == item.pk
    assert (body["item"]["value"], body["item"]["threshold"]) == (0.81, 0.95)
    assert body["account"]["name"] == "Acme AS"
    assert body["owner"]["username"] == "alice"
    assert body["cases"][0]["id"] == case.pk and body["cases"][0]["subject"] == case.subject
    assert body["summary"] == "Acme AS: First-reply SLA attainment 81 % (expected ≥ 95 %)"
    assert hook_row.state == "sent"


def test_it_retries_the_webhook_with_backoff_after_a_server_error(alice, acme, now, webhook):
    set_user(alice, notify=User.Notify.OFF)
    webhook.statuses.append(500)
    notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)

    assert notifications_deliver(now=now) == 0
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        now + timedelta(minutes=1),
    )
    assert row.last_error.startswith("HTTP 500")

    assert notifications_deliver(now=now + timedelta(seconds=30)) == 0
    assert len(webhook.received) == 1
    assert notifications_deliver(now=now + timedelta(minutes=1)) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "")
    assert [r["body"]["delivery_id"] for r in webhook.received] == [row.pk, row.pk]


def test_it_gives_up_after_eight_attempts_and_a_manager_can_queue_it_again(
    alice, mona, acme, now, settings
):
    set_user(alice, notify=User.Notify.OFF)
    settings.KONTOSJEF_NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/nobody-listens"
    settings.KONTOSJEF_NOTIFY_WEBHOOK_SECRET = SECRET
    notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)

    at, waits = now, []
    for _attempt in range(MAX_ATTEMPTS):
        assert notifications_deliver(now=at) == 0
        row = Notification.objects.get()
        waits.append((row.next_attempt_at - at).total_seconds() / 60)
        at = row.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 64, 0]
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", MAX_ATTEMPTS, at)
    assert "URLError" in row.last_error
    assert notifications_deliver(now=at + timedelta(days=1)) == 0

    with pytest.raises(PermissionDenied):
        notification_retry(notification=row, by=alice, now=at)
    notification_retry(notification=row, by=mona, now=at)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 0, at)


# Two workers -----------------------------------------------------------------------------------


def test_it_sends_once_when_two_workers_take_the_same_notification(alice, acme, now, mailoutbox):
    notifications_for_new_items(items=[make_item(account=acme, owner=alice, now=now)], now=now)
    # Both workers have read the due row; the first one claims and sends it.
    seen_by_a = Notification.objects.get()
    seen_by_b = Notification.objects.get()

    assert notification_claim(notification=seen_by_a, now=now)
    assert not notification_claim(notification=seen_by_b, now=now)
    assert notifications_deliver(now=now) == 0  # claimed: not due again until the lease ends
    assert notifications_deliver(now=now + timedelta(hours=1)) == 1
    assert notifications_deliver(now=now + timedelta(hours=2)) == 0
    assert len(mailoutbox) == 1


# Digests ---------------------------------------------------------------------------------------


def at_oslo(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_it_sends_a_digest_once_a_day_with_the_items_since_the_last_one(
    alice, bob, mona, acme, globex, initech, mailoutbox
):
    set_user(alice, notify=User.Notify.DIGEST)
    set_user(mona, notify=User.Notify.DIGEST)
    stale = make_item(account=acme, owner=alice, now=at_oslo("2026-03-01T10:00+01:00"), key="old")
    yesterday = make_item(account=acme, owner=alice, now=at_oslo("2026-03-05T21:00+01:00"))
    make_item(account=globex, owner=bob, now=at_oslo("2026-03-05T21:00+01:00"))
    no_tam = make_item(account=initech, owner=None, now=at_oslo("2026-03-05T22:00+01:00"))

    assert notifications_send_digests(now=at_oslo("2026-03-06T06:30+01:00")) == 0  # before 07:00
    assert notifications_send_digests(now=at_oslo("2026-03-06T07:30+01:00")) == 2
    assert notifications_send_digests(now=at_oslo("2026-03-06T18:00+01:00")) == 0  # once a day
    by_user = {m.to[0]: m for m in mailoutbox}
    assert (
        by_user["alice@kontosjef.example"].subject == "[Kontosjef] Daily digest: 1 attention item"
    )
    assert "Acme AS: First-reply SLA attainment 81 %" in by_user["alice@kontosjef.example"].body
    assert "Initech AS" in by_user["mona@kontosjef.example"].body
    assert Notification.objects.get(recipient=alice).payload["items"] == [yesterday.pk]
    assert Notification.objects.get(recipient=mona).payload["items"] == [no_tam.pk]

    # The next day: a new item, and yesterday's item changed; the old one stays out.
    later = make_item(account=acme, owner=alice, now=at_oslo("2026-03-06T12:00+01:00"), key="new")
    AttentionItem.objects.filter(pk=yesterday.pk).update(
        updated_at=at_oslo("2026-03-06T16:00+01:00")
    )
    mailoutbox.clear()
    assert notifications_send_digests(now=at_oslo("2026-03-07T07:05+01:00")) == 1
    [message] = mailoutbox
    assert message.subject == "[Kontosjef] Daily digest: 2 attention items"
    digest = Notification.objects.get(recipient=alice, digest_on="2026-03-07")
    assert digest.payload["items"] == [later.pk, yesterday.pk]
    assert stale.pk not in digest.payload["items"]

    # A second worker cannot write the same day's digest again.
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            kind="digest",
            channel="email",
            recipient=alice,
            target=alice.email,
            digest_on=digest.digest_on,
            next_attempt_at=digest.created_at,
            created_at=digest.created_at,
        )


# Tasks -----------------------------------------------------------------------------------------


def test_the_scheduler_tasks_send_notifications_and_digests(alice, acme, now, mailoutbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    item = make_item(account=acme, owner=alice, now=now)
    notifications_for_new_items(items=[item], now=now)
    with time_machine.travel(now, tick=False):
        assert deliver_notifications.enqueue().return_value == 1
        set_user(alice, notify=User.Notify.DIGEST)
        assert send_digests.enqueue().return_value == 1
    assert [m.subject[:30] for m in mailoutbox] == [
        "[Kontosjef] Acme AS: First-rep",
        "[Kontosjef] Daily digest: 1 at",
    ]
