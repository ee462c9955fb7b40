from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kontosjef.people.models import User


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    component = models.CharField(_("component"), max_length=200, blank=True, default="")
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["name", "component"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["name", "component"], name="product_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} / {self.component}" if self.component else self.name


class AccountQuerySet(models.QuerySet["Account"]):
    def with_current_tam(self) -> AccountQuerySet:
        return self.prefetch_related(
            models.Prefetch(
                "tam_assignments",
                queryset=TamAssignment.objects.filter(ended_at=None).select_related("tam"),
                to_attr="current_assignments",
            )
        )

    def in_portfolio_of(self, user: User) -> AccountQuerySet:
        return self.filter(tam_assignments__tam=user, tam_assignments__ended_at=None)

    def without_tam(self) -> AccountQuerySet:
        # Not exclude(tam_assignments__ended_at=None): its outer join also matches accounts
        # that never had a TAM, and excludes exactly the accounts asked for.
        current = TamAssignment.objects.filter(account=models.OuterRef("pk"), ended_at=None)
        return self.filter(~models.Exists(current))


class Account(models.Model):
    """A customer organisation."""

    class Tier(models.TextChoices):
        STRATEGIC = "strategic", _("Strategic")
        ENTERPRISE = "enterprise", _("Enterprise")
        STANDARD = "standard", _("Standard")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ONBOARDING = "onboarding", _("Onboarding")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    country = models.CharField(
        _("country"), max_length=2, blank=True, default="", help_text=_("ISO 3166-1 alpha-2")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Oslo", validators=[validate_time_zone]
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    products = models.ManyToManyField(
        Product, verbose_name=_("products"), blank=True, related_name="accounts"
    )
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    # Overrides of the tier's SLA policy and calendar (cases.TierSla).
    sla_policy = models.ForeignKey(
        "cases.SlaPolicy",
        verbose_name=_("SLA policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the tier's policy."),
    )
    calendar = models.ForeignKey(
        "cases.Calendar",
        verbose_name=_("calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the tier's calendar."),
    )

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="account_external_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=["strategic", "enterprise", "standard"]),
                name="account_tier_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "onboarding", "churned"]),
                name="account_status_valid",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="account_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["tier"]),
            models.Index(fields=["status"]),
            # The portfolio's default order, sort and search column.
            models.Index(fields=["name"], name="account_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def current_tam(self) -> User | None:
        """The current TAM; uses `with_current_tam()` prefetch when present."""
        assignments = getattr(self, "current_assignments", None)
        if assignments is None:
            assignments = list(self.tam_assignments.filter(ended_at=None).select_related("tam"))
        return assignments[0].tam if assignments else None


class TamAssignment(models.Model):
    """Who was the TAM of which account, from when to when, and why."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="tam_assignments"
    )
    tam = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("TAM"),
        on_delete=models.PROTECT,
        related_name="tam_assignments",
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    end_reason = models.TextField(_("end reason"), blank=True, default="")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["account", "-started_at"]
        verbose_name = _("TAM assignment")
        verbose_name_plural = _("TAM assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(ended_at=None),
                name="tam_assignment_one_current_per_account",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at=None) | models.Q(ended_at__gte=models.F("started_at")),
                name="tam_assignment_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["tam", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.tam} → {self.account}"


class Contact(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True, default="")
    language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=[("en", "English"), ("nb", "Norsk bokmål")],
        default="en",
    )
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_unique",
            ),
        ]
        indexes = [models.Index(fields=["account", "name"]), models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.name


# Expectations and health ------------------------------------------------------------------------


class Expectation(models.Model):
    """A named, measurable standard: `kpi comparator threshold` over `window_days`.

    A row with a `tier` is that tier's default; a row with an `account` overrides the tier's
    threshold for that account (or switches it off with `is_active=False`), or adds a standard the
    tier does not have. KPIs and units are those of `engine.health` (attainment and rates as
    fractions, durations in business seconds).
    """

    class Comparator(models.TextChoices):
        AT_LEAST = ">=", _("at least")
        AT_MOST = "<=", _("at most")
        ABOVE = ">", _("above")
        BELOW = "<", _("below")

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    kpi = models.CharField(_("KPI"), max_length=40)
    comparator = models.CharField(_("comparator"), max_length=2, choices=Comparator.choices)
    threshold = models.FloatField(_("threshold"))
    window_days = models.PositiveIntegerField(_("window (days)"))
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.WARNING
    )
    weight = models.FloatField(_("weight"), default=1.0)
    scale = models.FloatField(_("scale"), null=True, blank=True)
    tier = models.CharField(
        _("tier"), max_length=16, choices=Account.Tier.choices, null=True, blank=True
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="expectations",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code", "tier"]
        verbose_name = _("expectation")
        verbose_name_plural = _("expectations")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(tier__isnull=False, account__isnull=True)
                    | models.Q(tier__isnull=True, account__isnull=False)
                ),
                name="expectation_tier_xor_account",
            ),
            models.UniqueConstraint(
                fields=["code", "tier"],
                condition=models.Q(tier__isnull=False),
                name="expectation_unique_per_tier",
            ),
            models.UniqueConstraint(
                fields=["code", "account"],
                condition=models.Q(account__isnull=False),
                name="expectation_unique_per_account",
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gte=0), name="expectation_weight_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(window_days__gte=1), name="expectation_window_positive"
            ),
        ]

    def __str__(self) -> str:
        where = self.get_tier_display() if self.tier else str(self.account)
        return f"{self.name} ({where})"

    @property
    def label(self) -> str:
        """The name in the reader's language (built-in expectations are translated)."""
        from kontosjef.accounts.expectations import expectation_label

        return expectation_label(self.name)


class KpiSnapshot(models.Model):
    """One account's KPIs over one window, as computed on `on`; a row per day keeps history."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="kpi_snapshots"
    )
    on = models.DateField(_("day"))
    window_days = models.PositiveIntegerField(_("window (days)"))
    values = models.JSONField(_("values"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["account", "-on", "window_days"]
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "on", "window_days"], name="kpi_snapshot_unique"
            )
        ]
        indexes = [models.Index(fields=["on"])]

    def __str__(self) -> str:
        return f"{self.account} {self.on} {self.window_days} d"


class HealthSnapshot(models.Model):
    """One account's health on `on`: the score (None without data), its trends over 30, 90 and
    365 days, the points each expectation cost, and how each expectation was met (value,
    threshold, met, has data)."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="health_snapshots",
    )
    on = models.DateField(_("day"))
    # No score when no expectation had data: "no data" is not "perfect".
    score = models.FloatField(_("score"), null=True, blank=True)
    trend = models.FloatField(_("trend (points per day)"), null=True, blank=True)
    trend_90 = models.FloatField(_("trend over 90 days (points per day)"), null=True, blank=True)
    trend_365 = models.FloatField(_("trend over 365 days (points per day)"), null=True, blank=True)
    points_lost = models.JSONField(_("points lost"), default=dict)
    details = models.JSONField(_("expectations"), default=dict)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["account", "-on"]
        verbose_name = _("health snapshot")
        verbose_name_plural = _("health snapshots")
        constraints = [
            models.UniqueConstraint(fields=["account", "on"], name="health_snapshot_unique"),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="health_score_range"
            ),
        ]
        indexes = [models.Index(fields=["on", "score"])]

    def __str__(self) -> str:
        return f"{self.account} {self.on}: {self.score:.0f}"
