from django.tasks import task
from django.utils import timezone

from kontosjef.integrations.notifications import notifications_deliver, notifications_send_digests


@task
def deliver_notifications() -> int:
    """Send due e-mails and webhooks and retry failed ones (run every minute by the scheduler)."""
    return notifications_deliver(now=timezone.now())


@task
def send_digests() -> int:
    """Send the daily digests that are due (run hourly, or at least daily, by the scheduler)."""
    return notifications_send_digests(now=timezone.now())
