"""Who is calling: a personal API token (`Authorization: Bearer ksj_…`), or, for reads from the
browser, the signed-in session.

A token acts as its owner, with the owner's role and account scope, so the API sees exactly what
the UI shows that person. A read-only token is refused (403) on every write before the request
is even parsed. The session is accepted for GET only: a write from the browser would need CSRF
protection, and the API's writers are programs holding tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from kontosjef.people.models import User
from kontosjef.people.services import api_token_use

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User:
        found = api_token_use(secret=token.strip(), now=timezone.now())
        if found is None:
            # A wrong token is an error, not a reason to fall back to the session cookie.
            raise AuthenticationError(message=_("The API token is not valid, or it was revoked."))
        if request.method not in SAFE_METHODS and not found.can_write:
            raise AuthorizationError(
                message=_("This token may only read. Create a read-write token to make changes.")
            )
        return found.user


class SessionReadAuth(SessionAuth):
    """The browser's session, for reads only (the docs page's "Try it out", a quick look)."""

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if request.method in SAFE_METHODS and user.is_authenticated and user.is_active:
            return user
        return None


def webhook_signature(body: bytes, secret: str) -> str:
    """The signature header value for `body`: "sha256=" and the hex HMAC-SHA256 under `secret`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSignature(APIKeyHeader):
    """An inbound webhook proves its sender by signing the raw body with the shared secret
    (KONTOSJEF_WEBHOOK_SECRET). Checked before the body is parsed, so an unsigned request learns
    nothing about the payload's rules."""

    param_name = "X-Kontosjef-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        secret = settings.KONTOSJEF_WEBHOOK_SECRET
        if not secret:
            raise HttpError(
                503,
                _(
                    "Webhooks are switched off: the server has no KONTOSJEF_WEBHOOK_SECRET. "
                    "Ask the administrator to set one."
                ),
            )
        expected = webhook_signature(request.body, secret).encode("ascii")
        given = (key or "").strip().encode("utf-8", "replace")
        # Constant-time comparison: timing must not reveal how much of a forgery was right.
        if not key or not hmac.compare_digest(expected, given):
            raise AuthenticationError(
                message=_(
                    "The X-Kontosjef-Signature header is missing or does not match the body "
                    "(expected sha256=<hex HMAC-SHA256 of the raw body with the shared secret>)."
                )
            )
        return "webhook"


def user_of(request: HttpRequest) -> User:
    """The authenticated caller of an operation (ninja stores it on `request.auth`)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]
