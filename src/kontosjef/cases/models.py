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
    # What an imported source said about the case: its own SLA verdict and raw attributes.
    source_sla_met = models.BooleanField(_("SLA met (source)"), null=True, blank=True)
    attributes = models.JSONField(_("source attributes"), default=dict, blank=True)
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
            # The case list's filters and sorts (cases.queries.case_list).
            models.Index(fields=["product", "status"], name="case_product_status"),
            models.Index(fields=["priority", "status"], name="case_priority_status"),
            models.Index(fields=["last_event_at"], name="case_last_event"),
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


# SLA configuration and results ------------------------------------------------------------------


class Calendar(models.Model):
    """Business hours in a time zone, with holidays; changes are new versions (history stays)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("calendar")
        verbose_name_plural = _("calendars")

    def __str__(self) -> str:
        return self.name


class CalendarVersion(models.Model):
    """One effective-dated version of a calendar, stored as explicit data (specs/sla.md §3).

    `weekly`: 7 lists (Monday first) of [start, end] seconds after local midnight; an end past
    86400 is an overnight shift. `holidays`: ISO dates that are off. `extra_working`: {date: spans}
    replacing the weekly hours on that date. `closures`: [date, start, end] partial closures.
    `holiday_source`: where the holiday list came from (country, years, package version), so a
    package upgrade never changes measured time. `coverage`: [first, last] year the holidays are
    known for (null: unbounded).
    """

    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.PROTECT, related_name="versions"
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    weekly = models.JSONField(_("weekly hours"))
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    extra_working = models.JSONField(_("extra working days"), default=dict, blank=True)
    closures = models.JSONField(_("closures"), default=list, blank=True)
    coverage = models.JSONField(_("holiday coverage (years)"), null=True, blank=True)
    holiday_source = models.JSONField(_("holiday source"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["calendar", "valid_from"]
        verbose_name = _("calendar version")
        verbose_name_plural = _("calendar versions")
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "valid_from"], name="calendar_version_unique_start"
            ),
            models.UniqueConstraint(
                fields=["calendar"],
                condition=models.Q(valid_from=None),
                name="calendar_version_one_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.calendar} from {self.valid_from or '(start)'}"


class SlaPolicy(models.Model):
    """Targets per priority per metric; changes are new versions."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class SlaPolicyVersion(models.Model):
    """One effective-dated version of an SLA policy; a case uses the version in force when it
    was opened.

    `metrics`: {metric: {"targets": {"p1": seconds, ...}, "business_hours": bool,
    "running": [statuses] (optional), "warn_at_fraction": 0.75 or "warn_before_s": seconds}} with
    metric one of first_reply, next_reply, periodic_update, pausable_update, agent_work,
    requester_wait, total_resolution, first_resolution. `options`: customer_reply_resumes,
    solved_time_counts, calendar_change, recurrence (specs/sla.md §2.3), and around_the_clock:
    priorities (e.g. ["p1"]) whose clocks run on a 24×7 calendar whatever the account's hours.
    """

    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="versions"
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    metrics = models.JSONField(_("metrics"))
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["policy", "valid_from"]
        verbose_name = _("SLA policy version")
        verbose_name_plural = _("SLA policy versions")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "valid_from"], name="sla_policy_version_unique_start"
            ),
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(valid_from=None),
                name="sla_policy_version_one_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} from {self.valid_from or '(start)'}"


class TierSla(models.Model):
    """The SLA policy and calendar of every account of a tier (an account may override both)."""

    tier = models.CharField(_("tier"), max_length=16, choices=Account.Tier.choices, unique=True)
    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), on_delete=models.PROTECT, related_name="+"
    )
    calendar = models.ForeignKey(
        Calendar,
        verbose_name=_("calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: around the clock (24×7)."),
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("tier SLA")
        verbose_name_plural = _("tier SLAs")

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: {self.policy}"


class Metric(models.TextChoices):
    """The SLA metrics; their order is the engine's `Metric` codes."""

    FIRST_REPLY = "first_reply", _("First reply")
    NEXT_REPLY = "next_reply", _("Next reply")
    PERIODIC_UPDATE = "periodic_update", _("Periodic update")
    PAUSABLE_UPDATE = "pausable_update", _("Pausable update")
    AGENT_WORK = "agent_work", _("Agent work time")
    REQUESTER_WAIT = "requester_wait", _("Requester wait time")
    TOTAL_RESOLUTION = "total_resolution", _("Total resolution time")
    FIRST_RESOLUTION = "first_resolution", _("First resolution time")


class CycleState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    BREACHED_RUNNING = "breached_running", _("Breached, running")
    BREACHED_PAUSED = "breached_paused", _("Breached, paused")
    MET = "met", _("Met")
    BREACHED_MET = "breached_met", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")


class SlaState(models.TextChoices):
    """What a case's live SLA clocks say, worst first (the case list's SLA column and filter)."""

    BREACHED = "breached", _("Breached")
    WARNING = "warning", _("Warning")
    RUNNING = "running", _("On track")
    PAUSED = "paused", _("Paused")
    NONE = "none", _("No running clock")


class MetricCycleQuerySet(models.QuerySet["MetricCycle"]):
    def open(self) -> MetricCycleQuerySet:
        return self.filter(stop_at=None).exclude(state=CycleState.CANCELLED)


class MetricCycle(models.Model):
    """One SLA clock of one case, as the engine computed it at `computed_at`.

    Rows are replaced on every recompute of the case; `breach_alerted_at` and
    `warning_alerted_at` survive it, so an alert is raised once per cycle.
    """

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="cycles"
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    cycle_index = models.PositiveIntegerField(_("cycle"))
    state = models.CharField(_("state"), max_length=20, choices=CycleState.choices)
    start_at = models.DateTimeField(_("started at"))
    stop_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    fulfilled_by = models.CharField(_("fulfilled by"), max_length=8, blank=True, default="")
    target_seconds = models.BigIntegerField(_("target (s)"))
    elapsed_business_seconds = models.BigIntegerField(_("elapsed business (s)"))
    elapsed_calendar_seconds = models.BigIntegerField(_("elapsed calendar (s)"))
    paused_business_seconds = models.BigIntegerField(_("paused business (s)"))
    paused_calendar_seconds = models.BigIntegerField(_("paused calendar (s)"))
    remaining_seconds = models.BigIntegerField(_("remaining business (s)"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    is_running = models.BooleanField(_("running now"), default=False)
    business_hours = models.BooleanField(_("business hours"), default=True)
    computed_at = models.DateTimeField(_("computed at"))
    breach_alerted_at = models.DateTimeField(_("breach alerted at"), null=True, blank=True)
    warning_alerted_at = models.DateTimeField(_("warning alerted at"), null=True, blank=True)

    objects = MetricCycleQuerySet.as_manager()

    class Meta:
        ordering = ["case", "metric", "cycle_index"]
        verbose_name = _("metric cycle")
        verbose_name_plural = _("metric cycles")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric", "cycle_index"], name="metric_cycle_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="metric_cycle_due"),
            models.Index(fields=["warn_at"], name="metric_cycle_warn"),
            models.Index(fields=["breached_at"], name="metric_cycle_breached"),
            models.Index(fields=["metric", "stop_at"], name="metric_cycle_metric_stop"),
            # The case list's SLA filter: live cycles by state, and a case's live cycles.
            models.Index(fields=["state", "stop_at"], name="metric_cycle_state_stop"),
            models.Index(fields=["case", "stop_at", "due_at"], name="metric_cycle_case_live"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.metric} #{self.cycle_index} {self.state}"

    @property
    def is_breached(self) -> bool:
        return self.breached_at is not None and self.state in (
            CycleState.BREACHED_RUNNING,
            CycleState.BREACHED_PAUSED,
            CycleState.BREACHED_MET,
        )


class SlaAlert(models.Model):
    """A breach or warning of a metric cycle, recorded once by the sweep. Append-only."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="sla_alerts"
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    cycle_index = models.PositiveIntegerField(_("cycle"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField(_("due at"))
    at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric", "cycle_index", "kind"], name="sla_alert_once"
            ),
        ]
        indexes = [models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.metric} case {self.case_id}"
