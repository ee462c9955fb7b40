"""Attention items over the API: the inbox, an item with its evidence and history, and the same
actions as the item page (acknowledge, start, resolve, snooze, dismiss, comment), with the same
services and scoping."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as Answer
from pydantic import AfterValidator

from kontosjef.api.auth import user_of
from kontosjef.api.pagination import Order, paginate
from kontosjef.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    FilterIn,
    Id,
    Moment,
    PageIn,
    Search,
    storable,
)
from kontosjef.attention import queries, services
from kontosjef.attention.models import AttentionItem

router = Router(tags=["attention items"])

Comment = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(storable)]
Reason = Annotated[str, Field(max_length=2000), AfterValidator(storable)]


class ItemOut(Schema):
    id: int
    account: int = Field(alias="account_id")
    kind: AttentionItem.Kind
    key: str
    title: str = Field(alias="display_title")
    severity: str
    state: AttentionItem.State
    queue: AttentionItem.Queue
    owner: int | None = Field(alias="owner_id")
    kpi: str
    value: float | None
    threshold: float | None
    comparator: str
    window_days: int | None
    evidence: dict[str, Any] = Field(
        description="basis (what the cases are), cases (ids, at most 20) and their figures."
    )
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    close_reason: str
    outcome: str
    snoozed_until: datetime | None


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class ItemEventOut(Schema):
    at: datetime
    kind: str
    by: int | None = Field(alias="by_id")
    data: dict[str, Any]


class ItemDetailOut(ItemOut):
    history: list[ItemEventOut]


class ItemFilter(FilterIn):
    show: str = Field(
        queries.SHOW_ACTIVE,
        pattern="^(active|snoozed|closed)$",
        description="active (the inbox), snoozed or closed items.",
    )
    queue: str = Field(
        queries.QUEUE_INBOX,
        pattern="^(inbox|mine|managers|all)$",
        description="Managers: inbox (own and the managers' queue), mine, managers or all.",
    )
    kind: AttentionItem.Kind | None = None
    severity: str | None = Field(None, pattern="^(info|warning|critical)$")
    account: Search | None = Field(None, description="Part of the account's name.")


class ResolveIn(Schema):
    outcome: str = Field(pattern="^(fixed|improving|agreed|not_a_problem)$")
    comment: Comment


class SnoozeIn(Schema):
    until: Moment | None = Field(description="Back in the inbox then (at most 90 days); null now.")
    reason: Reason = ""


class DismissIn(Schema):
    reason: Comment


class CommentIn(Schema):
    body: Comment


def _item(request: HttpRequest, item_id: int) -> AttentionItem:
    items = queries.readable_items(user_of(request)).select_related("account", "owner")
    return get_object_or_404(items, pk=item_id)


def _detail(item: AttentionItem) -> AttentionItem:
    """The item as stored now, with its history for `ItemDetailOut`."""
    fresh = AttentionItem.objects.select_related("account").get(pk=item.pk)
    fresh.history = list(fresh.events.order_by("at", "id"))  # type: ignore[attr-defined]
    return fresh


@router.get("/attention-items", response={200: ItemPage, READ_ERRORS: ErrorOut})
def item_list(
    request: HttpRequest, filters: Query[ItemFilter], page: Query[PageIn]
) -> dict[str, object]:
    """The caller's items, newest first: their inbox by default, or snoozed or closed ones."""
    user = user_of(request)
    items = queries.inbox_list(
        user,
        queue=filters.queue,
        kind=filters.kind or "",
        severity=filters.severity or "",
        account=filters.account or "",
        show=filters.show,
        now=timezone.now(),
    )
    return paginate(items.select_related(None), page, Order("opened_at", descending=True))


@router.get("/attention-items/{item_id}", response={200: ItemDetailOut, READ_ERRORS: ErrorOut})
def item_detail(request: HttpRequest, item_id: Id) -> AttentionItem:
    """One item with its evidence and history."""
    return _detail(_item(request, item_id))


@router.post(
    "/attention-items/{item_id}/acknowledge", response={200: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_acknowledge(request: HttpRequest, item_id: Id) -> AttentionItem:
    item = _item(request, item_id)
    services.attention_acknowledge(item=item, by=user_of(request), now=timezone.now())
    return _detail(item)


@router.post(
    "/attention-items/{item_id}/start", response={200: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_start(request: HttpRequest, item_id: Id) -> AttentionItem:
    item = _item(request, item_id)
    services.attention_start(item=item, by=user_of(request), now=timezone.now())
    return _detail(item)


@router.post(
    "/attention-items/{item_id}/resolve", response={200: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_resolve(request: HttpRequest, item_id: Id, payload: ResolveIn) -> AttentionItem:
    """Close the item as handled, with an outcome and what was done."""
    item = _item(request, item_id)
    services.attention_resolve(item=item, by=user_of(request), outcome=payload.outcome,
                               comment=payload.comment, now=timezone.now())  # fmt: skip
    return _detail(item)


@router.post(
    "/attention-items/{item_id}/snooze", response={200: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_snooze(request: HttpRequest, item_id: Id, payload: SnoozeIn) -> AttentionItem:
    """Out of the inbox until `until`; `"until": null` brings it back now."""
    item = _item(request, item_id)
    services.attention_snooze(item=item, by=user_of(request), until=payload.until,
                              reason=payload.reason, now=timezone.now())  # fmt: skip
    return _detail(item)


@router.post(
    "/attention-items/{item_id}/dismiss", response={200: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_dismiss(request: HttpRequest, item_id: Id, payload: DismissIn) -> AttentionItem:
    """Close the item without action; not raised again until its condition clears."""
    item = _item(request, item_id)
    services.attention_dismiss(
        item=item, by=user_of(request), reason=payload.reason, now=timezone.now()
    )
    return _detail(item)


@router.post(
    "/attention-items/{item_id}/comments", response={201: ItemDetailOut, WRITE_ERRORS: ErrorOut}
)
def item_comment(request: HttpRequest, item_id: Id, payload: CommentIn) -> Answer[AttentionItem]:
    item = _item(request, item_id)
    services.attention_comment(item=item, by=user_of(request), body=payload.body,
                               now=timezone.now())  # fmt: skip
    return Answer(201, _detail(item))
