"""Configuration pages for managers and administrators, and everyone's notification setting."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kontosjef.accounts.models import Account, Expectation
from kontosjef.accounts.services import expectation_update
from kontosjef.cases.models import Calendar, Priority, SlaPolicy
from kontosjef.cases.services import (
    ConfigChange,
    calendar_extend_holidays,
    calendar_update,
    sla_policy_update,
)
from kontosjef.configuration import queries
from kontosjef.configuration.forms import (
    WEEKDAY_FIELDS,
    CalendarVersionForm,
    ExpectationForm,
    ExtendHolidaysForm,
    NotificationPreferenceForm,
    PolicyVersionForm,
    TierFilterForm,
    format_spans,
    format_target,
    weekly_summary,
)
from kontosjef.integrations.notifications import COMPARATORS, kpi_label, kpi_value
from kontosjef.people.models import User
from kontosjef.people.services import user_set_notification_preference

PAGE_SIZE = 25
# Three tiers of about ten expectations fit on one page.
EXPECTATIONS_PAGE_SIZE = 50
# Service error keys that are not form fields of the same name.
FIELD_FOR = {"holiday_years": "holiday_last_year", "metrics": None, "weekly": None}


def _manager(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_manager_or_admin:
        raise PermissionDenied(_("Only managers and administrators may change the configuration."))
    return user


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        name = FIELD_FOR.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


def _report(request: HttpRequest, change: ConfigChange[Any], done: str) -> None:
    messages.success(request, done)
    if change.recompute_error:
        messages.warning(
            request,
            _(
                "The SLA clocks could not be recomputed: %(error)s. Fix it, then run "
                "“kontosjef sla recompute”."
            )
            % {"error": change.recompute_error},
        )
    elif change.recomputed:
        count = change.recomputed
        messages.info(
            request,
            ngettext(
                "The SLA clocks of %(count)s case were recomputed.",
                "The SLA clocks of %(count)s cases were recomputed.",
                count,
            )
            % {"count": count},
        )


def _page(request: HttpRequest, items: Any, param: str = "page") -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get(param))


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _manager(request)
    now = timezone.now()
    calendars = queries.calendar_rows(queries.calendars(), now=now)
    context = {
        "nav": "configuration",
        "calendar_count": len(calendars),
        "stale_calendars": [row for row in calendars if row.stale],
        "policy_count": SlaPolicy.objects.count(),
        "expectation_count": Expectation.objects.filter(tier__isnull=False, is_active=True).count(),
        "override_count": Expectation.objects.filter(account__isnull=False).count(),
    }
    return render(request, "configuration/index.html", context)


# Calendars ------------------------------------------------------------------------------------


@login_required
def calendars(request: HttpRequest) -> HttpResponse:
    _manager(request)
    page = _page(request, queries.calendars())
    rows = queries.calendar_rows(page.object_list, now=timezone.now())
    for row in rows:
        row.weekly = weekly_summary(row.current.weekly)
    context = {"nav": "configuration", "page": page, "rows": rows}
    return render(request, "configuration/calendars.html", context)


def _first_free_day(latest: datetime | None, today: date, time_zone: str) -> date:
    """The first day a new version can start: today, or the day after the latest one starts."""
    if latest is None:
        return today
    return max(today, latest.astimezone(ZoneInfo(time_zone)).date() + timedelta(days=1))


def _calendar_initial(row: queries.CalendarRow, now: datetime) -> dict[str, Any]:
    current = row.current
    source = current.holiday_source or {}
    today = now.astimezone(ZoneInfo(current.time_zone)).date()
    initial: dict[str, Any] = {
        "valid_from_on": _first_free_day(current.valid_from, today, current.time_zone),
        "time_zone": current.time_zone,
        "holiday_country": source.get("country") or "",
        "holiday_subdiv": source.get("subdiv") or "",
        "holiday_first_year": today.year,
        "holiday_last_year": max(int(current.coverage[1]), today.year + 1)
        if current.coverage
        else today.year + 1,
        "extra_holidays": "\n".join(source.get("extra_dates", [])),
    }
    for name, day in zip(WEEKDAY_FIELDS, current.weekly, strict=True):
        initial[name] = format_spans(day)
    return initial


def _calendar_page(
    request: HttpRequest,
    calendar: Calendar,
    *,
    form: CalendarVersionForm | None = None,
    extend_form: ExtendHolidaysForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    row = queries.calendar_row(calendar, now=now)
    if form is None:
        form = CalendarVersionForm(initial=_calendar_initial(row, now))
    if extend_form is None:
        ends = row.coverage_ends
        extend_form = ExtendHolidaysForm(
            initial={"to_year": max(ends or 0, now.year) + 1 if ends else None}
        )
    versions = [
        {"version": v, "weekly": weekly_summary(v.weekly), "source": v.holiday_source or {}}
        for v in reversed(row.versions)
    ]
    context = {
        "nav": "configuration",
        "calendar": calendar,
        "row": row,
        "versions": versions,
        "form": form,
        "extend_form": extend_form,
        "overrides": Account.objects.filter(calendar=calendar).order_by("name")[:50],
        "takes_holidays": bool((row.current.holiday_source or {}).get("country")),
        "now": now,
    }
    return render(request, "configuration/calendar.html", context)


@login_required
def calendar_detail(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """The calendar and its versions; a POST writes a new version."""
    user = _manager(request)
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    if request.method != "POST":
        return _calendar_page(request, calendar)
    form = CalendarVersionForm(request.POST)
    if form.is_valid():
        try:
            change = calendar_update(
                calendar=calendar, by=user, now=timezone.now(), **form.service_kwargs()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            done = _("A new version of “%(name)s” is in force from %(date)s.") % {
                "name": calendar.name,
                "date": form.cleaned_data["valid_from_on"].isoformat(),
            }
            _report(request, change, done)
            return redirect("configuration_calendar", calendar.pk)
    return _calendar_page(request, calendar, form=form)


@require_POST
@login_required
def calendar_extend(request: HttpRequest, calendar_id: int) -> HttpResponse:
    user = _manager(request)
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    form = ExtendHolidaysForm(request.POST)
    if form.is_valid():
        try:
            change = calendar_extend_holidays(
                calendar=calendar, by=user, now=timezone.now(), to_year=form.cleaned_data["to_year"]
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            done = _("Public holidays of “%(name)s” are now stored up to %(year)s.") % {
                "name": calendar.name,
                "year": form.cleaned_data["to_year"],
            }
            _report(request, change, done)
            return redirect("configuration_calendar", calendar.pk)
    return _calendar_page(request, calendar, extend_form=form)


# SLA policies ---------------------------------------------------------------------------------


def _grid(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    grid = queries.target_grid(metrics)
    for row in grid:
        row["targets"] = [format_target(seconds) for seconds in row["targets"]]
    return grid


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    _manager(request)
    page = _page(request, queries.policies())
    rows = queries.policy_rows(page.object_list)
    for row in rows:
        row.grid = _grid(row.current.metrics)
    context = {"nav": "configuration", "page": page, "rows": rows, "priorities": Priority}
    return render(request, "configuration/policies.html", context)


def _policy_page(
    request: HttpRequest, policy: SlaPolicy, form: PolicyVersionForm | None = None
) -> HttpResponse:
    now = timezone.now()
    row = queries.policy_row(policy)
    if form is None:
        start = _first_free_day(row.current.valid_from, timezone.localdate(now), settings.TIME_ZONE)
        form = PolicyVersionForm(initial={"valid_from_on": start}, current=row.current.metrics)
    versions = [{"version": v, "grid": _grid(v.metrics)} for v in reversed(row.versions)]
    context = {
        "nav": "configuration",
        "policy": policy,
        "row": row,
        "versions": versions,
        "form": form,
        "priorities": Priority,
        "overrides": Account.objects.filter(sla_policy=policy).order_by("name")[:50],
        "override_count": Account.objects.filter(sla_policy=policy).count(),
    }
    return render(request, "configuration/policy.html", context)


@login_required
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    """The policy, its versions and who uses it; a POST writes a new version."""
    user = _manager(request)
    policy = get_object_or_404(SlaPolicy, pk=policy_id)
    if request.method != "POST":
        return _policy_page(request, policy)
    current = queries.policy_row(policy).current
    form = PolicyVersionForm(request.POST, current=current.metrics)
    if form.is_valid():
        try:
            change = sla_policy_update(
                policy=policy,
                by=user,
                now=timezone.now(),
                valid_from_on=form.cleaned_data["valid_from_on"],
                metrics=form.metrics(),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            done = _("A new version of “%(name)s” applies to cases opened from %(date)s.") % {
                "name": policy.name,
                "date": form.cleaned_data["valid_from_on"].isoformat(),
            }
            _report(request, change, done)
            return redirect("configuration_policy", policy.pk)
    return _policy_page(request, policy, form)


# Expectations ---------------------------------------------------------------------------------


def _expectation_row(e: Expectation) -> dict[str, Any]:
    return {
        "expectation": e,
        "kpi_label": kpi_label(e.kpi),
        "comparator": COMPARATORS.get(e.comparator, e.comparator),
        "threshold": kpi_value(e.kpi, e.threshold),
    }


@login_required
def expectations(request: HttpRequest) -> HttpResponse:
    _manager(request)
    filters = TierFilterForm(request.GET)
    tier = filters.cleaned_data.get("tier", "") if filters.is_valid() else ""
    page = Paginator(queries.tier_expectations(tier), EXPECTATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    overrides = _page(request, queries.account_overrides(), "overrides_page")
    context = {
        "nav": "configuration",
        "filters": filters,
        "page": page,
        "rows": [_expectation_row(e) for e in page.object_list],
        "overrides": overrides,
        "override_rows": [_expectation_row(e) for e in overrides.object_list],
    }
    return render(request, "configuration/expectations.html", context)


@login_required
def expectation_edit(request: HttpRequest, expectation_id: int) -> HttpResponse:
    """Edit a tier's expectation; per-account overrides are changed in the admin."""
    user = _manager(request)
    expectation = get_object_or_404(Expectation, pk=expectation_id, tier__isnull=False)
    form = ExpectationForm(request.POST or None, expectation=expectation)
    if request.method == "POST" and form.is_valid():
        try:
            expectation_update(
                expectation=expectation, by=user, now=timezone.now(), **form.service_kwargs()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” (%(tier)s) is saved. It counts from the next health refresh.")
                % {"name": expectation.name, "tier": expectation.get_tier_display()},
            )
            return redirect("configuration_expectations")
    overrides = Expectation.objects.filter(code=expectation.code, account__tier=expectation.tier)
    context = {
        "nav": "configuration",
        "row": _expectation_row(expectation),
        "form": form,
        "override_count": overrides.count(),
    }
    return render(request, "configuration/expectation.html", context)


# Notifications --------------------------------------------------------------------------------


def _site_notifications() -> dict[str, Any]:
    """What the deployment's settings say about notifications; no secret leaves here."""
    mailer: dict[str, Any] = settings.MAILERS["default"]
    backend = str(mailer["BACKEND"])
    webhook = settings.KONTOSJEF_NOTIFY_WEBHOOK_URL
    parts = urlsplit(webhook) if webhook else None
    return {
        "sender": settings.DEFAULT_FROM_EMAIL,
        "sender_is_default": settings.DEFAULT_FROM_EMAIL == "kontosjef@localhost",
        "backend": backend.rsplit(".", 2)[-2] if "." in backend else backend,
        "mail_host": str(mailer.get("OPTIONS", {}).get("host", "")),
        "webhook_host": f"{parts.scheme}://{parts.hostname}" if parts else "",
        "digest_hour": settings.KONTOSJEF_DIGEST_HOUR,
        "time_zone": settings.TIME_ZONE,
        "base_url": settings.KONTOSJEF_BASE_URL,
    }


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """Everyone's own notification setting; managers also see the site's configuration."""
    user: User = request.user  # type: ignore[assignment]
    form = NotificationPreferenceForm(request.POST or None, initial={"notify": user.notify})
    if request.method == "POST" and form.is_valid():
        try:
            user_set_notification_preference(
                user=user, by=user, notify=form.cleaned_data["notify"], now=timezone.now()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your notification setting is now: %(setting)s.")
                % {"setting": user.get_notify_display()},
            )
            return redirect("configuration_notifications")
    context = {
        "nav": "configuration" if user.is_manager_or_admin else "",
        "form": form,
        "site": _site_notifications() if user.is_manager_or_admin else None,
    }
    return render(request, "configuration/notifications.html", context)
