"""Reads of attention items: whose inbox holds what."""

from __future__ import annotations

from django.db.models import Q

from kontosjef.attention.models import AttentionItem, AttentionItemQuerySet
from kontosjef.people.models import User


def inbox_items(user: User) -> AttentionItemQuerySet:
    """The active items in a user's inbox: a TAM's own items; for managers and admins their own
    items and the managers' queue. Agents and viewers have no inbox."""
    items = AttentionItem.objects.active()
    if not (user.is_authenticated and user.is_active):
        return items.none()
    if user.role in (User.Role.ADMIN, User.Role.MANAGER):
        return items.filter(Q(owner=user) | Q(queue=AttentionItem.Queue.MANAGERS))
    if user.role == User.Role.TAM:
        return items.filter(owner=user)
    return items.none()
