from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kontosjef.accounts import charts, queries
from kontosjef.accounts.forms import PortfolioFilterForm
from kontosjef.accounts.models import Account
from kontosjef.cases.models import CaseEvent, Priority
from kontosjef.configuration.queries import setup_guide
from kontosjef.people import access
from kontosjef.people.models import Department, User


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    """The home page: the accounts the user may read (a TAM's own portfolio), with health, items,
    SLA attainment, backlog and last contact; filtered and sorted by the query string. An htmx
    request gets the results fragment only."""
    user: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    form = PortfolioFilterForm(request.GET, user=user)
    as_of = queries.resolve_as_of(day=form.cleaned_data.get("as_of"), now=now)
    chosen = form.portfolio_filter()
    accounts = queries.portfolio_accounts(user, chosen, as_of=as_of)
    page = Paginator(accounts, queries.PORTFOLIO_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "portfolio",
        "form": form,
        "mine": form.mine,
        "page": page,
        "rows": queries.portfolio_rows(
            list(page.object_list), now=as_of.instant, trend_days=chosen.trend_days
        ),
        "summary": queries.portfolio_summary(accounts),
        "columns": _portfolio_columns(
            form.ordering, shows_tam=not form.mine, trend_days=chosen.trend_days
        ),
        "sort": form.ordering,
        "now": now,
        "as_of": as_of,
        # What is left to set up on a fresh install (administrators and managers).
        "setup": setup_guide(user),
    }
    fragment = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "accounts/portfolio.html" + ("#fragment" if fragment else "")
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _portfolio_columns(sort: str, *, shows_tam: bool, trend_days: int) -> list[dict[str, Any]]:
    """The portfolio's column heads: label, CSS class and, for sortable ones, the sort a click
    asks for (the other direction when already sorted by it) and the current aria-sort."""
    heads = [
        ("name", _("Account"), ""),
        (None, _("Tier"), "hide-narrow"),
        *([(None, _("TAM"), "hide-narrow")] if shows_tam else []),
        ("health", _("Health"), "num"),
        ("trend", _("Trend (%(days)s days)") % {"days": trend_days}, "hide-narrow"),
        ("items", _("Open items"), "num"),
        ("attainment", _("First-reply SLA"), "num"),
        ("resolution", _("Resolution SLA"), "num hide-narrow"),
        ("backlog", _("Open cases"), "num"),
        ("contact", _("Last contact"), "hide-narrow"),
    ]
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    columns = []
    for key, label, css in heads:
        column: dict[str, Any] = {"key": key, "label": label, "css": css}
        if key is not None:
            first_descending = queries.PORTFOLIO_SORTS[key][1]
            if key == current:
                column["aria_sort"] = "descending" if descending else "ascending"
                column["next"] = key if descending else f"-{key}"
            else:
                column["next"] = f"-{key}" if first_descending else key
        columns.append(column)
    return columns


# Account page ------------------------------------------------------------------------------------


class AsOfForm(forms.Form):
    """The day a page's figures are as of (empty: now, or the data's last day)."""

    as_of = forms.DateField(
        label=gettext_lazy("As of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class TimelineFilterForm(forms.Form):
    """The account timeline's filters; the person list holds who acted on the account's cases."""

    person = forms.ModelChoiceField(
        label=gettext_lazy("Person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Everyone"),
    )
    department = forms.ModelChoiceField(
        label=gettext_lazy("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All departments"),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("All kinds")), *CaseEvent.Kind.choices],
        required=False,
    )

    def __init__(self, data: Any, *, people: Any) -> None:
        super().__init__(data)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]


def _timeline(request: HttpRequest, user: User, account: Account) -> dict[str, Any]:
    form = TimelineFilterForm(request.GET, people=queries.account_timeline_people(user, account))
    form.is_valid()
    chosen = form.cleaned_data
    events = queries.account_timeline(
        user,
        account,
        person=chosen.get("person"),
        department=chosen.get("department"),
        kind=chosen.get("kind") or "",
    )
    ids = events.values_list("pk", flat=True)
    page = Paginator(ids, queries.TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = queries.timeline_events(list(page.object_list))
    for event in rows:
        event.summary = queries.event_summary(event)  # type: ignore[attr-defined]
    filtered = any(chosen.get(name) for name in ("person", "department", "kind"))
    return {
        "timeline_form": form,
        "timeline": page,
        "timeline_events": rows,
        "timeline_filtered": filtered,
    }


def _open_cases(request: HttpRequest, user: User, account: Account) -> dict[str, Any]:
    cases = queries.account_open_cases(user, account)
    page = Paginator(cases, queries.OPEN_CASES_PAGE_SIZE).get_page(request.GET.get("open_page"))
    return {"open_cases": page}


def _closed_cases(request: HttpRequest, user: User, account: Account) -> dict[str, Any]:
    cases = queries.account_closed_cases(user, account)
    page = Paginator(cases, queries.CLOSED_CASES_PAGE_SIZE).get_page(request.GET.get("closed_page"))
    return {"closed_cases": page}


def _charts(
    account: Account,
    expectations: dict[str, queries.AccountExpectation],
    history: queries.AccountHistory,
    now: datetime,
) -> dict[str, Any]:
    thresholds = [
        {"kpi": e.kpi, "threshold": e.threshold}
        for e in expectations.values()
        if e.kpi in queries.ATTAINMENT_KPIS
    ]
    labels = {kpi: queries.kpi_label(kpi) for kpi in queries.ATTAINMENT_KPIS}
    by_priority, by_product = queries.account_case_mix(account, now=now)
    return {
        "health_chart": charts.health_chart(history.health) if history.health else None,
        "attainment_chart": charts.attainment_chart(history.attainment, thresholds, labels)
        if history.attainment
        else None,
        "backlog_chart": charts.backlog_chart(history.backlog) if history.backlog else None,
        "priority_chart": charts.priority_chart(
            by_priority, {p.value: str(p.label) for p in Priority}
        )
        if by_priority
        else None,
        "product_chart": charts.product_chart(by_product, none_label=_("No product"))
        if by_product
        else None,
    }


# The parts htmx refreshes in place: target element id -> (partial, its context).
ACCOUNT_PARTS = {
    "timeline": ("timeline", _timeline),
    "open-cases": ("open_cases", _open_cases),
    "closed-cases": ("closed_cases", _closed_cases),
}


@login_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account page; an htmx request for one of `ACCOUNT_PARTS` gets only that fragment."""
    user: User = request.user  # type: ignore[assignment]
    account = get_object_or_404(access.readable_accounts(user).with_current_tam(), pk=account_id)
    now = timezone.now()
    target = request.headers.get("HX-Target", "") if request.headers.get("HX-Request") else ""
    if target in ACCOUNT_PARTS:
        partial, part = ACCOUNT_PARTS[target]
        context = {"account": account, "now": now, **part(request, user, account)}
        response = render(request, f"accounts/account_detail.html#{partial}", context)
    else:
        as_of_form = AsOfForm(request.GET)
        as_of_form.is_valid()
        as_of = queries.resolve_as_of(day=as_of_form.cleaned_data.get("as_of"), now=now)
        expectations = queries.account_expectations(account)
        health = queries.account_health(account, expectations, day=as_of.day)
        kpis_on, kpis = queries.account_kpis(account, expectations, health, day=as_of.day)
        history = queries.account_history(account, today=as_of.day)
        context = {
            "account": account,
            "now": now,
            "as_of": as_of,
            "as_of_form": as_of_form,
            "nav": "portfolio",
            "health": health,
            "health_history": [row["score"] for row in history.health],
            "kpis_on": kpis_on,
            "kpis": kpis,
            "windows": queries.WINDOWS,
            "contacts": queries.account_contacts(account),
            "tam_history": queries.account_tam_history(account),
            "can_open_case": access.may_open_cases(user),
            **_charts(account, expectations, history, as_of.instant),
        }
        for _partial, part in ACCOUNT_PARTS.values():
            context.update(part(request, user, account))
        response = render(request, "accounts/account_detail.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
