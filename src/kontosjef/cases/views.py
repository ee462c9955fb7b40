"""The case page: its history, live SLA clocks, and the actions that change the case.

Every action is a plain POST form that works without JavaScript (post, redirect, get); with htmx
the same view answers the page's main fragment, swapped in place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from kontosjef.accounts.models import Account
from kontosjef.accounts.queries import resolve_as_of
from kontosjef.cases import handling, queries, services
from kontosjef.cases.forms import (
    FORMS,
    CaseActionForm,
    CaseListFilterForm,
    CaseOpenForm,
    HandlingWindowForm,
)
from kontosjef.cases.models import Case, Priority, Status
from kontosjef.people import access
from kontosjef.people.models import User

EVENTS_PER_PAGE = 100
TEMPLATE = "cases/detail.html"


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_safe
@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = get_object_or_404(queries.case_page_cases(user), pk=case_id)
    return _page(request, case, now=timezone.now())


@require_safe
@login_required
def case_clocks(request: HttpRequest, case_id: int) -> HttpResponse:
    """The clocks fragment the page polls; it also says when the case changed since `seen`."""
    user: User = request.user  # type: ignore[assignment]
    case = get_object_or_404(queries.case_page_cases(user), pk=case_id)
    now = timezone.now()
    seen = request.GET.get("seen", "")
    context = {
        "case": case,
        "clocks": queries.case_clocks(case, now=now),
        "seen": int(seen) if seen.isdigit() else case.version,
    }
    return render(request, f"{TEMPLATE}#clocks", context)


@require_POST
@login_required
def case_act(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    """Reply, note, change status or priority, or hand off: one service call each."""
    user: User = request.user  # type: ignore[assignment]
    case = get_object_or_404(queries.case_page_cases(user), pk=case_id)
    now = timezone.now()
    if not access.can_act_on_case(user, case):
        messages.error(request, _("You may not change case %(case)s.") % {"case": case.pk})
        return _page(request, case, now=now, status=403)
    form = FORMS[action](request.POST, prefix=action)
    conflict = False
    if form.is_valid():
        try:
            done = _perform(action, case, user, form.cleaned_data, now)
        except services.CaseConflict:
            conflict = True
            form.add_error(
                None,
                _(
                    "Someone else changed this case while you were writing: their change is "
                    "now in the history. Check it, then send again; your text is kept below."
                ),
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, done)
            return _after_change(request, user, case.pk, now)
    fresh = queries.case_page_cases(user).filter(pk=case.pk).first()
    if fresh is None:  # handed out of the user's sight by someone else meanwhile
        raise Http404
    if _htmx(request):
        status = 200  # htmx swaps only successful answers
    else:
        status = 409 if conflict else 400
    return _page(request, fresh, now=now, bound=(action, form), conflict=conflict, status=status)


def _perform(action: str, case: Case, by: User, data: dict[str, Any], now: Any) -> str:
    """Call the action's service; answer the message that tells the user it is done."""
    version = data["version"]
    if action == "reply":
        services.case_reply(
            case=case,
            by=by,
            body=data["body"],
            now=now,
            expected_version=version,
            then_status=data["then_status"] or None,
        )
        return _("Your public reply is added.")
    if action == "note":
        services.case_add_note(
            case=case, by=by, body=data["body"], now=now, expected_version=version
        )
        return _("Your internal note is added.")
    if action == "status":
        services.case_change_status(case=case, by=by, to=data["to"], now=now,
                                    expected_version=version, reason=data["reason"])  # fmt: skip
        return _("The status is now %(status)s.") % {"status": Status(data["to"]).label}
    if action == "priority":
        services.case_change_priority(case=case, by=by, to=data["to"], now=now,
                                      expected_version=version, reason=data["reason"])  # fmt: skip
        return _("The priority is now %(priority)s.") % {"priority": Priority(data["to"]).label}
    event = services.case_hand_off(case=case, by=by, reason=data["reason"], now=now,
                                   expected_version=version, department=data["department"],
                                   assignee=data["assignee"])  # fmt: skip
    return _("The case is handed off to %(who)s.") % {"who": event.to_value}


def _after_change(request: HttpRequest, user: User, case_id: int, now: Any) -> HttpResponse:
    case = queries.case_page_cases(user).filter(pk=case_id).first()
    if case is None:
        # An agent who hands a case to another department no longer sees it.
        messages.info(request, _("Case %(case)s is no longer in your queue.") % {"case": case_id})
        url = reverse("home")
    else:
        url = reverse("case_detail", args=[case_id])
    if _htmx(request):
        if case is not None:
            return _page(request, case, now=now)
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _page(
    request: HttpRequest,
    case: Case,
    *,
    now: Any,
    bound: tuple[str, CaseActionForm] | None = None,
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or with htmx its main fragment (header, clocks, history, actions)."""
    user: User = request.user  # type: ignore[assignment]
    can_act = access.can_act_on_case(user, case)
    newest_first = request.GET.get("order") == "newest"
    page = Paginator(
        queries.case_timeline(case, newest_first=newest_first), EVENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    forms: dict[str, CaseActionForm] = {}
    if can_act:
        initial = {
            "status": {"to": case.status},
            "priority": {"to": case.priority},
        }
        # A closed case takes no more changes; a solved one takes replies, notes and a status.
        names = [] if case.status == Status.CLOSED else list(FORMS)
        if not case.is_open:
            names = [name for name in names if name not in ("priority", "handoff")]
        forms = {name: FORMS[name](prefix=name, initial=initial.get(name)) for name in names}
        if bound is not None:
            forms[bound[0]] = bound[1]
    context = {
        "case": case,
        "clocks": queries.case_clocks(case, now=now),
        "events": queries.label_events(list(page.object_list)),
        "page": page,
        "newest_first": newest_first,
        "can_act": can_act,
        "forms": forms,
        "conflict": conflict,
        "is_htmx": _htmx(request),
        "seen": case.version,
    }
    template = f"{TEMPLATE}#main" if _htmx(request) else TEMPLATE
    return render(request, template, context, status=status)


@require_safe
@login_required
def account_handling(request: HttpRequest, account_id: int) -> HttpResponse:
    """The handling review of an account (read-only): who held its cases, for how long, how
    they moved, and what is unusual for its tier."""
    user: User = request.user  # type: ignore[assignment]
    account = get_object_or_404(access.readable_accounts(user), pk=account_id)
    now = timezone.now()
    form = HandlingWindowForm(request.GET)
    form.is_valid()
    days = form.cleaned_data.get("days") or handling.DEFAULT_DAYS
    as_of = resolve_as_of(day=form.cleaned_data.get("as_of"), now=now)
    window = handling.Window(start=as_of.instant - timedelta(days=days), end=as_of.instant)
    review = handling.handling_review(user, account, window)
    context = {
        "account": account,
        "review": review,
        "form": form,
        "as_of": as_of,
        "now": now,
        "nav": "portfolio",
    }
    return render(request, "cases/handling.html", context)


# Case list ---------------------------------------------------------------------------------------


@require_safe
@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """Every case the user may read, narrowed by a view and filters from the query string, most
    urgent deadline first. An htmx request gets the results fragment only."""
    user: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    form = CaseListFilterForm(request.GET, user=user)
    cases = queries.case_list(user, form.case_filter(), now=now)
    page = Paginator(cases, queries.CASE_LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "cases",
        "form": form,
        "view": form.chosen_view,
        "views": form.offered_views,
        "page": page,
        "cases": queries.label_case_rows(list(page.object_list)),
        "soon_hours": int(queries.BREACHING_SOON.total_seconds() // 3600),
        "columns": _case_columns(form.ordering),
        "sort": form.ordering,
        "now": now,
        "can_open": access.may_open_cases(user),
    }
    fragment = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    response = render(request, "cases/list.html" + ("#fragment" if fragment else ""), context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _case_columns(sort: str) -> list[dict[str, Any]]:
    """The column heads: label, CSS class and, for sortable ones, the sort a click asks for
    (the other direction when already sorted by it) and the current aria-sort."""
    heads = [
        ("case", _("Case"), ""),
        ("account", _("Account"), "hide-narrow"),
        ("priority", _("Priority"), ""),
        ("status", _("Status"), "hide-narrow"),
        (None, _("Department"), "hide-narrow"),
        (None, _("Assignee"), "hide-narrow"),
        (None, _("SLA"), ""),
        ("due", _("Next SLA due"), ""),
        ("updated", _("Updated"), "hide-narrow"),
    ]
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    columns = []
    for key, label, css in heads:
        column: dict[str, Any] = {"key": key, "label": label, "css": css}
        if key is not None:
            if key == current:
                column["aria_sort"] = "descending" if descending else "ascending"
                column["next"] = key if descending else f"-{key}"
            else:
                column["next"] = f"-{key}" if queries.CASE_SORTS[key][1] else key
        columns.append(column)
    return columns


# New case ----------------------------------------------------------------------------------------


def _chosen_account(user: User, value: str | None) -> Account | None:
    if not value or not value.isdigit():
        return None
    return access.case_intake_accounts(user).filter(pk=int(value)).first()


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Open a case from the app: the form, and on POST one `case_open` call. `?account=` picks
    the account (the account page links here); with htmx, changing the account refreshes the
    requester list to that account's contacts."""
    user: User = request.user  # type: ignore[assignment]
    if not access.may_open_cases(user):
        raise PermissionDenied(_("Your role may not open cases."))
    status = 200
    if request.method == "POST":
        account = _chosen_account(user, request.POST.get("account"))
        form = CaseOpenForm(request.POST, user=user, account=account)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_open(
                    account=data["account"], by=user, subject=data["subject"],
                    now=timezone.now(), priority=data["priority"], channel=data["channel"],
                    description=data["description"], requester=data["requester"],
                    department=data["department"], assignee=data["assignee"],
                    product=data["product"], opened_by_customer=data["opened_by_customer"],
                )  # fmt: skip
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
            except ValidationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Case %(case)s is opened.") % {"case": case.pk})
                return redirect("case_detail", case.pk)
        if status == 200:
            status = 400
    elif request.method in ("GET", "HEAD"):
        account = _chosen_account(user, request.GET.get("account"))
        initial = {"account": account.pk} if account is not None else {}
        form = CaseOpenForm(initial=initial, user=user, account=account)
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    context = {"nav": "cases", "form": form}
    target = request.headers.get("HX-Target") if _htmx(request) else None
    template = (
        "cases/new.html#requester" if target == "new-case-requester-field" else "cases/new.html"
    )
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
