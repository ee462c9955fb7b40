from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    """One run of an importer, committed or not, with its figures and rejected rows."""

    class Outcome(models.TextChoices):
        COMMITTED = "committed", _("Committed")
        DRY_RUN = "dry_run", _("Dry run")
        REJECTED = "rejected", _("Rejected (nothing written)")

    source = models.CharField(_("source"), max_length=40)
    importer = models.CharField(_("importer"), max_length=40)
    path = models.CharField(_("file"), max_length=500)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    rows = models.PositiveIntegerField(_("source rows"), default=0)
    figures = models.JSONField(_("figures"), encoder=DjangoJSONEncoder, default=dict)
    problems = models.JSONField(
        _("rejected and skipped rows (first 1,000)"), encoder=DjangoJSONEncoder, default=list
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return f"{self.importer} {self.path} ({self.get_outcome_display()})"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def due(self, now: datetime) -> NotificationQuerySet:
        """Pending rows whose (next) attempt is due, oldest first."""
        return self.filter(state=Notification.State.PENDING, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "id"
        )


class Notification(models.Model):
    """One message in the outbox: an e-mail to a user or a POST to the outgoing webhook.

    Rows are written in the same transaction as what they announce and sent later by
    `notifications_deliver`, which retries failures with backoff; the row keeps the outcome. The
    payload is rendered when the row is written (in the recipient's language), so every attempt
    sends the same message and the admin shows exactly what went out.
    """

    class Kind(models.TextChoices):
        ITEM_OPENED = "item_opened", _("New attention item")
        DIGEST = "digest", _("Daily digest")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    target = models.CharField(_("sent to"), max_length=500)
    item = models.ForeignKey(
        "attention.AttentionItem",
        verbose_name=_("attention item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    digest_on = models.DateField(_("digest of"), null=True, blank=True)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder, default=dict)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sent", "failed"]),
                name="notification_state_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="item_opened", item__isnull=False)
                    | models.Q(kind="digest", digest_on__isnull=False, recipient__isnull=False)
                ),
                name="notification_kind_has_subject",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(channel="email", recipient__isnull=False)
                    | models.Q(channel="webhook", recipient__isnull=True)
                ),
                name="notification_channel_matches_recipient",
            ),
            # Once per item and person (or webhook), once per person and day: a rule run that
            # repeats, or a second worker sending digests, cannot write a second row.
            models.UniqueConstraint(
                fields=["item", "recipient"],
                condition=models.Q(kind="item_opened", recipient__isnull=False),
                name="notification_item_once_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(kind="item_opened", channel="webhook"),
                name="notification_item_once_per_webhook",
            ),
            models.UniqueConstraint(
                fields=["recipient", "digest_on"],
                condition=models.Q(kind="digest"),
                name="notification_one_digest_per_day",
            ),
        ]
        indexes = [
            # The delivery worker's poll: only pending rows, by due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="notification_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.target} ({self.get_state_display()})"
