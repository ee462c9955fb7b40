"""Values every page's navigation needs, computed only when a template uses them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from kontosjef.attention.queries import inbox_items


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_inbox_count": SimpleLazyObject(lambda: inbox_items(user).count())}
