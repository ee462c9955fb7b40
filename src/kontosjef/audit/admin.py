from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from kontosjef.audit.models import AuditEntry
from kontosjef.audit.services import audit_record


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only history: browse and search, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Admin edits of reference data are audited like service writes; deletion is off."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool
    ) -> None:
        changed = list(form.changed_data)
        before = {name: form.initial.get(name) for name in changed} if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            after = {name: form.cleaned_data.get(name) for name in changed}
            audit_record(
                at=timezone.now(),
                actor=request.user if request.user.is_authenticated else None,
                action=f"{obj._meta.model_name}.{'admin_change' if change else 'admin_add'}",
                obj=obj,
                before={k: _plain(v) for k, v in before.items()},
                after={k: _plain(v) for k, v in after.items()},
            )


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if (
        isinstance(value, (list, tuple))
        or hasattr(value, "__iter__")
        and not isinstance(value, str | bytes | dict)
    ):
        return [_plain(v) for v in value]
    return value


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "object_id", "actor__username", "action"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
