"""The error envelope: every error the API answers has the same JSON body.

    {"error": {"code": "invalid", "message": "…", "fields": {"subject": ["…"]}}}

Services raise Django's exceptions (ValidationError, PermissionDenied, ObjectDoesNotExist) and
`CaseConflict`; the handlers installed here turn each into a 4xx answer, so a bad request never
becomes a server error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import pydantic
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError

from kontosjef.cases.services import CaseConflict

# The code of each status the API answers with an error.
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "throttled",
    503: "unavailable",
}


def error_body(status: int, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {
        "error": {"code": CODES.get(status, "error"), "message": message, "fields": fields or {}}
    }


def error_response(
    status: int, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """An error answer outside an operation (unknown URL, wrong method, webhook refusals)."""
    response = JsonResponse(error_body(status, message, fields), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="kontosjef"'
    return response


def _field_name(loc: Iterable[Any]) -> str:
    # ninja reports ("body", "payload", "subject") or ("query", "status", 0): drop the source and
    # the name of the view's body argument, keep the path into the document.
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        source, parts = parts[0], parts[1:]
        if source == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(parts) or "__all__"


def _on_request_invalid(
    request: HttpRequest, exc: RequestValidationError, api: NinjaAPI
) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")  # the discriminator of a change is its `kind`
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        fields.setdefault(_field_name(loc), []).append(message)
    return _respond(api, request, 422, _("The request is not valid."), fields)


def _on_invalid(request: HttpRequest, exc: ValidationError, api: NinjaAPI) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        fields = {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
        general = fields.pop("__all__", [])
        message = " ".join(general) or _("The request is not valid.")
        if general and fields:
            fields["__all__"] = general
    else:
        fields = {}
        message = " ".join(str(m) for m in exc.messages) or _("The request is not valid.")
    return _respond(api, request, 422, message, fields)


def _on_forbidden(request: HttpRequest, exc: PermissionDenied, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 403, str(exc) or _("You may not do this."))


def _on_not_found(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 404, _("Not found, or not visible to you."))


def _on_conflict(request: HttpRequest, exc: CaseConflict, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 409, str(exc))


def _on_integrity(request: HttpRequest, exc: IntegrityError, api: NinjaAPI) -> HttpResponse:
    # A unique or foreign key constraint lost a race with another writer; full_clean() in the
    # services catches the ordinary duplicates with a field message before this can happen.
    return _respond(
        api, request, 409, _("The change conflicts with data written at the same time. Retry.")
    )


def _on_bad_data(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 400, _("The request contains a value that cannot be used."))


def _on_suspicious(request: HttpRequest, exc: SuspiciousOperation, api: NinjaAPI) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return _respond(api, request, 413, _("The request body is too large."))
    return _respond(api, request, 400, _("The request was refused as malformed."))


def _on_http_error(request: HttpRequest, exc: HttpError, api: NinjaAPI) -> HttpResponse:
    if isinstance(exc, AuthenticationError) and exc.message == "Unauthorized":
        message = _("Authentication required: send an API token as 'Authorization: Bearer …'.")
    elif exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        message = _("The request body is not valid JSON.")
    else:
        message = str(exc)
    return _respond(api, request, exc.status_code, message)


def _respond(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    response = api.create_response(request, error_body(status, message, fields), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="kontosjef"'
    return response


def _server_fault(request: HttpRequest, exc: Exception, api: NinjaAPI) -> NoReturn:
    # A pydantic error that ninja did not turn into a request error means an answer did not fit
    # its own schema: that is a bug to see in tests, not a 400 to blame on the client.
    raise exc


def install_error_handlers(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (pydantic.ValidationError, _server_fault),
        (RequestValidationError, _on_request_invalid),
        (ValidationError, _on_invalid),
        (PermissionDenied, _on_forbidden),
        (ObjectDoesNotExist, _on_not_found),
        (Http404, _on_not_found),
        (CaseConflict, _on_conflict),
        (IntegrityError, _on_integrity),
        (DataError, _on_bad_data),
        (ValueError, _on_bad_data),
        (SuspiciousOperation, _on_suspicious),
        (HttpError, _on_http_error),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, functools.partial(handler, api=api))


def json_errors_outside_operations(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Wrap one of ninja's URL views so its own bare 405 answer gets the envelope too."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            response = error_response(
                405,
                _("This URL does not answer %(method)s; it answers %(allowed)s.")
                % {"method": request.method, "allowed": allowed},
            )
            response["Allow"] = allowed
        return response

    return wrapped


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Every other URL under the API: a JSON 404 instead of the site's HTML page."""
    return error_response(404, _("There is no such API endpoint."))
