from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kontosjef.audit.admin import AuditedAdmin, ReadOnlyAdmin
from kontosjef.people.models import ApiToken, Department, User
from kontosjef.people.services import api_token_revoke


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin, AuditedAdmin):
    list_display = ["username", "first_name", "last_name", "role", "department", "is_active"]
    list_filter = ["role", "department", "notify", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    list_select_related = ["department"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Kontosjef"), {"fields": ("role", "department", "language", "notify")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created by their owners on the API tokens page; an administrator may only
    look and revoke (e.g. a leaked token), through the service."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        for token in queryset.filter(revoked_at=None):
            api_token_revoke(token=token, by=request.user, now=now)  # type: ignore[arg-type]
