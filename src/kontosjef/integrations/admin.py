from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kontosjef.audit.admin import ReadOnlyAdmin
from kontosjef.integrations.models import ImportRun, Notification
from kontosjef.integrations.notifications import notification_retry


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "importer", "source", "path", "outcome", "rows", "by"]
    list_filter = ["importer", "source", "outcome"]
    search_fields = ["path"]
    list_select_related = ["by"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox: what was sent to whom, what is waiting for a retry, and what failed and why.
    A failed notification can be queued again; nothing else is edited here."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "target",
        "item",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "channel", "kind"]
    search_fields = ["target", "last_error", "recipient__username"]
    date_hierarchy = "created_at"
    list_select_related = ["item__account"]
    actions = ["retry"]

    @admin.action(description=_("Send the selected failed notifications again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        now = timezone.now()
        for notification in queryset.filter(state=Notification.State.FAILED):
            notification_retry(notification=notification, by=request.user, now=now)  # type: ignore[arg-type]
