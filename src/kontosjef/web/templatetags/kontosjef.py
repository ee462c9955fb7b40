"""Template helpers shared by every page: charts, sparklines, business hours, health bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from kontosjef.accounts.health import health_band as _health_band
from kontosjef.cases.queries import hours_text

register = template.Library()


@register.simple_tag
def chart(spec: dict[str, Any], element_id: str, label: str) -> SafeString:
    """A Vega-Lite chart: the spec as a JSON data block and a labelled figure that
    `web/app.js` renders with vega-embed. Pages with charts include `web/_vega.html`."""
    data_id = f"{element_id}-spec"
    return format_html(
        '<figure class="chart" id="{}" data-vega-spec="{}" role="img" aria-label="{}">'
        '<figcaption class="visually-hidden">{}</figcaption></figure>{}',
        element_id,
        data_id,
        label,
        label,
        json_script(spec, data_id),
    )


@register.simple_tag
def sparkline(
    values: Sequence[float | None] | None, label: str = "", width: int = 96, height: int = 24
) -> SafeString:
    """An inline SVG line of `values` (None and NaN are gaps), scaled 0–100 like health."""
    points = [
        (i, v)
        for i, v in enumerate(values or [])
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    if len(points) < 2:
        return format_html('<span class="muted">{}</span>', _("no history"))
    n = max(len(values or []) - 1, 1)
    pad = 2

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * i / n
        y = pad + (height - 2 * pad) * (1 - max(0.0, min(100.0, v)) / 100)
        return f"{x:.1f},{y:.1f}"

    path = " ".join(xy(i, v) for i, v in points)
    last_x, last_y = xy(*points[-1]).split(",")
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}"><polyline points="{}" /><circle cx="{}" cy="{}" r="2" /></svg>',
        width,
        height,
        width,
        height,
        label,
        path,
        last_x,
        last_y,
    )


@register.filter
def hours(value: timedelta | float | int | None) -> str:
    """Business time for people: "56 h", "3 h 20 min", "45 min", never days (a business day is
    not 24 hours, so "2 d" would mislead). Numbers are seconds."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if math.isnan(seconds):
        return ""
    return ("−" if seconds < 0 else "") + hours_text(int(round(seconds)))


@register.filter
def health_band(score: float | None) -> str:
    """The CSS/band name of a health score: healthy, watch, at_risk or unknown."""
    return _health_band(score)


@register.filter
def percent(value: float | None, digits: int = 0) -> str:
    """0.934 → "93 %" (Norwegian and SI spacing), empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{int(digits)}f} %"
