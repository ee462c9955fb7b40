"""Every write to departments, users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
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


def department_create(*, by: User, name: str, now: datetime, code: str = "") -> Department:
    access.require_manager(by)
    department = Department(name=name.strip(), code=code or slugify(name))
    department.full_clean()
    with transaction.atomic():
        department.save()
        audit_record(
            at=now,
            actor=by,
            action="department.create",
            obj=department,
            after=snapshot(department, ["name", "code"]),
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
    """Create an employee. `by=None` only for bootstrap commands (the first admin, the demo)."""
    if by is not None:
        access.require_manager(by)
        if role == User.Role.ADMIN and by.role != User.Role.ADMIN:
            access.require_admin(by)
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
