"""Attention items: raised by rules when an account misses its expectations, routed to the
account's TAM (or the managers' queue), updated while the condition lasts, resolved when it
clears, and acknowledged, worked on or dismissed by people.

`attention_evaluate` is the rule engine. It runs after every health computation and compares the
conditions that hold now with the active items: one active item per (account, key), never two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kontosjef.accounts.health import (
    HealthResult,
    data_as_of,
    end_of_day,
    health_history,
    snapshot_day,
)
from kontosjef.accounts.models import Account, HealthSnapshot, TamAssignment
from kontosjef.accounts.services import account_assign_tam
from kontosjef.attention.models import AttentionItem, AttentionItemEvent
from kontosjef.audit.services import audit_record
from kontosjef.cases.models import OPEN_STATUSES, Case, SlaAlert
from kontosjef.integrations.notifications import notifications_for_new_items
from kontosjef.people.models import User

State = AttentionItem.State
Kind = AttentionItem.Kind
Outcome = AttentionItem.Outcome
EventKind = AttentionItemEvent.Kind


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


@dataclass
class Condition:
    """Something that holds now and deserves an item."""

    account_id: int
    key: str
    kind: str
    title: str
    severity: str
    kpi: str = ""
    value: float | None = None
    threshold: float | None = None
    comparator: str = ""
    window_days: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class AttentionRun:
    opened: list[AttentionItem] = field(default_factory=list)
    updated: int = 0
    resolved: int = 0
    routed: int = 0


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def attention_conditions(result: HealthResult) -> list[Condition]:
    """Every condition that holds at `result.now`."""
    now = result.now
    tams = set(TamAssignment.objects.filter(ended_at=None).values_list("account_id", flat=True))
    ev = result.evaluation
    conditions: list[Condition] = []
    failing: set[int] = set()
    for i, account_id in enumerate(result.accounts):
        for j, exp in enumerate(ev.expectations):
            if ev.met[i, j] or not ev.has_data[i, j]:
                continue
            failing.add(account_id)
            evidence = result.evidence.get((i, j))
            conditions.append(
                Condition(
                    account_id=account_id,
                    key=f"expectation:{result.codes[j]}",
                    kind=Kind.EXPECTATION,
                    title=result.names[j],
                    severity=exp.severity,
                    kpi=exp.kpi,
                    value=_clean(float(ev.value[i, j])),
                    threshold=_clean(float(ev.threshold[i, j])),
                    comparator=exp.comparator,
                    window_days=exp.window_days,
                    evidence=evidence.as_json() if evidence is not None else {},
                )  # fmt: skip
            )
    for account_id in sorted(failing - tams):
        conditions.append(
            Condition(
                account_id=account_id,
                key="no_tam",
                kind=Kind.NO_TAM,
                severity="warning",
                title=_("Failing expectations and no TAM"),
                evidence={
                    "expectations": [c.key for c in conditions if c.account_id == account_id]
                },
            )  # fmt: skip
        )
    conditions.extend(_health_drops(result))
    conditions.extend(_top_tier_breaches(now))
    return conditions


def _health_drops(result: HealthResult) -> list[Condition]:
    drop = float(_setting("KONTOSJEF_HEALTH_DROP_POINTS", 15))
    then = result.now.date() - timedelta(days=7)
    before = dict(HealthSnapshot.objects.filter(on=then).values_list("account_id", "score"))
    out = []
    for i, account_id in enumerate(result.accounts):
        old = before.get(account_id)
        score = float(result.scores.score[i])
        if old is not None and not math.isnan(score) and old - score > drop:
            out.append(
                Condition(
                    account_id=account_id,
                    key="health_drop",
                    kind=Kind.HEALTH_DROP,
                    severity="warning",
                    title=_("Health fell %(points).0f points in 7 days") % {"points": old - score},
                    kpi="health",
                    value=score,
                    threshold=old - drop,
                    comparator=">=",
                    window_days=7,
                    evidence={"score_7_days_ago": old},
                )  # fmt: skip
            )
    return out


def _top_tier_breaches(now: datetime) -> list[Condition]:
    tiers = tuple(_setting("KONTOSJEF_TOP_TIERS", ("strategic",)))
    alerts = (
        SlaAlert.objects.filter(
            kind=SlaAlert.Kind.BREACH,
            at__gte=now - timedelta(days=7),
            at__lte=now,
            case__account__tier__in=tiers,
            case__status__in=OPEN_STATUSES,
        )
        .select_related("case")
        .order_by("at")
    )
    return [
        Condition(
            account_id=a.case.account_id,
            key=f"sla_breach:{a.case_id}:{a.metric}:{a.cycle_index}",
            kind=Kind.SLA_BREACH,
            severity="critical",
            title=_("SLA breached on case #%(case)s (%(metric)s)")
            % {"case": a.case_id, "metric": a.get_metric_display()},
            evidence={"cases": [a.case_id], "due_at": a.due_at.isoformat()},
        )  # fmt: skip
        for a in alerts
    ]


def _current_tams(account_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        TamAssignment.objects.filter(ended_at=None, account_id__in=list(account_ids)).values_list(
            "account_id", "tam_id"
        )
    )


def attention_evaluate(*, result: HealthResult, notify: bool = True) -> AttentionRun:
    """Raise, update, route and resolve items so they match the conditions at `result.now`.
    `notify=False` (a backfill of past days) writes no notifications for the new items: they
    were news on their own day, not today."""
    now = result.now
    run = AttentionRun()
    conditions = {(c.account_id, c.key): c for c in attention_conditions(result)}
    with transaction.atomic():
        active = {(i.account_id, i.key): i for i in AttentionItem.objects.active()}
        tams = _current_tams({a for a, _k in conditions} | {a for a, _k in active})
        dismissed = _dismissed_and_uncleared(set(conditions), now)
        for key, cond in conditions.items():
            item = active.get(key)
            if item is None:
                if key in dismissed:
                    continue
                run.opened.append(_new_item(cond, tams.get(cond.account_id), now))
            else:
                run.updated += _update(item, cond, now)
                run.routed += _route(item, tams.get(item.account_id), now)
        for key, item in active.items():
            if key not in conditions:
                _close(item, State.RESOLVED, now, by=None, reason="", outcome=Outcome.CLEARED)
                run.resolved += 1
        # Many accounts can fail at once (a first run, an outage): insert new items in bulk.
        AttentionItem.objects.bulk_create(run.opened, batch_size=2000)
        AttentionItemEvent.objects.bulk_create(
            [
                AttentionItemEvent(
                    item=item,
                    at=now,
                    kind=EventKind.OPENED,
                    data={"value": item.value, "threshold": item.threshold, "owner": item.owner_id},
                )  # fmt: skip
                for item in run.opened
            ],
            batch_size=2000,
        )
        # The people concerned hear of new items once, by e-mail or in their digest.
        if notify:
            notifications_for_new_items(items=run.opened, now=now)
    return run


# Outcomes a person chose: such a resolution silences the condition for a while (see below).
PERSON_OUTCOMES = [o for o in Outcome.values if o != Outcome.CLEARED]


def _silenced(item: AttentionItem, now: datetime) -> bool:
    """A dismissal silences its condition until it clears once; a resolution by a person for
    the item's window at most (a 30-day figure lags the fix by up to 30 days), or until it
    clears."""
    if item.state == State.DISMISSED:
        return True
    days = item.window_days or 7
    return item.closed_at is not None and now < item.closed_at + timedelta(days=days)


def _dismissed_and_uncleared(keys: set[tuple[int, str]], now: datetime) -> set[tuple[int, str]]:
    """Keys whose latest item was closed by a person (dismissed, or resolved with an outcome)
    and whose condition has held ever since: those stay silent (`_silenced`)."""
    # Only keys closed by a person and not yet cleared can be silenced: read those alone.
    pending = AttentionItem.objects.filter(
        Q(state=State.DISMISSED) | Q(state=State.RESOLVED, outcome__in=PERSON_OUTCOMES)
    ).exclude(evidence__has_key="cleared_at")
    pairs = set(pending.values_list("account_id", "key"))
    if not pairs:
        return set()
    latest: dict[tuple[int, str], AttentionItem] = {}
    closed = AttentionItem.objects.exclude(state__in=AttentionItem.ACTIVE_STATES).filter(
        account_id__in={a for a, _k in pairs}, key__in={k for _a, k in pairs}
    )
    for item in closed.order_by("opened_at", "pk"):
        latest[(item.account_id, item.key)] = item
    silenced = set()
    for key, item in latest.items():
        by_person = item.state == State.DISMISSED or item.outcome in PERSON_OUTCOMES
        if not by_person or item.evidence.get("cleared_at"):
            continue
        if key in keys:
            if _silenced(item, now):
                silenced.add(key)
        else:
            item.evidence = {**item.evidence, "cleared_at": now.isoformat()}
            item.save(update_fields=["evidence"])
    return silenced


def _new_item(cond: Condition, tam_id: int | None, now: datetime) -> AttentionItem:
    return AttentionItem(
        account_id=cond.account_id, kind=cond.kind, key=cond.key, title=cond.title[:300],
        severity=cond.severity, state=State.OPEN,
        queue=AttentionItem.Queue.TAM if tam_id else AttentionItem.Queue.MANAGERS,
        owner_id=tam_id, kpi=cond.kpi, value=cond.value, threshold=cond.threshold,
        comparator=cond.comparator, window_days=cond.window_days, evidence=cond.evidence,
        opened_at=now, updated_at=now,
    )  # fmt: skip


def _update(item: AttentionItem, cond: Condition, now: datetime) -> int:
    if (item.value, item.evidence, item.title) == (cond.value, cond.evidence, cond.title[:300]):
        return 0
    before = item.value
    item.value, item.evidence, item.title = cond.value, cond.evidence, cond.title[:300]
    item.threshold, item.updated_at = cond.threshold, now
    item.save(update_fields=["value", "evidence", "title", "threshold", "updated_at"])
    # The history records a new value; fresher evidence for the same value is no event.
    if before != cond.value:
        AttentionItemEvent.objects.create(
            item=item, at=now, kind=EventKind.UPDATED, data={"before": before, "after": cond.value}
        )
    return 1


def _route(item: AttentionItem, tam_id: int | None, now: datetime) -> int:
    queue = AttentionItem.Queue.TAM if tam_id else AttentionItem.Queue.MANAGERS
    if (item.owner_id, item.queue) == (tam_id, queue):
        return 0
    before = item.owner_id
    item.owner_id, item.queue, item.updated_at = tam_id, queue, now
    item.save(update_fields=["owner", "queue", "updated_at"])
    AttentionItemEvent.objects.create(
        item=item, at=now, kind=EventKind.ROUTED, data={"before": before, "after": tam_id}
    )
    return 1


def _close(
    item: AttentionItem,
    state: str,
    now: datetime,
    *,
    by: User | None,
    reason: str,
    outcome: str = "",
) -> None:
    item.state, item.closed_at, item.updated_at, item.close_reason = state, now, now, reason
    item.outcome, item.snoozed_until = outcome, None
    item.save(update_fields=["state", "closed_at", "updated_at", "close_reason", "outcome",
                             "snoozed_until"])  # fmt: skip
    kind = EventKind.RESOLVED if state == State.RESOLVED else EventKind.DISMISSED
    data = {"reason": reason, **({"outcome": outcome} if outcome else {})}
    AttentionItemEvent.objects.create(item=item, at=now, kind=kind, by=by, data=data)


# People acting on items ------------------------------------------------------------------------


def can_act_on_item(user: User, item: AttentionItem) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.role in (User.Role.ADMIN, User.Role.MANAGER):
        return True
    return user.role == User.Role.TAM and item.owner_id == user.pk


def _require(user: User, item: AttentionItem) -> None:
    if not can_act_on_item(user, item):
        raise PermissionDenied(_("Only the item's TAM or a manager may change it."))
    if not item.is_active:
        raise ValidationError(_("The item is already closed."))


def _transition(item: AttentionItem, *, by: User, now: datetime, state: str, kind: str) -> None:
    _require(by, item)
    with transaction.atomic():
        locked = AttentionItem.objects.select_for_update().get(pk=item.pk)
        if locked.state == state:
            raise ValidationError(_("The item is already in this state."))
        before = locked.state
        locked.state, locked.updated_at = state, now
        locked.save(update_fields=["state", "updated_at"])
        AttentionItemEvent.objects.create(item=locked, at=now, kind=kind, by=by)
        audit_record(at=now, actor=by, action=f"attention.{kind}", obj=locked,
                     before={"state": before}, after={"state": state})  # fmt: skip
    item.refresh_from_db()


def attention_acknowledge(*, item: AttentionItem, by: User, now: datetime) -> None:
    _transition(item, by=by, now=now, state=State.ACKNOWLEDGED, kind=EventKind.ACKNOWLEDGED)


def attention_start(*, item: AttentionItem, by: User, now: datetime) -> None:
    _transition(item, by=by, now=now, state=State.IN_PROGRESS, kind=EventKind.STARTED)


def attention_dismiss(*, item: AttentionItem, by: User, reason: str, now: datetime) -> None:
    """Close the item without action; the same condition is not raised again until it clears."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the item is dismissed.")})
    _require(by, item)
    with transaction.atomic():
        before = item.state
        _close(item, State.DISMISSED, now, by=by, reason=reason)
        after = {"state": State.DISMISSED, "reason": reason}
        audit_record(at=now, actor=by, action="attention.dismissed", obj=item,
                     before={"state": before}, after=after)  # fmt: skip


def attention_resolve(
    *, item: AttentionItem, by: User, outcome: str, comment: str, now: datetime
) -> None:
    """Close the item as handled, with an outcome and a comment. The rules leave its condition
    alone for the item's window (or until it clears): a 30-day figure takes up to 30 days to
    show a fix. Raised again after that if it still holds."""
    comment = comment.strip()
    if outcome not in PERSON_OUTCOMES:
        raise ValidationError({"outcome": _("Choose how the item ended.")})
    if not comment:
        raise ValidationError({"comment": _("Say what was done.")})
    if len(comment) > 5000:
        raise ValidationError({"comment": _("At most 5,000 characters.")})
    _require(by, item)
    with transaction.atomic():
        before = item.state
        _close(item, State.RESOLVED, now, by=by, reason=comment, outcome=outcome)
        audit_record(at=now, actor=by, action="attention.resolved", obj=item,
                     before={"state": before},
                     after={"state": State.RESOLVED, "outcome": outcome})  # fmt: skip


SNOOZE_LIMIT = timedelta(days=90)


def attention_snooze(
    *, item: AttentionItem, by: User, until: datetime | None, reason: str, now: datetime
) -> None:
    """Take the item out of the inbox until `until` (at most 90 days ahead), or bring it back
    now with `until=None`. It stays active: the rules keep updating and may resolve it."""
    _require(by, item)
    reason = reason.strip()
    if until is not None:
        if until <= now:
            raise ValidationError({"until": _("Choose a time in the future.")})
        if until > now + SNOOZE_LIMIT:
            raise ValidationError({"until": _("Snooze for at most 90 days.")})
    elif not item.is_snoozed(now):
        raise ValidationError(_("The item is not snoozed."))
    with transaction.atomic():
        before = item.snoozed_until
        item.snoozed_until, item.updated_at = until, now
        item.save(update_fields=["snoozed_until", "updated_at"])
        kind = EventKind.SNOOZED if until is not None else EventKind.UNSNOOZED
        data: dict[str, Any] = {"reason": reason} if reason else {}
        if until is not None:
            data["until"] = until.isoformat()
        AttentionItemEvent.objects.create(item=item, at=now, kind=kind, by=by, data=data)
        audit_record(at=now, actor=by, action=f"attention.{kind}", obj=item,
                     before={"snoozed_until": before and before.isoformat()},
                     after={"snoozed_until": until and until.isoformat()})  # fmt: skip


def attention_comment(*, item: AttentionItem, by: User, body: str, now: datetime) -> None:
    """A comment in the item's history, by its TAM or a manager (open or closed items)."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write a comment.")})
    if len(body) > 5000:
        raise ValidationError({"body": _("At most 5,000 characters.")})
    if not can_act_on_item(by, item):
        raise PermissionDenied(_("Only the item's TAM or a manager may comment on it."))
    with transaction.atomic():
        event = AttentionItemEvent.objects.create(
            item=item, at=now, kind=EventKind.COMMENTED, by=by, data={"body": body}
        )
        audit_record(at=now, actor=by, action="attention.commented", obj=item,
                     after={"event": event.pk})  # fmt: skip


# Suggesting a TAM ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TamSuggestion:
    tam: User
    score: float
    reasons: list[str]
    open_items: int
    accounts: int
    open_cases: int
    same_tier: int
    shared_products: int
    recovered: int


def tam_suggestions(*, account: Account, now: datetime) -> list[TamSuggestion]:
    """Active TAMs ranked for `account`, best first (docs/health.md, "Suggesting a TAM").

    score = 3·recovered + 2·same_tier + 1·shared_products
            − 2·open_items − 1·accounts − 0.1·open_cases
    where `recovered` counts accounts the TAM handed over (or still has) with a better health
    than when they took them, `same_tier` accounts of the account's tier they have handled, and
    `shared_products` accounts they have handled that use one of this account's products.
    """
    tams = list(User.objects.filter(role=User.Role.TAM, is_active=True).order_by("username"))
    current = dict(TamAssignment.objects.filter(ended_at=None).values_list("account_id", "tam_id"))
    portfolio: dict[int, list[int]] = {}
    for account_id, tam_id in current.items():
        portfolio.setdefault(tam_id, []).append(account_id)
    open_items: dict[int, int] = {}
    for owner_id in AttentionItem.objects.active().values_list("owner_id", flat=True):
        if owner_id is not None:
            open_items[owner_id] = open_items.get(owner_id, 0) + 1
    cases_per_account: dict[int, int] = {}
    for account_id in Case.objects.filter(status__in=OPEN_STATUSES).values_list(
        "account_id", flat=True
    ):
        cases_per_account[account_id] = cases_per_account.get(account_id, 0) + 1
    history: dict[int, list[TamAssignment]] = {}
    for a in TamAssignment.objects.select_related("account"):
        history.setdefault(a.tam_id, []).append(a)
    products = set(account.products.values_list("pk", flat=True))
    product_map: dict[int, set[int]] = {}
    for account_id, product_id in Account.products.through.objects.values_list(
        "account_id", "product_id"
    ):
        product_map.setdefault(account_id, set()).add(product_id)
    scores = _scores_around(history)
    out = []
    for tam in tams:
        mine = portfolio.get(tam.pk, [])
        handled = {a.account_id: a for a in history.get(tam.pk, []) if a.account_id != account.pk}
        same_tier = sum(1 for a in handled.values() if a.account.tier == account.tier)
        shared = sum(1 for a in handled if product_map.get(a, set()) & products)
        recovered = sum(1 for a in handled.values() if scores.get(a.pk, 0) > 0)
        items = open_items.get(tam.pk, 0)
        cases = sum(cases_per_account.get(a, 0) for a in mine)
        score = 3 * recovered + 2 * same_tier + shared - 2 * items - len(mine) - 0.1 * cases
        reasons = [
            ngettext("%(n)s account of this tier handled", "%(n)s accounts of this tier handled",
                     same_tier) % {"n": same_tier},
            ngettext("%(n)s account with the same products",
                     "%(n)s accounts with the same products", shared) % {"n": shared},
            ngettext("%(n)s account left healthier than found",
                     "%(n)s accounts left healthier than found", recovered) % {"n": recovered},
            ngettext("%(n)s open attention item", "%(n)s open attention items", items)
            % {"n": items},
            ngettext("%(n)s account now", "%(n)s accounts now", len(mine)) % {"n": len(mine)}
            + ", "
            + ngettext("%(c)s open case", "%(c)s open cases", cases) % {"c": cases},
        ]  # fmt: skip
        out.append(TamSuggestion(tam, round(score, 1), reasons, items, len(mine), cases,
                                 same_tier, shared, recovered))  # fmt: skip
    out.sort(key=lambda s: (-s.score, s.tam.username))
    return out


def _scores_around(history: dict[int, list[TamAssignment]]) -> dict[int, float]:
    """Per assignment id: health at its end (or latest) minus health at its start, when known."""
    snaps: dict[int, list[tuple[Any, float]]] = {}
    for account_id, on, score in (
        HealthSnapshot.objects.exclude(score=None)
        .order_by("on")
        .values_list("account_id", "on", "score")
    ):
        if score is not None:
            snaps.setdefault(account_id, []).append((on, score))
    out = {}
    for assignments in history.values():
        for a in assignments:
            series = snaps.get(a.account_id, [])
            start = [s for on, s in series if on >= a.started_at.date()]
            end = [s for on, s in series if a.ended_at is None or on <= a.ended_at.date()]
            if start and end:
                out[a.pk] = end[-1] - start[0]
    return out


# How many days before the as-of instant a backfill also runs the rules, day by day, so items
# open on the day their condition began (`KONTOSJEF_RULES_BACKFILL_DAYS`).
RULES_BACKFILL_DAYS = 180


def health_refresh(*, now: datetime, as_of: datetime | None = None) -> AttentionRun:
    """The periodic job: the snapshots as of `as_of` (by default `data_as_of(now)`: now, or the
    end of the data's last day when the data stopped long ago), then the rules."""
    end = as_of or data_as_of(now)
    return health_backfill(since=snapshot_day(end), now=now, as_of=end)


def health_backfill(
    *, since: date, now: datetime, as_of: datetime | None = None, progress: Any = None
) -> AttentionRun:
    """Snapshots for every day from `since` to the as-of instant (by default `data_as_of(now)`),
    oldest first, from one read of the data; then the rules for each of the last
    `KONTOSJEF_RULES_BACKFILL_DAYS` days of them, so history, trends and items start on the
    right dates. A look at the past (when newer snapshots exist) stores snapshots only: the
    items of today stay as they are. `progress(n)` is called after each day."""
    end = as_of or data_as_of(now)
    last_day = snapshot_day(end)
    if since > last_day:
        raise ValidationError(_("The first day comes after the last one."))
    days = [since + timedelta(days=d) for d in range((last_day - since).days + 1)]
    instants = [end_of_day(d) for d in days[:-1]] + [end]
    newest = HealthSnapshot.objects.filter(on__gt=last_day).exists()
    window = int(_setting("KONTOSJEF_RULES_BACKFILL_DAYS", RULES_BACKFILL_DAYS))
    rules_from = None if newest else end - timedelta(days=window)
    total = AttentionRun()

    def each(result: HealthResult) -> None:
        if rules_from is not None and result.now >= rules_from:
            run = attention_evaluate(result=result, notify=result.now == end)
            total.opened.extend(run.opened)
            total.updated += run.updated
            total.resolved += run.resolved
            total.routed += run.routed
        if progress is not None:
            progress(1)

    health_history(instants=instants, computed_at=now, each=each, evidence_from=rules_from)
    return total


def attention_assign_tam(
    *, item: AttentionItem, tam: User, by: User, reason: str, now: datetime
) -> TamAssignment:
    """Make `tam` the TAM of the item's account (managers only) and route the account's active
    items to them now rather than at the rules' next run. A "no TAM" item is resolved: its
    condition no longer holds."""
    _require(by, item)
    with transaction.atomic():
        assignment = account_assign_tam(
            account=item.account, tam=tam, by=by, reason=reason, now=now
        )
        active = AttentionItem.objects.active().select_for_update().filter(account=item.account)
        for each in active.order_by("pk"):
            if each.kind == Kind.NO_TAM:
                _close(each, State.RESOLVED, now, by=by, reason=reason.strip())
                continue
            before = each.owner_id
            if (before, each.queue) == (tam.pk, AttentionItem.Queue.TAM):
                continue
            each.owner, each.queue, each.updated_at = tam, AttentionItem.Queue.TAM, now
            each.save(update_fields=["owner", "queue", "updated_at"])
            AttentionItemEvent.objects.create(
                item=each, at=now, kind=EventKind.ROUTED, by=by,
                data={"before": before, "after": tam.pk, "reason": reason.strip()},
            )  # fmt: skip
    item.refresh_from_db()
    return assignment
