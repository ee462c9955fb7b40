from __future__ import annotations

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
