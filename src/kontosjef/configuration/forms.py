"""Forms of the configuration pages: they parse what people type into the services' units."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import holidays as holidays_pkg
from django import forms
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
from kontosjef.cases.models import Metric, Priority
from kontosjef.integrations.notifications import KPIS
from kontosjef.people.models import User

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
            raise ValidationError(_("A target must be longer than zero."))
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


class CalendarVersionForm(forms.Form):
    """A new version of a calendar: when it starts, zone, weekly hours, holidays."""

    valid_from_on = _date_input(
        label=_("In force from"),
        help_text=_("Local midnight in the calendar's time zone; today or later."),
    )
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
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        years = None
        if data["holiday_first_year"] is not None and data["holiday_last_year"] is not None:
            years = (data["holiday_first_year"], data["holiday_last_year"])
        return {
            "valid_from_on": data["valid_from_on"],
            "time_zone": data["time_zone"],
            "weekly": [data[name] for name in WEEKDAY_FIELDS],
            "holiday_country": data["holiday_country"],
            "holiday_subdiv": data["holiday_subdiv"],
            "holiday_years": years,
            "extra_holidays": data["extra_holidays"],
        }


class ExtendHolidaysForm(forms.Form):
    to_year = forms.IntegerField(label=_("Store public holidays up to the year"))


class PolicyVersionForm(forms.Form):
    """A new version of an SLA policy: targets in hours per metric and priority."""

    valid_from_on = _date_input(
        label=_("For cases opened from"),
        help_text=_("Midnight in the site's time zone; today or later."),
    )

    def __init__(self, *args: Any, current: dict[str, dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        for metric in Metric:
            spec = current.get(metric.value, {})
            targets = spec.get("targets", {})
            for priority in Priority:
                name = f"{metric.value}__{priority.value}"
                self.fields[name] = HoursField(
                    label=_("%(metric)s, %(priority)s: target in hours")
                    % {"metric": metric.label, "priority": priority.value.upper()},
                    required=False,
                    initial=format_hours(targets.get(priority.value)),
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
                )
            self.fields[f"{metric.value}__business_hours"] = forms.BooleanField(
                label=_("%(metric)s: business hours") % {"metric": metric.label},
                required=False,
                initial=spec.get("business_hours", True) if spec else True,
            )
            fraction = spec.get("warn_at_fraction")
            self.fields[f"{metric.value}__warn"] = forms.IntegerField(
                label=_("%(metric)s: warn at %% of the target") % {"metric": metric.label},
                required=False,
                min_value=1,
                max_value=99,
                initial=round(float(fraction) * 100) if fraction is not None else None,
                widget=forms.NumberInput(attrs={"size": 3}),
            )

    def grid(self) -> list[dict[str, Any]]:
        return [
            {
                "label": metric.label,
                "targets": [self[f"{metric.value}__{p.value}"] for p in Priority],
                "business_hours": self[f"{metric.value}__business_hours"],
                "warn": self[f"{metric.value}__warn"],
                "warn_before_s": self.current.get(metric.value, {}).get("warn_before_s"),
            }
            for metric in Metric
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(
            data.get(f"{m.value}__{p.value}") for m in Metric for p in Priority
        ):
            raise ValidationError(_("Set at least one target."))
        return data

    def metrics(self) -> dict[str, dict[str, Any]]:
        """The version's `metrics`: metrics without targets are off; running statuses and a
        warning in seconds before the target carry over from the current version."""
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
            old = self.current.get(metric.value, {})
            if old.get("running"):
                spec["running"] = old["running"]
            warn = data.get(f"{metric.value}__warn")
            if warn:
                spec["warn_at_fraction"] = warn / 100
            elif old.get("warn_before_s") is not None:
                spec["warn_before_s"] = old["warn_before_s"]
            metrics[metric.value] = spec
        return metrics


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
