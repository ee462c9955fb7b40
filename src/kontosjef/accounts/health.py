"""The health adapter: case and SLA columns in, `engine.health` KPIs, expectations and scores out.

`health_compute` reads everything it needs in a few queries (no per-account or per-case query),
evaluates all accounts at once, and returns the result; `health_snapshot` also stores the day's
`KpiSnapshot` and `HealthSnapshot` rows, which give the pages their history and the rules their
"health drop" input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from kontosjef.accounts.models import Account, Expectation, HealthSnapshot, KpiSnapshot
from kontosjef.bulk import raw_insert
from kontosjef.cases.models import OPEN_STATUSES, Case, CaseEvent, CycleState, MetricCycle
from kontosjef.cases.sla import METRIC_CODES, PRIORITY_CODES
from kontosjef.engine import NAT, to_instant
from kontosjef.engine import health as eh

WINDOWS = (7, 30, 90)

# Health bands for lists and filters: a score at or above the first bound is healthy, at or above
# the second is worth watching, below it the account is at risk.
HEALTHY_FROM = 85.0
WATCH_FROM = 65.0
HEALTH_BANDS = ("healthy", "watch", "at_risk")


def health_band(score: float | None) -> str:
    """healthy, watch, at_risk, or unknown when the account has no score."""
    if score is None or score != score:
        return "unknown"
    if score >= HEALTHY_FROM:
        return "healthy"
    if score >= WATCH_FROM:
        return "watch"
    return "at_risk"


BREACHED_STATES = (CycleState.BREACHED_RUNNING, CycleState.BREACHED_PAUSED, CycleState.BREACHED_MET)


@dataclass(frozen=True)
class HealthResult:
    """Everything computed for one `now`: index i of each array is `accounts[i]`."""

    now: datetime
    accounts: list[int]  # account ids
    tiers: list[str]
    kpis: dict[int, eh.KpiTable]
    evaluation: eh.Evaluation
    scores: eh.HealthScores
    trend: np.ndarray
    evidence: dict[int, list[int]]  # account id -> case ids that drove unmet SLA expectations

    def index(self, account_id: int) -> int:
        return self.accounts.index(account_id)


def _instant(value: datetime | None) -> int:
    # The database gives aware datetimes; timestamp() is exact for whole seconds and much
    # cheaper than the engine's checked conversion over millions of values.
    return NAT if value is None else int(value.timestamp())


def _columns(
    now: datetime, accounts: dict[int, int], since: datetime | None = None
) -> tuple[eh.CaseColumns, eh.CycleColumns]:
    horizon = since if since is not None else now - timedelta(days=max(WINDOWS))
    relevant = Case.objects.filter(opened_at__lt=now).filter(
        Q(opened_at__gte=horizon)
        | Q(solved_at__gte=horizon)
        | Q(closed_at__gte=horizon)
        | Q(status__in=OPEN_STATUSES)
        | Q(solved_at=None, closed_at=None)
    )
    # Hand-offs per case in one grouped query (a correlated subquery per case is far slower).
    handoffs = dict(
        CaseEvent.objects.filter(kind=CaseEvent.Kind.HANDOFF, case__in=relevant.values("pk"))
        .values("case_id")
        .annotate(n=Count("pk"))
        .values_list("case_id", "n")
    )
    rows = [
        (*row, handoffs.get(row[0], 0))
        for row in relevant.values_list(
            "pk", "account_id", "opened_at", "solved_at", "closed_at", "status", "priority",
            "reopen_count", "requester_id",
        ).iterator(chunk_size=50_000)
    ]  # fmt: skip
    trt: dict[int, tuple[int, datetime | None]] = {}
    cycles: list[tuple[int, str, datetime | None, datetime | None, str]] = []
    # One query joined on the same filter, not a list of ids: it scales to millions of cases.
    for case_id, metric, index, elapsed, stop_at, breached_at, state in (
        MetricCycle.objects.filter(case__in=relevant.values("pk"))
        .values_list(
            "case_id",
            "metric",
            "cycle_index",
            "elapsed_business_seconds",
            "stop_at",
            "breached_at",
            "state",
        )  # fmt: skip
        .iterator(chunk_size=50_000)
    ):
        cycles.append((case_id, metric, stop_at, breached_at, state))
        if metric == "total_resolution" and index == 0:
            trt[case_id] = (elapsed, stop_at)
    n = len(rows)
    col = {name: np.empty(n, np.int64) for name in ("account", "case", "opened", "solved",
                                                   "closed", "priority", "reopen", "handoff",
                                                   "requester", "resolution", "age")}  # fmt: skip
    is_open = np.empty(n, np.bool_)
    priority_of: dict[int, int] = {}
    account_of: dict[int, int] = {}
    for i, (pk, account_id, opened, solved, closed, status, prio, reopen, req, hand) in enumerate(
        rows
    ):
        a = accounts[account_id]
        p = PRIORITY_CODES[prio]
        priority_of[pk], account_of[pk] = p, a
        col["account"][i], col["case"][i] = a, pk
        col["opened"][i], col["solved"][i] = _instant(opened), _instant(solved)
        col["closed"][i] = _instant(closed)
        is_open[i] = status in OPEN_STATUSES
        col["priority"][i], col["reopen"][i], col["handoff"][i] = p, reopen, hand or 0
        col["requester"][i] = req if req is not None else -1
        clock = trt.get(pk)
        col["resolution"][i] = clock[0] if clock is not None and clock[1] is not None else NAT
        col["age"][i] = clock[0] if clock is not None and clock[1] is None and is_open[i] else NAT
    case_columns = eh.CaseColumns(
        account=col["account"], case=col["case"], opened_at=col["opened"],
        solved_at=col["solved"], closed_at=col["closed"], is_open=is_open,
        priority=col["priority"], reopen_count=col["reopen"], handoff_count=col["handoff"],
        requester=col["requester"], resolution_business_s=col["resolution"],
        backlog_age_business_s=col["age"],
    )  # fmt: skip
    m = len(cycles)
    c_account, c_case, c_metric = (
        np.empty(m, np.int64),
        np.empty(m, np.int64),
        np.empty(m, np.int64),
    )
    c_stop, c_breached_at = np.empty(m, np.int64), np.empty(m, np.int64)
    c_breached, c_cancelled = np.empty(m, np.bool_), np.empty(m, np.bool_)
    c_priority = np.empty(m, np.int64)
    for j, (case_id, metric, stop_at, breached_at, state) in enumerate(cycles):
        c_account[j], c_case[j] = account_of[case_id], case_id
        c_metric[j] = int(METRIC_CODES[metric])
        c_stop[j], c_breached_at[j] = _instant(stop_at), _instant(breached_at)
        c_breached[j] = state in BREACHED_STATES
        c_cancelled[j] = state == CycleState.CANCELLED
        c_priority[j] = priority_of[case_id]
    cycle_columns = eh.CycleColumns(
        account=c_account, case=c_case, metric=c_metric, stop_at=c_stop, breached=c_breached,
        breached_at=c_breached_at, priority=c_priority, is_cancelled=c_cancelled,
    )  # fmt: skip
    return case_columns, cycle_columns


def _expectations(account_ids: Sequence[int], tiers: Sequence[str]) -> eh.AccountExpectations:
    by_tier: dict[str, list[eh.Expectation]] = {t: [] for t in Account.Tier.values}
    rules: dict[str, eh.Expectation] = {}
    for e in Expectation.objects.filter(tier__isnull=False, is_active=True):
        rule = _rule(e)
        by_tier[e.tier].append(rule)  # type: ignore[index]
        rules.setdefault(e.code, rule)
    index = {pk: i for i, pk in enumerate(account_ids)}
    overrides: dict[tuple[int, str], float | None] = {}
    extra: dict[str, eh.Expectation] = {}
    for e in Expectation.objects.filter(account__isnull=False, account_id__in=list(index)):
        if e.code not in rules and e.code not in extra:
            extra[e.code] = _rule(e)
        overrides[(index[e.account_id], e.code)] = e.threshold if e.is_active else None  # type: ignore[index]
    return eh.expectations_for_accounts(
        tiers, by_tier=by_tier, overrides=overrides, extra=tuple(extra.values())
    )


def _rule(e: Expectation) -> eh.Expectation:
    return eh.Expectation(
        id=e.code, kpi=e.kpi, comparator=e.comparator, threshold=e.threshold,
        window_days=e.window_days, severity=e.severity, weight=e.weight, scale=e.scale,
    )  # fmt: skip


def kpis_for_range(*, start: datetime, end: datetime) -> tuple[list[int], eh.KpiTable]:
    """Every account's KPIs over any half-open range [start, end): the account ids and the
    table (row i is account ids[i])."""
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    index = {pk: i for i, pk in enumerate(account_ids)}
    cases, cycles = _columns(end, index, since=start)
    table = eh.compute_kpis(
        cases, cycles, n_accounts=len(account_ids), window_start=to_instant(start),
        window_end=to_instant(end),
    )  # fmt: skip
    return account_ids, table


def health_compute(*, now: datetime) -> HealthResult:
    """KPIs, expectations, scores and trend of every account as of `now`."""
    account_rows = list(Account.objects.order_by("pk").values_list("pk", "tier"))
    account_ids = [pk for pk, _t in account_rows]
    tiers = [t for _pk, t in account_rows]
    index = {pk: i for i, pk in enumerate(account_ids)}
    cases, cycles = _columns(now, index)
    kpis = eh.compute_standard_kpis(
        cases, cycles, n_accounts=len(account_ids), now=to_instant(now), windows=WINDOWS
    )
    expectations = _expectations(account_ids, tiers)
    evaluation = eh.evaluate_expectations(kpis, expectations)
    scores = eh.health_scores(evaluation, _health_config())
    trend = _trend(account_ids, index, now, scores.score)
    evidence = _evidence(cycles, cases, account_ids, now)
    return HealthResult(now, account_ids, tiers, kpis, evaluation, scores, trend, evidence)


def _health_config() -> eh.HealthConfig:
    """Severity factors from `KONTOSJEF_HEALTH_SEVERITY_FACTORS` (e.g. {"critical": 3}); the
    weights of single expectations are edited on the expectations themselves."""
    factors = dict(eh.DEFAULT_HEALTH_CONFIG.severity_factors)
    factors.update(getattr(settings, "KONTOSJEF_HEALTH_SEVERITY_FACTORS", {}))
    return eh.HealthConfig(severity_factors=factors)


def _trend(
    account_ids: list[int], index: dict[int, int], now: datetime, today: np.ndarray
) -> np.ndarray:
    start = now.date() - timedelta(days=29)
    days = [start + timedelta(days=d) for d in range(30)]
    day_index = {d: j for j, d in enumerate(days)}
    scores = np.full((len(account_ids), len(days)), np.nan)
    for account_id, on, score in HealthSnapshot.objects.filter(
        on__gte=start, on__lt=now.date()
    ).values_list("account_id", "on", "score"):
        if account_id in index:
            scores[index[account_id], day_index[on]] = score
    scores[:, -1] = today
    day_numbers = [(d - date(1970, 1, 1)).days for d in days]
    return eh.health_trend(day_numbers, scores)


def _evidence(
    cycles: eh.CycleColumns, cases: eh.CaseColumns, account_ids: list[int], now: datetime
) -> dict[int, list[int]]:
    """Per account, the cases with an SLA breach in the last 30 days (newest first, at most 20)."""
    t = to_instant(now)
    recent = cycles.breached & (cycles.breached_at != NAT) & (cycles.breached_at >= t - 30 * 86400)
    out: dict[int, list[int]] = {}
    order = np.argsort(-cycles.breached_at[recent], kind="stable")
    for a, case in zip(cycles.account[recent][order].tolist(), cycles.case[recent][order].tolist(),
                       strict=True):  # fmt: skip
        bucket = out.setdefault(account_ids[a], [])
        if len(bucket) < 20 and case not in bucket:
            bucket.append(case)
    return out


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def health_snapshot(*, now: datetime) -> HealthResult:
    """Compute and store today's KPI and health snapshots (replacing today's if recomputed)."""
    result = health_compute(now=now)
    on = now.date()
    kpi_rows = []
    health_rows = []
    ids = result.scores.expectation_ids
    ev = result.evaluation
    for i, account_id in enumerate(result.accounts):
        for window, table in result.kpis.items():
            values = {name: _plain(float(getattr(table, name)[i])) for name in table.names}
            kpi_rows.append([account_id, on.isoformat(), window, values, now])
        details = {
            eid: {
                "value": _plain(float(ev.value[i, j])),
                "threshold": _plain(float(ev.threshold[i, j])),
                "met": bool(ev.met[i, j]),
                "has_data": bool(ev.has_data[i, j]),
                "at_stake": round(float(result.scores.points_at_stake[i, j]), 2),
            }
            for j, eid in enumerate(ids)
            if ev.applies[i, j]
        }
        lost = {eid: round(float(result.scores.points_lost[i, j]), 2)
                for j, eid in enumerate(ids) if result.scores.points_lost[i, j] > 0}  # fmt: skip
        health_rows.append([
            account_id, on.isoformat(), round(float(result.scores.score[i]), 2),
            _plain(round(float(result.trend[i]), 3)), lost, details, now,
        ])  # fmt: skip
    with transaction.atomic():
        KpiSnapshot.objects.filter(on=on).delete()
        HealthSnapshot.objects.filter(on=on).delete()
        raw_insert(KpiSnapshot, ["account_id", "on", "window_days", "values", "computed_at"],
                   kpi_rows)  # fmt: skip
        raw_insert(HealthSnapshot, ["account_id", "on", "score", "trend", "points_lost",
                                    "details", "computed_at"], health_rows)  # fmt: skip
    return result
