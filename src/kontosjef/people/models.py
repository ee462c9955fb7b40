from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.utils import timezone
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


class UserManager(DjangoUserManager["User"]):
    """A superuser is an administrator: every path that makes one (`kontosjef createsuperuser`,
    tests' `admin_user`, scripts) gets the admin role, never the default viewer."""

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", User.Role.ADMIN)
        if extra["role"] != User.Role.ADMIN:
            raise ValueError("A superuser must have the role admin.")
        # Imported here: the audit app's models refer to this one.
        from kontosjef.audit.services import audit_record

        with transaction.atomic():
            user = super().create_superuser(username, email, password, **extra)
            # The first administrator of a fresh install starts the audit log; nobody made it.
            audit_record(
                at=timezone.now(),
                actor=None,
                action="user.create",
                obj=user,
                after={"username": user.username, "email": user.email, "role": user.role,
                       "is_superuser": True},
            )  # fmt: skip
        return user


class User(AbstractUser):
    """An employee. The role decides what they may see and change (see `people.access`)."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MANAGER = "manager", _("Manager")
        TAM = "tam", _("Technical account manager")
        AGENT = "agent", _("Agent")
        VIEWER = "viewer", _("Viewer")

    class Notify(models.TextChoices):
        """How the user hears about new attention items (see docs/notifications.md)."""

        IMMEDIATE = "immediate", _("Immediately, one e-mail per item")
        DIGEST = "digest", _("Daily digest")
        OFF = "off", _("Off")

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
    notify = models.CharField(
        _("notifications"), max_length=12, choices=Notify.choices, default=Notify.IMMEDIATE
    )
    external_source = models.CharField(_("external source"), max_length=40, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "manager", "tam", "agent", "viewer"]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(notify__in=["immediate", "digest", "off"]),
                name="user_notify_valid",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~models.Q(external_id=""),
                name="user_external_unique",
            ),
            # Django's superuser flag opens the admin and every permission: only for admins.
            models.CheckConstraint(
                condition=models.Q(is_superuser=False) | models.Q(role="admin"),
                name="user_superuser_is_admin",
                violation_error_message=_(
                    "A superuser must have the role Administrator: choose that role, or untick "
                    "“superuser status”."
                ),
            ),
        ]
        indexes = [models.Index(fields=["role"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_manager_or_admin(self) -> bool:
        return self.role in (self.Role.ADMIN, self.Role.MANAGER)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at=None)


class ApiToken(models.Model):
    """A personal API token. Only the SHA-256 of the secret is stored; the prefix, kept in clear,
    lets the owner recognise the token in a list without it being usable."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read and write")

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    secret_hash = models.CharField(_("secret hash"), max_length=64, unique=True)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "read_write"]), name="api_token_scope_valid"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="api_token_name_not_empty"),
        ]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE
