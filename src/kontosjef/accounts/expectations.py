"""Display names of the built-in expectations (engine.health.DEFAULT_EXPECTATIONS).

The names are stored in English (seeded by a migration, editable in the admin); pages show a
built-in name in the reader's language with `expectation_label`, and any other name as written.
"""

from django.utils.translation import gettext, gettext_noop

DEFAULT_NAMES = {
    "frt_attainment_30d": gettext_noop("First-reply SLA attainment, 30 days"),
    "nrt_attainment_30d": gettext_noop("Next-reply SLA attainment, 30 days"),
    "trt_attainment_30d": gettext_noop("Resolution SLA attainment, 30 days"),
    "p1_breaches_30d": gettext_noop("P1 SLA breaches, 30 days"),
    "p1_backlog_age_max": gettext_noop("Oldest open P1 case (business time)"),
    "backlog_age_max": gettext_noop("Oldest open case (business time)"),
    "ttr_median_30d": gettext_noop("Median time to resolution, 30 days"),
    "reopen_rate_30d": gettext_noop("Reopen rate, 30 days"),
    "csat_90d": gettext_noop("Customer satisfaction (CSAT), 90 days"),
    "nps_90d": gettext_noop("Net Promoter Score, 90 days"),
}


_BUILT_IN = frozenset(DEFAULT_NAMES.values())


def expectation_label(name: str) -> str:
    """A built-in expectation's name in the active language; any other name unchanged."""
    return gettext(name) if name in _BUILT_IN else name
