"""Reads of attention items: whose inbox holds what, and the rows of the inbox page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kontosjef.accounts.models import Account, Expectation
from kontosjef.attention import services
from kontosjef.attention.models import AttentionItem, AttentionItemEvent, AttentionItemQuerySet
from kontosjef.cases.queries import hours_text
from kontosjef.people import access
from kontosjef.people.models import User
from kontosjef.people.services import INTEGRATION_SOURCE

if TYPE_CHECKING:
    from kontosjef.attention.services import TamSuggestion
    from kontosjef.cases.models import Case

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}

# Queues a manager can pick on the inbox page; TAMs only ever see their own items.
QUEUE_INBOX = "inbox"  # the manager's own items and the managers' queue
QUEUE_MINE = "mine"
QUEUE_MANAGERS = "managers"
QUEUE_ALL = "all"


def _awake(now: datetime | None) -> Q:
    """Not snoozed at `now` (now if None)."""
    at = now or timezone.now()
    return Q(snoozed_until=None) | Q(snoozed_until__lte=at)


def inbox_items(user: User, *, now: datetime | None = None) -> AttentionItemQuerySet:
    """The active items in a user's inbox, snoozed ones left out: a TAM's own items on the
    accounts of their portfolio; for managers and admins their own items and the managers'
    queue. Agents and viewers have no inbox."""
    items = AttentionItem.objects.active().filter(_awake(now))
    if not (user.is_authenticated and user.is_active):
        return items.none()
    if user.role in (User.Role.ADMIN, User.Role.MANAGER):
        return items.filter(Q(owner=user) | Q(queue=AttentionItem.Queue.MANAGERS))
    if user.role == User.Role.TAM:
        # An account handed to another TAM keeps its items with the former one until the rules
        # next route them, and the former TAM may no longer open that account.
        return items.filter(owner=user, account__in=access.readable_accounts(user))
    return items.none()


def has_inbox(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active) and user.role in (
        User.Role.ADMIN,
        User.Role.MANAGER,
        User.Role.TAM,
    )


def readable_items(user: User) -> AttentionItemQuerySet:
    """Items (active or closed) the user may open: managers, admins and viewers every item, a
    TAM those on their portfolio's accounts. Agents work cases, not items: none (their
    department's cases would otherwise widen to the accounts' items)."""
    if not (user.is_authenticated and user.is_active) or user.role == User.Role.AGENT:
        return AttentionItem.objects.none()
    return AttentionItem.objects.filter(account__in=access.readable_accounts(user))


SHOW_ACTIVE, SHOW_SNOOZED, SHOW_CLOSED = "active", "snoozed", "closed"
# The outcomes a person chooses when resolving an item.
OUTCOME_CHOICES = [
    (value, label)
    for value, label in AttentionItem.Outcome.choices
    if value != AttentionItem.Outcome.CLEARED
]


def inbox_list(
    user: User,
    *,
    queue: str = QUEUE_INBOX,
    kind: str = "",
    severity: str = "",
    account: str = "",
    show: str = SHOW_ACTIVE,
    now: datetime | None = None,
) -> AttentionItemQuerySet:
    """The inbox page's items: most severe first, then newest, with account and owner joined
    (closed items: most recently closed first).

    A manager picks the queue: their inbox (own items and the managers' queue), only their own,
    only the managers' queue, or every item. Anyone else gets their own. `show` picks active
    items in the inbox, snoozed ones, or closed ones (resolved or dismissed).
    """
    at = now or timezone.now()
    if not has_inbox(user):
        return AttentionItem.objects.none()
    if show == SHOW_CLOSED:
        base = readable_items(user).exclude(state__in=AttentionItem.ACTIVE_STATES)
    elif show == SHOW_SNOOZED:
        base = readable_items(user).active().filter(snoozed_until__gt=at)
    else:
        base = readable_items(user).active().filter(_awake(at))
    if user.role in (User.Role.ADMIN, User.Role.MANAGER):
        items = {
            QUEUE_MINE: base.filter(owner=user),
            QUEUE_MANAGERS: base.filter(queue=AttentionItem.Queue.MANAGERS),
            QUEUE_ALL: base,
        }.get(queue, base.filter(Q(owner=user) | Q(queue=AttentionItem.Queue.MANAGERS)))
    else:
        items = base.filter(owner=user)
    if kind:
        items = items.filter(kind=kind)
    if severity:
        items = items.filter(severity=severity)
    if account:
        items = items.filter(account__name__icontains=account)
    if show == SHOW_CLOSED:
        return items.select_related("account", "owner").order_by("-closed_at", "-id")
    return most_severe_first(items)


def most_severe_first(items: AttentionItemQuerySet) -> AttentionItemQuerySet:
    """Items ordered most severe first, then newest, with account and owner joined."""
    rank = models.Case(
        *[models.When(severity=s, then=models.Value(r)) for s, r in SEVERITY_RANK.items()],
        default=models.Value(len(SEVERITY_RANK)),
        output_field=models.IntegerField(),
    )
    return items.select_related("account", "owner").order_by(rank, "-opened_at", "-id")


def kpi_unit(kpi: str) -> str:
    """How a KPI's values read: percent (fractions), duration (business seconds), count, score
    (health, 0–100) or number. Units are those of `engine.health`."""
    if kpi.endswith("_attainment") or kpi == "reopen_rate":
        return "percent"
    if kpi.startswith(("backlog_age", "backlog_p1_age", "ttr_")):
        return "duration"
    if kpi.startswith("breaches_") or kpi in ("backlog_count", "case_count", "nps"):
        return "count"
    if kpi == "health":
        return "score"
    return "number"


def with_evidence(items: Sequence[AttentionItem], user: User) -> Sequence[AttentionItem]:
    """Give each item what its evidence names, in a fixed number of queries for any number of
    items: `evidence_cases` (readable cases, in the evidence's order), `evidence_expectations`
    (names of the unmet expectations of a no-TAM item), `evidence_due_at`; and for display
    `unit`, `comparator_label` and `severity_label`."""
    case_ids: set[int] = set()
    codes: set[str] = set()
    for item in items:
        case_ids.update(int(c) for c in item.evidence.get("cases", []))
        codes.update(k.split(":", 1)[1] for k in item.evidence.get("expectations", []))
    cases: dict[int, Case] = {}
    if case_ids:
        cases = {
            c.pk: c
            for c in access.readable_cases(user)
            .filter(pk__in=case_ids)
            .only("id", "subject", "priority", "status", "opened_at")
        }
    names: dict[str, str] = {}
    if codes:
        names = dict(
            Expectation.objects.filter(code__in=codes, tier__isnull=False).values_list(
                "code", "name"
            )
        )
    comparators = dict(Expectation.Comparator.choices)
    severities = dict(Expectation.Severity.choices)
    for item in items:
        ids = [int(c) for c in item.evidence.get("cases", [])]
        figures = item.evidence.get("figures") or [None] * len(ids)
        basis = item.evidence.get("basis", "")
        item.evidence_basis = basis  # type: ignore[attr-defined]
        item.evidence_cases = [cases[c] for c in ids if c in cases]  # type: ignore[attr-defined]
        item.evidence_rows = [  # type: ignore[attr-defined]
            (cases[c], evidence_figure(basis, f))
            for c, f in zip(ids, figures, strict=False)
            if c in cases
        ]
        item.evidence_hidden = sum(1 for c in ids if c not in cases)  # type: ignore[attr-defined]
        item.evidence_expectations = [  # type: ignore[attr-defined]
            names.get(code, code)
            for code in (k.split(":", 1)[1] for k in item.evidence.get("expectations", []))
        ]
        due = item.evidence.get("due_at")
        item.evidence_due_at = parse_datetime(due) if isinstance(due, str) else None  # type: ignore[attr-defined]
        item.unit = kpi_unit(item.kpi)  # type: ignore[attr-defined]
        item.comparator_label = comparators.get(item.comparator, item.comparator)  # type: ignore[attr-defined]
        item.severity_label = severities.get(item.severity, item.severity)  # type: ignore[attr-defined]
    return items


def evidence_figure(basis: str, figure: float | None) -> str:
    """What an evidence case's own figure says: its business age or resolution time in hours,
    how often it was reopened or handed off; "" where the case itself is the evidence."""
    if figure is None:
        return ""
    if basis == "oldest_open":
        return _("open %(hours)s") % {"hours": hours_text(int(figure))}
    if basis == "slowest_solved":
        return _("resolved in %(hours)s") % {"hours": hours_text(int(figure))}
    if basis == "reopened":
        n = int(figure)
        return ngettext("reopened %(n)s time", "reopened %(n)s times", n) % {"n": n}
    if basis == "most_handoffs":
        n = int(figure)
        return ngettext("%(n)s hand-off", "%(n)s hand-offs", n) % {"n": n}
    return ""


def tam_suggestions(*, account: Account, now: datetime) -> list[TamSuggestion]:
    """The ranked TAM suggestions for `account`, integration identities left out: the choices
    a manager gets when assigning a TAM."""
    return [
        s
        for s in services.tam_suggestions(account=account, now=now)
        if s.tam.external_source != INTEGRATION_SOURCE
    ]


def item_history(item: AttentionItem) -> list[AttentionItemEvent]:
    """The item's events, oldest first, each with `by` joined and the owners it names as
    `before_owner` and `after_owner` (users or None), looked up in one query."""
    events = list(item.events.select_related("by").order_by("at", "id"))
    owners = {e.pk: _owners(e) for e in events}
    ids = {i for pair in owners.values() for i in pair if i is not None}
    users = User.objects.in_bulk(ids) if ids else {}
    outcomes = dict(AttentionItem.Outcome.choices)
    for e in events:
        before, after = owners[e.pk]
        e.before_owner = users.get(before) if before else None  # type: ignore[attr-defined]
        e.after_owner = users.get(after) if after else None  # type: ignore[attr-defined]
        e.outcome_label = outcomes.get(e.data.get("outcome", ""), "")  # type: ignore[attr-defined]
        until = e.data.get("until")
        e.until = parse_datetime(until) if isinstance(until, str) else None  # type: ignore[attr-defined]
    return events


def _owners(event: AttentionItemEvent) -> tuple[int | None, int | None]:
    """Owner ids an event names: (before, after) of a routing, (None, owner) of an opening."""
    if event.kind == AttentionItemEvent.Kind.ROUTED:
        return event.data.get("before"), event.data.get("after")
    if event.kind == AttentionItemEvent.Kind.OPENED:
        return None, event.data.get("owner")
    return None, None
