"""Seed the tier defaults of engine.health.DEFAULT_EXPECTATIONS (a real support organisation's
starting standards; docs/health.md explains them). Later changes are made in the admin or the
configuration pages, never by editing this migration."""

from django.db import migrations



def seed(apps, schema_editor):
    from kontosjef.accounts.expectations import DEFAULT_NAMES as NAMES
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
