"""Seed the tier defaults of engine.health.DEFAULT_EXPECTATIONS (a real support organisation's
starting standards; docs/health.md explains them). Later changes are made in the admin or the
configuration pages, never by editing this migration."""

from django.db import migrations

NAMES = {
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


def seed(apps, schema_editor):
    from kontosjef.engine.health import DEFAULT_EXPECTATIONS

    Expectation = apps.get_model("accounts", "Expectation")
    rows = []
    for tier, expectations in DEFAULT_EXPECTATIONS.items():
        for e in expectations:
            rows.append(
                Expectation(
                    code=e.id,
                    name=NAMES.get(e.id, e.id),
                    kpi=e.kpi,
                    comparator=e.comparator,
                    threshold=e.threshold,
                    window_days=e.window_days,
                    severity=e.severity,
                    weight=e.weight,
                    scale=e.scale,
                    tier=tier,
                )
            )
    Expectation.objects.bulk_create(rows)


def unseed(apps, schema_editor):
    apps.get_model("accounts", "Expectation").objects.filter(tier__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_expectation_healthsnapshot_kpisnapshot")]
    operations = [migrations.RunPython(seed, unseed)]
