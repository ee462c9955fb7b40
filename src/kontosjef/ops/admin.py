from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kontosjef.audit.admin import ReadOnlyAdmin
from kontosjef.ops.models import Heartbeat, ScheduledJob
from kontosjef.ops.queries import overdue_reason


@admin.register(ScheduledJob)
class ScheduledJobAdmin(ReadOnlyAdmin):
    """Written by the scheduler and the worker only; `/status/` explains what is wrong."""

    list_display = [
        "name",
        "schedule",
        "last_started_at",
        "last_status",
        "last_duration",
        "next_run_at",
        "is_overdue",
    ]
    list_filter = ["last_status"]
    search_fields = ["name", "task_path"]

    @admin.display(boolean=True, description=_("overdue"))
    def is_overdue(self, obj: ScheduledJob) -> bool:
        return bool(overdue_reason(obj, timezone.now()))


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["kind", "host", "pid", "started_at", "last_seen_at", "stopped_at", "stale"]
    list_filter = ["kind"]
    search_fields = ["host"]

    @admin.display(boolean=True, description=_("stale"))
    def stale(self, obj: Heartbeat) -> bool:
        return obj.is_stale(now=timezone.now())
