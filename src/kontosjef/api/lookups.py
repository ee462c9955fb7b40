"""Turning ids in a request body into rows the caller may see."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _


def referenced[M: models.Model](queryset: models.QuerySet[M], pk: int, field: str) -> M:
    """The row an id in a request body names. An id outside `queryset` (missing, or hidden from
    the caller) is a validation error on that field (422), so ids do not reveal hidden rows."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise ValidationError(
            {field: _("There is no such %(field)s (id %(id)s).") % {"field": field, "id": pk}}
        )
    return row


def referenced_or_none[M: models.Model](
    queryset: models.QuerySet[M], pk: int | None, field: str
) -> M | None:
    return None if pk is None else referenced(queryset, pk, field)
