from django.tasks import task
from django.utils import timezone

from kontosjef.attention.services import health_refresh


@task
def refresh_health() -> int:
    """Snapshot KPIs and health, then raise, update and resolve attention items (hourly)."""
    return len(health_refresh(now=timezone.now()).opened)
