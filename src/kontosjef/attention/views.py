"""The attention inbox and item pages. Every action is a POST that answers an htmx request with
the item's card, swapped in place, and any other request with a redirect (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kontosjef.accounts.queries import resolve_as_of
from kontosjef.attention import queries, services
from kontosjef.attention.forms import (
    AssignTamForm,
    CommentForm,
    DismissForm,
    InboxFilterForm,
    ResolveForm,
    SnoozeForm,
)
from kontosjef.attention.models import AttentionItem
from kontosjef.people import access
from kontosjef.people.models import User

PAGE_SIZE = 25
CARD = "attention/_item.html#card"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _item(user: User, item_id: int) -> AttentionItem:
    """The item if the user may read its account, else 404."""
    items = queries.readable_items(user).select_related("account", "owner")
    return get_object_or_404(items, pk=item_id)


def _prepared(user: User, items: list[AttentionItem]) -> list[AttentionItem]:
    queries.with_evidence(items, user)
    for item in items:
        item.can_act = item.is_active and services.can_act_on_item(user, item)  # type: ignore[attr-defined]
    return items


def _back(request: HttpRequest, item: AttentionItem) -> str:
    """Where a form returns to: the page it was posted from, if it is ours, else the item."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("attention_item", args=[item.pk])


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _card(request: HttpRequest, item: AttentionItem, **extra: Any) -> HttpResponse:
    user = _user(request)
    _prepared(user, [item])
    context = {"item": item, "back": _back(request, item), "now": timezone.now(),
               "outcome_choices": queries.OUTCOME_CHOICES, **extra}  # fmt: skip
    if "notice" in extra:
        # The inbox's own count, refreshed out of band beside the navigation's.
        context["inbox_open_count"] = queries.inbox_items(user).count()
    return render(request, CARD, context)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = InboxFilterForm(request.GET or None, user=user)
    now = timezone.now()
    rows = queries.inbox_list(user, now=now, **form.filters())
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = _prepared(user, list(page.object_list))
    context = {
        "nav": "inbox",
        "form": form,
        "page": page,
        "items": items,
        "has_inbox": queries.has_inbox(user),
        "back": request.get_full_path(),
        "as_of": resolve_as_of(day=None, now=now),
        "show": form.filters().get("show", queries.SHOW_ACTIVE),
        "now": now,
        "outcome_choices": queries.OUTCOME_CHOICES,
    }
    return render(request, "attention/inbox.html", context)


def _item_page(
    request: HttpRequest, item: AttentionItem, status: int = 200, **extra: Any
) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    _prepared(user, [item])
    context: dict[str, Any] = {
        "nav": "inbox",
        "item": item,
        "history": queries.item_history(item),
        "back": reverse("attention_item", args=[item.pk]),
        "now": now,
        "dismiss_form": extra.get("dismiss_form") or DismissForm(),
        "resolve_form": extra.get("resolve_form") or ResolveForm(),
        "snooze_form": extra.get("snooze_form") or SnoozeForm(),
        "comment_form": extra.get("comment_form") or CommentForm(),
        "can_comment": services.can_act_on_item(user, item),
        "outcome_choices": queries.OUTCOME_CHOICES,
    }
    if item.is_active and user.is_manager_or_admin:
        suggestions = queries.tam_suggestions(account=item.account, now=now)
        context["suggestions"] = suggestions
        context["assign_form"] = extra.get("assign_form") or AssignTamForm(
            tams=[s.tam for s in suggestions]
        )
    return render(request, "attention/item.html", context, status=status)


@login_required
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, _item(_user(request), item_id))


def _done(request: HttpRequest, item: AttentionItem, notice: str) -> HttpResponse:
    if _is_htmx(request):
        return _card(request, item, notice=notice)
    messages.success(request, notice)
    return redirect(_back(request, item))


def _failed(request: HttpRequest, item: AttentionItem, exc: ValidationError) -> HttpResponse:
    if _is_htmx(request):
        return _card(request, item, error=_errors(exc))
    messages.error(request, _errors(exc))
    return redirect(_back(request, item))


def _acting(request: HttpRequest, item_id: int) -> tuple[User, AttentionItem]:
    """The user and the item they act on: 404 outside their reading scope, 403 if not theirs."""
    user = _user(request)
    item = _item(user, item_id)
    if not services.can_act_on_item(user, item):
        raise PermissionDenied(_("Only the item's TAM or a manager may change it."))
    return user, item


def _transition(
    request: HttpRequest,
    item_id: int,
    service: Callable[..., None],
    notice: str,
) -> HttpResponse:
    user, item = _acting(request, item_id)
    try:
        service(item=item, by=user, now=timezone.now())
    except ValidationError as exc:
        return _failed(request, item, exc)
    return _done(request, item, notice)


@require_POST
@login_required
def acknowledge(request: HttpRequest, item_id: int) -> HttpResponse:
    return _transition(request, item_id, services.attention_acknowledge, _("Acknowledged."))


@require_POST
@login_required
def start(request: HttpRequest, item_id: int) -> HttpResponse:
    return _transition(request, item_id, services.attention_start, _("Marked as in progress."))


@require_POST
@login_required
def dismiss(request: HttpRequest, item_id: int) -> HttpResponse:
    user, item = _acting(request, item_id)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            services.attention_dismiss(
                item=item, by=user, reason=form.cleaned_data["reason"], now=timezone.now()
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                return _failed(request, item, exc)
            form.add_error(None, exc)
        else:
            return _done(request, item, _("Dismissed."))
    if _is_htmx(request):
        return _card(request, item, dismiss_form=form)
    return _item_page(request, item, dismiss_form=form)


def _form_action(
    request: HttpRequest,
    item_id: int,
    form_class: type[forms.Form],
    form_name: str,
    act: Callable[[User, AttentionItem, dict[str, Any]], str],
) -> HttpResponse:
    """A form posted on an item: the service's notice on success; else the form again with its
    errors, in the card (htmx) or on the item page."""
    user, item = _acting(request, item_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            notice = act(user, item, form.cleaned_data)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                return _failed(request, item, exc)
            form.add_error(None, exc)
        else:
            return _done(request, item, notice)
    if _is_htmx(request):
        return _card(request, item, **{form_name: form})
    return _item_page(request, item, 200, **{form_name: form})


@require_POST
@login_required
def resolve(request: HttpRequest, item_id: int) -> HttpResponse:
    def act(user: User, item: AttentionItem, data: dict[str, Any]) -> str:
        services.attention_resolve(item=item, by=user, outcome=data["outcome"],
                                   comment=data["comment"], now=timezone.now())  # fmt: skip
        return _("Resolved.")

    return _form_action(request, item_id, ResolveForm, "resolve_form", act)


@require_POST
@login_required
def snooze(request: HttpRequest, item_id: int) -> HttpResponse:
    def act(user: User, item: AttentionItem, data: dict[str, Any]) -> str:
        until = datetime.combine(data["until"], time(8), tzinfo=timezone.get_current_timezone())
        services.attention_snooze(item=item, by=user, until=until, reason=data["reason"],
                                  now=timezone.now())  # fmt: skip
        return _("Snoozed until %(day)s.") % {"day": date_format(data["until"])}

    return _form_action(request, item_id, SnoozeForm, "snooze_form", act)


@require_POST
@login_required
def unsnooze(request: HttpRequest, item_id: int) -> HttpResponse:
    def act(user: User, item: AttentionItem, data: dict[str, Any]) -> str:
        services.attention_snooze(item=item, by=user, until=None, reason="", now=timezone.now())
        return _("Back in the inbox.")

    return _form_action(request, item_id, forms.Form, "unsnooze_form", act)


@require_POST
@login_required
def comment(request: HttpRequest, item_id: int) -> HttpResponse:
    user = _user(request)
    item = _item(user, item_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.attention_comment(
                item=item, by=user, body=form.cleaned_data["body"], now=timezone.now()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Comment added."))
            return redirect(reverse("attention_item", args=[item.pk]) + "#history-title")
    return _item_page(request, item, status=400, comment_form=form)


@login_required
def assign(request: HttpRequest, item_id: int) -> HttpResponse:
    """Managers: the ranked TAM suggestions and a form to assign one to the item's account.
    404 outside the user's reading scope (as every item view), 403 for anyone but a manager."""
    user = _user(request)
    item = _item(user, item_id)
    access.require_manager(user)
    now = timezone.now()
    suggestions = queries.tam_suggestions(account=item.account, now=now)
    form = AssignTamForm(request.POST or None, tams=[s.tam for s in suggestions])
    if request.method == "POST":
        if form.is_valid():
            done = _assigned(request, item, form, user, now)
            if done is not None:
                return done
        if _is_htmx(request):
            return _card(request, item, assign_form=form, suggestions=suggestions)
        return _item_page(request, item, assign_form=form)
    context = {
        "nav": "inbox",
        "item": item,
        "assign_form": form,
        "suggestions": suggestions,
        "back": _back(request, item),
        "hx": _is_htmx(request),
    }
    template = "attention/assign.html#panel" if _is_htmx(request) else "attention/assign.html"
    return render(request, template, context)


def _assigned(
    request: HttpRequest, item: AttentionItem, form: AssignTamForm, user: User, now: datetime
) -> HttpResponse | None:
    """Assign the chosen TAM; None (with the errors on the form) if the services refuse."""
    tam = form.cleaned_data["tam"]
    try:
        services.attention_assign_tam(
            item=item, tam=tam, by=user, reason=form.cleaned_data["reason"], now=now
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    notice = _("%(tam)s is now the TAM of %(account)s.") % {
        "tam": tam,
        "account": item.account,
    }
    return _done(request, item, notice)
