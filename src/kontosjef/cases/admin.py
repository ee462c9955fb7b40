from django.contrib import admin

from kontosjef.audit.admin import AuditedAdmin, ReadOnlyAdmin
from kontosjef.cases.models import (
    Calendar,
    CalendarVersion,
    Case,
    CaseEvent,
    MetricCycle,
    SlaAlert,
    SlaPolicy,
    SlaPolicyVersion,
    TierSla,
)

EVENT_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "kind",
    "actor_kind",
    "actor_user",
    "actor_contact",
    "is_public",
    "from_value",
    "to_value",
    "body",
)


CYCLE_FIELDS: tuple[str, ...] = (
    "metric",
    "cycle_index",
    "state",
    "start_at",
    "stop_at",
    "target_seconds",
    "elapsed_business_seconds",
    "paused_business_seconds",
    "remaining_seconds",
    "due_at",
    "breached_at",
    "fulfilled_by",
)


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    can_delete = False
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases change only through events (the case page, the API or an import)."""

    list_display = [
        "id",
        "subject",
        "account",
        "priority",
        "status",
        "department",
        "assignee",
        "opened_at",
    ]
    list_filter = ["status", "priority", "channel", "department", "account__tier"]
    search_fields = ["=id", "subject", "account__name", "external_id"]
    list_select_related = ["account", "department", "assignee"]
    date_hierarchy = "opened_at"
    inlines = [CaseEventInline]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["case", "seq", "at", "kind", "actor_kind", "actor_user", "is_public"]
    list_filter = ["kind", "actor_kind", "is_public"]
    search_fields = ["=case__id", "body"]
    list_select_related = ["case", "actor_user"]
    date_hierarchy = "at"


class MetricCycleInline(admin.TabularInline):
    model = MetricCycle
    extra = 0
    fields = CYCLE_FIELDS
    readonly_fields = CYCLE_FIELDS
    can_delete = False
    ordering = ["metric", "cycle_index"]

    def has_add_permission(self, request, obj=None):
        return False


CaseAdmin.inlines = [MetricCycleInline, CaseEventInline]


@admin.register(MetricCycle)
class MetricCycleAdmin(ReadOnlyAdmin):
    list_display = ["case", "metric", "cycle_index", "state", "target_seconds", "due_at",
                    "breached_at", "remaining_seconds"]  # fmt: skip
    list_filter = ["metric", "state", "business_hours"]
    search_fields = ["=case__id"]
    list_select_related = ["case"]


@admin.register(SlaAlert)
class SlaAlertAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "case", "metric", "cycle_index", "due_at"]
    list_filter = ["kind", "metric"]
    search_fields = ["=case__id"]
    list_select_related = ["case"]


class CalendarVersionInline(admin.StackedInline):
    model = CalendarVersion
    extra = 0
    readonly_fields = ("created_at", "holiday_source")


@admin.register(Calendar)
class CalendarAdmin(AuditedAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    inlines = [CalendarVersionInline]


@admin.register(CalendarVersion)
class CalendarVersionAdmin(AuditedAdmin):
    list_display = ["calendar", "valid_from", "time_zone", "coverage"]
    list_filter = ["calendar", "time_zone"]


class SlaPolicyVersionInline(admin.StackedInline):
    model = SlaPolicyVersion
    extra = 0
    readonly_fields = ("created_at",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    inlines = [SlaPolicyVersionInline]


@admin.register(SlaPolicyVersion)
class SlaPolicyVersionAdmin(AuditedAdmin):
    list_display = ["policy", "valid_from", "created_at"]
    list_filter = ["policy"]


@admin.register(TierSla)
class TierSlaAdmin(AuditedAdmin):
    list_display = ["tier", "policy", "calendar"]
