"""Vega-Lite specs for the account page, built on the server from plain rows.

Each function takes rows (dicts with ISO dates and numbers, as `accounts.queries` returns them)
and returns a spec for the `{% chart %}` tag. Specs are responsive (`"width": "container"`), carry
a description for screen readers, and use colours that keep WCAG AA contrast on white. Labels are
translated when the spec is built, so build specs inside the request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from kontosjef.accounts.health import HEALTHY_FROM, WATCH_FROM

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
HEIGHT = 200

# Dark enough for lines and text on white (contrast ≥ 4.5:1), distinct for colour-blind readers
# in hue and lightness.
BLUE, GREEN, PURPLE, ORANGE, RED, GREY = (
    "#0b5cad", "#1d6b2f", "#6f3fa0", "#a34f00", "#b3261e", "#566070",
)  # fmt: skip
SERIES = (BLUE, ORANGE, PURPLE, GREEN, RED, GREY)
INK, MUTED, LINE = "#1d2430", "#566070", "#d8dde5"

Row = Mapping[str, Any]


def _base(description: str, *, height: int = HEIGHT) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "background": "transparent",
        "config": {
            "font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "view": {"stroke": None},
            "axis": {
                "labelColor": MUTED,
                "titleColor": INK,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "titleFontWeight": 600,
                "gridColor": LINE,
                "domainColor": MUTED,
                "tickColor": MUTED,
            },
            "legend": {
                "labelColor": INK,
                "titleColor": INK,
                "labelFontSize": 12,
                "titleFontSize": 12,
                "orient": "bottom",
                "direction": "horizontal",
                "labelLimit": 260,
            },
        },
    }


def _day_axis() -> dict[str, Any]:
    return {
        "field": "day",
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
        "title": None,
        "scale": {"type": "utc"},
        "axis": {"format": "%d.%m", "labelOverlap": True, "tickCount": 6},
    }


def _day_tooltip() -> dict[str, Any]:
    return {
        "field": "day",
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
        "title": _("Day"),
        "format": "%d.%m.%Y",
    }


def health_chart(rows: Sequence[Row]) -> dict[str, Any]:
    """Daily health score (rows: day, score) over the health bands."""
    bands = [
        {"from": HEALTHY_FROM, "to": 100, "band": _("Healthy"), "colour": "#e6f4ea"},
        {"from": WATCH_FROM, "to": HEALTHY_FROM, "band": _("Watch"), "colour": "#fff4dc"},
        {"from": 0, "to": WATCH_FROM, "band": _("At risk"), "colour": "#fde8e6"},
    ]
    score_axis = {"title": _("Health score"), "values": [0, 25, 50, 65, 85, 100]}
    spec = _base(_("Health score per day, 0 to 100, over the last 90 days."))
    spec["layer"] = [
        {
            "data": {"values": bands},
            "mark": {"type": "rect", "tooltip": False},
            "encoding": {
                "y": {"field": "from", "type": "quantitative", "scale": {"domain": [0, 100]},
                      "axis": score_axis},
                "y2": {"field": "to"},
                "color": {"field": "colour", "type": "nominal", "scale": None, "legend": None},
            },
        },
        {
            "data": {"values": list(rows)},
            "mark": {"type": "line", "color": BLUE, "strokeWidth": 2,
                     "point": {"filled": True, "size": 24, "color": BLUE}},
            "encoding": {
                "x": _day_axis(),
                "y": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100]},
                      "axis": score_axis},
                "tooltip": [
                    _day_tooltip(),
                    {"field": "score", "type": "quantitative", "title": _("Score"),
                     "format": ".1f"},
                ],
            },
        },
    ]  # fmt: skip
    return spec


def attainment_chart(
    rows: Sequence[Row], thresholds: Sequence[Row], labels: Mapping[str, str]
) -> dict[str, Any]:
    """SLA attainment per day and metric (rows: day, kpi, value as a fraction) with each
    expectation's threshold (rows: kpi, threshold) as a dashed rule in the metric's colour;
    `labels` names the metrics and sets their order."""
    measured = {r["kpi"] for r in rows}
    domain = [label for kpi, label in labels.items() if kpi in measured]
    colours = {"domain": domain, "range": list(SERIES[: len(domain)])}
    series = _("Metric")
    points = [{"day": r["day"], "series": labels[r["kpi"]], "value": r["value"]} for r in rows]
    # A threshold without measurements would only be a line with nothing to compare.
    rules = [
        {"series": labels[r["kpi"]], "threshold": r["threshold"]}
        for r in thresholds
        if r["kpi"] in measured
    ]
    # Start the axis a little below the lowest figure: attainment lives near the top, and a
    # full 0–100 % axis would flatten the dips that matter.
    lowest = min([r["value"] for r in rows] + [r["threshold"] for r in rules], default=0.0)
    domain_y = [max(0.0, math.floor(lowest * 10) / 10 - 0.1), 1.0]
    percent_axis = {"title": _("Attainment (30-day window)"), "format": ".0%"}
    spec = _base(
        _(
            "SLA attainment per day over a 30-day window, by metric, with the expected minimum "
            "as a dashed line."
        )  # fmt: skip
    )
    spec["layer"] = [
        {
            "data": {"values": points},
            "mark": {"type": "line", "strokeWidth": 2, "point": {"filled": True, "size": 20}},
            "encoding": {
                "x": _day_axis(),
                "y": {"field": "value", "type": "quantitative", "scale": {"domain": domain_y},
                      "axis": percent_axis},
                "color": {"field": "series", "type": "nominal", "title": series,
                          "scale": colours, "legend": {"direction": "vertical"}},
                "tooltip": [
                    _day_tooltip(),
                    {"field": "series", "type": "nominal", "title": series},
                    {"field": "value", "type": "quantitative", "title": _("Attainment"),
                     "format": ".1%"},
                ],
            },
        },
        {
            "data": {"values": rules},
            "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 1.5},
            "encoding": {
                "y": {"field": "threshold", "type": "quantitative",
                      "scale": {"domain": domain_y}, "axis": percent_axis},
                "color": {"field": "series", "type": "nominal", "title": series,
                          "scale": colours},
                "tooltip": [
                    {"field": "series", "type": "nominal", "title": series},
                    {"field": "threshold", "type": "quantitative", "title": _("Expected"),
                     "format": ".0%"},
                ],
            },
        },
    ]  # fmt: skip
    return spec


def backlog_chart(rows: Sequence[Row]) -> dict[str, Any]:
    """Open cases at the end of each day (rows: day, open)."""
    spec = _base(_("Open cases at the end of each day over the last 90 days."))
    spec["data"] = {"values": list(rows)}
    spec["mark"] = {"type": "area", "line": {"color": BLUE, "strokeWidth": 2},
                    "color": "#cfe0f3", "interpolate": "step-after"}  # fmt: skip
    spec["encoding"] = {
        "x": _day_axis(),
        "y": {"field": "open", "type": "quantitative", "title": _("Open cases"),
              "axis": {"tickMinStep": 1, "format": "d"}},
        "tooltip": [_day_tooltip(), {"field": "open", "type": "quantitative",
                                     "title": _("Open cases")}],
    }  # fmt: skip
    return spec


def priority_chart(rows: Sequence[Row], names: Mapping[str, str]) -> dict[str, Any]:
    """Cases opened in the last 90 days by priority (rows: priority code, open, cases), stacked
    into still open and resolved; the axis shows P1…P4, the tooltip the priority's name."""
    open_label, resolved_label = _("Still open"), _("Resolved")
    codes = [code.upper() for code in names]
    values = [
        {"priority": r["priority"].upper(), "name": names.get(r["priority"], r["priority"]),
         "state": open_label if r["open"] else resolved_label, "cases": r["cases"]}
        for r in rows
    ]  # fmt: skip
    spec = _base(_("Cases opened in the last 90 days by priority, still open or resolved."))
    spec["data"] = {"values": values}
    spec["mark"] = {"type": "bar", "cornerRadiusEnd": 2}
    spec["encoding"] = {
        "x": {"field": "priority", "type": "nominal", "title": None, "sort": codes,
              "scale": {"domain": codes}, "axis": {"labelAngle": 0}},
        "y": {"field": "cases", "type": "quantitative", "aggregate": "sum", "title": _("Cases"),
              "axis": {"tickMinStep": 1, "format": "d"}},
        "color": {"field": "state", "type": "nominal", "title": None,
                  "scale": {"domain": [open_label, resolved_label], "range": [ORANGE, BLUE]}},
        "order": {"field": "state", "sort": "descending"},
        "tooltip": [
            {"field": "name", "type": "nominal", "title": _("Priority")},
            {"field": "state", "type": "nominal", "title": _("State")},
            {"field": "cases", "type": "quantitative", "aggregate": "sum", "title": _("Cases")},
        ],
    }  # fmt: skip
    return spec


def product_chart(rows: Sequence[Row], *, none_label: str) -> dict[str, Any]:
    """Cases opened in the last 90 days by product (rows: product name or None, cases)."""
    values = [{"product": r["product"] or none_label, "cases": r["cases"]} for r in rows]
    spec = _base(
        _("Cases opened in the last 90 days by product."), height=max(80, 28 * len(values))
    )
    spec["data"] = {"values": values}
    spec["mark"] = {"type": "bar", "color": BLUE, "cornerRadiusEnd": 2}
    spec["encoding"] = {
        "y": {"field": "product", "type": "nominal", "title": None, "sort": "-x",
              "axis": {"labelLimit": 180}},
        "x": {"field": "cases", "type": "quantitative", "title": _("Cases"),
              "axis": {"tickMinStep": 1, "format": "d"}},
        "tooltip": [
            {"field": "product", "type": "nominal", "title": _("Product")},
            {"field": "cases", "type": "quantitative", "title": _("Cases")},
        ],
    }  # fmt: skip
    return spec
