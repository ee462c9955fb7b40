from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from kontosjef.audit.admin import AuditedAdmin
from kontosjef.people.models import Department, User


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin, AuditedAdmin):
    list_display = ["username", "first_name", "last_name", "role", "department", "is_active"]
    list_filter = ["role", "department", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    list_select_related = ["department"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Kontosjef"), {"fields": ("role", "department", "language")}),
    )
