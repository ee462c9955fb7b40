from django.contrib import admin

from kontosjef.accounts.models import (
    Account,
    Contact,
    Expectation,
    HealthSnapshot,
    KpiSnapshot,
    Product,
    TamAssignment,
)
from kontosjef.audit.admin import AuditedAdmin, ReadOnlyAdmin

TAM_FIELDS = ("tam", "started_at", "ended_at", "reason", "end_reason", "assigned_by")


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "email", "language"]
    show_change_link = True

    def has_delete_permission(self, request, obj=None):
        return False


class TamAssignmentInline(admin.TabularInline):
    model = TamAssignment
    fk_name = "account"
    extra = 0
    fields = TAM_FIELDS
    readonly_fields = TAM_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    list_display = ["name", "tier", "country", "time_zone", "status", "external_id"]
    list_filter = ["tier", "status", "country"]
    search_fields = ["name", "external_id"]
    filter_horizontal = ["products"]
    inlines = [TamAssignmentInline, ContactInline]


@admin.register(Contact)
class ContactAdmin(AuditedAdmin):
    list_display = ["name", "email", "account", "language"]
    list_filter = ["language"]
    search_fields = ["name", "email", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ["name", "component"]
    search_fields = ["name", "component"]


@admin.register(TamAssignment)
class TamAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["account", "tam", "started_at", "ended_at", "reason", "assigned_by"]
    list_filter = ["tam", "account__tier"]
    search_fields = ["account__name", "tam__username", "reason"]
    list_select_related = ["account", "tam", "assigned_by"]


@admin.register(Expectation)
class ExpectationAdmin(AuditedAdmin):
    list_display = ["name", "code", "tier", "account", "kpi", "comparator", "threshold",
                    "window_days", "severity", "weight", "is_active"]  # fmt: skip
    list_filter = ["tier", "severity", "is_active", "kpi"]
    search_fields = ["name", "code", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["on", "account", "score", "trend"]
    list_filter = ["on"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    date_hierarchy = "on"


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["on", "account", "window_days"]
    list_filter = ["window_days", "on"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    date_hierarchy = "on"
