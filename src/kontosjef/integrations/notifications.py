"""Notifications of new attention items: e-mail to the people an item is routed to, a daily digest
for those who prefer one, and an outgoing webhook (docs/notifications.md).

Writing and sending are apart. `notifications_for_new_items` writes outbox rows in the caller's
transaction, so a rolled-back rule run announces nothing; `notifications_deliver` sends due rows
and retries failures with exponential backoff; `notifications_send_digests` writes and sends each
digest user's e-mail of the day. Delivery is at least once: a receiver deduplicates by the
delivery id.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kontosjef.accounts.models import Expectation
from kontosjef.attention.models import AttentionItem
from kontosjef.audit.services import audit_record
from kontosjef.cases.models import Case
from kontosjef.integrations.models import Notification
from kontosjef.people import access
from kontosjef.people.models import User
from kontosjef.people.services import INTEGRATION_SOURCE

EVENT_OPENED = "attention_item.opened"
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
# A claimed row is not due again until its lease ends: long enough for a send to finish (SMTP
# times out after 20 s, the webhook after 10 s), short enough that a worker killed mid-send
# delays the message little.
CLAIM_LEASE = timedelta(minutes=30)
WEBHOOK_TIMEOUT_S = 10
MAX_CASES_LISTED = 10
MAX_DIGEST_ITEMS = 50
MAX_ERROR_LENGTH = 1000

# Link targets, first that exists wins: the web pages once they exist, the admin until then.
ITEM_VIEWS = ("attention_item", "admin:attention_attentionitem_change")
ACCOUNT_VIEWS = ("account_detail", "admin:accounts_account_change")
CASE_VIEWS = ("case_detail", "admin:cases_case_change")

Kind = Notification.Kind
Channel = Notification.Channel
State = Notification.State

_PERCENT, _HOURS, _COUNT, _SCORE, _RATIO = "percent", "hours", "count", "score", "ratio"
# Label and unit of each KPI (`engine.health.Kpi`, plus the health score of a health drop).
# Attainment and rates are fractions, durations business seconds (docs/health.md).
KPIS: dict[str, tuple[Promise, str]] = {
    "frt_attainment": (gettext_lazy("First-reply SLA attainment"), _PERCENT),
    "nrt_attainment": (gettext_lazy("Next-reply SLA attainment"), _PERCENT),
    "pu_attainment": (gettext_lazy("Periodic-update SLA attainment"), _PERCENT),
    "pau_attainment": (gettext_lazy("Pausable-update SLA attainment"), _PERCENT),
    "awt_attainment": (gettext_lazy("Agent-work-time SLA attainment"), _PERCENT),
    "rwt_attainment": (gettext_lazy("Requester-wait-time SLA attainment"), _PERCENT),
    "trt_attainment": (gettext_lazy("Resolution SLA attainment"), _PERCENT),
    "fres_attainment": (gettext_lazy("First-resolution SLA attainment"), _PERCENT),
    "breaches_p1": (gettext_lazy("SLA breaches on P1 cases"), _COUNT),
    "breaches_p2": (gettext_lazy("SLA breaches on P2 cases"), _COUNT),
    "breaches_p3": (gettext_lazy("SLA breaches on P3 cases"), _COUNT),
    "breaches_p4": (gettext_lazy("SLA breaches on P4 cases"), _COUNT),
    "backlog_count": (gettext_lazy("Open cases"), _COUNT),
    "backlog_age_median": (gettext_lazy("Median age of open cases"), _HOURS),
    "backlog_age_max": (gettext_lazy("Oldest open case"), _HOURS),
    "backlog_p1_age_max": (gettext_lazy("Oldest open P1 case"), _HOURS),
    "ttr_median": (gettext_lazy("Median time to resolution"), _HOURS),
    "ttr_p90": (gettext_lazy("90th percentile of time to resolution"), _HOURS),
    "reopen_rate": (gettext_lazy("Reopen rate"), _PERCENT),
    "handoffs_per_case": (gettext_lazy("Hand-offs per case"), _RATIO),
    "cases_per_contact": (gettext_lazy("Cases per contact"), _RATIO),
    "case_count": (gettext_lazy("New cases"), _COUNT),
    "csat": (gettext_lazy("Customer satisfaction (CSAT)"), _RATIO),
    "nps": (gettext_lazy("Net Promoter Score"), _SCORE),
    "health": (gettext_lazy("Health score"), _SCORE),
}
COMPARATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


class WebhookError(Exception):
    """The outgoing webhook cannot be sent as configured."""


# Who -------------------------------------------------------------------------------------------


def notification_managers() -> list[User]:
    """The people who get items of accounts without a TAM: active managers, not integrations."""
    return list(
        User.objects.filter(role=User.Role.MANAGER, is_active=True)
        .exclude(external_source=INTEGRATION_SOURCE)
        .order_by("username")
    )


def notification_recipients(item: AttentionItem, managers: Sequence[User]) -> list[User]:
    """Who an item is for: its owner (the account's TAM) if set and still active, otherwise every
    manager. An owner who has left must not swallow the item."""
    owner = item.owner
    if owner is not None and owner.is_active:
        return [owner]
    return list(managers)


def _routed_to(user: User) -> Q:
    routed = Q(owner=user)
    if user.role == User.Role.MANAGER and user.external_source != INTEGRATION_SOURCE:
        routed |= Q(owner__isnull=True) | Q(owner__is_active=False)
    return routed


# Writing ---------------------------------------------------------------------------------------


def notifications_for_new_items(
    *, items: Iterable[AttentionItem], now: datetime
) -> list[Notification]:
    """Write the outbox rows that announce newly opened `items`; returns the new rows.

    Each recipient (see `notification_recipients`) who wants immediate notifications and has an
    e-mail address gets an e-mail row, written in their language. Digest users get nothing now:
    their next digest lists the item. With the outgoing webhook on, each item also gets a webhook
    row. Call it inside the transaction that opened the items. Items that already have rows are
    skipped, so a repeated call writes nothing twice.
    """
    ids = [item.pk for item in items]
    if not ids:
        return []
    fresh = list(
        AttentionItem.objects.filter(pk__in=ids)
        .select_related("account", "owner")
        .order_by("opened_at", "id")
    )
    done = set(
        Notification.objects.filter(item_id__in=ids, kind=Kind.ITEM_OPENED).values_list(
            "item_id", "recipient_id"
        )
    )
    managers: list[User] | None = None
    subjects = _case_subjects(fresh)
    webhook_url = settings.KONTOSJEF_NOTIFY_WEBHOOK_URL
    rows: list[Notification] = []
    for item in fresh:
        if item.owner is None or not item.owner.is_active:
            managers = notification_managers() if managers is None else managers
        for user in notification_recipients(item, managers or []):
            if user.notify != User.Notify.IMMEDIATE or not user.email:
                continue
            if (item.pk, user.pk) in done:
                continue
            rows.append(
                Notification(
                    kind=Kind.ITEM_OPENED,
                    channel=Channel.EMAIL,
                    recipient=user,
                    target=user.email,
                    item=item,
                    payload=_item_email(item, user, subjects),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        if webhook_url and (item.pk, None) not in done:
            rows.append(
                Notification(
                    kind=Kind.ITEM_OPENED,
                    channel=Channel.WEBHOOK,
                    target=webhook_url,
                    item=item,
                    payload=_webhook_payload(item, subjects),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return Notification.objects.bulk_create(rows)


def notifications_send_digests(*, now: datetime) -> int:
    """Write and send today's digest to every digest user who has not had one; returns how many
    went out.

    A digest lists the items routed to the user that opened or changed since their last digest
    (in the last day, before the first). A user with nothing to list gets no e-mail, and nobody
    gets one before KONTOSJEF_DIGEST_HOUR local time. One row per user and local day, under a
    unique constraint, makes it once a day even when two workers run this at the same moment.
    """
    local = timezone.localtime(now)
    if local.hour < settings.KONTOSJEF_DIGEST_HOUR:
        return 0
    today = local.date()
    sent_today = Notification.objects.filter(
        recipient=OuterRef("pk"), kind=Kind.DIGEST, digest_on=today
    )
    users = list(
        User.objects.filter(is_active=True, notify=User.Notify.DIGEST)
        .exclude(email="")
        .exclude(external_source=INTEGRATION_SOURCE)
        .filter(~Exists(sent_today))
        .order_by("username")
    )
    # A failed digest does not count: the next one lists its items again.
    last = dict(
        Notification.objects.filter(kind=Kind.DIGEST, recipient__in=users)
        .exclude(state=State.FAILED)
        .values("recipient")
        .annotate(at=Max("created_at"))
        .values_list("recipient", "at")
    )
    rows = []
    for user in users:
        since = last.get(user.pk) or now - timedelta(days=1)
        changed = (
            AttentionItem.objects.filter(_routed_to(user), opened_at__lte=now)
            .filter(Q(opened_at__gt=since) | Q(updated_at__gt=since))
            .select_related("account", "owner")
            .order_by("-opened_at", "-id")
        )
        items = list(changed[: MAX_DIGEST_ITEMS + 1])
        if not items:
            continue
        total = len(items) if len(items) <= MAX_DIGEST_ITEMS else changed.count()
        payload = _digest_email(items[:MAX_DIGEST_ITEMS], total, user, since=since, until=now)
        try:
            with transaction.atomic():
                rows.append(
                    Notification.objects.create(
                        kind=Kind.DIGEST,
                        channel=Channel.EMAIL,
                        recipient=user,
                        target=user.email,
                        digest_on=today,
                        payload=payload,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:
            # Another worker wrote this user's digest for today first; it sends it.
            continue
    return _deliver(rows, now=now)


def notification_retry(*, notification: Notification, by: User, now: datetime) -> Notification:
    """Queue a failed notification again, with a fresh set of attempts (managers and admins)."""
    access.require_manager(by)
    if notification.state != State.FAILED:
        raise ValidationError(_("Only a failed notification can be sent again."))
    with transaction.atomic():
        if not Notification.objects.filter(pk=notification.pk, state=State.FAILED).update(
            state=State.PENDING, attempts=0, next_attempt_at=now
        ):
            notification.refresh_from_db()
            return notification
        audit_record(
            at=now,
            actor=by,
            action="notification.retry",
            obj=notification,
            before={"state": State.FAILED, "attempts": notification.attempts},
            after={"state": State.PENDING, "attempts": 0},
        )
    notification.refresh_from_db()
    return notification


# Sending ---------------------------------------------------------------------------------------


def notifications_deliver(*, now: datetime, limit: int = 100) -> int:
    """Send due outbox rows, at most `limit`; returns how many went out.

    Each row is claimed by a conditional UPDATE before it is sent (`notification_claim`), so two
    workers polling at once never both send it. A failed attempt is retried after 1, 2, 4 …
    minutes; after MAX_ATTEMPTS attempts the row is failed, with its last error kept.
    """
    return _deliver(list(Notification.objects.due(now)[:limit]), now=now)


def notification_claim(*, notification: Notification, now: datetime) -> bool:
    """Take `notification` for one attempt; False when it is not due or another worker has it.

    Claim by UPDATE: two workers can select the same due row before either one writes, but only
    one UPDATE matches the attempt count both of them read. The claim also moves the row's next
    attempt out by CLAIM_LEASE, so a worker that dies mid-send leaves it to be retried.
    """
    claimed = Notification.objects.filter(
        pk=notification.pk,
        state=State.PENDING,
        attempts=notification.attempts,
        next_attempt_at__lte=now,
    ).update(attempts=notification.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
    if claimed:
        notification.attempts += 1
        notification.next_attempt_at = now + CLAIM_LEASE
    return bool(claimed)


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failed ones: 1, 2, 4, 8 … minutes."""
    return RETRY_BASE * 2 ** (attempts - 1)


def _deliver(rows: Iterable[Notification], *, now: datetime) -> int:
    sent = 0
    for row in rows:
        if notification_claim(notification=row, now=now):
            sent += _attempt(row, now=now)
    return sent


def _attempt(row: Notification, *, now: datetime) -> int:
    mine = Notification.objects.filter(pk=row.pk, attempts=row.attempts)
    try:
        if row.channel == Channel.EMAIL:
            _send_email(row)
        else:
            _post_webhook(row)
    except urllib.error.HTTPError as exc:
        exc.close()
        return _failed(row, mine, now=now, error=f"HTTP {exc.code} {exc.reason}")
    except (
        smtplib.SMTPException,
        urllib.error.URLError,
        http.client.HTTPException,
        OSError,
        ValueError,
        WebhookError,
    ) as exc:
        return _failed(row, mine, now=now, error=f"{type(exc).__name__}: {exc}")
    # A finished row keeps the time of its last attempt, not the claim's lease.
    mine.update(state=State.SENT, sent_at=now, next_attempt_at=now, last_error="")
    row.state, row.sent_at, row.next_attempt_at, row.last_error = State.SENT, now, now, ""
    return 1


def _failed(row: Notification, mine: QuerySet[Notification], *, now: datetime, error: str) -> int:
    error = error[:MAX_ERROR_LENGTH]
    if row.attempts >= MAX_ATTEMPTS:
        mine.update(state=State.FAILED, next_attempt_at=now, last_error=error)
        row.state, row.next_attempt_at = State.FAILED, now
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
        mine.update(next_attempt_at=row.next_attempt_at, last_error=error)
    row.last_error = error
    return 0


def _send_email(row: Notification) -> None:
    payload = row.payload
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.target],
        headers={"Auto-Submitted": "auto-generated", "X-Kontosjef-Notification": str(row.pk)},
    )
    message.attach_alternative(payload["html"], "text/html")
    message.send()


def webhook_signature(body: bytes, secret: str) -> str:
    """The X-Kontosjef-Signature header value: HMAC-SHA256 of the raw body, in hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_body(row: Notification) -> bytes:
    """The exact bytes POSTed for a webhook row: its payload and delivery id, as compact JSON."""
    body = {"delivery_id": row.pk, **row.payload}
    return json.dumps(
        body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect fails the attempt: following it would send the signed body somewhere else."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _post_webhook(row: Notification) -> None:
    if urlsplit(row.target).scheme not in {"http", "https"}:
        raise WebhookError(_("The webhook URL must start with http:// or https://."))
    secret = settings.KONTOSJEF_NOTIFY_WEBHOOK_SECRET
    if not secret:
        raise WebhookError(_("The outgoing webhook has no secret to sign with."))
    body = webhook_body(row)
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        row.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Kontosjef",
            "X-Kontosjef-Event": str(row.payload.get("event", "")),
            "X-Kontosjef-Delivery": str(row.pk),
            "X-Kontosjef-Signature": webhook_signature(body, secret),
        },
    )
    with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT_S) as response:
        # Read (a little of) the answer so the server is not cut off mid-reply.
        response.read(65536)


# Content ---------------------------------------------------------------------------------------


def _case_ids(item: AttentionItem) -> list[int]:
    """The evidence cases of an item, as ids (evidence holds ids, or objects with an id)."""
    cases = item.evidence.get("cases") if isinstance(item.evidence, dict) else None
    ids = []
    for case in cases if isinstance(cases, list) else []:
        value = case.get("id") if isinstance(case, dict) else case
        if isinstance(value, int) and not isinstance(value, bool):
            ids.append(value)
    return ids


def _case_subjects(items: Sequence[AttentionItem]) -> dict[int, str]:
    ids = {pk for item in items for pk in _case_ids(item)}
    if not ids:
        return {}
    return dict(Case.objects.filter(pk__in=ids).values_list("pk", "subject"))


def _url(view_names: Sequence[str], pk: int) -> str:
    for name in view_names:
        try:
            path = reverse(name, args=[pk])
        except NoReverseMatch:
            continue
        return settings.KONTOSJEF_BASE_URL + path
    return ""


def _number(value: float, max_decimals: int) -> str:
    """`value` in the active language's format, with no more decimals than it needs."""
    rounded = round(value, max_decimals)
    decimals = next(d for d in range(max_decimals + 1) if round(value, d) == rounded)
    return formats.number_format(round(value, decimals), decimals, use_l10n=True)


def kpi_label(kpi: str) -> str:
    known = KPIS.get(kpi)
    return str(known[0]) if known else kpi


def kpi_value(kpi: str, value: float) -> str:
    """A KPI value for people, in its unit: 0.81 → "81 %", 86400 business seconds → "24 h"."""
    unit = KPIS[kpi][1] if kpi in KPIS else _RATIO
    if unit == _PERCENT:
        return _("%(number)s %%") % {"number": _number(value * 100, 1)}
    if unit == _HOURS:
        return _("%(number)s h") % {"number": _number(value / 3600, 1)}
    if unit == _COUNT:
        return _number(value, 0)
    if unit == _SCORE:
        return _number(value, 1)
    return _number(value, 2)


def _measure(item: AttentionItem) -> str:
    """ "First-reply SLA attainment 81 % (expected ≥ 95 %)", or "" when the item has no KPI."""
    if not item.kpi or item.value is None or item.threshold is None:
        return ""
    return _("%(kpi)s %(value)s (expected %(comparator)s %(threshold)s)") % {
        "kpi": kpi_label(item.kpi),
        "value": kpi_value(item.kpi, item.value),
        "comparator": COMPARATORS.get(item.comparator, item.comparator),
        "threshold": kpi_value(item.kpi, item.threshold),
    }


def _item_context(item: AttentionItem, subjects: dict[int, str] | None) -> dict[str, Any]:
    """Everything an e-mail says about an item, as text in the active language."""
    measure = _measure(item)
    severities = dict(Expectation.Severity.choices)
    case_ids = _case_ids(item) if subjects is not None else []
    window = ""
    if item.window_days:
        window = ngettext(
            "over the last %(days)d day", "over the last %(days)d days", item.window_days
        ) % {"days": item.window_days}
    return {
        "account": item.account.name,
        "account_url": _url(ACCOUNT_VIEWS, item.account_id),
        "kind": str(item.get_kind_display()),
        "title": item.display_title,
        "measure": measure,
        "summary": measure or item.display_title,
        "window": window,
        "severity": str(severities.get(item.severity, item.severity)),
        "state": str(item.get_state_display()),
        "owner": str(item.owner) if item.owner is not None else "",
        "opened_at": formats.date_format(timezone.localtime(item.opened_at), "DATETIME_FORMAT"),
        "url": _url(ITEM_VIEWS, item.pk),
        "cases": [
            {"id": pk, "subject": (subjects or {}).get(pk, ""), "url": _url(CASE_VIEWS, pk)}
            for pk in case_ids[:MAX_CASES_LISTED]
        ],
        "more_cases": max(0, len(case_ids) - MAX_CASES_LISTED),
    }


def _item_email(item: AttentionItem, user: User, subjects: dict[int, str]) -> dict[str, Any]:
    with translation.override(user.language):
        context = _item_context(item, subjects)
        context["subject"] = _("[Kontosjef] %(account)s: %(summary)s") % {
            "account": item.account.name,
            "summary": context["measure"] or context["kind"],
        }
        context["setting"] = str(user.get_notify_display())
        context["time_zone"] = settings.TIME_ZONE
        return {
            "subject": context["subject"],
            "text": render_to_string("integrations/email/item.txt", context),
            "html": render_to_string("integrations/email/item.html", context),
            "language": user.language,
        }


def _digest_email(
    items: Sequence[AttentionItem], total: int, user: User, *, since: datetime, until: datetime
) -> dict[str, Any]:
    with translation.override(user.language):
        subject = ngettext(
            "[Kontosjef] Daily digest: %(count)d attention item",
            "[Kontosjef] Daily digest: %(count)d attention items",
            total,
        ) % {"count": total}
        context = {
            "subject": subject,
            "items": [_item_context(item, None) for item in items],
            "more": total - len(items),
            "since": formats.date_format(timezone.localtime(since), "DATETIME_FORMAT"),
            "setting": str(user.get_notify_display()),
            "time_zone": settings.TIME_ZONE,
        }
        return {
            "subject": subject,
            "text": render_to_string("integrations/email/digest.txt", context),
            "html": render_to_string("integrations/email/digest.html", context),
            "language": user.language,
            "items": [item.pk for item in items],
            "since": since,
            "until": until,
        }


def _webhook_payload(item: AttentionItem, subjects: dict[int, str]) -> dict[str, Any]:
    """The webhook body of a new item (without the delivery id, added when it is sent). Labels
    are in the site's default language; codes and numbers are for machines."""
    owner = item.owner
    with translation.override(settings.LANGUAGE_CODE):
        summary = _measure(item) or item.display_title
        return {
            "event": EVENT_OPENED,
            "summary": f"{item.account.name}: {summary}",
            "item": {
                "id": item.pk,
                "url": _url(ITEM_VIEWS, item.pk),
                "kind": item.kind,
                "key": item.key,
                "title": item.display_title,
                "severity": item.severity,
                "state": item.state,
                "queue": item.queue,
                "kpi": item.kpi,
                "value": item.value,
                "threshold": item.threshold,
                "comparator": item.comparator,
                "window_days": item.window_days,
                "opened_at": item.opened_at.isoformat(),
            },
            "account": {
                "id": item.account_id,
                "name": item.account.name,
                "tier": item.account.tier,
                "url": _url(ACCOUNT_VIEWS, item.account_id),
            },
            "owner": None
            if owner is None
            else {
                "id": owner.pk,
                "username": owner.username,
                "name": str(owner),
                "email": owner.email,
            },
            "evidence": item.evidence,
            "cases": [
                {"id": pk, "subject": subjects.get(pk, ""), "url": _url(CASE_VIEWS, pk)}
                for pk in _case_ids(item)
            ],
        }
