"""Forms of the configuration pages: they parse what people type into the services' units."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast

import holidays as holidays_pkg
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from holidays.registry import COUNTRIES

from kontosjef import engine
from kontosjef.accounts.health import WINDOWS
from kontosjef.accounts.models import Account, Expectation
from kontosjef.cases.models import OPEN_STATUSES, Calendar, Metric, Priority, SlaPolicy
from kontosjef.cases.sla import METRIC_CODES, STATUS_CODES
from kontosjef.integrations.notifications import KPIS
from kontosjef.people.models import Department, User

DAY = 86_400
HOUR = 3600
# Django's own translated names, Monday = 0 as in `CalendarVersion.weekly`.
WEEKDAY_NAMES = [WEEKDAYS[i] for i in range(7)]
WEEKDAY_FIELDS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPAN_SEPARATOR = re.compile(r"\s*[-–—]\s*")


# Weekly hours as text: "08:00–11:30, 12:00–16:00", "22:00–06:00(+1)", empty for closed.


def format_clock(seconds: int) -> str:
    extra = ""
    if seconds > DAY:
        seconds, extra = seconds - DAY, "(+1)"
    hours, rest = divmod(seconds, HOUR)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    return text + extra


def format_spans(spans: list[list[int]] | tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{format_clock(s)}–{format_clock(e)}" for s, e in spans)


def weekly_summary(weekly: list[list[list[int]]]) -> list[tuple[str, str]]:
    """(days, hours) for people, runs of days with the same hours together: ("Mon–Fri",
    "08:00–16:00"), ("Sat–Sun", "")."""
    groups: list[tuple[int, int, str]] = []
    for i, day in enumerate(weekly):
        hours = format_spans(day)
        if groups and groups[-1][2] == hours:
            groups[-1] = (groups[-1][0], i, hours)
        else:
            groups.append((i, i, hours))
    return [
        (str(WEEKDAYS_ABBR[a]) if a == b else f"{WEEKDAYS_ABBR[a]}–{WEEKDAYS_ABBR[b]}", hours)
        for a, b, hours in groups
    ]


def parse_spans(text: str) -> list[list[int]]:
    """Business hours of one weekday as [start, end] seconds after local midnight."""
    spans: list[list[int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        pieces = _SPAN_SEPARATOR.split(part)
        if len(pieces) != 2:
            raise ValidationError(
                _("Write hours as start–end, e.g. 08:00–16:00: “%(value)s”."),
                params={"value": part},
            )
        try:
            start, end = engine.parse_clock(pieces[0]), engine.parse_clock(pieces[1])
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” is not a time of day (HH:MM)."), params={"value": part}
            ) from exc
        if start >= DAY:
            raise ValidationError(
                _("“%(value)s” starts after midnight: put it on the next day."),
                params={"value": part},
            )
        if end <= start:
            raise ValidationError(
                _(
                    "“%(value)s” ends before it starts. For hours past midnight write the end "
                    "as 06:00(+1)."
                ),
                params={"value": part},
            )
        spans.append([start, end])
    return spans


# Durations as hours: "4", "0.25", "1,5" or "1:30".


def format_hours(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours = Decimal(seconds) / HOUR
    if hours == hours.quantize(Decimal("0.01")):
        return f"{hours.normalize():f}"
    return f"{seconds // HOUR}:{seconds % HOUR // 60:02d}"


def format_target(seconds: int | None) -> str:
    """A target for people: business targets are thought of in hours, "56 h", not "2 d 8 h"."""
    if not seconds:
        return ""
    if seconds < HOUR:
        return gettext("%(minutes)s min") % {"minutes": number_format(round(seconds / 60))}
    hours = round(seconds / HOUR, 2)
    decimals = next(d for d in (0, 1, 2) if round(hours, d) == hours)
    return gettext("%(hours)s h") % {"hours": number_format(hours, decimals)}


class HoursField(forms.CharField):
    """A duration typed in hours (decimal or H:MM), cleaned to whole seconds or None."""

    def __init__(self, *args: Any, zero_message: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zero_message = zero_message or _("A target must be longer than zero.")

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = str(value or "").strip().replace(",", ".")
        if not text:
            return None
        try:
            if ":" in text:
                hours, minutes = text.split(":")
                if not minutes.isdigit() or int(minutes) >= 60:
                    raise ValueError(text)
                seconds = int(hours) * HOUR + int(minutes) * 60
            else:
                seconds = int(Decimal(text) * HOUR)
        except (ValueError, InvalidOperation) as exc:
            raise ValidationError(_("Enter hours, e.g. 4, 0.5 or 1:30.")) from exc
        if seconds <= 0:
            raise ValidationError(self.zero_message)
        return seconds


class FastSelect(forms.Select):
    """A select whose options are joined in Python: hundreds of options rendered one template
    each (Django's default) take a few hundred milliseconds."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(v), mark_safe(" selected") if str(v) == chosen else "", label)  # noqa: S308
                for v, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


# Countries with public holidays -----------------------------------------------------------------


@cache
def holiday_countries() -> list[tuple[str, str]]:
    """(ISO code, name) of every country the `holidays` package knows, by name."""
    supported = holidays_pkg.list_supported_countries(include_aliases=False)
    names = {
        alpha2: re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)
        for class_name, alpha2, *_rest in COUNTRIES.values()
        if alpha2 in supported
    }
    return sorted(((code, f"{name} ({code})") for code, name in names.items()), key=lambda c: c[1])


@cache
def time_zones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]


def _date_input(**kwargs: Any) -> forms.DateField:
    return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kwargs)


def _parse_dated_spans(text: str) -> list[tuple[date, list[list[int]]]]:
    """Lines "YYYY-MM-DD 09:00–15:00, 16:00–18:00": a date and its hours."""
    rows = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        day_text, _sep, hours = line.partition(" ")
        try:
            day = date.fromisoformat(day_text)
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” does not start with a date (YYYY-MM-DD)."), params={"value": line}
            ) from exc
        spans = parse_spans(hours)
        if not spans:
            raise ValidationError(
                _("“%(value)s” has no hours: write them after the date, e.g. 09:00–15:00."),
                params={"value": line},
            )
        rows.append((day, spans))
    return rows


def format_dated_spans(rows: dict[str, list[list[int]]] | list[list[Any]]) -> str:
    """Extra working days ({date: spans}) or closures ([date, start, end]) as the form's lines."""
    if isinstance(rows, dict):
        return "\n".join(f"{day} {format_spans(spans)}" for day, spans in sorted(rows.items()))
    by_day: dict[str, list[list[int]]] = {}
    for day, start, end in rows:
        by_day.setdefault(str(day), []).append([int(start), int(end)])
    return "\n".join(f"{day} {format_spans(spans)}" for day, spans in sorted(by_day.items()))


class NameForm(forms.Form):
    """The name and description of a calendar or policy."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional: what it is for, e.g. “Support desk in Oslo”."),
    )


class CalendarHoursForm(forms.Form):
    """The content of a calendar version: zone, weekly hours, holidays, extra working days and
    closures, parsed into `cases.services.calendar_update`'s arguments."""

    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zones, widget=FastSelect)
    holiday_country = forms.ChoiceField(
        label=_("Public holidays of"),
        required=False,
        choices=lambda: [("", _("No country (only the dates below)")), *holiday_countries()],
        widget=FastSelect,
    )
    holiday_subdiv = forms.CharField(
        label=_("Subdivision"),
        required=False,
        max_length=20,
        help_text=_("Optional: a state or region code for regional holidays, e.g. BY."),
    )
    holiday_first_year = forms.IntegerField(label=_("From year"), required=False)
    holiday_last_year = forms.IntegerField(label=_("To year"), required=False)
    extra_holidays = forms.CharField(
        label=_("Extra days off"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Dates as YYYY-MM-DD, one per line or separated by commas."),
    )
    extra_working = forms.CharField(
        label=_("Extra working days"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "A date and its hours per line, e.g. 2026-12-27 10:00–14:00. They replace the weekly "
            "hours on that date: a Saturday opening, a transfer day."
        ),
    )
    closures = forms.CharField(
        label=_("Closures"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "A date and the hours closed per line, e.g. 2026-12-23 12:00–16:00 for an early close."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in zip(WEEKDAY_FIELDS, WEEKDAY_NAMES, strict=True):
            self.fields[name] = forms.CharField(
                label=label, required=False, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": _("closed")}),
            )  # fmt: skip
        # Clean each weekday like a clean_<field> method.
        for name in WEEKDAY_FIELDS:
            setattr(self, f"clean_{name}", self._weekday_cleaner(name))

    def _weekday_cleaner(self, name: str) -> Any:
        return lambda: parse_spans(self.cleaned_data.get(name) or "")

    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in WEEKDAY_FIELDS]

    def clean_holiday_subdiv(self) -> str:
        return str(self.cleaned_data.get("holiday_subdiv") or "").strip().upper()

    def clean_extra_holidays(self) -> list[date]:
        days = []
        for word in re.split(r"[\s,;]+", self.cleaned_data.get("extra_holidays") or ""):
            if not word:
                continue
            try:
                days.append(date.fromisoformat(word))
            except ValueError as exc:
                raise ValidationError(
                    _("“%(value)s” is not a date (YYYY-MM-DD)."), params={"value": word}
                ) from exc
        return sorted(set(days))

    def clean_extra_working(self) -> dict[date, list[list[int]]]:
        days: dict[date, list[list[int]]] = {}
        for day, spans in _parse_dated_spans(self.cleaned_data.get("extra_working") or ""):
            if day in days:
                raise ValidationError(
                    _("%(date)s is listed twice: put all its hours on one line."),
                    params={"date": day.isoformat()},
                )
            days[day] = spans
        return days

    def clean_closures(self) -> list[tuple[date, int, int]]:
        return [
            (day, start, end)
            for day, spans in _parse_dated_spans(self.cleaned_data.get("closures") or "")
            for start, end in spans
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("holiday_country"):
            first, last = data.get("holiday_first_year"), data.get("holiday_last_year")
            if first is None or last is None:
                self.add_error(
                    "holiday_last_year", _("Say which years to store public holidays for.")
                )
            elif first > last:
                self.add_error("holiday_last_year", _("The last year is before the first."))
        elif data.get("holiday_subdiv"):
            self.add_error(
                "holiday_subdiv", _("Choose the country of the subdivision, or leave it empty.")
            )
        if not self.errors and not any(data.get(name) for name in WEEKDAY_FIELDS):
            self.add_error(None, _("Give business hours for at least one weekday."))
        return data

    def hours_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        years = None
        if data["holiday_first_year"] is not None and data["holiday_last_year"] is not None:
            years = (data["holiday_first_year"], data["holiday_last_year"])
        return {
            "time_zone": data["time_zone"],
            "weekly": [data[name] for name in WEEKDAY_FIELDS],
            "holiday_country": data["holiday_country"],
            "holiday_subdiv": data["holiday_subdiv"],
            "holiday_years": years,
            "extra_holidays": data["extra_holidays"],
            "extra_working": data["extra_working"],
            "closures": data["closures"],
        }


class CalendarVersionForm(CalendarHoursForm):
    """A new version of a calendar from a day; `first=True` for a calendar without versions,
    whose first version applies from the start (no day to choose)."""

    valid_from_on = _date_input(
        label=_("In force from"),
        help_text=_("Local midnight in the calendar's time zone; today or later."),
    )

    def __init__(self, *args: Any, first: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first = first
        if first:
            del self.fields["valid_from_on"]

    def service_kwargs(self) -> dict[str, Any]:
        start = None if self.first else self.cleaned_data["valid_from_on"]
        return {"valid_from_on": start, **self.hours_kwargs()}


class CalendarCreateForm(NameForm, CalendarHoursForm):
    """A new calendar: its name and its first version."""

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = self.hours_kwargs()
        return {"name": data["name"], "description": data["description"], **kwargs}


class ExtendHolidaysForm(forms.Form):
    to_year = forms.IntegerField(label=_("Store public holidays up to the year"))


# SLA policies -----------------------------------------------------------------------------------

RUNNING_CHOICES = [(s.value, s.label) for s in OPEN_STATUSES]


def default_running(metric: str) -> list[str]:
    """The statuses a metric's clock runs in when the policy names none (specs/sla.md §5.2)."""
    statuses = engine.DEFAULT_RUNNING[METRIC_CODES[metric]]
    return [value for value, code in STATUS_CODES.items() if code in statuses]


def option_fields() -> dict[str, forms.Field]:
    """The policy options people choose (specs/sla.md §2.3), as selects; one that is not sent
    keeps the current setting. `calendar_change` is left out: an account's calendar is fixed
    for a case (the adapter never switches calendars mid-case), so it would change nothing."""
    return {
        "customer_reply_resumes": forms.TypedChoiceField(
            label=_("When the customer replies to a case waiting on them"),
            choices=[("True", _("the clock runs again at once")),
                     ("False", _("the clock waits until someone changes the status"))],
            coerce=lambda v: v == "True", required=False, empty_value=None,
        ),
        "solved_time_counts": forms.TypedChoiceField(
            label=_("When a solved case is reopened"),
            choices=[("False", _("the time it was solved does not count")),
                     ("True", _("the time it was solved counts towards resolution"))],
            coerce=lambda v: v == "True", required=False, empty_value=None,
        ),
        "recurrence": forms.TypedChoiceField(
            label=_("A new next-reply or update clock starts"),
            choices=[("independent", _("as soon as it is due to start")),
                     ("sequential", _("no earlier than the previous one was due"))],
            required=False, empty_value=None,
        ),
    }  # fmt: skip


OPTION_DEFAULTS: dict[str, Any] = {
    "customer_reply_resumes": True,
    "solved_time_counts": False,
    "recurrence": "independent",
}


class PolicyTargetsForm(forms.Form):
    """Targets in hours per metric and priority, business hours or 24×7, warning and running
    statuses per metric, and the policy options; `metrics()` and `options()` give them in the
    service's shape. `current` and `current_options` are the latest version's (empty for a new
    policy)."""

    def __init__(
        self,
        *args: Any,
        current: dict[str, dict[str, Any]] | None = None,
        current_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.current = current or {}
        self.current_options = current_options or {}
        for metric in Metric:
            spec = self.current.get(metric.value, {})
            targets = spec.get("targets", {})
            label = metric.label
            for priority in Priority:
                self.fields[f"{metric.value}__{priority.value}"] = HoursField(
                    label=_("%(metric)s, %(priority)s: target in hours")
                    % {"metric": label, "priority": priority.value.upper()},
                    required=False,
                    initial=format_hours(targets.get(priority.value)),
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
                )
            self.fields[f"{metric.value}__business_hours"] = forms.BooleanField(
                label=_("%(metric)s: business hours") % {"metric": label},
                required=False,
                initial=spec.get("business_hours", True) if spec else True,
            )
            fraction = spec.get("warn_at_fraction")
            self.fields[f"{metric.value}__warn"] = forms.IntegerField(
                label=_("%(metric)s: warn at %% of the target") % {"metric": label},
                required=False,
                min_value=1,
                max_value=99,
                initial=round(float(fraction) * 100) if fraction is not None else None,
                widget=forms.NumberInput(attrs={"size": 3}),
            )
            self.fields[f"{metric.value}__warn_before"] = HoursField(
                label=_("%(metric)s: warn this many hours before it is due") % {"metric": label},
                required=False,
                zero_message=_("Warn a positive number of hours before, or leave it empty."),
                initial=format_hours(spec.get("warn_before_s")),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
            )
            self.fields[f"{metric.value}__running"] = forms.MultipleChoiceField(
                label=_("%(metric)s: the clock runs while the case is") % {"metric": label},
                required=False,
                choices=RUNNING_CHOICES,
                initial=spec.get("running") or default_running(metric.value),
                widget=forms.CheckboxSelectMultiple,
            )
        for name, field in option_fields().items():
            field.initial = str(self.current_options.get(name, OPTION_DEFAULTS[name]))
            self.fields[f"option__{name}"] = field
        self.fields["option__around_the_clock"] = forms.MultipleChoiceField(
            label=_("Priorities whose clocks run around the clock (24×7)"),
            help_text=_("Whatever the account's business hours, as contracts promise for urgent "
                        "cases: nights, weekends and holidays count."),
            required=False,
            choices=[(p.value, p.value.upper()) for p in Priority],
            initial=self.current_options.get("around_the_clock", []),
            widget=forms.CheckboxSelectMultiple,
        )  # fmt: skip

    def grid(self) -> list[dict[str, Any]]:
        return [
            {
                "metric": metric.value,
                "label": metric.label,
                "targets": [self[f"{metric.value}__{p.value}"] for p in Priority],
                "business_hours": self[f"{metric.value}__business_hours"],
                "warn": self[f"{metric.value}__warn"],
                "warn_before": self[f"{metric.value}__warn_before"],
                "running": self[f"{metric.value}__running"],
            }
            for metric in Metric
        ]

    def option_fields(self) -> list[forms.BoundField]:
        return [self[f"option__{name}"] for name in option_fields()]

    def around_the_clock_field(self) -> forms.BoundField:
        return self["option__around_the_clock"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for metric in Metric:
            if data.get(f"{metric.value}__warn") and data.get(f"{metric.value}__warn_before"):
                self.add_error(
                    f"{metric.value}__warn_before",
                    _("Warn at a percentage of the target or some hours before, not both."),
                )
        if not self.errors and not any(
            data.get(f"{m.value}__{p.value}") for m in Metric for p in Priority
        ):
            raise ValidationError(_("Set at least one target."))
        return data

    def metrics(self) -> dict[str, dict[str, Any]]:
        """The version's `metrics`: metrics without targets are off; running statuses are
        stored only where they differ from the metric's default."""
        data = self.cleaned_data
        metrics: dict[str, dict[str, Any]] = {}
        for metric in Metric:
            targets = {
                p.value: data[f"{metric.value}__{p.value}"]
                for p in Priority
                if data.get(f"{metric.value}__{p.value}")
            }
            if not targets:
                continue
            spec: dict[str, Any] = {
                "targets": targets,
                "business_hours": bool(data.get(f"{metric.value}__business_hours")),
            }
            running = data.get(f"{metric.value}__running") or []
            if running and set(running) != set(default_running(metric.value)):
                spec["running"] = [value for value, _label in RUNNING_CHOICES if value in running]
            warn, before = (
                data.get(f"{metric.value}__warn"),
                data.get(f"{metric.value}__warn_before"),
            )
            if warn:
                spec["warn_at_fraction"] = warn / 100
            elif before:
                spec["warn_before_s"] = before
            metrics[metric.value] = spec
        return metrics

    def options(self) -> dict[str, Any]:
        """The version's `options`: the current ones with the choices made here, where they
        differ from the defaults (specs/sla.md §2.3)."""
        options = dict(self.current_options)
        for name, default in OPTION_DEFAULTS.items():
            value = self.cleaned_data.get(f"option__{name}")
            if value is None:
                continue
            if value == default:
                options.pop(name, None)
            else:
                options[name] = value
        if "option__around_the_clock" in self.cleaned_data:
            chosen = [p.value for p in Priority
                      if p.value in self.cleaned_data["option__around_the_clock"]]  # fmt: skip
            if chosen:
                options["around_the_clock"] = chosen
            else:
                options.pop("around_the_clock", None)
        return options


class PolicyVersionForm(PolicyTargetsForm):
    """A new version of a policy from a day; `first=True` for a policy without versions, whose
    first version applies to every case (no day to choose)."""

    valid_from_on = _date_input(
        label=_("For cases opened from"),
        help_text=_("Midnight in the site's time zone; today or later."),
    )

    def __init__(self, *args: Any, first: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first = first
        if first:
            del self.fields["valid_from_on"]

    def start(self) -> date | None:
        return None if self.first else self.cleaned_data["valid_from_on"]


class PolicyCreateForm(NameForm, PolicyTargetsForm):
    """A new policy: its name and its first targets."""


# Expectations -----------------------------------------------------------------------------------

PERCENT, HOURS = "percent", "hours"


def threshold_unit(kpi: str) -> str:
    """How a KPI's threshold is typed: "percent" (fractions), "hours" (business seconds) or ""
    (the KPI's own number)."""
    unit = KPIS[kpi][1] if kpi in KPIS else ""
    return unit if unit in (PERCENT, HOURS) else ""


def threshold_for_people(kpi: str, value: float) -> float | int:
    unit = threshold_unit(kpi)
    if unit == PERCENT:
        value = round(value * 100, 6)
    elif unit == HOURS:
        value = round(value / HOUR, 6)
    return int(value) if value == int(value) else value


def threshold_for_kpi(kpi: str, value: float) -> float:
    unit = threshold_unit(kpi)
    if unit == PERCENT:
        return value / 100
    if unit == HOURS:
        return value * HOUR
    return value


class ExpectationForm(forms.Form):
    threshold = forms.FloatField(label=_("Threshold"))
    window_days = forms.TypedChoiceField(
        label=_("Window"),
        coerce=int,
        choices=lambda: [(d, _("%(days)s days") % {"days": d}) for d in WINDOWS],
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Expectation.Severity.choices)
    weight = forms.FloatField(label=_("Weight"), min_value=0)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, expectation: Expectation, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "threshold": threshold_for_people(expectation.kpi, expectation.threshold),
                "window_days": expectation.window_days,
                "severity": expectation.severity,
                "weight": expectation.weight,
                "is_active": expectation.is_active,
            },
        )
        super().__init__(*args, **kwargs)
        self.expectation = expectation
        unit = threshold_unit(expectation.kpi)
        if unit == PERCENT:
            self.fields["threshold"].help_text = _("In percent, e.g. 95.")
        elif unit == HOURS:
            self.fields["threshold"].help_text = _("In business hours.")

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "threshold": threshold_for_kpi(self.expectation.kpi, data["threshold"]),
            "window_days": data["window_days"],
            "severity": data["severity"],
            "weight": data["weight"],
            "is_active": data["is_active"],
        }


class TierFilterForm(forms.Form):
    tier = forms.ChoiceField(
        label=_("Tier"),
        required=False,
        choices=lambda: [("", _("All tiers")), *Account.Tier.choices],
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )


class NotificationPreferenceForm(forms.Form):
    notify = forms.ChoiceField(
        label=_("Tell me about new attention items"),
        choices=User.Notify.choices,
        widget=forms.RadioSelect,
    )


# Tiers and accounts -----------------------------------------------------------------------------


class TierSlaForm(forms.Form):
    """Which policy and calendar a tier's accounts use (unless they have their own)."""

    policy = forms.ModelChoiceField(
        label=_("SLA policy"),
        queryset=SlaPolicy.objects.order_by("name"),
        required=False,
        empty_label=_("None: the tier's cases get no SLA clocks"),
    )
    calendar = forms.ModelChoiceField(
        label=_("Calendar"),
        queryset=Calendar.objects.order_by("name"),
        required=False,
        empty_label=_("Around the clock (24×7)"),
        help_text=_("Metrics in business hours count on this calendar."),
    )


class AccountSlaForm(forms.Form):
    """An account's own policy and calendar; empty means the tier's."""

    sla_policy = forms.ModelChoiceField(
        label=_("SLA policy"), queryset=SlaPolicy.objects.order_by("name"), required=False
    )
    calendar = forms.ModelChoiceField(
        label=_("Calendar"), queryset=Calendar.objects.order_by("name"), required=False
    )

    def __init__(self, *args: Any, tier_policy: str, tier_calendar: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy_field = cast(forms.ModelChoiceField, self.fields["sla_policy"])
        calendar_field = cast(forms.ModelChoiceField, self.fields["calendar"])
        policy_field.empty_label = gettext("The tier's: %(name)s") % {"name": tier_policy}
        calendar_field.empty_label = gettext("The tier's: %(name)s") % {"name": tier_calendar}


class AccountSearchForm(forms.Form):
    q = forms.CharField(label=_("Account name"), required=False, max_length=200)


# People and departments -------------------------------------------------------------------------

LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål")]


def _department_field() -> forms.ModelChoiceField[Department]:
    return forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("No department"),
        help_text=_("Agents see the cases of their department."),
    )


class PersonEditForm(forms.Form):
    """An employee's name, e-mail, role, department and language."""

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Notifications go here."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=User.Role.choices,
        help_text=_(
            "Administrator: everything, people included. Manager: every account and the SLA "
            "configuration. TAM: their own accounts. Agent: their department's cases. Viewer: "
            "reads everything, changes nothing."
        ),
    )
    department = _department_field()
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)


class PersonCreateForm(PersonEditForm):
    """A new employee: a user name, and a first password or none (a set-password link)."""

    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("What they sign in with: letters, digits and @ . + - _ only."),
    )
    password1 = forms.CharField(
        label=_("First password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave both password fields empty to get a set-password link instead."),
    )
    password2 = forms.CharField(
        label=_("The password again"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = ["username", "first_name", "last_name", "email", "role", "department",
                   "language", "password1", "password2"]  # fmt: skip

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"]).strip()
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            raise ValidationError(
                _("Use only letters, digits and @ . + - _ in a user name.")
            ) from exc
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, again = data.get("password1") or "", data.get("password2") or ""
        if first != again:
            self.add_error("password2", _("The two passwords differ: type the same one twice."))
        elif first:
            person = User(
                username=data.get("username") or "",
                first_name=data.get("first_name") or "",
                last_name=data.get("last_name") or "",
                email=data.get("email") or "",
            )
            try:
                password_validation.validate_password(first, person)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DepartmentCreateForm(DepartmentForm):
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_(
            "Optional: a short name for imports and mappings, e.g. second-line. It stays when "
            "the department is renamed."
        ),
    )


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, user name or e-mail"), required=False, max_length=200)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=lambda: [("", _("All roles")), *User.Role.choices]
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
    )
    active = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=lambda: [
            ("", _("Active")),
            ("inactive", _("Deactivated")),
            ("all", _("Everyone")),
        ],
    )


def option_summary(options: dict[str, Any]) -> list[str]:
    """A policy version's options that differ from the defaults, as sentences for people."""
    lines = []
    for name, field in option_fields().items():
        if name in options and options[name] != OPTION_DEFAULTS[name]:
            chosen = dict(field.choices).get(str(options[name]), str(options[name]))  # type: ignore[attr-defined]
            lines.append(f"{field.label}: {chosen}")
    if options.get("around_the_clock"):
        lines.append(
            gettext("Around the clock (24×7): %(priorities)s")
            % {"priorities": ", ".join(p.upper() for p in options["around_the_clock"])}
        )
    if options.get("calendar_change") == "last":
        lines.append(
            gettext("Calendar changes: all of a clock's time counts on the latest calendar")
        )
    return lines
