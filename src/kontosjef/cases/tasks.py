from django.tasks import task
from django.utils import timezone

from kontosjef.cases.sla import sla_sweep


@task
def sweep_slas() -> int:
    """Record due SLA breaches and warnings (run every minute by the scheduler)."""
    return sla_sweep(now=timezone.now())
