from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import TextChoices
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kontosjef.accounts.models import Account


class AttentionItemQuerySet(models.QuerySet["AttentionItem"]):
    def active(self) -> AttentionItemQuerySet:
        return self.filter(state__in=AttentionItem.ACTIVE_STATES)


class AttentionItem(models.Model):
    """An unmet expectation or another exception on an account, with its evidence and owner.

    One active item per (account, key): while the condition lasts the item is updated; when it
    clears the item is resolved; if it returns later, a new item opens (history kept).
    """

    class Kind(models.TextChoices):
        EXPECTATION = "expectation", _("Unmet expectation")
        SLA_BREACH = "sla_breach", _("SLA breach on a top-tier account")
        HEALTH_DROP = "health_drop", _("Health drop")
        NO_TAM = "no_tam", _("Failing account without a TAM")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    class Queue(models.TextChoices):
        TAM = "tam", _("The account's TAM")
        MANAGERS = "managers", _("Managers")

    class Outcome(TextChoices):
        """How an item ended: chosen by the person who resolves it, or `cleared` when the rules
        found the condition gone."""

        FIXED = "fixed", _("Fixed: the cause is removed")
        IMPROVING = "improving", _("Action taken: the figures will follow")
        AGREED = "agreed", _("Agreed with the customer")
        NOT_A_PROBLEM = "not_a_problem", _("Not a problem after all")
        CLEARED = "cleared", _("Cleared: the condition no longer holds")

    ACTIVE_STATES = (State.OPEN, State.ACKNOWLEDGED, State.IN_PROGRESS)

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="attention_items"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=120)
    title = models.CharField(_("title"), max_length=300)
    severity = models.CharField(_("severity"), max_length=8)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    queue = models.CharField(_("queue"), max_length=8, choices=Queue.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attention_items",
    )
    kpi = models.CharField(_("KPI"), max_length=40, blank=True, default="")
    value = models.FloatField(_("value"), null=True, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    comparator = models.CharField(_("comparator"), max_length=2, blank=True, default="")
    window_days = models.PositiveIntegerField(_("window (days)"), null=True, blank=True)
    evidence = models.JSONField(_("evidence"), encoder=DjangoJSONEncoder, default=dict)
    opened_at = models.DateTimeField(_("opened at"))
    updated_at = models.DateTimeField(_("updated at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("reason"), blank=True, default="")
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, blank=True, default=""
    )
    # Out of the inbox until then; the item stays active and the rules keep updating it.
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)

    objects = AttentionItemQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("attention item")
        verbose_name_plural = _("attention items")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key"],
                condition=models.Q(state__in=["open", "acknowledged", "in_progress"]),
                name="attention_item_one_active_per_key",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="dismissed") | ~models.Q(close_reason=""),
                name="attention_item_dismissal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["queue", "state"]),
            models.Index(fields=["state", "opened_at"]),
            models.Index(fields=["account", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.title}"

    @property
    def display_title(self) -> str:
        """The title in the reader's language. The stored title is written in the site's language
        when the rules run; this rebuilds it from the item's kind and facts where it can."""
        from kontosjef.accounts.expectations import expectation_label
        from kontosjef.cases.models import Metric

        if self.kind == self.Kind.EXPECTATION:
            return expectation_label(self.title)
        if self.kind == self.Kind.NO_TAM:
            return gettext("Failing expectations and no TAM")
        before = (self.evidence or {}).get("score_7_days_ago")
        if self.kind == self.Kind.HEALTH_DROP and before is not None and self.value is not None:
            points = float(before) - self.value
            return gettext("Health fell %(points).0f points in 7 days") % {"points": points}
        parts = self.key.split(":")
        if self.kind == self.Kind.SLA_BREACH and len(parts) == 4 and parts[2] in Metric.values:
            return gettext("SLA breached on case #%(case)s (%(metric)s)") % {
                "case": parts[1],
                "metric": Metric(parts[2]).label,
            }
        return self.title

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    def is_snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now


class AttentionItemEvent(models.Model):
    """What happened to an item and who did it. Append-only."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        UPDATED = "updated", _("Updated")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        STARTED = "started", _("Work started")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")
        ROUTED = "routed", _("Routed")
        SNOOZED = "snoozed", _("Snoozed")
        UNSNOOZED = "unsnoozed", _("Back in the inbox")
        COMMENTED = "commented", _("Comment")

    item = models.ForeignKey(
        AttentionItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="events"
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("data"), encoder=DjangoJSONEncoder, default=dict)

    class Meta:
        ordering = ["item", "at", "id"]
        verbose_name = _("attention item event")
        verbose_name_plural = _("attention item events")

    def __str__(self) -> str:
        return f"{self.item_id} {self.kind}"
