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
from django.db.models import Min
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kontosjef.accounts.models import Account, Expectation
from kontosjef.accounts.services import expectation_update
from kontosjef.cases.models import Calendar, Case, Priority, SlaPolicy, Status, TierSla
from kontosjef.cases.services import (
    ConfigChange,
    account_sla_set,
    calendar_create,
    calendar_extend_holidays,
    calendar_rename,
    calendar_update,
    sla_policy_create,
    sla_policy_rename,
    sla_policy_update,
    tier_sla_clear,
    tier_sla_set,
)
from kontosjef.configuration import queries
from kontosjef.configuration.forms import (
    WEEKDAY_FIELDS,
    AccountSearchForm,
    AccountSlaForm,
    CalendarCreateForm,
    CalendarVersionForm,
    DepartmentCreateForm,
    DepartmentForm,
    ExpectationForm,
    ExtendHolidaysForm,
    NameForm,
    NotificationPreferenceForm,
    PeopleFilterForm,
    PersonCreateForm,
    PersonEditForm,
    PolicyCreateForm,
    PolicyVersionForm,
    TierFilterForm,
    TierSlaForm,
    format_dated_spans,
    format_spans,
    format_target,
    option_summary,
    weekly_summary,
)
from kontosjef.integrations.notifications import COMPARATORS, kpi_label, kpi_value
from kontosjef.people.models import Department, User
from kontosjef.people.services import (
    department_create,
    department_rename,
    user_create,
    user_password_link,
    user_set_active,
    user_set_notification_preference,
    user_update,
)

PAGE_SIZE = 25
# Three tiers of about ten expectations fit on one page.
EXPECTATIONS_PAGE_SIZE = 50
# Service error keys that are not form fields of the same name.
FIELD_FOR = {
    "holiday_years": "holiday_last_year",
    "metrics": None,
    "weekly": None,
    "options": None,
    "tier": None,
    "is_active": None,
}


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
        "unconfigured_policies": SlaPolicy.objects.filter(versions=None).order_by("name"),
        "unconfigured_calendars": [row.calendar for row in calendars if row.current is None],
        "tiers_without": len(Account.Tier.values) - TierSla.objects.count(),
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
        row.weekly = weekly_summary(row.current.weekly) if row.current else []
    context = {"nav": "configuration", "page": page, "rows": rows}
    return render(request, "configuration/calendars.html", context)


def _first_free_day(latest: datetime | None, today: date, time_zone: str) -> date:
    """The first day a new version can start: today, or the day after the latest one starts."""
    if latest is None:
        return today
    return max(today, latest.astimezone(ZoneInfo(time_zone)).date() + timedelta(days=1))


def _first_holiday_year(now: datetime) -> int:
    """The year a new calendar's public holidays should start: that of the oldest case, so an
    imported history can be measured, or this year on a fresh install."""
    oldest = Case.objects.aggregate(first=Min("opened_at"))["first"]
    return min(oldest.year, now.year) if oldest else now.year


def _new_calendar_initial(now: datetime) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "time_zone": settings.TIME_ZONE,
        "holiday_first_year": _first_holiday_year(now),
        "holiday_last_year": now.year + 1,
    }
    for name in WEEKDAY_FIELDS[:5]:
        initial[name] = "08:00–16:00"
    return initial


def _calendar_initial(row: queries.CalendarRow, now: datetime) -> dict[str, Any]:
    current = row.current
    if current is None:
        return _new_calendar_initial(now)
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
        "extra_working": format_dated_spans(current.extra_working),
        "closures": format_dated_spans(current.closures),
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
    name_form: NameForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    row = queries.calendar_row(calendar, now=now)
    if form is None:
        form = CalendarVersionForm(initial=_calendar_initial(row, now), first=row.current is None)
    if extend_form is None:
        ends = row.coverage_ends
        extend_form = ExtendHolidaysForm(
            initial={"to_year": max(ends or 0, now.year) + 1 if ends else None}
        )
    if name_form is None:
        name_form = NameForm(initial={"name": calendar.name, "description": calendar.description})
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
        "name_form": name_form,
        "overrides": Account.objects.filter(calendar=calendar).order_by("name")[:50],
        "takes_holidays": bool(row.current and (row.current.holiday_source or {}).get("country")),
        "extra_working": format_dated_spans(row.current.extra_working).splitlines()
        if row.current
        else [],
        "closures": format_dated_spans(row.current.closures).splitlines() if row.current else [],
        "now": now,
    }
    return render(request, "configuration/calendar.html", context)


@login_required
def calendar_new(request: HttpRequest) -> HttpResponse:
    """A new calendar: its name and first version (in force from the start)."""
    user = _manager(request)
    now = timezone.now()
    form = CalendarCreateForm(request.POST or None, initial=_new_calendar_initial(now))
    if request.method == "POST" and form.is_valid():
        try:
            calendar = calendar_create(by=user, now=now, **form.service_kwargs())
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The calendar “%(name)s” is saved. Give it to a tier under Tiers and accounts.")
                % {"name": calendar.name},
            )
            return redirect("configuration_calendar", calendar.pk)
    context = {"nav": "configuration", "form": form}
    return render(request, "configuration/calendar_new.html", context)


@login_required
def calendar_detail(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """The calendar and its versions; a POST writes a new version (the first one, from the
    start, for a calendar without versions)."""
    user = _manager(request)
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    if request.method != "POST":
        return _calendar_page(request, calendar)
    first = not calendar.versions.exists()
    form = CalendarVersionForm(request.POST, first=first)
    if form.is_valid():
        try:
            change = calendar_update(
                calendar=calendar, by=user, now=timezone.now(), **form.service_kwargs()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            if first:
                done = _("“%(name)s” has business hours now.") % {"name": calendar.name}
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
def calendar_rename_view(request: HttpRequest, calendar_id: int) -> HttpResponse:
    user = _manager(request)
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    form = NameForm(request.POST)
    if form.is_valid():
        try:
            calendar_rename(calendar=calendar, by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            calendar.refresh_from_db()
            _add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The calendar is now called “%(name)s”.") % {"name": calendar.name}
            )
            return redirect("configuration_calendar", calendar.pk)
    return _calendar_page(request, calendar, name_form=form)


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
        row["running"] = [str(Status(s).label) for s in row["running"] or []]
    return grid


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    _manager(request)
    page = _page(request, queries.policies())
    rows = queries.policy_rows(page.object_list)
    for row in rows:
        row.grid = _grid(row.current.metrics) if row.current else []
    context = {"nav": "configuration", "page": page, "rows": rows, "priorities": Priority}
    return render(request, "configuration/policies.html", context)


def _policy_page(
    request: HttpRequest,
    policy: SlaPolicy,
    form: PolicyVersionForm | None = None,
    name_form: NameForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    row = queries.policy_row(policy)
    current = row.current
    if form is None:
        if current is None:
            form = PolicyVersionForm(first=True)
        else:
            today = timezone.localdate(now)
            start = _first_free_day(current.valid_from, today, settings.TIME_ZONE)
            form = PolicyVersionForm(
                initial={"valid_from_on": start},
                current=current.metrics,
                current_options=current.options,
            )
    if name_form is None:
        name_form = NameForm(initial={"name": policy.name, "description": policy.description})
    versions = [
        {"version": v, "grid": _grid(v.metrics), "options": option_summary(v.options)}
        for v in reversed(row.versions)
    ]
    context = {
        "nav": "configuration",
        "policy": policy,
        "row": row,
        "versions": versions,
        "form": form,
        "name_form": name_form,
        "priorities": Priority,
        "overrides": Account.objects.filter(sla_policy=policy).order_by("name")[:50],
        "override_count": Account.objects.filter(sla_policy=policy).count(),
    }
    return render(request, "configuration/policy.html", context)


@login_required
def policy_new(request: HttpRequest) -> HttpResponse:
    """A new policy: its name and first targets (for every case)."""
    user = _manager(request)
    form = PolicyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = sla_policy_create(
                by=user,
                now=timezone.now(),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                metrics=form.metrics(),
                options=form.options(),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The policy “%(name)s” is saved. Give it to a tier under Tiers and accounts.")
                % {"name": policy.name},
            )
            return redirect("configuration_policy", policy.pk)
    context = {"nav": "configuration", "form": form, "priorities": Priority}
    return render(request, "configuration/policy_new.html", context)


@login_required
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    """The policy, its versions and who uses it; a POST writes a new version (the first one,
    for every case, for a policy without versions)."""
    user = _manager(request)
    policy = get_object_or_404(SlaPolicy, pk=policy_id)
    if request.method != "POST":
        return _policy_page(request, policy)
    current = queries.policy_row(policy).current
    form = PolicyVersionForm(
        request.POST,
        first=current is None,
        current=current.metrics if current else None,
        current_options=current.options if current else None,
    )
    if form.is_valid():
        try:
            change = sla_policy_update(
                policy=policy,
                by=user,
                now=timezone.now(),
                valid_from_on=form.start(),
                metrics=form.metrics(),
                options=form.options(),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            if current is None:
                done = _("“%(name)s” has targets now.") % {"name": policy.name}
            else:
                done = _("A new version of “%(name)s” applies to cases opened from %(date)s.") % {
                    "name": policy.name,
                    "date": form.cleaned_data["valid_from_on"].isoformat(),
                }
            _report(request, change, done)
            return redirect("configuration_policy", policy.pk)
    return _policy_page(request, policy, form)


@require_POST
@login_required
def policy_rename_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    user = _manager(request)
    policy = get_object_or_404(SlaPolicy, pk=policy_id)
    form = NameForm(request.POST)
    if form.is_valid():
        try:
            sla_policy_rename(policy=policy, by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            policy.refresh_from_db()
            _add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The policy is now called “%(name)s”.") % {"name": policy.name}
            )
            return redirect("configuration_policy", policy.pk)
    return _policy_page(request, policy, name_form=form)


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


# Tiers and accounts ---------------------------------------------------------------------------


@login_required
def tiers(request: HttpRequest) -> HttpResponse:
    """Which policy and calendar each tier uses, the accounts with their own, and a search for
    an account to give its own."""
    _manager(request)
    search = AccountSearchForm(request.GET)
    query = search.cleaned_data.get("q", "").strip() if search.is_valid() else ""
    overrides = _page(request, queries.accounts_with_own_sla())
    context = {
        "nav": "configuration",
        "rows": queries.tier_rows(),
        "has_policies": SlaPolicy.objects.exists(),
        "overrides": overrides,
        "search": search,
        "query": query,
        "found": queries.account_search(query),
    }
    return render(request, "configuration/tiers.html", context)


def _tier_label(tier: str) -> str:
    return str(dict(Account.Tier.choices)[tier])


@login_required
def tier_edit(request: HttpRequest, tier: str) -> HttpResponse:
    user = _manager(request)
    if tier not in Account.Tier.values:
        raise Http404
    current = TierSla.objects.filter(tier=tier).first()
    initial = {"policy": current.policy_id, "calendar": current.calendar_id} if current else {}
    form = TierSlaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        policy, calendar = form.cleaned_data["policy"], form.cleaned_data["calendar"]
        try:
            if policy is None:
                change: ConfigChange[Any] = tier_sla_clear(by=user, tier=tier, now=timezone.now())
            else:
                change = tier_sla_set(
                    by=user, tier=tier, policy=policy, calendar=calendar, now=timezone.now()
                )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            _report(request, change, _("The %(tier)s tier is saved.") % {"tier": _tier_label(tier)})
            return redirect("configuration_tiers")
    context = {
        "nav": "configuration",
        "tier": tier,
        "label": _tier_label(tier),
        "form": form,
        "accounts": Account.objects.filter(tier=tier).count(),
    }
    return render(request, "configuration/tier.html", context)


@login_required
def account_sla(request: HttpRequest, account_id: int) -> HttpResponse:
    """An account's own SLA policy and calendar, instead of its tier's."""
    user = _manager(request)
    account = get_object_or_404(Account, pk=account_id)
    tier_sla = (
        TierSla.objects.filter(tier=account.tier).select_related("policy", "calendar").first()
    )
    tier_policy = tier_sla.policy.name if tier_sla else _("none, no SLA clocks")
    tier_calendar = (
        tier_sla.calendar.name if tier_sla and tier_sla.calendar else _("around the clock (24×7)")
    )
    form = AccountSlaForm(
        request.POST or None,
        initial={"sla_policy": account.sla_policy_id, "calendar": account.calendar_id},
        tier_policy=tier_policy,
        tier_calendar=tier_calendar,
    )
    if request.method == "POST" and form.is_valid():
        try:
            change = account_sla_set(
                account=account, by=user, now=timezone.now(), **form.cleaned_data
            )
        except ValidationError as exc:
            account.refresh_from_db()
            _add_service_errors(form, exc)
        else:
            _report(
                request, change, _("The SLA of %(account)s is saved.") % {"account": account.name}
            )
            return redirect("configuration_tiers")
    context = {
        "nav": "configuration",
        "account": account,
        "form": form,
        "tier_label": account.get_tier_display(),
    }
    return render(request, "configuration/account_sla.html", context)


# People and departments -----------------------------------------------------------------------

PEOPLE_PAGE_SIZE = 50


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if user.role != User.Role.ADMIN:
        raise PermissionDenied(_("Only administrators may manage people and departments."))
    return user


@login_required
def people(request: HttpRequest) -> HttpResponse:
    _admin(request)
    filters = PeopleFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    users = queries.people(
        q=(chosen.get("q") or "").strip(),
        role=chosen.get("role") or "",
        department=chosen.get("department"),
        active=chosen.get("active") or "",
    )
    page = Paginator(users, PEOPLE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"nav": "configuration", "filters": filters, "page": page}
    return render(request, "configuration/people.html", context)


def _person_page(
    request: HttpRequest,
    person: User,
    *,
    form: PersonEditForm | None = None,
    link: str = "",
    status: int = 200,
) -> HttpResponse:
    if form is None:
        form = PersonEditForm(
            initial={
                "first_name": person.first_name, "last_name": person.last_name,
                "email": person.email, "role": person.role,
                "department": person.department_id, "language": person.language,
            }
        )  # fmt: skip
    context = {
        "nav": "configuration",
        "person": person,
        "form": form,
        "link": request.build_absolute_uri(link) if link else "",
        "portfolio": person.tam_assignments.filter(ended_at=None).count(),
        "has_password": person.has_usable_password(),
    }
    response = render(request, "configuration/person.html", context, status=status)
    # The set-password link must not be kept by a browser or proxy.
    add_never_cache_headers(response)
    return response


@login_required
def person_new(request: HttpRequest) -> HttpResponse:
    """A new employee, with a first password, or none and a set-password link to pass on."""
    user = _admin(request)
    form = PersonCreateForm(request.POST or None, initial={"role": User.Role.AGENT})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = timezone.now()
        try:
            person = user_create(
                by=user, now=now, username=data["username"], password=data["password1"] or None,
                role=data["role"], first_name=data["first_name"], last_name=data["last_name"],
                email=data["email"], department=data["department"], language=data["language"],
            )  # fmt: skip
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is added.") % {"name": person})
            if data["password1"]:
                return redirect("configuration_person", person.pk)
            link = user_password_link(user=person, by=user, now=now)
            return _person_page(request, person, link=link)
    context = {"nav": "configuration", "form": form}
    return render(request, "configuration/person_new.html", context)


@login_required
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """An employee: a POST changes their name, e-mail, role, department and language."""
    user = _admin(request)
    person = get_object_or_404(User.objects.select_related("department"), pk=user_id)
    if request.method != "POST":
        return _person_page(request, person)
    form = PersonEditForm(request.POST)
    if form.is_valid():
        try:
            user_update(user=person, by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": person})
            return redirect("configuration_person", person.pk)
    return _person_page(request, person, form=form)


@require_POST
@login_required
def person_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate (`active=0`) or activate (`active=1`) an employee."""
    user = _admin(request)
    person = get_object_or_404(User, pk=user_id)
    is_active = request.POST.get("active") == "1"
    try:
        user_set_active(user=person, by=user, now=timezone.now(), is_active=is_active)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        if is_active:
            messages.success(request, _("%(name)s can sign in again.") % {"name": person})
        else:
            messages.success(request, _("%(name)s is deactivated.") % {"name": person})
    return redirect("configuration_person", person.pk)


@require_POST
@login_required
def person_password_link(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _admin(request)
    person = get_object_or_404(User, pk=user_id)
    try:
        link = user_password_link(user=person, by=user, now=timezone.now())
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("configuration_person", person.pk)
    return _person_page(request, person, link=link)


@login_required
def departments(request: HttpRequest) -> HttpResponse:
    """Departments with their members; a POST adds one."""
    user = _admin(request)
    form = DepartmentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department = department_create(by=user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The department “%(name)s” is added.") % {"name": department.name}
            )
            return redirect("configuration_departments")
    page = Paginator(queries.departments(), PEOPLE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"nav": "configuration", "form": form, "page": page}
    return render(request, "configuration/departments.html", context)


@login_required
def department_detail(request: HttpRequest, department_id: int) -> HttpResponse:
    user = _admin(request)
    department = get_object_or_404(Department, pk=department_id)
    initial = {"name": department.name, "description": department.description}
    form = DepartmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            department_rename(
                department=department, by=user, now=timezone.now(), **form.cleaned_data
            )
        except ValidationError as exc:
            department.refresh_from_db()
            _add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The department is now called “%(name)s”.") % {"name": department.name}
            )
            return redirect("configuration_departments")
    members = department.members.filter(is_active=True).order_by("username")
    context = {
        "nav": "configuration",
        "department": department,
        "form": form,
        "members": members[:100],
        "member_count": members.count(),
    }
    return render(request, "configuration/department.html", context)
