from __future__ import annotations

from django.db.models import Count, Q

from kontosjef.accounts.models import AccountQuerySet
from kontosjef.cases.models import OPEN_STATUSES
from kontosjef.people import access
from kontosjef.people.models import User


def home_accounts(user: User) -> AccountQuerySet:
    """The accounts a user's home page lists: a TAM's portfolio, an agent's department's accounts,
    everything for managers, admins and viewers; each with its open-case count and current TAM."""
    if user.role == User.Role.TAM:
        qs = access.actionable_accounts(user)
    else:
        qs = access.readable_accounts(user)
    return (
        qs.with_current_tam()
        .annotate(open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
        .order_by("name")
    )
