from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kontosjef.accounts.models import Account, Contact, Product
from kontosjef.people.models import Department, User


class Priority(models.TextChoices):
    P1 = "p1", _("P1 – urgent")
    P2 = "p2", _("P2 – high")
    P3 = "p3", _("P3 – normal")
    P4 = "p4", _("P4 – low")


class Status(models.TextChoices):
    """Case statuses; the names match the SLA specification (specs/sla.md §4)."""

    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.ON_HOLD)


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    WEB = "web", _("Web form")
    CHAT = "chat", _("Chat")
    API = "api", _("API")
    OTHER = "other", _("Other")


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def for_account(self, account: Account) -> CaseQuerySet:
        return self.filter(account=account)

    def with_related(self) -> CaseQuerySet:
        return self.select_related("account", "requester", "department", "assignee", "product")


class Case(models.Model):
    """A customer issue. Its current fields are a projection of its events.

    Only `cases.services.case_apply_event` changes `status`, `priority`, `department`,
    `assignee`, the `*_at` times and `last_seq`; `version` guards concurrent writers.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="cases"
    )
    requester = models.ForeignKey(
        Contact,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True, default="")
    priority = models.CharField(_("priority"), max_length=4, choices=Priority.choices)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")
    opened_at = models.DateTimeField(_("opened at"))
    solved_at = models.DateTimeField(_("solved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last event at"))
    last_seq = models.PositiveIntegerField(_("last event sequence"), default=0)
    reopen_count = models.PositiveIntegerField(_("reopens"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="case_external_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=["p1", "p2", "p3", "p4"]),
                name="case_priority_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in Status]),
                name="case_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=[c.value for c in Channel]),
                name="case_channel_valid",
            ),
            models.CheckConstraint(condition=~models.Q(subject=""), name="case_subject_not_empty"),
            models.CheckConstraint(
                condition=models.Q(last_event_at__gte=models.F("opened_at")),
                name="case_last_event_after_open",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["department", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["opened_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


EVENT_KINDS = ["created", "status", "priority", "handoff", "reply", "note"]


class CaseEvent(models.Model):
    """One append-only fact in a case's history. The database refuses UPDATE and DELETE."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STATUS = "status", _("Status change")
        PRIORITY = "priority", _("Priority change")
        HANDOFF = "handoff", _("Hand-off")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    class Actor(models.TextChoices):
        EMPLOYEE = "employee", _("Employee")
        CONTACT = "contact", _("Customer contact")
        SYSTEM = "system", _("System")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="events"
    )
    at = models.DateTimeField(_("at"))
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor_kind = models.CharField(_("actor kind"), max_length=8, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_events",
    )
    actor_contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_events",
    )
    is_public = models.BooleanField(_("public"), default=False)
    from_value = models.CharField(_("from"), max_length=64, blank=True, default="")
    to_value = models.CharField(_("to"), max_length=64, blank=True, default="")
    # Hand-offs (and the created event) name the department and assignee the case moves to.
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("body"), blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["case", "seq"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_event_seq_unique"),
            models.UniqueConstraint(
                fields=["case", "external_id"],
                condition=~models.Q(external_id=""),
                name="case_event_external_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=EVENT_KINDS), name="case_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(actor_kind="employee", actor_contact=None)
                    | models.Q(actor_kind="contact", actor_user=None)
                    | models.Q(actor_kind="system", actor_user=None, actor_contact=None)
                ),
                name="case_event_actor_consistent",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="note", is_public=True),
                name="case_event_note_is_internal",
            ),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="case_event_seq_positive"),
        ]
        indexes = [
            models.Index(fields=["at"]),
            models.Index(fields=["actor_user", "at"]),
            models.Index(fields=["kind", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.kind}"


__all__ = ["Case", "CaseEvent", "Channel", "Priority", "Status", "User"]
