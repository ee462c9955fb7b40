from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from kontosjef.audit.models import AuditEntry
from kontosjef.people.models import User


def audit_record(
    *,
    at: datetime,
    actor: User | None,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. Call inside the service's transaction, after the write."""
    return AuditEntry.objects.create(
        at=at,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before or {},
        after=after or {},
    )


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of `obj` as JSON-friendly values (foreign keys as ids)."""
    values: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        values[name] = getattr(obj, attname)
    return values
