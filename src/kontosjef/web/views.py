import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kontosjef.accounts.models import Contact
from kontosjef.people import access
from kontosjef.people.models import ApiToken, User
from kontosjef.people.services import IssuedApiToken, api_token_create, api_token_revoke
from kontosjef.web.forms import ApiTokenForm


# never_cache: the page that shows a new token's secret must not be kept by a browser or proxy.
@never_cache
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens; a POST creates one and shows its secret once."""
    user: User = request.user  # type: ignore[assignment]
    form = ApiTokenForm(request.POST or None)
    issued: IssuedApiToken | None = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=user)
    return render(
        request, "web/api_tokens.html", {"form": form, "tokens": tokens, "issued": issued}
    )


@require_POST
@login_required
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    api_token_revoke(token=token, by=request.user, now=timezone.now())  # type: ignore[arg-type]
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api_tokens")


SEARCH_LIMIT = 20
_CASE_ID = re.compile(r"#?(\d{1,10})")


def _contains(fields: tuple[str, ...], query: str) -> Q:
    """Case-insensitive "contains" on any of `fields`. SQLite folds only ASCII letters, so for
    other letters the lower, upper and capitalised forms are tried too ("bjørkely" finds
    "Bjørkely")."""
    variants = {query}
    if not query.isascii():
        variants |= {query.lower(), query.upper(), query.capitalize(), query.title()}
    condition = Q()
    for field in fields:
        for variant in variants:
            condition |= Q(**{f"{field}__icontains": variant})
    return condition


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Accounts (name), contacts (name, e-mail) and cases (id, subject, external id) the user
    may read, up to SEARCH_LIMIT of each with their counts. A case id ("123" or "#123") of a
    readable case goes straight to the case. Plain `icontains` scans are fast enough at the
    demo's size (150 accounts, 8,300 cases); a larger installation would want full-text search."""
    user: User = request.user  # type: ignore[assignment]
    query = request.GET.get("q", "").strip()[:200]
    context: dict[str, Any] = {"search_query": query, "groups": []}
    if not query:
        return render(request, "web/search.html", context)
    cases = access.readable_cases(user)
    case_id = _CASE_ID.fullmatch(query)
    if case_id:
        hit = cases.filter(pk=int(case_id.group(1))).values_list("pk", flat=True).first()
        if hit is not None:
            return redirect("case_detail", hit)
    accounts = access.readable_accounts(user)
    found = {
        "accounts": accounts.filter(_contains(("name",), query)).with_current_tam(),
        "contacts": Contact.objects.filter(account__in=accounts)
        .filter(_contains(("name", "email"), query))
        .select_related("account"),
        "cases": cases.filter(_contains(("subject",), query) | Q(external_id__iexact=query))
        .select_related("account")
        .only("subject", "priority", "status", "opened_at", "external_id", "account__name")
        .order_by("-opened_at"),
    }
    titles = {"accounts": _("Accounts"), "contacts": _("Contacts"), "cases": _("Cases")}
    for kind, rows in found.items():
        context["groups"].append(
            {
                "kind": kind,
                "title": titles[kind],
                "count": rows.count(),
                "rows": list(rows[:SEARCH_LIMIT]),
            }
        )
    context["total"] = sum(g["count"] for g in context["groups"])
    return render(request, "web/search.html", context)
