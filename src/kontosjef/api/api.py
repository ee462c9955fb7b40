"""The one NinjaAPI of Kontosjef v1: authentication, the error envelope, OpenAPI and docs, and
each app's router mounted under /api/v1/."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, re_path, reverse
from ninja import NinjaAPI, Swagger

from kontosjef.accounts.api import router as accounts_router
from kontosjef.api.auth import SessionReadAuth, TokenAuth
from kontosjef.api.errors import install_error_handlers, json_errors_outside_operations, not_found
from kontosjef.attention.api import router as attention_router
from kontosjef.cases.api import router as cases_router
from kontosjef.cases.api import webhooks_router
from kontosjef.people.api import router as people_router

DESCRIPTION = """\
Accounts with their health, KPIs and expectations, contacts, products, cases and their events,
attention items and their actions, users and departments.

Send a personal API token as `Authorization: Bearer ksj_…` (create one on the *API tokens* page).
A signed-in browser session may also read. Lists are paginated by cursor: pass the page's
`next_cursor` as `cursor` to get the next page. Every error has the body
`{"error": {"code": …, "message": …, "fields": {…}}}`. See docs/api.md.
"""

api = NinjaAPI(
    title="Kontosjef API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionReadAuth()],
    # Swagger UI from django-ninja's own static files, served by this site: the page works
    # under the Content-Security-Policy (script-src 'self'), which forbids a CDN. The validator
    # badge would fetch an image from swagger.io, so it is switched off.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    docs_url="/docs",
)
install_error_handlers(api)

api.add_router("", people_router)
api.add_router("", accounts_router)
api.add_router("", cases_router)
api.add_router("", attention_router)
api.add_router("", webhooks_router)


def index(request: HttpRequest, **kwargs: object) -> JsonResponse:
    """/api/v1/ itself: where the documentation is."""
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "docs": reverse("api-v1:openapi-view"),
            "openapi": reverse("api-v1:openapi-json"),
        }
    )


def urls() -> list[URLPattern | URLResolver]:
    """The API's URL patterns, each answering errors in the envelope, and a JSON 404 for the
    rest of the API's URL space."""
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if not isinstance(pattern, URLPattern):
            continue
        # ninja's root view answers 404 outside DEBUG; keep its name (ninja reverses it for the
        # OpenAPI paths) and answer with pointers to the documentation instead.
        if pattern.name == "api-root":
            pattern.callback = index
        pattern.callback = json_errors_outside_operations(pattern.callback)
    return [*patterns, re_path(r"^.*$", not_found)]
