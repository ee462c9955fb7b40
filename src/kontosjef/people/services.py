"""Every write to departments, users and API tokens.

Departments, people and roles are the administrators' (`by=None` only for bootstrap commands:
the first admin, the demo, imports).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kontosjef.audit.services import audit_record, snapshot
from kontosjef.people import access
from kontosjef.people.models import ApiToken, Department, User

USER_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "department",
    "language",
    "notify",
]


def _unique_department_name(name: str, *, pk: int | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the department a name.")})
    others = Department.objects.exclude(pk=pk) if pk is not None else Department.objects.all()
    if others.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("There is already a department called “%(name)s”.") % {"name": name}}
        )
    return name


def department_create(
    *, by: User | None, name: str, now: datetime, code: str = "", description: str = ""
) -> Department:
    """A department. `code` (a short slug that imports and mappings name it by) defaults to the
    name's slug."""
    if by is not None:
        access.require_admin(by)
    name = _unique_department_name(name, pk=None)
    code = (code or "").strip() or slugify(name)
    if not code:
        raise ValidationError({"code": _("Give a code of letters, digits and hyphens.")})
    if Department.objects.filter(code=code).exists():
        raise ValidationError(
            {"code": _("The code “%(code)s” is taken: choose another one.") % {"code": code}}
        )
    department = Department(name=name, code=code, description=description.strip())
    department.full_clean()
    with transaction.atomic():
        department.save()
        audit_record(
            at=now,
            actor=by,
            action="department.create",
            obj=department,
            after=snapshot(department, ["name", "code", "description"]),
        )
    return department


def department_rename(
    *, department: Department, by: User, now: datetime, name: str, description: str
) -> Department:
    """Change a department's name and description. Its code stays: imports know it by that."""
    access.require_admin(by)
    name = _unique_department_name(name, pk=department.pk)
    before = snapshot(department, ["name", "description"])
    department.name, department.description = name, description.strip()
    department.full_clean()
    with transaction.atomic():
        department.save(update_fields=["name", "description"])
        audit_record(
            at=now,
            actor=by,
            action="department.rename",
            obj=department,
            before=before,
            after=snapshot(department, ["name", "description"]),
        )
    return department


def user_create(
    *,
    by: User | None,
    username: str,
    password: str | None,
    role: str,
    now: datetime,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    department: Department | None = None,
    language: str = "en",
    external_source: str = "",
    external_id: str = "",
) -> User:
    """Create an employee. `password=None` leaves them without one: they sign in once they set
    one through a set-password link (`user_password_link`). Administrators create people;
    `by=None` only for bootstrap commands (the demo, integration identities)."""
    if by is not None:
        access.require_admin(by)
    if role not in User.Role.values:
        raise ValidationError({"role": _("Choose one of the roles.")})
    if User.objects.filter(username__iexact=username.strip()).exists():
        raise ValidationError(
            {"username": _("The user name “%(name)s” is taken: choose another one.")
             % {"name": username.strip()}}
        )  # fmt: skip
    user = User(
        username=username.strip(),
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        department=department,
        language=language,
        external_source=external_source,
        external_id=external_id,
        is_staff=role == User.Role.ADMIN,
        is_superuser=role == User.Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    with transaction.atomic():
        user.save()
        audit_record(
            at=now, actor=by, action="user.create", obj=user, after=snapshot(user, USER_FIELDS)
        )
    return user


def _active_admins() -> int:
    return User.objects.filter(role=User.Role.ADMIN, is_active=True).count()


def user_update(
    *,
    user: User,
    by: User,
    now: datetime,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    department: Department | None,
    language: str,
) -> User:
    """Change an employee's name, e-mail, role, department and language (administrators). The
    Django flags follow the role: administrators are staff and superusers, nobody else is. The
    last active administrator keeps the role, so the site is never left without one."""
    access.require_admin(by)
    if role not in User.Role.values:
        raise ValidationError({"role": _("Choose one of the roles.")})
    if (
        user.role == User.Role.ADMIN
        and role != User.Role.ADMIN
        and user.is_active
        and _active_admins() <= 1
    ):
        raise ValidationError(
            {"role": _("%(name)s is the only active administrator: make someone else an "
                       "administrator first.") % {"name": user}}
        )  # fmt: skip
    before = snapshot(user, USER_FIELDS)
    user.first_name, user.last_name, user.email = first_name.strip(), last_name.strip(), email
    user.role, user.department, user.language = role, department, language
    user.is_staff = user.is_superuser = role == User.Role.ADMIN
    try:
        user.full_clean()
    except ValidationError:
        user.refresh_from_db()
        raise
    with transaction.atomic():
        user.save()
        audit_record(at=now, actor=by, action="user.update", obj=user, before=before,
                     after=snapshot(user, USER_FIELDS))  # fmt: skip
    return user


def user_set_active(*, user: User, by: User, now: datetime, is_active: bool) -> User:
    """Deactivate an employee (they can no longer sign in or use their API tokens; their history
    and assignments stay) or activate them again. Administrators may not deactivate themselves,
    nor the last active administrator."""
    access.require_admin(by)
    if user.is_active == is_active:
        return user
    if not is_active and user.pk == by.pk:
        raise ValidationError(
            {"is_active": _("You cannot deactivate yourself: ask another administrator.")}
        )
    if not is_active and user.role == User.Role.ADMIN and _active_admins() <= 1:
        raise ValidationError(
            {"is_active": _("%(name)s is the only active administrator: make someone else an "
                            "administrator first.") % {"name": user}}
        )  # fmt: skip
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=is_active)
        user.is_active = is_active
        audit_record(
            at=now, actor=by, action="user.activate" if is_active else "user.deactivate",
            obj=user, before={"is_active": not is_active}, after={"is_active": is_active},
        )  # fmt: skip
    return user


def user_password_link(*, user: User, by: User, now: datetime) -> str:
    """The path of a link at which `user` sets a new password, for an administrator to pass
    on. It works once (setting the password changes the token's basis) and for
    `PASSWORD_RESET_TIMEOUT` (three days). Issuing it is audited; the link itself is not
    stored."""
    access.require_admin(by)
    if not user.is_active:
        raise ValidationError(
            {"is_active": _("%(name)s is deactivated: activate them first.") % {"name": user}}
        )
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    with transaction.atomic():
        audit_record(at=now, actor=by, action="user.password_link", obj=user)
    return reverse("password_set", kwargs={"uidb64": uid, "token": token})


def user_set_notification_preference(*, user: User, by: User, notify: str, now: datetime) -> User:
    """Set how `user` hears about new attention items: immediately, a daily digest, or not at all.

    Users change their own preference; managers and administrators anyone's. Setting the current
    value changes nothing and writes no audit entry.
    """
    if not (by.is_authenticated and by.is_active):
        raise PermissionDenied(_("Only an active user may change notification preferences."))
    if by.pk != user.pk:
        access.require_manager(by)
    if notify not in User.Notify.values:
        raise ValidationError({"notify": _("Choose immediately, daily digest or off.")})
    if user.notify == notify:
        return user
    before = user.notify
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(notify=notify)
        user.notify = notify
        audit_record(
            at=now,
            actor=by,
            action="user.set_notification_preference",
            obj=user,
            before={"notify": before},
            after={"notify": notify},
        )
    return user


# The clear token is "ksj_" + 43 URL-safe characters (256 random bits); the prefix shown in lists
# is the first 12 characters, too short to guess the rest from.
API_TOKEN_PREFIX = "ksj_"  # noqa: S105 (a public marker, not a secret)
API_TOKEN_DISPLAY_LENGTH = 12
# Recording every request's use would turn each read into a write; a minute is precise enough to
# tell a token in use from a forgotten one.
API_TOKEN_USE_RESOLUTION = timedelta(minutes=1)

# Integration identities (see `integration_user`) are marked by this external source.
INTEGRATION_SOURCE = "kontosjef.integration"


@dataclass(frozen=True)
class IssuedApiToken:
    """A new token and its clear secret, which exists only here and is never stored."""

    token: ApiToken
    secret: str


def api_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_token_create(*, by: User, name: str, scope: str, now: datetime) -> IssuedApiToken:
    """Issue a personal API token to `by`. The clear secret is returned once and never again."""
    if not (by.is_authenticated and by.is_active):
        raise PermissionDenied(_("Only an active user may create an API token."))
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=by,
        name=name.strip(),
        prefix=secret[:API_TOKEN_DISPLAY_LENGTH],
        secret_hash=api_token_hash(secret),
        scope=scope,
        created_at=now,
    )
    token.full_clean()
    with transaction.atomic():
        token.save()
        audit_record(
            at=now,
            actor=by,
            action="api_token.create",
            obj=token,
            after=snapshot(token, ["user", "name", "prefix", "scope"]),
        )
    return IssuedApiToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken, by: User, now: datetime) -> ApiToken:
    """Revoke a token for good. Its owner may revoke it, and so may an administrator (to shut
    out a leaked token). Revoking a revoked token changes nothing."""
    if token.user_id != by.pk:
        access.require_admin(by)
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        # Conditional UPDATE: two revocations at once write one audit entry, not two.
        if not ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now):
            token.refresh_from_db()
            return token
        token.revoked_at = now
        audit_record(
            at=now,
            actor=by,
            action="api_token.revoke",
            obj=token,
            before={"revoked_at": None},
            after={"revoked_at": now},
        )
    return token


def api_token_use(*, secret: str, now: datetime) -> ApiToken | None:
    """The active token of an active user that `secret` belongs to, or None.

    Records when the token was last used (to the minute). Not audited: using a token changes no
    business data, and an entry per request would bury the audit log.
    """
    if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user__department")
        .filter(secret_hash=api_token_hash(secret), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def integration_user(*, source: str, now: datetime) -> User:
    """The identity an external integration (a webhook sender) acts as, created on first use.

    Case services take an employee who holds the right to act on the case, and every case event
    names who did it. An integration gets its own user so its events and audit entries say which
    integration wrote them. It has the manager role (integrations act on every account's cases)
    and no usable password, so nobody can sign in as it or create tokens for it.
    """
    existing = User.objects.filter(external_source=INTEGRATION_SOURCE, external_id=source).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            user = user_create(
                by=None,
                username=f"integration.{source}"[:150],
                password=None,
                role=User.Role.MANAGER,
                now=now,
                first_name=source[:150],
                last_name="(integration)",
                external_source=INTEGRATION_SOURCE,
                external_id=source,
            )
    except (IntegrityError, ValidationError) as exc:
        # Another request created it first, or a person already has the user name: use the
        # existing user only if it is this integration's identity, never a person's account.
        existing = User.objects.filter(
            external_source=INTEGRATION_SOURCE, external_id=source
        ).first()
        if existing is None:
            raise ValidationError(
                {
                    "source": _(
                        "The user name for integration %(source)s is taken by someone else."
                    )
                    % {"source": source}
                }
            ) from exc
        return existing
    return user
