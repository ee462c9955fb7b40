from django.contrib import admin

from kontosjef.audit.admin import ReadOnlyAdmin
from kontosjef.cases.models import Case, CaseEvent

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
