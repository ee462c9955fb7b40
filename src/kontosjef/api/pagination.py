"""Keyset ("cursor") pagination for every list.

A page is the next `limit` rows after the cursor in a fixed order of (key, id), so a page costs
one indexed query however deep the client reads, and rows written meanwhile neither repeat nor
vanish between pages. The cursor is opaque to clients: URL-safe base64 of JSON
`[order, key value, id]` of the last row of the previous page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from kontosjef.api.schemas import MAX_ID, PageIn, storable


@dataclass(frozen=True)
class Order:
    """Rows in order of `key`, ties broken by id, both ascending or both descending."""

    key: str
    descending: bool = False

    @property
    def tag(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def order_by(self) -> tuple[str, str]:
        if self.descending:
            return (f"-{self.key}", "-pk")
        return (self.key, "pk")


def paginate[M: models.Model](
    queryset: models.QuerySet[M], page: PageIn, order: Order
) -> dict[str, Any]:
    """One page: `{"items": [...], "next_cursor": "…" or None}`. Fetches one row more than the
    limit to learn whether another page follows, without a COUNT."""
    if page.cursor:
        value, pk = _decode(page.cursor, queryset.model, order)
        direction = "lt" if order.descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{order.key}__{direction}": value})
            | Q(**{order.key: value, f"pk__{direction}": pk})
        )
    rows = list(queryset.order_by(*order.order_by())[: page.limit + 1])
    items = rows[: page.limit]
    next_cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        next_cursor = _encode(order, getattr(last, order.key), last.pk)
    return {"items": items, "next_cursor": next_cursor}


def _encode(order: Order, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([order.tag, value, pk], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid() -> HttpError:
    return HttpError(400, _("The cursor is not valid for this list: start again without it."))


def _decode(cursor: str, model: type[models.Model], order: Order) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, value, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise _invalid() from exc
    if tag != order.tag or type(pk) is not int or not 1 <= pk <= MAX_ID:
        raise _invalid()
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _invalid()
    try:
        if isinstance(value, str):
            storable(value)
        field = model._meta.get_field("id" if order.key == "pk" else order.key)
        if not isinstance(field, models.Field):
            raise _invalid()
        value = field.to_python(value)
    except (FieldDoesNotExist, ValidationError, ValueError, OverflowError) as exc:
        raise _invalid() from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _invalid()
        try:
            value = value.astimezone(UTC)
        except OverflowError as exc:
            raise _invalid() from exc
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise _invalid()
    return value, pk
