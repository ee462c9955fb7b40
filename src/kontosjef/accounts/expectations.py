"""Display names of the built-in expectations (engine.health.DEFAULT_EXPECTATIONS)."""

DEFAULT_NAMES = {
    "frt_attainment_30d": "First-reply SLA attainment, 30 days",
    "nrt_attainment_30d": "Next-reply SLA attainment, 30 days",
    "trt_attainment_30d": "Resolution SLA attainment, 30 days",
    "p1_breaches_30d": "P1 SLA breaches, 30 days",
    "p1_backlog_age_max": "Oldest open P1 case (business time)",
    "backlog_age_max": "Oldest open case (business time)",
    "ttr_median_30d": "Median time to resolution, 30 days",
    "reopen_rate_30d": "Reopen rate, 30 days",
    "csat_90d": "Customer satisfaction (CSAT), 90 days",
    "nps_90d": "Net Promoter Score, 90 days",
}
