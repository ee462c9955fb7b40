from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """An employee. The role decides what they may see and change (see `people.access`)."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MANAGER = "manager", _("Manager")
        TAM = "tam", _("Technical account manager")
        AGENT = "agent", _("Agent")
        VIEWER = "viewer", _("Viewer")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[("en", "English"), ("nb", "Norsk bokmål")],
        default="en",
    )
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "manager", "tam", "agent", "viewer"]),
                name="user_role_valid",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="user_external_unique",
            ),
        ]
        indexes = [models.Index(fields=["role"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_manager_or_admin(self) -> bool:
        return self.role in (self.Role.ADMIN, self.Role.MANAGER)
