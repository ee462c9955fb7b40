"""The health adapter: case and SLA columns in, `engine.health` KPIs, expectations and scores out.

`health_compute` reads everything it needs in a few queries (no per-account or per-case query),
evaluates all accounts at once, and returns the result; `health_snapshot` also stores the day's
`KpiSnapshot` and `HealthSnapshot` rows, which give the pages their history and the rules their
"health drop" input. `health_history` does the same for a run of days from one read of the
data (backfills after an import, the demo's history).

Figures are computed *as of* an instant: windows end there, backlog ages are measured up to it,
and a past instant gives the figures the account had then. `data_as_of` picks the instant a page
or the scheduled refresh should use: now, or the end of the data's last day of activity when
that lies long in the past (an imported historical log).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q

from kontosjef.accounts.models import Account, Expectation, HealthSnapshot, KpiSnapshot
from kontosjef.bulk import raw_insert
from kontosjef.cases.models import OPEN_STATUSES, Case, CaseEvent, CycleState, MetricCycle
from kontosjef.cases.sla import METRIC_CODES, PRIORITY_CODES, account_calendars
from kontosjef.engine import NAT, BusinessClock, CalendarError, compile_calendar, to_instant
from kontosjef.engine import health as eh

logger = logging.getLogger(__name__)

WINDOWS = (7, 30, 90)
# Health trends, in points per day, over these many days of daily snapshots.
TREND_WINDOWS = (30, 90, 365)
# The evidence of an item lists at most this many cases.
EVIDENCE_LIMIT = 20

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


# As of when -------------------------------------------------------------------------------------


def stale_after() -> timedelta:
    """How old the newest activity may be before figures are shown as of the data's last day
    instead of today (`KONTOSJEF_STALE_DATA_DAYS`, default 30)."""
    return timedelta(days=int(getattr(settings, "KONTOSJEF_STALE_DATA_DAYS", 30)))


def end_of_day(day: date) -> datetime:
    """The instant a day's figures are as of: the UTC midnight that ends it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def snapshot_day(instant: datetime) -> date:
    """The day a snapshot as of `instant` describes (the end of a day belongs to that day)."""
    return (instant.astimezone(UTC) - timedelta(microseconds=1)).date()


def last_activity() -> datetime | None:
    """The newest case event of the whole database (an index read)."""
    return CaseEvent.objects.aggregate(at=Max("at"))["at"]


def data_as_of(now: datetime, *, last: datetime | None = None) -> datetime:
    """`now`, or the end of the day of the data's last activity when that is older than
    `stale_after()`: an imported history from years ago is then measured where it ends, not
    over empty windows ending today. Pass `last` when it is already known."""
    newest = last_activity() if last is None else last
    if newest is None or now - newest <= stale_after():
        return now
    return min(now, end_of_day(newest.astimezone(UTC).date()))


# Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """The cases behind one unmet expectation, as `engine.health.kpi_evidence` chose them."""

    basis: str
    cases: list[int]
    figures: list[float]

    def as_json(self) -> dict[str, Any]:
        return {"basis": self.basis, "cases": self.cases, "figures": self.figures}


@dataclass(frozen=True)
class HealthResult:
    """Everything computed as of one instant `now`: index i of each array is `accounts[i]`,
    column j of the evaluation is expectation `codes[j]` (named `names[j]`)."""

    now: datetime
    accounts: list[int]  # account ids
    tiers: list[str]
    kpis: dict[int, eh.KpiTable]
    evaluation: eh.Evaluation
    scores: eh.HealthScores
    trends: dict[int, np.ndarray]  # days -> slope per account (points per day)
    codes: tuple[str, ...]
    names: tuple[str, ...]
    evidence: dict[tuple[int, int], Evidence]  # (account index, column) of unmet pairs

    @property
    def trend(self) -> np.ndarray:
        return self.trends[TREND_WINDOWS[0]]

    @property
    def day(self) -> date:
        return snapshot_day(self.now)

    def index(self, account_id: int) -> int:
        return self.accounts.index(account_id)


# Reading the data -------------------------------------------------------------------------------


def _instant(value: datetime | None) -> int:
    # The database gives aware datetimes; timestamp() is exact for whole seconds and much
    # cheaper than the engine's checked conversion over millions of values.
    return NAT if value is None else int(value.timestamp())


@dataclass(frozen=True)
class _Clocks:
    """Business clocks per case: `calendar[i]` indexes `clocks`; -1 is 24×7, -2 a calendar
    that knows no holidays for the data's years (it measures nothing)."""

    calendar: np.ndarray
    clocks: list[BusinessClock]

    def elapsed(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Business seconds from `start` to `end` per case (same length as `calendar`); NAT
        where either instant is NAT or lies outside the calendar's known holidays."""
        out = np.where((start == NAT) | (end == NAT), NAT, end - start)
        out[self.calendar == -2] = NAT
        for c, clock in enumerate(self.clocks):
            rows = (self.calendar == c) & (out != NAT)
            table = clock.table
            inside = rows & (start >= table.t_begin) & (end <= table.t_end)
            out[rows & ~inside] = NAT
            if inside.any():
                out[inside] = clock.elapsed(start[inside], end[inside])
        return out


@dataclass(frozen=True)
class _Data:
    """The columns of every relevant case and cycle, read once for any number of instants."""

    account_ids: list[int]
    tiers: list[str]
    cases: eh.CaseColumns  # backlog ages left NAT: they depend on the instant
    cycles: eh.CycleColumns
    clocks: _Clocks


def _clocks(case_account: np.ndarray, account_ids: list[int], start: int, end: int) -> _Clocks:
    lookup = account_calendars()
    compiled: dict[int, int] = {}  # calendar id -> index into clocks, or -2
    clocks: list[BusinessClock] = []
    per_account = np.full(len(account_ids), -1, np.int64)
    for a, pk in enumerate(account_ids):
        cal = lookup.of_account.get(pk)
        if cal is None or cal not in lookup.calendars:
            continue
        if cal not in compiled:
            try:
                table = compile_calendar(lookup.calendars[cal], start=start, end=end)
            except CalendarError as exc:
                logger.warning("health: calendar %s cannot measure the data's years: %s", cal, exc)
                compiled[cal] = -2
            else:
                compiled[cal] = len(clocks)
                clocks.append(BusinessClock(table))
        per_account[a] = compiled[cal]
    calendar = per_account[case_account] if len(case_account) else np.empty(0, np.int64)
    return _Clocks(calendar, clocks)


def _load(*, since: datetime, until: datetime) -> _Data:
    """Cases that may count in any window ending between `since` and `until`, with their
    hand-offs and SLA cycles, in three queries."""
    account_rows = list(Account.objects.order_by("pk").values_list("pk", "tier"))
    account_ids = [pk for pk, _t in account_rows]
    tiers = [t for _pk, t in account_rows]
    accounts = {pk: i for i, pk in enumerate(account_ids)}
    horizon = since - timedelta(days=max(WINDOWS))
    relevant = Case.objects.filter(opened_at__lt=until).filter(
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
    trt: dict[int, int] = {}
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
        if metric == "total_resolution" and index == 0 and stop_at is not None:
            trt[case_id] = elapsed
    n = len(rows)
    col = {name: np.empty(n, np.int64) for name in ("account", "case", "opened", "solved",
                                                   "closed", "priority", "reopen", "handoff",
                                                   "requester", "resolution")}  # fmt: skip
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
        col["resolution"][i] = trt.get(pk, NAT) if solved is not None else NAT
    t_first = int(col["opened"].min()) if n else _instant(since)
    clocks = _clocks(col["account"], account_ids, t_first, _instant(until))
    # A solved case that no SLA policy measured still has a resolution time: business time from
    # opening to the solve on the account's calendar.
    unmeasured = (col["resolution"] == NAT) & (col["solved"] != NAT)
    if unmeasured.any():
        fallback = clocks.elapsed(col["opened"], np.where(unmeasured, col["solved"], NAT))
        col["resolution"] = np.where(unmeasured, fallback, col["resolution"])
    case_columns = eh.CaseColumns(
        account=col["account"], case=col["case"], opened_at=col["opened"],
        solved_at=col["solved"], closed_at=col["closed"], is_open=is_open,
        priority=col["priority"], reopen_count=col["reopen"], handoff_count=col["handoff"],
        requester=col["requester"], resolution_business_s=col["resolution"],
        backlog_age_business_s=np.full(n, NAT, np.int64),
    )  # fmt: skip
    m = len(cycles)
    c_account, c_case, c_metric = (np.empty(m, np.int64) for _ in range(3))
    c_stop, c_breached_at, c_priority = (np.empty(m, np.int64) for _ in range(3))
    c_breached, c_cancelled = np.empty(m, np.bool_), np.empty(m, np.bool_)
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
    return _Data(account_ids, tiers, case_columns, cycle_columns, clocks)


def _as_of(data: _Data, t: int) -> eh.CaseColumns:
    """The case columns as of instant `t`: the business age of every case open then."""
    cases = data.cases
    resolved_at = np.where(cases.solved_at != NAT, cases.solved_at, cases.closed_at)
    open_then = (cases.opened_at < t) & (cases.is_open | (resolved_at >= t))
    end = np.where(open_then, t, NAT).astype(np.int64)
    ages = data.clocks.elapsed(cases.opened_at, end)
    return replace(cases, backlog_age_business_s=ages)


# Expectations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The expectations as the engine evaluates them, and each column's code and name.

    Each tier keeps its own rule (window, severity, weight): a code whose rule differs between
    tiers gets one engine column per rule, named `code@tier` after the first."""

    expectations: eh.AccountExpectations
    codes: tuple[str, ...]
    names: tuple[str, ...]


def _plan(account_ids: Sequence[int], tiers: Sequence[str]) -> _Plan:
    by_tier: dict[str, list[eh.Expectation]] = {t: [] for t in Account.Tier.values}
    column: dict[tuple[str, str], str] = {}  # (code, tier) -> engine id
    rules: dict[str, list[eh.Expectation]] = {}  # code -> its variants
    names: dict[str, str] = {}  # engine id -> name
    tier_rows = Expectation.objects.filter(tier__isnull=False, is_active=True).order_by(
        "code", "pk"
    )
    for e in tier_rows:
        rule = _rule(e, e.code)
        variants = rules.setdefault(e.code, [])
        same = next((v for v in variants if v.same_rule(replace(rule, id=v.id))), None)
        if same is None:
            same = rule if not variants else _rule(e, f"{e.code}@{e.tier}")
            variants.append(same)
            names[same.id] = e.name
        by_tier[e.tier].append(replace(rule, id=same.id))  # type: ignore[index]
        column[(e.code, e.tier)] = same.id  # type: ignore[index]
    index = {pk: i for i, pk in enumerate(account_ids)}
    overrides: dict[tuple[int, str], float | None] = {}
    extra: dict[str, eh.Expectation] = {}
    for e in Expectation.objects.filter(account__isnull=False, account_id__in=list(index)):
        a = index[e.account_id]  # type: ignore[index]
        eid = column.get((e.code, tiers[a]))
        if eid is None:
            eid = rules[e.code][0].id if e.code in rules else e.code
            if e.code not in rules and e.code not in extra:
                extra[e.code] = _rule(e, e.code)
                names[e.code] = e.name
        overrides[(a, eid)] = e.threshold if e.is_active else None
    plan = eh.expectations_for_accounts(
        tiers, by_tier=by_tier, overrides=overrides, extra=tuple(extra.values())
    )
    codes = tuple(eid.split("@", 1)[0] for eid in plan.ids)
    return _Plan(plan, codes, tuple(names.get(eid, eid) for eid in plan.ids))


def _rule(e: Expectation, eid: str) -> eh.Expectation:
    return eh.Expectation(
        id=eid, kpi=e.kpi, comparator=e.comparator, threshold=e.threshold,
        window_days=e.window_days, severity=e.severity, weight=e.weight, scale=e.scale,
    )  # fmt: skip


def _health_config() -> eh.HealthConfig:
    """Severity factors from `KONTOSJEF_HEALTH_SEVERITY_FACTORS` (e.g. {"critical": 3}) and miss
    floors from `KONTOSJEF_HEALTH_MISS_FLOORS`; the weights of single expectations are edited on
    the expectations themselves."""
    factors = dict(eh.DEFAULT_HEALTH_CONFIG.severity_factors)
    factors.update(getattr(settings, "KONTOSJEF_HEALTH_SEVERITY_FACTORS", {}))
    floors = dict(eh.DEFAULT_HEALTH_CONFIG.miss_floors)
    floors.update(getattr(settings, "KONTOSJEF_HEALTH_MISS_FLOORS", {}))
    return eh.HealthConfig(severity_factors=factors, miss_floors=floors)


# Computing --------------------------------------------------------------------------------------


def _compute(
    data: _Data, plan: _Plan, now: datetime, history: _History, *, with_evidence: bool
) -> HealthResult:
    t = to_instant(now)
    cases = _as_of(data, t)
    n = len(data.account_ids)
    kpis = eh.compute_standard_kpis(cases, data.cycles, n_accounts=n, now=t, windows=WINDOWS)
    credibility = float(getattr(settings, "KONTOSJEF_HEALTH_CREDIBILITY", eh.DEFAULT_CREDIBILITY))
    evaluation = eh.evaluate_expectations(kpis, plan.expectations, credibility=credibility)
    scores = eh.health_scores(evaluation, _health_config())
    day = snapshot_day(now)
    trends = history.trends(day, scores.score)
    evidence: dict[tuple[int, int], Evidence] = {}
    if with_evidence:
        unmet = evaluation.has_data & ~evaluation.met
        for j in np.flatnonzero(unmet.any(axis=0)).tolist():
            exp = evaluation.expectations[j]
            found = eh.kpi_evidence(
                exp.kpi, cases, data.cycles, window_start=t - exp.window_days * 86_400,
                window_end=t, limit=EVIDENCE_LIMIT,
            )  # fmt: skip
            for a in np.flatnonzero(unmet[:, j]).tolist():
                ids, figures = found.for_account(a)
                evidence[(a, j)] = Evidence(found.basis, ids, figures)
    return HealthResult(
        now, data.account_ids, data.tiers, kpis, evaluation, scores, trends, plan.codes,
        plan.names, evidence,
    )  # fmt: skip


class _History:
    """Daily scores per account (from stored snapshots, then from each computed day), for the
    trends."""

    def __init__(self, account_ids: list[int], first_day: date) -> None:
        self.index = {pk: i for i, pk in enumerate(account_ids)}
        self.n = len(account_ids)
        self.days: dict[int, np.ndarray] = {}
        start = first_day - timedelta(days=max(TREND_WINDOWS))
        for account_id, on, score in HealthSnapshot.objects.filter(
            on__gte=start, on__lt=first_day
        ).values_list("account_id", "on", "score"):
            if account_id in self.index and score is not None:
                row = self.days.setdefault(_day_number(on), np.full(self.n, np.nan))
                row[self.index[account_id]] = score

    def trends(self, day: date, today: np.ndarray) -> dict[int, np.ndarray]:
        number = _day_number(day)
        self.days[number] = np.asarray(today, dtype=np.float64)
        keep = [d for d in self.days if number - max(TREND_WINDOWS) < d <= number]
        for d in [d for d in self.days if d not in keep]:
            del self.days[d]
        days = sorted(keep)
        scores = np.column_stack([self.days[d] for d in days]) if days else np.empty((self.n, 0))
        return {w: eh.health_trend(days, scores, end_day=number, days=w) for w in TREND_WINDOWS}


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def health_compute(*, now: datetime) -> HealthResult:
    """KPIs, expectations, scores, trends and evidence of every account as of `now`."""
    data = _load(since=now, until=now)
    plan = _plan(data.account_ids, data.tiers)
    history = _History(data.account_ids, snapshot_day(now))
    return _compute(data, plan, now, history, with_evidence=True)


def kpis_for_range(*, start: datetime, end: datetime) -> tuple[list[int], eh.KpiTable]:
    """Every account's KPIs over any half-open range [start, end): the account ids and the
    table (row i is account ids[i])."""
    data = _load(since=start, until=end)
    table = eh.compute_kpis(
        _as_of(data, to_instant(end)), data.cycles, n_accounts=len(data.account_ids),
        window_start=to_instant(start), window_end=to_instant(end),
    )  # fmt: skip
    return data.account_ids, table


# Storing ----------------------------------------------------------------------------------------


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


# Retention: daily scores, trends, points lost and 30-day KPIs for the whole history; the
# expectation details and the 7- and 90-day KPIs for the last DETAIL_DAYS days before the newest
# snapshot (`KONTOSJEF_HEALTH_DETAIL_DAYS`). A year of daily detail for 10,000 accounts would be
# gigabytes that no page reads.
DETAIL_DAYS = 90
HISTORY_WINDOW = 30


def detail_days() -> int:
    return int(getattr(settings, "KONTOSJEF_HEALTH_DETAIL_DAYS", DETAIL_DAYS))


def health_prune(*, newest: date) -> int:
    """Drop the detail of snapshots older than `detail_days()` before `newest` (see above);
    returns the number of rows changed or removed."""
    before = newest - timedelta(days=detail_days())
    removed, _by = (
        KpiSnapshot.objects.filter(on__lt=before).exclude(window_days=HISTORY_WINDOW).delete()
    )
    slimmed = HealthSnapshot.objects.filter(on__lt=before).exclude(details={}).update(details={})
    return removed + slimmed


def _store(result: HealthResult, *, computed_at: datetime, full: bool = True) -> None:
    """Replace the day's KPI and health snapshots with `result`'s; without `full`, only what
    the retention rule keeps for old days."""
    on = result.day
    kpi_rows: list[list[Any]] = []
    health_rows: list[list[Any]] = []
    ev, scores = result.evaluation, result.scores
    samples = ev.samples
    names = eh.KpiTable.names
    # One matrix per window, read row by row: a missing key reads as "no data", and saves space.
    matrices = {
        window: np.column_stack([table.value(name) for name in names]).tolist()
        for window, table in result.kpis.items()
        if full or window == HISTORY_WINDOW
    }
    day = on.isoformat()
    for window, matrix in matrices.items():
        kpi_rows.extend(
            [account_id, day, window, {k: v for k, v in zip(names, row, strict=True) if v == v},
             computed_at]
            for account_id, row in zip(result.accounts, matrix, strict=True)
        )  # fmt: skip
    for i, account_id in enumerate(result.accounts):
        details = {
            result.codes[j]: {
                "value": _plain(float(ev.value[i, j])),
                "threshold": _plain(float(ev.threshold[i, j])),
                "met": bool(ev.met[i, j]),
                "has_data": bool(ev.has_data[i, j]),
                "at_stake": round(float(scores.points_at_stake[i, j]), 2),
                "n": int(samples[i, j]) if samples is not None and samples[i, j] >= 0 else None,
            }
            for j in range(len(result.codes))
            if full and ev.applies[i, j]
        }
        lost = {result.codes[j]: round(float(scores.points_lost[i, j]), 2)
                for j in range(len(result.codes)) if scores.points_lost[i, j] > 0}  # fmt: skip
        score = _plain(float(scores.score[i]))
        trends = [_plain(round(float(result.trends[w][i]), 3)) for w in TREND_WINDOWS]
        health_rows.append([
            account_id, on.isoformat(), None if score is None else round(score, 2), *trends,
            lost, details, computed_at,
        ])  # fmt: skip
    with transaction.atomic():
        KpiSnapshot.objects.filter(on=on).delete()
        HealthSnapshot.objects.filter(on=on).delete()
        raw_insert(KpiSnapshot, ["account_id", "on", "window_days", "values", "computed_at"],
                   kpi_rows)  # fmt: skip
        raw_insert(HealthSnapshot, ["account_id", "on", "score", "trend", "trend_90",
                                    "trend_365", "points_lost", "details", "computed_at"],
                   health_rows)  # fmt: skip


def health_snapshot(*, now: datetime, computed_at: datetime | None = None) -> HealthResult:
    """Compute and store the snapshots as of `now` (replacing that day's if recomputed).
    `computed_at` is the wall-clock time of the run when `now` lies in the past."""
    result = health_compute(now=now)
    _store(result, computed_at=computed_at or now)
    health_prune(newest=result.day)
    return result


# A backfill commits every this many days: one transaction per day would spend most of its
# time committing, one for the whole history would hold SQLite's write lock for as long.
HISTORY_CHUNK_DAYS = 30


def health_history(
    *,
    instants: Sequence[datetime],
    computed_at: datetime,
    each: Callable[[HealthResult], object] | None = None,
    evidence_from: datetime | None = None,
) -> None:
    """Compute and store the snapshots as of each of `instants` (ascending, one per day) from a
    single read of the data, calling `each(result)` after each day is stored (in the same
    transaction, which commits every HISTORY_CHUNK_DAYS days). Evidence is collected only from
    `evidence_from` on (the days the rules will run)."""
    if not instants:
        return
    data = _load(since=instants[0], until=instants[-1])
    plan = _plan(data.account_ids, data.tiers)
    history = _History(data.account_ids, snapshot_day(instants[0]))
    detail_from = snapshot_day(instants[-1]) - timedelta(days=detail_days())
    for start in range(0, len(instants), HISTORY_CHUNK_DAYS):
        with transaction.atomic():
            for now in instants[start : start + HISTORY_CHUNK_DAYS]:
                wanted = evidence_from is not None and now >= evidence_from
                result = _compute(data, plan, now, history, with_evidence=wanted)
                _store(result, computed_at=computed_at, full=result.day >= detail_from)
                if each is not None:
                    each(result)
    health_prune(newest=snapshot_day(instants[-1]))
