from django.contrib import admin

from kontosjef.attention.models import AttentionItem, AttentionItemEvent
from kontosjef.audit.admin import ReadOnlyAdmin


class AttentionItemEventInline(admin.TabularInline):
    model = AttentionItemEvent
    extra = 0
    fields = ("at", "kind", "by", "data")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AttentionItem)
class AttentionItemAdmin(ReadOnlyAdmin):
    """Items change through the attention pages and the rules, so the admin only shows them."""

    list_display = ["opened_at", "account", "title", "severity", "state", "queue", "owner", "value",
                    "threshold"]  # fmt: skip
    list_filter = ["state", "kind", "severity", "queue"]
    search_fields = ["account__name", "title", "key"]
    list_select_related = ["account", "owner"]
    date_hierarchy = "opened_at"
    inlines = [AttentionItemEventInline]


@admin.register(AttentionItemEvent)
class AttentionItemEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "item", "kind", "by"]
    list_filter = ["kind"]
    list_select_related = ["item", "by"]
