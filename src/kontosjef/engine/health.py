"""Account KPIs, expectation checks and the 0–100 health score, vectorised over all accounts.

The Django adapter reads case, cycle and feedback rows in batches into the column dataclasses
below (parallel numpy arrays, one row per case / cycle / survey answer) and calls:

1. :func:`compute_kpis` (one window) or :func:`compute_standard_kpis` (7, 30 and 90 days ending
   at ``now``) → :class:`KpiTable`, one value per account and :class:`Kpi`;
2. :func:`expectations_for_accounts` (tier defaults plus per-account overrides) →
   :class:`AccountExpectations`, then :func:`evaluate_expectations` → :class:`Evaluation`;
3. :func:`health_scores` → :class:`HealthScores` (score and points lost per expectation), and
   :func:`health_trend` over stored daily scores.

Conventions (shared with :mod:`kontosjef.engine.sla`): instants are ``int64`` UTC epoch seconds,
a missing instant or duration is :data:`NAT`; durations are business seconds of the account's
calendar; windows are half-open ``[window_start, window_end)``; a window of ``d`` days ending at
``now`` is ``[now - d·86400, now)``. Accounts are dense indices ``0..n_accounts-1``. Rates and
attainment are fractions in ``[0, 1]``, not percentages. The module reads no clock and does no
I/O. Definitions, defaults and the formula are in ``docs/health.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .businesstime import DAY, NAT

__all__ = [
    "COMPARATORS",
    "DEFAULT_CREDIBILITY",
    "DEFAULT_EXPECTATIONS",
    "DEFAULT_HEALTH_CONFIG",
    "EVIDENCE_BASES",
    "METRIC_KEYS",
    "SAMPLED_KPIS",
    "SEVERITIES",
    "STANDARD_WINDOWS",
    "AccountExpectations",
    "CaseColumns",
    "CycleColumns",
    "Evaluation",
    "Expectation",
    "FeedbackColumns",
    "HealthConfig",
    "HealthScores",
    "Kpi",
    "KpiEvidence",
    "KpiTable",
    "compute_kpis",
    "compute_standard_kpis",
    "evaluate_expectations",
    "expectations_for_accounts",
    "health_scores",
    "health_trend",
    "kpi_evidence",
]

Int64Array = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Float64Array = NDArray[np.float64]

METRIC_KEYS: Final[tuple[str, ...]] = ("frt", "nrt", "pu", "pau", "awt", "rwt", "trt", "fres")
"""Lower-case metric names indexed by the code of :class:`kontosjef.engine.sla.Metric`
(FRT = 0 … FRES = 7). ``CycleColumns.metric`` holds those codes."""

N_PRIORITIES: Final[int] = 4
"""Priority codes are 0..3 for P1..P4."""

STANDARD_WINDOWS: Final[tuple[int, ...]] = (7, 30, 90)
"""Window lengths in days computed by :func:`compute_standard_kpis`."""

SAMPLED_KPIS: Final[frozenset[str]] = frozenset(
    {f"{key}_attainment" for key in METRIC_KEYS}
    | {"backlog_age_median", "ttr_median", "ttr_p90", "reopen_rate", "handoffs_per_case",
       "cases_per_contact", "csat", "nps"}
)  # fmt: skip
"""KPIs that estimate a rate, a median or a mean from a sample; their misses are weighed by
credibility (see :func:`evaluate_expectations`). Counts and maximum ages are facts, not
estimates: one P1 breach or one case open for a month counts in full."""

DEFAULT_CREDIBILITY: Final[float] = 5.0
"""``k`` of the credibility weight ``n / (n + k)``: a miss measured on 5 cases counts half."""

COMPARATORS: Final[tuple[str, ...]] = (">=", "<=", ">", "<")
SEVERITIES: Final[tuple[str, ...]] = ("info", "warning", "critical")

_EPS: Final[float] = 1e-9
"""Smallest shortfall scale: keeps a zero threshold from dividing by zero."""

_HOUR: Final[int] = 3600


class Kpi(StrEnum):
    """KPI names; each is a field of :class:`KpiTable` and a valid ``Expectation.kpi``."""

    FRT_ATTAINMENT = "frt_attainment"
    NRT_ATTAINMENT = "nrt_attainment"
    PU_ATTAINMENT = "pu_attainment"
    PAU_ATTAINMENT = "pau_attainment"
    AWT_ATTAINMENT = "awt_attainment"
    RWT_ATTAINMENT = "rwt_attainment"
    TRT_ATTAINMENT = "trt_attainment"
    FRES_ATTAINMENT = "fres_attainment"
    BREACHES_P1 = "breaches_p1"
    BREACHES_P2 = "breaches_p2"
    BREACHES_P3 = "breaches_p3"
    BREACHES_P4 = "breaches_p4"
    BACKLOG_COUNT = "backlog_count"
    BACKLOG_AGE_MEDIAN = "backlog_age_median"
    BACKLOG_AGE_MAX = "backlog_age_max"
    BACKLOG_P1_AGE_MAX = "backlog_p1_age_max"
    TTR_MEDIAN = "ttr_median"
    TTR_P90 = "ttr_p90"
    REOPEN_RATE = "reopen_rate"
    HANDOFFS_PER_CASE = "handoffs_per_case"
    CASES_PER_CONTACT = "cases_per_contact"
    CASE_COUNT = "case_count"
    CSAT = "csat"
    NPS = "nps"


# --------------------------------------------------------------------------------------------
# Inputs


def _coerce_columns(obj: object, spec: Mapping[str, type[np.generic]]) -> int:
    """Cast each named field of a frozen dataclass to its dtype in place; return the row count.

    Floats are refused for integer columns because NaN would silently become a huge integer:
    missing instants and durations must already be :data:`NAT`.
    """
    owner = type(obj).__name__
    length: int | None = None
    for name, dtype in spec.items():
        arr = np.asarray(getattr(obj, name))
        if arr.ndim != 1:
            raise ValueError(f"{owner}.{name} must be one-dimensional, got shape {arr.shape}")
        kind = np.dtype(dtype).kind
        allowed = {"b": "b", "i": "biu", "f": "biuf"}[kind]
        if arr.size and arr.dtype.kind not in allowed:
            raise ValueError(f"{owner}.{name} must have dtype {np.dtype(dtype)}, got {arr.dtype}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            raise ValueError(f"{owner}.{name} has {len(arr)} rows, expected {length}")
        object.__setattr__(obj, name, arr.astype(dtype, copy=False))
    return length or 0


def _check_range(owner: str, name: str, values: Int64Array, low: int, high: int) -> None:
    """Raise unless every value lies in ``[low, high]``."""
    if values.size and (int(values.min()) < low or int(values.max()) > high):
        raise ValueError(f"{owner}.{name} must lie in {low}..{high}")


_CASE_SPEC: Final[Mapping[str, type[np.generic]]] = MappingProxyType(
    {
        "account": np.int64,
        "case": np.int64,
        "opened_at": np.int64,
        "solved_at": np.int64,
        "closed_at": np.int64,
        "is_open": np.bool_,
        "priority": np.int64,
        "reopen_count": np.int64,
        "handoff_count": np.int64,
        "requester": np.int64,
        "resolution_business_s": np.int64,
        "backlog_age_business_s": np.int64,
    }
)


@dataclass(frozen=True, slots=True, eq=False)
class CaseColumns:
    """One row per case, as of the adapter's ``now``. Arrays are cast to the dtypes below.

    - ``account`` (int64): account index, ``0..n_accounts-1``.
    - ``case`` (int64): case id (the database key), for evidence; not used by the KPIs.
    - ``opened_at`` (int64 s): creation instant; never NAT.
    - ``solved_at`` (int64 s): the last solve, NAT if the case is not solved (the case service
      clears it on reopen and sets it on close when missing).
    - ``closed_at`` (int64 s): close instant, NAT if not closed.
    - ``is_open`` (bool): status is new, open, waiting on customer or on hold at ``now``.
    - ``priority`` (int64): current priority code, 0..3 for P1..P4.
    - ``reopen_count`` (int64): reopens so far.
    - ``handoff_count`` (int64): department/assignee hand-offs so far.
    - ``requester`` (int64): requester contact id, -1 if none.
    - ``resolution_business_s`` (int64 business s): elapsed business time of the SLA engine's
      total-resolution (TRT) cycle for solved cases; NAT if not solved or not measured.
    - ``backlog_age_business_s`` (int64 business s): business time from ``opened_at`` to the
      adapter's ``now`` for open cases (``is_open``); NAT for others.
    """

    account: Int64Array
    case: Int64Array
    opened_at: Int64Array
    solved_at: Int64Array
    closed_at: Int64Array
    is_open: BoolArray
    priority: Int64Array
    reopen_count: Int64Array
    handoff_count: Int64Array
    requester: Int64Array
    resolution_business_s: Int64Array
    backlog_age_business_s: Int64Array

    def __post_init__(self) -> None:
        _coerce_columns(self, _CASE_SPEC)
        _check_range("CaseColumns", "priority", self.priority, 0, N_PRIORITIES - 1)
        if np.any(self.opened_at == NAT):
            raise ValueError("CaseColumns.opened_at must not be NAT")

    def __len__(self) -> int:
        return len(self.account)

    @classmethod
    def empty(cls) -> CaseColumns:
        """No cases."""
        return cls(**{n: np.empty(0, dtype=d) for n, d in _CASE_SPEC.items()})


_CYCLE_SPEC: Final[Mapping[str, type[np.generic]]] = MappingProxyType(
    {
        "account": np.int64,
        "case": np.int64,
        "metric": np.int64,
        "stop_at": np.int64,
        "breached": np.bool_,
        "breached_at": np.int64,
        "priority": np.int64,
        "is_cancelled": np.bool_,
    }
)


@dataclass(frozen=True, slots=True, eq=False)
class CycleColumns:
    """One row per SLA metric cycle, taken from the SLA engine's ``CycleTable``.

    - ``account`` (int64): account index of the cycle's case.
    - ``case`` (int64): case id, for evidence.
    - ``metric`` (int64): the code of ``kontosjef.engine.sla.Metric`` (see :data:`METRIC_KEYS`).
    - ``stop_at`` (int64 s): stop instant, NAT while the cycle is open.
    - ``breached`` (bool) and ``breached_at`` (int64 s, NAT if not breached): as in ``CycleTable``.
    - ``priority`` (int64): priority code 0..3 (P1..P4) of the case for this cycle.
    - ``is_cancelled`` (bool): ``state == CycleState.CANCELLED``. A cancelled cycle was never
      fulfilled, so it does not count as met; a breach stamped before the cancellation stands.
    """

    account: Int64Array
    case: Int64Array
    metric: Int64Array
    stop_at: Int64Array
    breached: BoolArray
    breached_at: Int64Array
    priority: Int64Array
    is_cancelled: BoolArray

    def __post_init__(self) -> None:
        _coerce_columns(self, _CYCLE_SPEC)
        _check_range("CycleColumns", "metric", self.metric, 0, len(METRIC_KEYS) - 1)
        _check_range("CycleColumns", "priority", self.priority, 0, N_PRIORITIES - 1)

    def __len__(self) -> int:
        return len(self.account)

    @classmethod
    def empty(cls) -> CycleColumns:
        """No cycles."""
        return cls(**{n: np.empty(0, dtype=d) for n, d in _CYCLE_SPEC.items()})


_FEEDBACK_SPEC: Final[Mapping[str, type[np.generic]]] = MappingProxyType(
    {
        "account": np.int64,
        "answered_at": np.int64,
        "csat": np.float64,
        "nps": np.float64,
    }
)


@dataclass(frozen=True, slots=True, eq=False)
class FeedbackColumns:
    """One row per survey answer; the slot the feedback issue fills.

    Separate from :class:`CaseColumns` because relationship (NPS) surveys belong to an account's
    contact, not to a case, and an answer counts in the window in which it was given.

    - ``account`` (int64): account index.
    - ``answered_at`` (int64 s): when the answer was received.
    - ``csat`` (float64): satisfaction rating on the survey's scale (1..5), NaN if not asked.
    - ``nps`` (float64): likelihood to recommend, 0..10, NaN if not asked.
    """

    account: Int64Array
    answered_at: Int64Array
    csat: Float64Array
    nps: Float64Array

    def __post_init__(self) -> None:
        _coerce_columns(self, _FEEDBACK_SPEC)
        given = self.nps[~np.isnan(self.nps)]
        if given.size and (given.min() < 0 or given.max() > 10):
            raise ValueError("FeedbackColumns.nps must lie in 0..10 (or be NaN)")

    def __len__(self) -> int:
        return len(self.account)

    @classmethod
    def empty(cls) -> FeedbackColumns:
        """No answers."""
        return cls(**{n: np.empty(0, dtype=d) for n, d in _FEEDBACK_SPEC.items()})


# --------------------------------------------------------------------------------------------
# KPIs


@dataclass(frozen=True, slots=True, eq=False)
class KpiTable:
    """KPIs of every account over ``[window_start, window_end)``; each array has one value per
    account. Definitions are in ``docs/health.md``; no-data values are NaN for ratios, means, ages
    and breach counts (no SLA clock ran) and 0 for the other counts. Durations are business
    seconds (float)."""

    names: ClassVar[tuple[str, ...]] = tuple(k.value for k in Kpi)

    window_start: int
    window_end: int
    frt_attainment: Float64Array
    nrt_attainment: Float64Array
    pu_attainment: Float64Array
    pau_attainment: Float64Array
    awt_attainment: Float64Array
    rwt_attainment: Float64Array
    trt_attainment: Float64Array
    fres_attainment: Float64Array
    breaches_p1: Float64Array
    breaches_p2: Float64Array
    breaches_p3: Float64Array
    breaches_p4: Float64Array
    backlog_count: Int64Array
    backlog_age_median: Float64Array
    backlog_age_max: Float64Array
    backlog_p1_age_max: Float64Array
    ttr_median: Float64Array
    ttr_p90: Float64Array
    reopen_rate: Float64Array
    handoffs_per_case: Float64Array
    cases_per_contact: Float64Array
    case_count: Int64Array
    csat: Float64Array
    nps: Float64Array
    samples: Mapping[str, Int64Array] = field(default_factory=dict)
    """For KPIs that estimate a rate, a median or a mean: how many cycles, cases or answers each
    account's value rests on (see :data:`SAMPLED_KPIS`). Others have no entry."""

    def __len__(self) -> int:
        return len(self.case_count)

    def as_dict(self) -> dict[str, NDArray[Any]]:
        """``{kpi name: array}`` in :class:`Kpi` order."""
        return {name: getattr(self, name) for name in self.names}

    def value(self, kpi: str) -> Float64Array:
        """One KPI as float64 (counts converted), for comparisons and charts."""
        if kpi not in self.names:
            raise ValueError(f"unknown KPI {kpi!r}")
        return np.asarray(getattr(self, kpi), dtype=np.float64)


def _ratio(num: NDArray[Any], den: NDArray[Any]) -> Float64Array:
    """``num / den``, NaN where ``den`` is 0."""
    num_f = num.astype(np.float64)
    den_f = den.astype(np.float64)
    out = np.full(num_f.shape, np.nan)
    np.divide(num_f, den_f, out=out, where=den_f > 0)
    return out


def _in_window(t: Int64Array, start: int, end: int) -> BoolArray:
    # NAT is the smallest int64 and start > NAT is checked, so missing instants fall outside.
    return (t >= start) & (t < end)


def _group_quantiles(
    group: Int64Array, values: Int64Array, n_groups: int, qs: Sequence[float]
) -> list[Float64Array]:
    """Per-group quantiles with numpy's default ("linear", Hyndman–Fan type 7) rule.

    One lexsort over all rows; NaN for empty groups.
    """
    order = np.lexsort((values, group))
    v = values[order].astype(np.float64)
    counts = np.bincount(group, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    filled = counts > 0
    last = np.maximum(counts - 1, 0)
    out: list[Float64Array] = []
    for q in qs:
        h = last * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        lo_i = np.where(filled, starts + lo, 0)
        hi_i = np.where(filled, starts + hi, 0)
        if v.size:
            res = v[lo_i] + (h - lo) * (v[hi_i] - v[lo_i])
        else:
            res = np.zeros(n_groups)
        out.append(np.where(filled, res, np.nan))
    return out


def _check_accounts(owner: str, account: Int64Array, n_accounts: int) -> None:
    _check_range(owner, "account", account, 0, n_accounts - 1)


def compute_kpis(
    cases: CaseColumns,
    cycles: CycleColumns,
    *,
    n_accounts: int,
    window_start: int,
    window_end: int,
    feedback: FeedbackColumns | None = None,
) -> KpiTable:
    """KPIs of every account over ``[window_start, window_end)`` (epoch seconds).

    Which rows count (all windows half-open):

    - attainment per metric: cycles whose ``stop_at`` is in the window; met / (met + breached);
      cancelled cycles count only if they breached;
    - breaches by priority: cycles (any metric) whose ``breached_at`` is in the window;
    - backlog: cases opened before ``window_end`` and not solved/closed by then; ages are the
      provided ``backlog_age_business_s`` (exact when ``window_end`` is the adapter's ``now``);
    - time to resolution and reopen rate: cases whose ``solved_at`` is in the window;
    - case count, hand-offs per case and cases per contact: cases whose ``opened_at`` is in it;
    - CSAT and NPS: feedback answered in the window.

    Raises ``ValueError`` on an empty or reversed window or an account index out of range.
    """
    if n_accounts < 0:
        raise ValueError("n_accounts must be >= 0")
    if not NAT < window_start < window_end:
        raise ValueError("the window must satisfy NAT < window_start < window_end")
    fb = FeedbackColumns.empty() if feedback is None else feedback
    _check_accounts("CaseColumns", cases.account, n_accounts)
    _check_accounts("CycleColumns", cycles.account, n_accounts)
    _check_accounts("FeedbackColumns", fb.account, n_accounts)
    n = n_accounts
    out: dict[str, Any] = {}

    # Attainment: one bincount over (account, metric) pairs.
    n_metrics = len(METRIC_KEYS)
    stopped = _in_window(cycles.stop_at, window_start, window_end)
    counted = stopped & (~cycles.is_cancelled | cycles.breached)
    pair = cycles.account * n_metrics + cycles.metric
    met = np.bincount(pair[counted & ~cycles.breached], minlength=n * n_metrics)
    breached = np.bincount(pair[counted & cycles.breached], minlength=n * n_metrics)
    attainment = _ratio(met, met + breached).reshape(n, n_metrics)
    counted_n = (met + breached).reshape(n, n_metrics)
    samples: dict[str, Int64Array] = {}
    for code, key in enumerate(METRIC_KEYS):
        out[f"{key}_attainment"] = np.ascontiguousarray(attainment[:, code])
        samples[f"{key}_attainment"] = np.ascontiguousarray(counted_n[:, code]).astype(np.int64)

    # Breaches are dated by breached_at, so a cycle still running late counts in its window.
    # An account none of whose SLA clocks ran in the window (no SLA policy, no cases) has no
    # breach count: "0 breaches" would claim a measurement that was never made.
    late = cycles.breached & _in_window(cycles.breached_at, window_start, window_end)
    pair = cycles.account * N_PRIORITIES + cycles.priority
    by_prio = np.bincount(pair[late], minlength=n * N_PRIORITIES).reshape(n, N_PRIORITIES)
    ran = (cycles.stop_at == NAT) | (cycles.stop_at >= window_start) | late
    measured = np.bincount(cycles.account[ran], minlength=n) > 0
    for p in range(N_PRIORITIES):
        out[f"breaches_p{p + 1}"] = np.where(measured, by_prio[:, p].astype(np.float64), np.nan)

    # Backlog at window_end. The solve/close instants are the last ones, so a case solved before
    # window_end and reopened later counts as open; exact when window_end is the adapter's now.
    resolved_at = np.where(cases.solved_at != NAT, cases.solved_at, cases.closed_at)
    open_at_end = (cases.opened_at < window_end) & (cases.is_open | (resolved_at >= window_end))
    out["backlog_count"] = np.bincount(cases.account[open_at_end], minlength=n).astype(np.int64)
    aged = open_at_end & (cases.backlog_age_business_s != NAT)
    median, maximum = _group_quantiles(
        cases.account[aged], cases.backlog_age_business_s[aged], n, (0.5, 1.0)
    )
    out["backlog_age_median"] = median
    out["backlog_age_max"] = maximum
    samples["backlog_age_median"] = np.bincount(cases.account[aged], minlength=n).astype(np.int64)
    aged_p1 = aged & (cases.priority == 0)
    (out["backlog_p1_age_max"],) = _group_quantiles(
        cases.account[aged_p1], cases.backlog_age_business_s[aged_p1], n, (1.0,)
    )

    # Cases solved in the window: resolution time and reopens.
    solved = _in_window(cases.solved_at, window_start, window_end)
    timed = solved & (cases.resolution_business_s != NAT)
    out["ttr_median"], out["ttr_p90"] = _group_quantiles(
        cases.account[timed], cases.resolution_business_s[timed], n, (0.5, 0.9)
    )
    samples["ttr_median"] = np.bincount(cases.account[timed], minlength=n).astype(np.int64)
    samples["ttr_p90"] = samples["ttr_median"]
    acc_solved = cases.account[solved]
    samples["reopen_rate"] = np.bincount(acc_solved, minlength=n).astype(np.int64)
    reopened = (cases.reopen_count[solved] > 0).astype(np.float64)
    out["reopen_rate"] = _ratio(
        np.bincount(acc_solved, weights=reopened, minlength=n),
        np.bincount(acc_solved, minlength=n),
    )

    # Cases opened in the window.
    opened = _in_window(cases.opened_at, window_start, window_end)
    acc_opened = cases.account[opened]
    case_count = np.bincount(acc_opened, minlength=n).astype(np.int64)
    out["case_count"] = case_count
    handoffs = np.bincount(acc_opened, weights=cases.handoff_count[opened], minlength=n)
    out["handoffs_per_case"] = _ratio(handoffs, case_count)
    samples["handoffs_per_case"] = case_count
    with_requester = opened & (cases.requester >= 0)
    acc_r = cases.account[with_requester]
    req_r = cases.requester[with_requester]
    order = np.lexsort((req_r, acc_r))
    acc_r, req_r = acc_r[order], req_r[order]
    first = np.ones(len(acc_r), dtype=bool)
    first[1:] = (acc_r[1:] != acc_r[:-1]) | (req_r[1:] != req_r[:-1])
    out["cases_per_contact"] = _ratio(
        np.bincount(acc_r, minlength=n), np.bincount(acc_r[first], minlength=n)
    )
    samples["cases_per_contact"] = np.bincount(acc_r, minlength=n).astype(np.int64)

    # Feedback answered in the window.
    answered = _in_window(fb.answered_at, window_start, window_end)
    has_csat = answered & ~np.isnan(fb.csat)
    samples["csat"] = np.bincount(fb.account[has_csat], minlength=n).astype(np.int64)
    out["csat"] = _ratio(
        np.bincount(fb.account[has_csat], weights=fb.csat[has_csat], minlength=n),
        np.bincount(fb.account[has_csat], minlength=n),
    )
    has_nps = answered & ~np.isnan(fb.nps)
    samples["nps"] = np.bincount(fb.account[has_nps], minlength=n).astype(np.int64)
    # NPS as the industry defines it: % promoters (9–10) minus % detractors (0–6), -100..100.
    vote = np.where(fb.nps >= 9, 1.0, np.where(fb.nps <= 6, -1.0, 0.0))
    out["nps"] = 100.0 * _ratio(
        np.bincount(fb.account[has_nps], weights=vote[has_nps], minlength=n),
        np.bincount(fb.account[has_nps], minlength=n),
    )
    return KpiTable(window_start=window_start, window_end=window_end, samples=samples, **out)


def compute_standard_kpis(
    cases: CaseColumns,
    cycles: CycleColumns,
    *,
    n_accounts: int,
    now: int,
    feedback: FeedbackColumns | None = None,
    windows: Sequence[int] = STANDARD_WINDOWS,
) -> dict[int, KpiTable]:
    """``{days: KpiTable}`` for windows ``[now - days·86400, now)``, by default 7, 30 and 90."""
    return {
        days: compute_kpis(
            cases,
            cycles,
            n_accounts=n_accounts,
            window_start=now - days * DAY,
            window_end=now,
            feedback=feedback,
        )
        for days in windows
    }


# --------------------------------------------------------------------------------------------
# Evidence: the cases behind a KPI


EVIDENCE_BASES: Final[tuple[str, ...]] = (
    "breached", "oldest_open", "slowest_solved", "reopened", "most_handoffs", "opened",
)  # fmt: skip
"""What :func:`kpi_evidence` lists: cases whose SLA clock breached (attainment, breach counts),
the oldest open cases (backlog), the slowest solved cases (time to resolution), reopened cases
(reopen rate), the cases with most hand-offs (hand-offs per case) or the newest opened cases
(case counts)."""


@dataclass(frozen=True, slots=True, eq=False)
class KpiEvidence:
    """The cases behind one KPI of every account over a window, most telling first.

    Row ``i`` says that case ``case[i]`` of account ``account[i]`` drove the KPI, with its own
    figure ``figure[i]``: the breach instant (``breached``; epoch seconds), the business age or
    resolution time (``oldest_open``, ``slowest_solved``; business seconds), the number of reopens
    or hand-offs, or the open instant (``opened``). Rows are sorted by account, then most telling
    first; each account has at most ``limit`` rows and each case appears once. ``basis`` is one of
    :data:`EVIDENCE_BASES`, or "" for KPIs with no case behind them (CSAT, NPS).
    """

    basis: str
    account: Int64Array
    case: Int64Array
    figure: Float64Array

    def for_account(self, account: int) -> tuple[list[int], list[float]]:
        """The case ids and figures of one account index."""
        lo, hi = np.searchsorted(self.account, [account, account + 1])
        return self.case[lo:hi].tolist(), self.figure[lo:hi].tolist()


def _top_per_account(
    basis: str,
    account: Int64Array,
    case: Int64Array,
    figure: NDArray[Any],
    *,
    descending: bool,
    limit: int,
) -> KpiEvidence:
    fig = np.asarray(figure, dtype=np.float64)
    order = np.lexsort((case, -fig if descending else fig, account))
    a, c, f = account[order], case[order], fig[order]
    # Each case once per account: its first (most telling) row.
    pair_order = np.lexsort((np.arange(len(a)), c, a))
    first = np.ones(len(a), dtype=bool)
    pa, pc = a[pair_order], c[pair_order]
    first[pair_order[1:]] = (pa[1:] != pa[:-1]) | (pc[1:] != pc[:-1])
    a, c, f = a[first], c[first], f[first]
    starts = np.searchsorted(a, a, side="left")
    keep = (np.arange(len(a)) - starts) < limit
    return KpiEvidence(basis, a[keep].astype(np.int64), c[keep].astype(np.int64), f[keep])


def kpi_evidence(
    kpi: str,
    cases: CaseColumns,
    cycles: CycleColumns,
    *,
    window_start: int,
    window_end: int,
    limit: int = 20,
) -> KpiEvidence:
    """The cases that drove ``kpi`` over ``[window_start, window_end)``, chosen by the same rows
    :func:`compute_kpis` counts, so the evidence never contradicts the figure: the breached cycles
    of an attainment, the oldest open cases of a backlog age, the slowest of a median or
    percentile time to resolution, and so on (see :class:`KpiEvidence`)."""
    if kpi not in KpiTable.names:
        raise ValueError(f"unknown KPI {kpi!r}")
    if not NAT < window_start < window_end:
        raise ValueError("the window must satisfy NAT < window_start < window_end")
    if kpi.endswith("_attainment") or kpi.startswith("breaches_p"):
        if kpi.endswith("_attainment"):
            code = METRIC_KEYS.index(kpi.removesuffix("_attainment"))
            stopped = _in_window(cycles.stop_at, window_start, window_end)
            rows = stopped & cycles.breached & (cycles.metric == code)
        else:
            p = int(kpi.removeprefix("breaches_p")) - 1
            late = cycles.breached & _in_window(cycles.breached_at, window_start, window_end)
            rows = late & (cycles.priority == p)
        return _top_per_account(
            "breached", cycles.account[rows], cycles.case[rows], cycles.breached_at[rows],
            descending=True, limit=limit,
        )  # fmt: skip
    if kpi.startswith("backlog_"):
        resolved_at = np.where(cases.solved_at != NAT, cases.solved_at, cases.closed_at)
        open_at_end = (cases.opened_at < window_end) & (cases.is_open | (resolved_at >= window_end))
        rows = open_at_end & (cases.backlog_age_business_s != NAT)
        if kpi == Kpi.BACKLOG_P1_AGE_MAX:
            rows &= cases.priority == 0
        return _top_per_account(
            "oldest_open", cases.account[rows], cases.case[rows],
            cases.backlog_age_business_s[rows], descending=True, limit=limit,
        )  # fmt: skip
    solved = _in_window(cases.solved_at, window_start, window_end)
    opened = _in_window(cases.opened_at, window_start, window_end)
    if kpi.startswith("ttr_"):
        rows = solved & (cases.resolution_business_s != NAT)
        return _top_per_account(
            "slowest_solved", cases.account[rows], cases.case[rows],
            cases.resolution_business_s[rows], descending=True, limit=limit,
        )  # fmt: skip
    if kpi == Kpi.REOPEN_RATE:
        rows = solved & (cases.reopen_count > 0)
        return _top_per_account(
            "reopened", cases.account[rows], cases.case[rows], cases.reopen_count[rows],
            descending=True, limit=limit,
        )  # fmt: skip
    if kpi == Kpi.HANDOFFS_PER_CASE:
        rows = opened & (cases.handoff_count > 0)
        return _top_per_account(
            "most_handoffs", cases.account[rows], cases.case[rows], cases.handoff_count[rows],
            descending=True, limit=limit,
        )  # fmt: skip
    if kpi in (Kpi.CASE_COUNT, Kpi.CASES_PER_CONTACT):
        return _top_per_account(
            "opened", cases.account[opened], cases.case[opened], cases.opened_at[opened],
            descending=True, limit=limit,
        )  # fmt: skip
    empty = np.empty(0, dtype=np.int64)
    return KpiEvidence("", empty, empty, np.empty(0, dtype=np.float64))


# --------------------------------------------------------------------------------------------
# Expectations


@dataclass(frozen=True, slots=True)
class Expectation:
    """A measurable standard: ``kpi comparator threshold`` over a window of ``window_days``.

    ``threshold`` is in the KPI's unit (fractions for attainment and rates, business seconds for
    durations). ``scale`` is the distance beyond the threshold at which the shortfall reaches 1;
    ``None`` means ``max(|threshold|, 1e-9)``, i.e. a relative shortfall. ``weight`` (>= 0) and
    ``severity`` set how much the expectation counts in the health score.
    """

    id: str
    kpi: str
    comparator: str
    threshold: float
    window_days: int
    severity: str = "warning"
    weight: float = 1.0
    scale: float | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an expectation needs an id")
        if self.kpi not in KpiTable.names:
            raise ValueError(f"expectation {self.id!r}: unknown KPI {self.kpi!r}")
        if self.comparator not in COMPARATORS:
            raise ValueError(f"expectation {self.id!r}: comparator must be one of {COMPARATORS}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"expectation {self.id!r}: severity must be one of {SEVERITIES}")
        if not math.isfinite(self.threshold):
            raise ValueError(f"expectation {self.id!r}: threshold must be finite")
        if self.window_days <= 0:
            raise ValueError(f"expectation {self.id!r}: window_days must be positive")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"expectation {self.id!r}: weight must be finite and >= 0")
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"expectation {self.id!r}: scale must be finite and > 0")

    def same_rule(self, other: Expectation) -> bool:
        """True if ``other`` differs from this expectation at most in ``threshold``."""
        return all(
            getattr(self, f.name) == getattr(other, f.name)
            for f in fields(self)
            if f.name != "threshold"
        )


def _tiered(
    eid: str,
    kpi: Kpi,
    comparator: str,
    window_days: int,
    severity: str,
    weight: float,
    scale: float | None,
    thresholds: Mapping[str, float],
) -> dict[str, Expectation]:
    return {
        tier: Expectation(
            eid, kpi.value, comparator, float(t), window_days, severity, weight, scale
        )
        for tier, t in thresholds.items()
    }


def _default_expectations() -> Mapping[str, tuple[Expectation, ...]]:
    # Business-hour bounds assume 8-hour business days; accounts on 24×7 calendars get them as
    # wall-clock hours and may want an override.
    h = _HOUR
    rules = [
        _tiered("frt_attainment_30d", Kpi.FRT_ATTAINMENT, ">=", 30, "critical", 3.0, 0.20,
                {"strategic": 0.95, "enterprise": 0.90, "standard": 0.85}),
        _tiered("nrt_attainment_30d", Kpi.NRT_ATTAINMENT, ">=", 30, "warning", 1.0, 0.30,
                {"strategic": 0.90, "enterprise": 0.85}),
        _tiered("trt_attainment_30d", Kpi.TRT_ATTAINMENT, ">=", 30, "warning", 2.0, 0.30,
                {"strategic": 0.90, "enterprise": 0.85, "standard": 0.80}),
        _tiered("p1_breaches_30d", Kpi.BREACHES_P1, "<=", 30, "critical", 3.0, 3.0,
                {"strategic": 0, "enterprise": 1, "standard": 2}),
        _tiered("p1_backlog_age_max", Kpi.BACKLOG_P1_AGE_MAX, "<=", 7, "critical", 2.0, None,
                {"strategic": 8 * h, "enterprise": 16 * h, "standard": 24 * h}),
        _tiered("backlog_age_max", Kpi.BACKLOG_AGE_MAX, "<=", 7, "warning", 1.0, None,
                {"strategic": 80 * h, "enterprise": 120 * h, "standard": 160 * h}),
        _tiered("ttr_median_30d", Kpi.TTR_MEDIAN, "<=", 30, "warning", 1.0, None,
                {"strategic": 16 * h, "enterprise": 24 * h, "standard": 40 * h}),
        _tiered("reopen_rate_30d", Kpi.REOPEN_RATE, "<=", 30, "warning", 1.0, 0.10,
                {"strategic": 0.10, "enterprise": 0.10, "standard": 0.15}),
        _tiered("csat_90d", Kpi.CSAT, ">=", 90, "warning", 2.0, 1.0,
                {"strategic": 4.5, "enterprise": 4.2, "standard": 4.0}),
        _tiered("nps_90d", Kpi.NPS, ">=", 90, "info", 1.0, 50.0,
                {"strategic": 30, "enterprise": 20}),
    ]  # fmt: skip
    tiers = ("strategic", "enterprise", "standard")
    return MappingProxyType(
        {tier: tuple(rule[tier] for rule in rules if tier in rule) for tier in tiers}
    )


DEFAULT_EXPECTATIONS: Final[Mapping[str, tuple[Expectation, ...]]] = _default_expectations()
"""Starting standards per tier (``strategic``, ``enterprise``, ``standard``).

The same ``id`` across tiers differs only in threshold, so per-account thresholds are one matrix.
Reasoning: first-reply attainment is what customers feel first and what contracts promise
(95 / 90 / 85 %, critical); resolution attainment a little lower because resolution depends on
fixes outside support (90 / 85 / 80 %); a P1 breach is the event that ends up in an executive
escalation (0 / 1 / 2 per 30 days, critical); "no P1 open longer than 1 business day" for
strategic accounts (8 / 16 / 24 business hours, critical); nothing open longer than two, three or
four 8-hour business weeks (80 / 120 / 160 h); median resolution within 2 / 3 / 5 business days;
reopen rate at most 10 % (15 % standard), a common help-desk benchmark for first-contact quality;
CSAT at least 4.5 / 4.2 / 4.0 out of 5 and NPS at least 30 / 20 (info) over 90 days, since survey
answers are sparse. Next-reply attainment and NPS are not tracked for the standard tier.
"""


@dataclass(frozen=True, slots=True, eq=False)
class AccountExpectations:
    """Which expectations apply to which account, and with what threshold.

    ``thresholds[a, j]`` is account ``a``'s threshold for ``expectations[j]``; NaN means the
    expectation does not apply to the account. Everything else about an expectation (KPI,
    comparator, window, severity, weight, scale) is shared by all accounts.
    """

    expectations: tuple[Expectation, ...]
    thresholds: Float64Array

    def __post_init__(self) -> None:
        thr = np.asarray(self.thresholds, dtype=np.float64)
        if thr.ndim != 2 or thr.shape[1] != len(self.expectations):
            raise ValueError(
                f"thresholds must have shape (n_accounts, {len(self.expectations)}), "
                f"got {thr.shape}"
            )
        if np.isinf(thr).any():
            raise ValueError("thresholds must be finite or NaN")
        ids = [e.id for e in self.expectations]
        if len(set(ids)) != len(ids):
            raise ValueError("expectation ids must be unique")
        object.__setattr__(self, "thresholds", thr)

    @property
    def n_accounts(self) -> int:
        return int(self.thresholds.shape[0])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.expectations)

    @classmethod
    def uniform(cls, expectations: Sequence[Expectation], n_accounts: int) -> AccountExpectations:
        """Every expectation applies to every account with its own threshold."""
        row = np.array([e.threshold for e in expectations], dtype=np.float64)
        return cls(tuple(expectations), np.tile(row, (n_accounts, 1)).reshape(n_accounts, -1))


def expectations_for_accounts(
    tiers: Sequence[str] | NDArray[np.str_],
    *,
    by_tier: Mapping[str, Sequence[Expectation]] = DEFAULT_EXPECTATIONS,
    overrides: Mapping[tuple[int, str], float | None] | None = None,
    extra: Sequence[Expectation] = (),
) -> AccountExpectations:
    """Tier defaults with per-account overrides, as one threshold matrix.

    ``tiers[a]`` is account ``a``'s tier, a key of ``by_tier``. ``extra`` adds expectations that
    apply to no account until an override gives them a threshold. ``overrides[(a, id)]`` sets
    account ``a``'s threshold for expectation ``id``; ``None`` switches it off for that account.
    An ``id`` used by several tiers must be the same rule in each except for its threshold.
    Loops run over tiers, expectations and overrides, never over accounts.
    """
    tier_arr = np.asarray(tiers, dtype=np.str_)
    unknown = sorted(set(np.unique(tier_arr).tolist()) - set(by_tier))
    if unknown:
        raise ValueError(f"no expectations for tier(s) {unknown}")
    rules: dict[str, Expectation] = {}
    for exp in [e for group in by_tier.values() for e in group] + list(extra):
        known = rules.setdefault(exp.id, exp)
        if not known.same_rule(exp):
            raise ValueError(f"expectation {exp.id!r} differs between tiers beyond its threshold")
    column = {eid: j for j, eid in enumerate(rules)}
    thresholds = np.full((len(tier_arr), len(rules)), np.nan)
    for tier, group in by_tier.items():
        rows = tier_arr == tier
        for exp in group:
            thresholds[rows, column[exp.id]] = exp.threshold
    for (account, eid), value in (overrides or {}).items():
        if eid not in column:
            raise ValueError(f"override for unknown expectation {eid!r}")
        if not 0 <= account < len(tier_arr):
            raise ValueError(f"override for account index {account} out of range")
        thresholds[account, column[eid]] = np.nan if value is None else value
    return AccountExpectations(tuple(rules.values()), thresholds)


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """Every (account, expectation) pair; all arrays have shape ``(n_accounts, n_expectations)``.

    - ``value``: the KPI over the expectation's window (NaN = no data).
    - ``threshold``: the account's threshold (NaN = does not apply).
    - ``applies``: the expectation applies to the account.
    - ``has_data``: it applies and the value is not NaN.
    - ``met``: not applicable, no data, or the comparison holds. No data raises nothing (a quiet
      account gets no attention item); ``has_data`` tells the UI to show "no data", and
      :func:`health_scores` leaves such pairs out of the score.
    - ``shortfall``: in ``[0, 1]``, 0 where met; see :func:`evaluate_expectations`.
    - ``samples``: how many cycles, cases or answers the value rests on, -1 where the KPI is a
      count or a maximum (:data:`SAMPLED_KPIS`) or the table says nothing.
    """

    expectations: tuple[Expectation, ...]
    value: Float64Array
    threshold: Float64Array
    applies: BoolArray
    has_data: BoolArray
    met: BoolArray
    shortfall: Float64Array
    samples: Int64Array | None = None

    @property
    def unmet(self) -> BoolArray:
        """Pairs that should raise an attention item."""
        return ~self.met


def evaluate_expectations(
    kpis_by_window: Mapping[int, KpiTable],
    expectations: AccountExpectations,
    *,
    credibility: float = DEFAULT_CREDIBILITY,
) -> Evaluation:
    """Compare each account's KPIs with its expectations.

    ``kpis_by_window`` maps window length in days to the :class:`KpiTable` of that window (as
    returned by :func:`compute_standard_kpis`). For ``>=`` and ``>`` the gap is
    ``threshold - value``, for ``<=`` and ``<`` it is ``value - threshold``; an unmet pair has
    ``shortfall = clip(gap / scale, 0, 1)`` with ``scale`` from the expectation or, when it is
    ``None``, ``max(|threshold|, 1e-9)``. A strict comparator missed exactly at the threshold is
    unmet with shortfall 0. The loop runs over expectations; each step covers all accounts.

    A miss of a sampled KPI (:data:`SAMPLED_KPIS`) measured on ``n`` items counts with the
    credibility weight ``n / (n + credibility)``: one late reply out of four is a miss, but not
    yet a certain one. ``credibility=0`` turns the weighting off.
    """
    if not (math.isfinite(credibility) and credibility >= 0):
        raise ValueError("credibility must be finite and >= 0")
    exps = expectations.expectations
    n_acc = expectations.n_accounts
    thr = expectations.thresholds
    value = np.full(thr.shape, np.nan)
    holds = np.zeros(thr.shape, dtype=bool)
    gap = np.zeros(thr.shape)
    scale = np.zeros(thr.shape)
    samples = np.full(thr.shape, -1, dtype=np.int64)
    for j, exp in enumerate(exps):
        table = kpis_by_window.get(exp.window_days)
        if table is None:
            raise ValueError(
                f"expectation {exp.id!r} needs KPIs for a {exp.window_days}-day window"
            )
        if len(table) != n_acc:
            days = exp.window_days
            raise ValueError(f"the {days}-day KpiTable has {len(table)} accounts, not {n_acc}")
        v = table.value(exp.kpi)
        t = thr[:, j]
        value[:, j] = v
        # Comparisons with NaN are False without a warning; NaN pairs are handled by has_data.
        if exp.comparator == ">=":
            holds[:, j] = v >= t
        elif exp.comparator == ">":
            holds[:, j] = v > t
        elif exp.comparator == "<=":
            holds[:, j] = v <= t
        else:
            holds[:, j] = v < t
        gap[:, j] = t - v if exp.comparator in (">=", ">") else v - t
        scale[:, j] = np.maximum(np.abs(t), _EPS) if exp.scale is None else exp.scale
        if exp.kpi in SAMPLED_KPIS and exp.kpi in table.samples:
            samples[:, j] = table.samples[exp.kpi]
    applies = ~np.isnan(thr)
    has_data = applies & ~np.isnan(value)
    missed = has_data & ~holds
    shortfall = np.zeros(thr.shape)
    np.divide(gap, scale, out=shortfall, where=missed)
    shortfall = np.clip(shortfall, 0.0, 1.0)
    if credibility > 0:
        sampled = samples >= 0
        n = samples.astype(np.float64)
        weight = np.ones(thr.shape)
        np.divide(n, n + credibility, out=weight, where=sampled)
        shortfall = shortfall * weight
    return Evaluation(exps, value, thr.copy(), applies, has_data, ~missed, shortfall, samples)


# --------------------------------------------------------------------------------------------
# Health score and trend


def _default_severity_factors() -> Mapping[str, float]:
    return MappingProxyType({"info": 0.25, "warning": 1.0, "critical": 2.0})


def _default_miss_floors() -> Mapping[str, float]:
    return MappingProxyType({"info": 10.0, "warning": 50.0, "critical": 75.0})


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Tuning of :func:`health_scores`.

    - ``severity_factors``: multiplier per severity; defaults info 0.25, warning 1, critical 2, so
      a critical miss weighs eight times an informational one.
    - ``weights``: per-expectation-id weight that replaces ``Expectation.weight``.
    - ``miss_floors``: the least a missed expectation costs, in points per unit of shortfall, by
      severity (defaults info 10, warning 50, critical 75): missing one standard by a wide
      margin cannot hide behind many met ones.
    """

    severity_factors: Mapping[str, float] = field(default_factory=_default_severity_factors)
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    miss_floors: Mapping[str, float] = field(default_factory=_default_miss_floors)

    def __post_init__(self) -> None:
        for name, table in (("severity_factors", self.severity_factors),
                            ("miss_floors", self.miss_floors)):  # fmt: skip
            missing = set(SEVERITIES) - set(table)
            if missing:
                raise ValueError(f"{name} lacks {sorted(missing)}")
        for name, v in [*self.severity_factors.items(), *self.weights.items()]:
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"factor or weight {name!r} must be finite and >= 0")
        for name, v in self.miss_floors.items():
            if not (math.isfinite(v) and 0 <= v <= 100):
                raise ValueError(f"miss floor {name!r} must be between 0 and 100")


DEFAULT_HEALTH_CONFIG: Final[HealthConfig] = HealthConfig()


@dataclass(frozen=True, slots=True, eq=False)
class HealthScores:
    """Scores and their explanation.

    - ``score`` (n_accounts,): 0..100, NaN for an account with no measured expectation (none
      applies, or none has data): it has no score rather than a perfect one.
    - ``points_at_stake`` (n_accounts, n_expectations): the points each measured expectation
      weighs; a row sums to 100, or to 0 when nothing is measured. Expectations without data
      have no stake.
    - ``points_lost``: what each expectation cost; a row sums to ``100 - score`` (0 without a
      score).
    - ``measured`` (n_accounts,): how many applicable expectations had data.
    """

    expectation_ids: tuple[str, ...]
    score: Float64Array
    points_at_stake: Float64Array
    points_lost: Float64Array
    measured: Int64Array


def health_scores(
    evaluation: Evaluation, config: HealthConfig = DEFAULT_HEALTH_CONFIG
) -> HealthScores:
    """Health per account: ``100 - Σ_j lost[a, j]``, from the expectations that have data.

    ``s[a, j] = has_data[a, j] · weight_j · severity_factor_j``,
    ``points_at_stake[a, j] = 100 · s[a, j] / Σ_k s[a, k]`` and
    ``lost[a, j] = max(points_at_stake[a, j], miss_floor_j) · shortfall[a, j]``; when the losses
    add up to more than 100 they are scaled down together, so they always sum to
    ``100 - score``. Meeting everything gives 100, failing everything completely 0. Expectations
    without data neither lift nor lower the score; an account where none has data (or every
    measured weight is 0) gets NaN: no score.
    """
    exps = evaluation.expectations
    weight = np.array(
        [config.weights.get(e.id, e.weight) * config.severity_factors[e.severity] for e in exps],
        dtype=np.float64,
    )
    floor = np.array([config.miss_floors[e.severity] for e in exps], dtype=np.float64)
    measured = evaluation.has_data
    stake = measured * weight
    total = stake.sum(axis=1, keepdims=True)
    at_stake = np.zeros(stake.shape)
    np.divide(100.0 * stake, total, out=at_stake, where=total > 0)
    # A weight-0 expectation stays out of the score altogether, floor included.
    counts = measured & (weight > 0)
    lost = np.where(counts, np.maximum(at_stake, floor) * evaluation.shortfall, 0.0)
    lost_sum = lost.sum(axis=1, keepdims=True)
    over = lost_sum > 100.0
    np.divide(100.0 * lost, lost_sum, out=lost, where=over)
    scored = total[:, 0] > 0
    lost[~scored] = 0.0
    score = np.where(scored, np.clip(100.0 - lost.sum(axis=1), 0.0, 100.0), np.nan)
    n_measured = measured.sum(axis=1).astype(np.int64)
    return HealthScores(tuple(e.id for e in exps), score, at_stake, lost, n_measured)


def health_trend(
    history_days: ArrayLike,
    history_scores: ArrayLike,
    *,
    end_day: int | None = None,
    days: int = 30,
) -> Float64Array:
    """Least-squares slope of the daily score, in points per day, per account.

    ``history_days`` (n_days,) are distinct UTC day numbers (``epoch_seconds // 86400``);
    ``history_scores`` (n_accounts, n_days) holds the stored snapshots, NaN where a day has none.
    Only days in ``(end_day - days, end_day]`` count; ``end_day`` defaults to the last day given.
    The slope is NaN for an account with fewer than two snapshots in that range.
    """
    x_all = np.asarray(history_days, dtype=np.int64)
    y_all = np.asarray(history_scores, dtype=np.float64)
    if x_all.ndim != 1 or y_all.ndim != 2 or y_all.shape[1] != len(x_all):
        raise ValueError("history_days must be (n_days,) and history_scores (n_accounts, n_days)")
    if len(np.unique(x_all)) != len(x_all):
        raise ValueError("history_days must be distinct")
    if days <= 0:
        raise ValueError("days must be positive")
    if x_all.size == 0:
        return np.full(y_all.shape[0], np.nan)
    last = int(x_all.max()) if end_day is None else end_day
    keep = (x_all > last - days) & (x_all <= last)
    # Centre on the last day so sums stay small and the closed form stays well conditioned.
    x = (x_all[keep] - last).astype(np.float64)
    y = y_all[:, keep]
    have = ~np.isnan(y)
    n = have.sum(axis=1).astype(np.float64)
    xs = np.where(have, x, 0.0)
    ys = np.where(have, y, 0.0)
    safe_n = np.maximum(n, 1.0)
    mx = xs.sum(axis=1) / safe_n
    my = ys.sum(axis=1) / safe_n
    dx = np.where(have, x - mx[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxy = (dx * (ys - my[:, None])).sum(axis=1)
    slope = np.full(y.shape[0], np.nan)
    np.divide(sxy, sxx, out=slope, where=(n >= 2) & (sxx > 0))
    return slope
