"""SLA metric cycles over case event arrays (spec §4, §5, §8.3, §8.4).

Input is an :class:`EventArrays` (parallel numpy arrays, one row per event) plus a sequence of
:class:`Policy` objects and a :class:`~kontosjef.engine.businesstime.ClockSet`. :func:`evaluate`
is the vectorised batch evaluator; :func:`kontosjef.engine.reference.evaluate_reference` is the
scalar reference with the same contract. Both return a :class:`CycleTable`. :class:`LiveCycles`
advances open cycles in O(1) for dashboards and alerts (§8.4).

Semantics that the specification leaves open are fixed here and documented in ``docs/engine.md``:

- Events after ``now`` are ignored. ``now`` is always a parameter; the system clock is never read.
- A metric is *defined* at an instant when the policy in force defines it and has a target for
  the priority in force (collapsed state, "last state wins"). A start rule that fires while the
  metric is undefined starts nothing. A cycle that is still open after all events of an instant
  at which the metric is undefined is ``cancelled`` at that instant. For AWT/RWT/TRT "open" means
  the case is not solved or closed.
- NRT waits until the FRT trigger has been answered by a public agent reply or a solve, whether or
  not FRT itself is measured by the policy.
- With ``recurrence = sequential`` a cycle starts at ``max(trigger, previous due_at)``; a stop
  before that start stops it at its start. Cycles that would start after ``now`` are not reported.
- ``z`` of AWT/RWT/TRT is the first instant of the current solved/closed streak.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from fractions import Fraction
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .businesstime import ALWAYS_ON, DELTA, NAT, ClockSet, Int64Array

__all__ = [
    "CUMULATIVE_METRICS",
    "DEFAULT_RUNNING",
    "MULTI_CYCLE_METRICS",
    "Author",
    "CalendarChange",
    "CaseSummary",
    "CycleAggregates",
    "CycleRecord",
    "CycleState",
    "CycleTable",
    "Event",
    "EventArrays",
    "EventKind",
    "EventValidationError",
    "FulfilledBy",
    "LiveCycles",
    "LiveState",
    "Metric",
    "MetricPolicy",
    "Options",
    "Policy",
    "Recurrence",
    "Status",
    "aggregate_cycles",
    "evaluate",
    "find_invalid_cases",
    "next_due_at",
]

Int8Array = NDArray[np.int8]
BoolArray = NDArray[np.bool_]
Float64Array = NDArray[np.float64]

_BIG: Final[int] = int(np.iinfo(np.int64).max)
_NEVER: Final[int] = _BIG // 4
"""Target used where a metric is undefined: never reached, and safe to add small numbers to."""


class EventKind(IntEnum):
    """Event kind codes (§4.1)."""

    CREATED = 0
    STATUS = 1
    REPLY = 2
    PRIORITY = 3
    POLICY = 4
    CALENDAR = 5


class Status(IntEnum):
    """Case status codes (§4.1). ``WAITING`` is ``waiting_on_customer``."""

    NEW = 0
    OPEN = 1
    WAITING = 2
    ON_HOLD = 3
    SOLVED = 4
    CLOSED = 5


class Author(IntEnum):
    """Reply author codes; also ``created_by`` on ``CREATED`` (customer or agent only)."""

    CUSTOMER = 0
    AGENT = 1
    SYSTEM = 2


class Metric(IntEnum):
    """Metric codes (§5.2)."""

    FRT = 0
    NRT = 1
    PU = 2
    PAU = 3
    AWT = 4
    RWT = 5
    TRT = 6
    FRES = 7


class CycleState(IntEnum):
    """Per-cycle states (§5.5); ``label`` gives the spec's name."""

    RUNNING = 0
    PAUSED = 1
    BREACHED_RUNNING = 2
    BREACHED_PAUSED = 3
    MET = 4
    BREACHED_MET = 5
    CANCELLED = 6

    @property
    def label(self) -> str:
        """The spec's lower-case name, e.g. ``"breached_met"``."""
        return self.name.lower()


class FulfilledBy(IntEnum):
    """What stopped a reply-type cycle; ``NONE`` when open, cancelled, or not a reply metric."""

    NONE = -1
    REPLY = 0
    SOLVE = 1


class CalendarChange(StrEnum):
    """Option ``calendar_change`` (§2.3)."""

    PIECEWISE = "piecewise"
    LAST = "last"


class Recurrence(StrEnum):
    """Option ``recurrence`` for NRT, PU and PAU (§2.3, §5.3)."""

    INDEPENDENT = "independent"
    SEQUENTIAL = "sequential"


MULTI_CYCLE_METRICS: Final = frozenset({Metric.NRT, Metric.PU, Metric.PAU})
CUMULATIVE_METRICS: Final = frozenset({Metric.AWT, Metric.RWT, Metric.TRT})
_REPLY_METRICS: Final = frozenset({Metric.FRT, Metric.NRT, Metric.PU, Metric.PAU})
_ACTIVE = frozenset({Status.NEW, Status.OPEN, Status.WAITING, Status.ON_HOLD})

DEFAULT_RUNNING: Final[Mapping[Metric, frozenset[Status]]] = {
    Metric.FRT: _ACTIVE,
    Metric.NRT: _ACTIVE,
    Metric.PU: _ACTIVE,
    Metric.PAU: frozenset({Status.NEW, Status.OPEN, Status.ON_HOLD}),
    Metric.AWT: frozenset({Status.NEW, Status.OPEN}),
    Metric.RWT: frozenset({Status.NEW, Status.OPEN, Status.ON_HOLD}),
    Metric.TRT: _ACTIVE,
    Metric.FRES: _ACTIVE,
}
"""Zendesk's running sets (§5.2), used when a :class:`MetricPolicy` gives none."""


@dataclass(frozen=True, slots=True)
class Options:
    """Deployment-wide options (§2.3); the defaults are the spec's defaults."""

    customer_reply_resumes: bool = True
    solved_time_counts: bool = False
    calendar_change: CalendarChange = CalendarChange.PIECEWISE
    recurrence: Recurrence = Recurrence.INDEPENDENT


@dataclass(frozen=True, slots=True)
class MetricPolicy:
    """One metric's settings in a policy (§5.4, §5.7).

    - ``targets``: priority code -> target in seconds (>= 0). A priority without an entry leaves
      the metric undefined for cases with that priority.
    - ``running``: statuses in which the clock runs; ``None`` means :data:`DEFAULT_RUNNING`.
    - ``business_hours``: measure on the case's calendar (True) or 24×7 (False).
    - ``warn_before_s`` or ``warn_at_fraction``: warning ``w`` business seconds before the due
      instant, or at fraction ``p`` of the target (rounded down to whole seconds). At most one.
    """

    targets: Mapping[int, int]
    running: frozenset[Status] | None = None
    business_hours: bool = True
    warn_before_s: int | None = None
    warn_at_fraction: Fraction | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", dict(self.targets))
        for prio, target in self.targets.items():
            if prio < 0 or target < 0:
                raise ValueError(f"priorities and targets must be >= 0, got {prio}: {target}")
        if self.running is not None:
            running = frozenset(Status(s) for s in self.running)
            if running & {Status.SOLVED, Status.CLOSED}:
                raise ValueError("solved and closed stop cycles; they cannot be running statuses")
            object.__setattr__(self, "running", running)
        if self.warn_before_s is not None and self.warn_at_fraction is not None:
            raise ValueError("give warn_before_s or warn_at_fraction, not both")
        if self.warn_before_s is not None and self.warn_before_s < 0:
            raise ValueError("warn_before_s must be >= 0")
        if self.warn_at_fraction is not None and not 0 <= self.warn_at_fraction <= 1:
            raise ValueError("warn_at_fraction must lie in [0, 1]")

    def running_set(self, metric: Metric) -> frozenset[Status]:
        """The effective running set for ``metric``."""
        return self.running if self.running is not None else DEFAULT_RUNNING[metric]


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy: which metrics it defines and how (§5.4). FRES is on only if listed."""

    metrics: Mapping[Metric, MetricPolicy]

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", {Metric(m): p for m, p in self.metrics.items()})


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a Python object; see :class:`EventArrays` for the field meanings."""

    case: int
    t: int
    seq: int
    kind: EventKind
    status: int = -1
    author: int = -1
    public: bool = True
    priority: int = -1
    policy: int = -1
    calendar: int = -1

    @classmethod
    def created(
        cls,
        case: int,
        t: int,
        seq: int,
        *,
        priority: int,
        policy: int,
        calendar: int,
        by: Author = Author.CUSTOMER,
        public: bool = True,
    ) -> Event:
        """``created``: by customer or agent; ``public`` is ``first_comment_public``."""
        return cls(case, t, seq, EventKind.CREATED, author=by, public=public, priority=priority,
                   policy=policy, calendar=calendar)  # fmt: skip

    @classmethod
    def status_to(cls, case: int, t: int, seq: int, status: Status) -> Event:
        """``status`` change to ``status``."""
        return cls(case, t, seq, EventKind.STATUS, status=status)

    @classmethod
    def reply(cls, case: int, t: int, seq: int, *, author: Author, public: bool = True) -> Event:
        """A reply or comment."""
        return cls(case, t, seq, EventKind.REPLY, author=author, public=public)

    @classmethod
    def priority_to(cls, case: int, t: int, seq: int, priority: int) -> Event:
        """``priority`` change."""
        return cls(case, t, seq, EventKind.PRIORITY, priority=priority)

    @classmethod
    def policy_to(cls, case: int, t: int, seq: int, policy: int) -> Event:
        """``policy`` change (policy index)."""
        return cls(case, t, seq, EventKind.POLICY, policy=policy)

    @classmethod
    def calendar_to(cls, case: int, t: int, seq: int, calendar: int) -> Event:
        """``calendar`` change (index into the ClockSet, or ALWAYS_ON)."""
        return cls(case, t, seq, EventKind.CALENDAR, calendar=calendar)


_EVENT_COLUMNS: Final = (
    ("case", np.int64),
    ("t", np.int64),
    ("seq", np.int64),
    ("kind", np.int8),
    ("status", np.int8),
    ("author", np.int8),
    ("public", np.bool_),
    ("priority", np.int64),
    ("policy", np.int64),
    ("calendar", np.int64),
)


@dataclass(frozen=True, slots=True, eq=False)
class EventArrays:
    """Case events as parallel arrays, one row per event, in any order.

    - ``case``: case id (any int64). ``t``: instant (UTC epoch seconds). ``seq``: ingestion order,
      unique within a case; ties in ``t`` are ordered by ``seq``.
    - ``kind``: :class:`EventKind`.
    - ``status``: for ``STATUS``, the new :class:`Status`; ignored otherwise.
    - ``author``: for ``REPLY``, the :class:`Author`; for ``CREATED``, ``created_by``.
    - ``public``: for ``REPLY``, whether public; for ``CREATED``, ``first_comment_public``.
    - ``priority``: for ``CREATED`` and ``PRIORITY``, a priority code (>= 0), the key of
      :attr:`MetricPolicy.targets`.
    - ``policy``: for ``CREATED`` and ``POLICY``, an index into the ``policies`` sequence.
    - ``calendar``: for ``CREATED`` and ``CALENDAR``, an index into the ClockSet or ALWAYS_ON.

    Ignored fields may hold anything (``-1`` by convention). Arrays are converted to the dtypes
    above on construction.
    """

    case: Int64Array
    t: Int64Array
    seq: Int64Array
    kind: Int8Array
    status: Int8Array
    author: Int8Array
    public: BoolArray
    priority: Int64Array
    policy: Int64Array
    calendar: Int64Array

    def __post_init__(self) -> None:
        n = len(np.asarray(self.case))
        for name, dtype in _EVENT_COLUMNS:
            arr = np.ascontiguousarray(np.asarray(getattr(self, name)), dtype=dtype)
            if arr.shape != (n,):
                raise ValueError(f"column {name} has shape {arr.shape}, expected ({n},)")
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.case)

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> EventArrays:
        """Build arrays from :class:`Event` objects."""
        evs = list(events)
        cols = {name: [getattr(e, name) for e in evs] for name, _ in _EVENT_COLUMNS}
        arrays: dict[str, Any] = {n: np.array(cols[n], dtype=dt) for n, dt in _EVENT_COLUMNS}
        return cls(**arrays)

    def to_events(self) -> list[Event]:
        """The rows as :class:`Event` objects (for small inputs and tests)."""
        cols = [getattr(self, name).tolist() for name, _ in _EVENT_COLUMNS]
        return [
            Event(c, t, s, EventKind(k), st, au, bool(pu), pr, po, ca)
            for c, t, s, k, st, au, pu, pr, po, ca in zip(*cols, strict=True)
        ]

    def take(self, index: ArrayLike | slice) -> EventArrays:
        """Rows selected by an index array, boolean mask or slice (a slice gives views)."""
        idx = index if isinstance(index, slice) else np.asarray(index)
        return EventArrays(**{name: getattr(self, name)[idx] for name, _ in _EVENT_COLUMNS})


class EventValidationError(ValueError):
    """Events violate §4.3; ``case_ids`` lists the offending cases, ``reasons`` one line each."""

    def __init__(self, case_ids: Sequence[int], reasons: Sequence[str]) -> None:
        self.case_ids = tuple(case_ids)
        self.reasons = tuple(reasons)
        pairs = list(zip(case_ids, reasons, strict=True))[:5]
        shown = "; ".join(f"case {c}: {r}" for c, r in pairs)
        more = f" (+{len(case_ids) - 5} more)" if len(case_ids) > 5 else ""
        super().__init__(f"invalid events: {shown}{more}")


# --------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One cycle as Python values; ``None`` where the arrays hold NAT / -1 / NaN."""

    case: int
    metric: Metric
    cycle_index: int
    start_at: int
    stop_at: int | None
    fulfilled_by: FulfilledBy
    state: CycleState
    target_s: int
    elapsed_business_s: int
    elapsed_calendar_s: int
    paused_business_s: int
    paused_calendar_s: int
    due_at: int | None
    breached: bool
    breached_at: int | None
    remaining_s: int
    percent: float | None
    warn_at: int | None
    running: bool
    calendar: int


_CYCLE_COLUMNS: Final = (
    ("case", np.int64),
    ("metric", np.int8),
    ("cycle_index", np.int64),
    ("start_at", np.int64),
    ("stop_at", np.int64),
    ("fulfilled_by", np.int8),
    ("state", np.int8),
    ("target_s", np.int64),
    ("elapsed_business_s", np.int64),
    ("elapsed_calendar_s", np.int64),
    ("paused_business_s", np.int64),
    ("paused_calendar_s", np.int64),
    ("due_at", np.int64),
    ("breached", np.bool_),
    ("breached_at", np.int64),
    ("remaining_s", np.int64),
    ("percent", np.float64),
    ("warn_at", np.int64),
    ("running", np.bool_),
    ("calendar", np.int64),
)
_NULLABLE_INSTANTS: Final = frozenset({"stop_at", "due_at", "breached_at", "warn_at"})


@dataclass(frozen=True, slots=True, eq=False)
class CycleTable:
    """Per-cycle outputs (§5.5), one row per cycle, sorted by ``(metric, case, cycle_index)``.

    Instants and durations are int64 seconds; missing instants are NAT; ``percent`` is NaN when the
    target is 0; ``fulfilled_by`` is -1 when null. ``running`` is True for open cycles whose
    status runs at ``now``; ``calendar`` is the calendar index (ALWAYS_ON for calendar hours) in
    force at ``min(now, stop_at)``. ``now`` is the evaluation instant.
    """

    now: int
    case: Int64Array
    metric: Int8Array
    cycle_index: Int64Array
    start_at: Int64Array
    stop_at: Int64Array
    fulfilled_by: Int8Array
    state: Int8Array
    target_s: Int64Array
    elapsed_business_s: Int64Array
    elapsed_calendar_s: Int64Array
    paused_business_s: Int64Array
    paused_calendar_s: Int64Array
    due_at: Int64Array
    breached: BoolArray
    breached_at: Int64Array
    remaining_s: Int64Array
    percent: Float64Array
    warn_at: Int64Array
    running: BoolArray
    calendar: Int64Array

    def __len__(self) -> int:
        return len(self.case)

    @classmethod
    def empty(cls, now: int) -> CycleTable:
        """A table with no rows."""
        cols: dict[str, Any] = {n: np.empty(0, dtype=d) for n, d in _CYCLE_COLUMNS}
        return cls(now, **cols)

    @classmethod
    def from_columns(cls, now: int, columns: Mapping[str, ArrayLike]) -> CycleTable:
        """Build from a column mapping and sort rows by ``(metric, case, cycle_index)``."""
        cols: dict[str, Any] = {n: np.asarray(columns[n], dtype=d) for n, d in _CYCLE_COLUMNS}
        order = np.lexsort((cols["cycle_index"], cols["case"], cols["metric"]))
        return cls(now, **{n: c[order] for n, c in cols.items()})

    @classmethod
    def from_records(cls, records: Sequence[CycleRecord], *, now: int) -> CycleTable:
        """Build from :class:`CycleRecord` objects."""
        cols: dict[str, list[object]] = {n: [] for n, _ in _CYCLE_COLUMNS}
        for r in records:
            for n, _ in _CYCLE_COLUMNS:
                v = getattr(r, n)
                if v is None:
                    v = float("nan") if n == "percent" else NAT
                cols[n].append(v)
        return cls.from_columns(now, {n: np.array(v, dtype=d) for (n, d), v in
                                      zip(_CYCLE_COLUMNS, cols.values(), strict=True)})  # fmt: skip

    def records(self) -> list[CycleRecord]:
        """The rows as :class:`CycleRecord` objects."""
        cols = {n: getattr(self, n).tolist() for n, _ in _CYCLE_COLUMNS}
        out: list[CycleRecord] = []
        for i in range(len(self)):
            row = {n: cols[n][i] for n in cols}
            for n in _NULLABLE_INSTANTS:
                if row[n] == NAT:
                    row[n] = None
            if row["percent"] != row["percent"]:  # NaN
                row["percent"] = None
            row["metric"] = Metric(row["metric"])
            row["state"] = CycleState(row["state"])
            row["fulfilled_by"] = FulfilledBy(row["fulfilled_by"])
            out.append(CycleRecord(**row))
        return out

    def take(self, index: ArrayLike) -> CycleTable:
        """Rows selected by an index or boolean mask."""
        idx = np.asarray(index)
        cols: dict[str, Any] = {n: getattr(self, n)[idx] for n, _ in _CYCLE_COLUMNS}
        return CycleTable(self.now, **cols)

    def select(self, *, case: int | None = None, metric: Metric | None = None) -> CycleTable:
        """Rows of one case and/or metric."""
        mask = np.ones(len(self), dtype=bool)
        if case is not None:
            mask &= self.case == case
        if metric is not None:
            mask &= self.metric == metric
        return self.take(mask)


# --------------------------------------------------------------------------------------------
# Policies as look-up tables indexed by a per-run state code


_N_STATUS: Final[int] = len(Status)


@dataclass(frozen=True, slots=True, eq=False)
class _MetricLut:
    """One metric's policy settings, flattened over ``(policy, priority, status)`` codes.

    ``code = (policy * (n_prio + 1) + min(priority, n_prio)) * 6 + status``; priority ``n_prio``
    collects every priority no policy knows, so it is undefined everywhere.
    """

    target: Int64Array  # _NEVER where undefined
    defined: BoolArray
    running: BoolArray
    business: BoolArray  # True where undefined: such stretches are measured on the case calendar
    warn_before: Int64Array  # per policy, -1 = none
    warn_num: Int64Array  # per policy; warn_den 0 = none
    warn_den: Int64Array


def _metric_lut(policies: Sequence[Policy], metric: Metric, n_prio: int) -> _MetricLut:
    p = len(policies)
    target = np.full((p, n_prio + 1), -1, dtype=np.int64)
    running = np.zeros((p, _N_STATUS), dtype=bool)
    business = np.ones(p, dtype=bool)
    warn_before = np.full(p, -1, dtype=np.int64)
    warn_num = np.zeros(p, dtype=np.int64)
    warn_den = np.zeros(p, dtype=np.int64)
    for i, pol in enumerate(policies):
        mp = pol.metrics.get(metric)
        if mp is None:
            continue
        for prio, tgt in mp.targets.items():
            target[i, prio] = tgt
        for s in mp.running_set(metric):
            running[i, s] = True
        business[i] = mp.business_hours
        if mp.warn_before_s is not None:
            warn_before[i] = mp.warn_before_s
        if mp.warn_at_fraction is not None:
            warn_num[i] = mp.warn_at_fraction.numerator
            warn_den[i] = mp.warn_at_fraction.denominator
    defined = target >= 0  # (P, Q+1)
    shape = (p, n_prio + 1, _N_STATUS)
    return _MetricLut(
        target=np.broadcast_to(np.where(defined, target, _NEVER)[:, :, None], shape).ravel(),
        defined=np.broadcast_to(defined[:, :, None], shape).ravel(),
        running=(running[:, None, :] & defined[:, :, None]).ravel(),
        business=(business[:, None, None] | ~defined[:, :, None]).repeat(_N_STATUS, 2).ravel(),
        warn_before=warn_before,
        warn_num=warn_num,
        warn_den=warn_den,
    )


# --------------------------------------------------------------------------------------------
# Normalisation (§4)


def _rev_min_accumulate(values: Int64Array) -> Int64Array:
    """``out[i] = min(values[i:])``, with one extra trailing ``_BIG`` so ``out[n]`` exists."""
    out = np.empty(len(values) + 1, dtype=np.int64)
    out[-1] = _BIG
    if len(values):
        out[:-1] = np.minimum.accumulate(values[::-1])[::-1]
    return out


def _ffill_index(mask: BoolArray) -> Int64Array:
    """Index of the last True at or before each position (-1 if none)."""
    idx = np.where(mask, np.arange(len(mask), dtype=np.int64), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _is_sorted(case: Int64Array, t: Int64Array, seq: Int64Array) -> bool:
    """Whether rows are strictly increasing in ``(case, t, seq)``; checked block by block so
    that a large, already sorted input (the usual case) costs no large temporaries."""
    n = len(case)
    step = _CHUNK_EVENTS
    for lo in range(0, n - 1, step):
        hi = min(lo + step + 1, n)
        dc = np.diff(case[lo:hi])
        dt = np.diff(t[lo:hi])
        ds = np.diff(seq[lo:hi])
        if not bool(np.all((dc > 0) | ((dc == 0) & ((dt > 0) | ((dt == 0) & (ds > 0)))))):
            return False
    return True


def _sort_order(case: Int64Array, t: Int64Array, seq: Int64Array) -> Int64Array | None:
    """Permutation sorting by ``(case, t, seq)``, or None if already sorted."""
    n = len(case)
    if n < 2:
        return None
    if _is_sorted(case, t, seq):
        return None
    c0, t0 = int(case.min()), int(t.min())
    cbits = max(int(case.max()) - c0, 1).bit_length()
    tbits = max(int(t.max()) - t0, 1).bit_length()
    if cbits + tbits > 62:
        return np.lexsort((seq, t, case)).astype(np.int64)
    # One sort on a packed (case, t) key is several times faster than lexsort; the rare groups
    # that tie on (case, t) are then ordered by seq.
    key = ((case - c0) << tbits) | (t - t0)
    order = np.argsort(key, kind="stable").astype(np.int64)
    k = key[order]
    tie = k[1:] == k[:-1]
    if tie.any():
        mark = np.zeros(n, dtype=bool)
        mark[1:] |= tie
        mark[:-1] |= tie
        pos = np.flatnonzero(mark)
        sub = order[pos]
        order[pos] = sub[np.lexsort((seq[sub], key[sub]))]
    return order


def _validate(ev: EventArrays, n_policies: int, n_calendars: int) -> tuple[Int64Array, list[str]]:
    """Case ids violating §4.3 in sorted events, with one reason each."""
    n = len(ev)
    first = np.ones(n, dtype=bool)
    first[1:] = ev.case[1:] != ev.case[:-1]
    kind = ev.kind
    created = kind == EventKind.CREATED
    is_status = kind == EventKind.STATUS
    is_reply = kind == EventKind.REPLY
    sets_prio = created | (kind == EventKind.PRIORITY)
    sets_pol = created | (kind == EventKind.POLICY)
    sets_cal = created | (kind == EventKind.CALENDAR)
    same = np.zeros(n, dtype=bool)
    same[1:] = (ev.case[1:] == ev.case[:-1]) & (ev.t[1:] == ev.t[:-1]) & (ev.seq[1:] == ev.seq[:-1])
    last_closed = _ffill_index(is_status & (ev.status == Status.CLOSED))
    after_closed = np.zeros(n, dtype=bool)
    after_closed[1:] = last_closed[:-1] >= _ffill_index(first)[1:]
    checks: list[tuple[BoolArray, str]] = [
        (first & ~created, "first event is not created"),
        (~first & created, "more than one created event"),
        ((kind < 0) | (kind > EventKind.CALENDAR), "unknown event kind"),
        (is_status & ((ev.status < 0) | (ev.status > Status.CLOSED)), "unknown status"),
        (is_reply & ((ev.author < 0) | (ev.author > Author.SYSTEM)), "unknown author"),
        (created & (ev.author != Author.CUSTOMER) & (ev.author != Author.AGENT), "bad created_by"),
        (sets_prio & (ev.priority < 0), "negative priority"),
        (sets_pol & ((ev.policy < 0) | (ev.policy >= n_policies)), "unknown policy index"),
        (
            sets_cal & ((ev.calendar < ALWAYS_ON) | (ev.calendar >= n_calendars)),
            "unknown calendar index",
        ),
        (same, "duplicate (t, seq)"),
        (after_closed, "event after closed"),
    ]
    bad_ids: dict[int, str] = {}
    for mask, reason in checks:
        if mask.any():
            for c in np.unique(ev.case[mask]).tolist():
                bad_ids.setdefault(c, reason)
    ids = sorted(bad_ids)
    return np.array(ids, dtype=np.int64), [bad_ids[c] for c in ids]


def _sorted_events(events: EventArrays, now: int) -> EventArrays:
    ev, order = _sorted_view(events, now)
    return ev if order is None else ev.take(order)


def _sorted_view(events: EventArrays, now: int) -> tuple[EventArrays, Int64Array | None]:
    """Events up to ``now`` and the permutation that sorts them (None if already sorted).

    The permutation is applied block by block by :func:`evaluate`, so a shuffled batch never
    needs a second full-size copy of every column.
    """
    keep = events.t <= now
    ev = events if bool(keep.all()) else events.take(keep)
    return ev, _sort_order(ev.case, ev.t, ev.seq)


def find_invalid_cases(
    events: EventArrays, *, n_policies: int, n_calendars: int, now: int
) -> Int64Array:
    """Ids of cases whose events (up to ``now``) :func:`evaluate` would reject (§4.3)."""
    ids, _ = _validate(_sorted_events(events, now), n_policies, n_calendars)
    return ids


@dataclass(frozen=True, slots=True, eq=False)
class _Prepared:
    """Sorted, validated events of a block of cases, with derived status and state runs."""

    now: int
    # events
    t: Int64Array
    kind: Int8Array
    st: Int8Array  # status after each event, derived transitions applied
    ev_run: Int64Array
    ev_case: Int64Array  # case ordinal
    agent_reply: BoolArray  # public agent reply
    customer_public: BoolArray  # public customer reply
    stop_event: BoolArray  # status event to solved or closed
    next_reply_or_stop: Int64Array  # first agent reply or stop event at or after each index
    next_stop: Int64Array  # first stop event at or after each index
    # cases
    case_ids: Int64Array
    case_first_ev: Int64Array
    case_last_ev: Int64Array
    case_first_run: Int64Array
    case_last_run: Int64Array
    frt_trigger: Int64Array  # event index where FRT starts, or -1
    frt_done: Int64Array  # event index that answers the FRT trigger, or _BIG
    last_open_run: Int64Array  # last run whose status is not solved/closed, or -1
    # runs (instants): [run_t, run_end) with the state after the last event at run_t
    run_t: Int64Array
    run_end: Int64Array
    run_case: Int64Array
    run_last_ev: Int64Array
    run_status: Int8Array
    run_cal: Int64Array
    run_pol: Int64Array
    run_code: Int64Array  # (policy, priority, status) code for the metric look-up tables
    run_key: Int64Array  # run_case * DELTA + run_t, sorted
    run_b_start: Int64Array  # B on the run's own calendar at run_t
    run_b_span: Int64Array  # business seconds of the run on its own calendar


def _prepare(
    ev: EventArrays, clocks: ClockSet, now: int, options: Options, n_prio: int
) -> _Prepared:
    """State runs of sorted, validated events (§8.3 step 1)."""
    n = len(ev)
    idx = np.arange(n, dtype=np.int64)
    kind = ev.kind
    first = np.ones(n, dtype=bool)
    first[1:] = ev.case[1:] != ev.case[:-1]
    case_first_ev = np.flatnonzero(first).astype(np.int64)
    case_last_ev = np.empty_like(case_first_ev)
    case_last_ev[:-1] = case_first_ev[1:] - 1
    case_last_ev[-1] = n - 1
    ev_case = (np.cumsum(first) - 1).astype(np.int64)

    # Derived status (§4.3). A customer reply changes the status only while the last explicit
    # status is solved (reopen) or waiting (customer_reply_resumes); either way the case becomes
    # open and stays open until the next explicit status, so one forward fill per flag suffices.
    created = kind == EventKind.CREATED
    is_reply = kind == EventKind.REPLY
    explicit = created | (kind == EventKind.STATUS)
    explicit_val = np.where(created, Status.NEW, ev.status).astype(np.int8)
    last_explicit = _ffill_index(explicit)
    base = explicit_val[last_explicit]
    customer = is_reply & (ev.author == Author.CUSTOMER)
    resumes = (base == Status.WAITING) & ev.public & options.customer_reply_resumes
    reopen = customer & ((base == Status.SOLVED) | resumes)
    st = np.where(_ffill_index(reopen) > last_explicit, Status.OPEN, base).astype(np.int8)

    prio = ev.priority[_ffill_index(created | (kind == EventKind.PRIORITY))]
    pol = ev.policy[_ffill_index(created | (kind == EventKind.POLICY))]
    cal = ev.calendar[_ffill_index(created | (kind == EventKind.CALENDAR))]

    # Runs: one per distinct (case, t); the state after the last event at t governs (§4.2).
    new_run = first.copy()
    new_run[1:] |= ev.t[1:] != ev.t[:-1]
    run_first_ev = np.flatnonzero(new_run).astype(np.int64)
    run_last_ev = np.empty_like(run_first_ev)
    run_last_ev[:-1] = run_first_ev[1:] - 1
    run_last_ev[-1] = n - 1
    ev_run = (np.cumsum(new_run) - 1).astype(np.int64)
    run_t = ev.t[run_first_ev]
    run_case = ev_case[run_first_ev]
    n_runs = len(run_t)
    same_case_next = np.zeros(n_runs, dtype=bool)
    same_case_next[:-1] = run_case[1:] == run_case[:-1]
    run_end = np.full(n_runs, now, dtype=np.int64)
    run_end[:-1] = np.where(same_case_next[:-1], run_t[1:], now)
    run_status = st[run_last_ev]
    run_prio = np.minimum(prio[run_last_ev], n_prio)
    run_cal = cal[run_last_ev]
    run_pol = pol[run_last_ev]
    run_code = (run_pol * (n_prio + 1) + run_prio) * _N_STATUS + run_status

    # Business B on each run's own calendar; most run ends are the next run's start.
    b_start = clocks.B(run_cal, run_t)
    b_end = np.empty_like(b_start)
    reuse = np.zeros(n_runs, dtype=bool)
    reuse[:-1] = same_case_next[:-1] & (run_cal[1:] == run_cal[:-1])
    b_end[:-1] = np.where(reuse[:-1], b_start[1:], 0)
    todo = np.flatnonzero(~reuse)
    b_end[todo] = clocks.B(run_cal[todo], run_end[todo])

    case_last_run = ev_run[case_last_ev]
    open_run = (run_status != Status.SOLVED) & (run_status != Status.CLOSED)
    last_open = _ffill_index(open_run)[case_last_run]
    case_first_run = ev_run[case_first_ev]
    last_open = np.where(last_open >= case_first_run, last_open, -1).astype(np.int64)

    # Event flags shared by all metrics.
    agent_reply = is_reply & (ev.author == Author.AGENT) & ev.public
    stop_event = (kind == EventKind.STATUS) & ((st == Status.SOLVED) | (st == Status.CLOSED))
    next_reply_or_stop = _rev_min_accumulate(np.where(agent_reply | stop_event, idx, _BIG))
    next_stop = _rev_min_accumulate(np.where(stop_event, idx, _BIG))

    # FRT starts at creation, unless an agent created the case privately: then at the first
    # customer comment (§5.3). It is answered by the next public agent reply or stop.
    at_creation = (ev.author[case_first_ev] == Author.CUSTOMER) | ev.public[case_first_ev]
    first_comment = _rev_min_accumulate(np.where(customer, idx, _BIG))[case_first_ev]
    first_comment = np.where(first_comment <= case_last_ev, first_comment, -1)
    frt_trigger = np.where(at_creation, case_first_ev, first_comment).astype(np.int64)
    done = next_reply_or_stop[np.where(frt_trigger >= 0, frt_trigger + 1, n)]
    frt_done = np.where((frt_trigger >= 0) & (done <= case_last_ev), done, _BIG).astype(np.int64)

    return _Prepared(
        now=now,
        t=ev.t,
        kind=kind,
        st=st,
        ev_run=ev_run,
        ev_case=ev_case,
        agent_reply=agent_reply,
        customer_public=customer & ev.public,
        stop_event=stop_event,
        next_reply_or_stop=next_reply_or_stop,
        next_stop=next_stop,
        case_ids=ev.case[case_first_ev],
        case_first_ev=case_first_ev,
        case_last_ev=case_last_ev,
        case_first_run=case_first_run,
        case_last_run=case_last_run,
        frt_trigger=frt_trigger,
        frt_done=frt_done,
        last_open_run=last_open,
        run_t=run_t,
        run_end=run_end,
        run_case=run_case,
        run_last_ev=run_last_ev,
        run_status=run_status,
        run_cal=run_cal,
        run_pol=run_pol,
        run_code=run_code,
        run_key=run_case * DELTA + run_t,
        run_b_start=b_start,
        run_b_span=b_end - b_start,
    )


# --------------------------------------------------------------------------------------------
# Vectorised evaluation (§8.3)


@dataclass(frozen=True, slots=True, eq=False)
class _RunMetric:
    """Per-run values of one metric: target (``_NEVER`` if undefined), running, calendar, and
    the run's length in that calendar's seconds."""

    defined: BoolArray
    all_defined: bool
    target: Int64Array
    running: BoolArray
    calendar: Int64Array
    span: Int64Array
    lut: _MetricLut


def _run_metric(
    prep: _Prepared,
    lut: _MetricLut,
    metric: Metric,
    options: Options,
    spans: dict[bytes, tuple[Int64Array, Int64Array]],
) -> _RunMetric:
    code = prep.run_code
    defined = lut.defined[code]
    running = lut.running[code]
    if metric == Metric.TRT and options.solved_time_counts:
        # A solved span followed by a reopen counts as running TRT time (M10).
        r = np.arange(len(code), dtype=np.int64)
        reopened = r < prep.last_open_run[prep.run_case]
        running |= (prep.run_status == Status.SOLVED) & reopened & defined
    key = lut.business.tobytes()
    if key not in spans:
        business = lut.business[code]
        spans[key] = (
            np.where(business, prep.run_cal, ALWAYS_ON).astype(np.int64),
            np.where(business, prep.run_b_span, prep.run_end - prep.run_t),
        )
    calendar, span = spans[key]
    return _RunMetric(
        defined=defined,
        all_defined=bool(defined.all()),
        target=lut.target[code],
        running=running,
        calendar=calendar,
        span=span,
        lut=lut,
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Cycles:
    """Cycles of one metric before measurement, sorted by (case, trigger)."""

    case: Int64Array  # case ordinal
    trigger_t: Int64Array
    trigger_run: Int64Array
    stop: Int64Array  # NAT while open
    stop_run: Int64Array  # run index of the stop instant, -1 while open
    fulfilled: Int8Array
    cancelled: BoolArray


def _take_cycles(c: _Cycles, sel: Int64Array) -> _Cycles:
    return _Cycles(
        c.case[sel], c.trigger_t[sel], c.trigger_run[sel], c.stop[sel], c.stop_run[sel],
        c.fulfilled[sel], c.cancelled[sel],
    )  # fmt: skip


def _event_cycles(
    prep: _Prepared,
    start_ev: Int64Array,
    next_x: Int64Array,
    next_marker: Int64Array | None,
    reply_kind: bool,
) -> _Cycles:
    """Cycles started at events ``start_ev``, stopped by the first stop event or cancel marker.

    A marker sits after the last event of its instant, so an event at the same index wins.
    """
    nx = next_x[start_ev + 1]
    if next_marker is not None:
        nm = next_marker[start_ev + 1]
        use_x = nx <= nm
        stop_ev = np.where(use_x, nx, nm)
    else:
        use_x = np.ones(len(start_ev), dtype=bool)
        stop_ev = nx
    case = prep.ev_case[start_ev]
    inside = stop_ev <= prep.case_last_ev[case]
    stop_c = np.where(inside, stop_ev, 0)
    if reply_kind:
        by = np.where(prep.kind[stop_c] == EventKind.REPLY, FulfilledBy.REPLY, FulfilledBy.SOLVE)
        fulfilled = np.where(inside & use_x, by, FulfilledBy.NONE).astype(np.int8)
    else:
        fulfilled = np.full(len(start_ev), FulfilledBy.NONE, dtype=np.int8)
    return _Cycles(
        case=case,
        trigger_t=prep.t[start_ev],
        trigger_run=prep.ev_run[start_ev],
        stop=np.where(inside, prep.t[stop_c], NAT).astype(np.int64),
        stop_run=np.where(inside, prep.ev_run[stop_c], -1).astype(np.int64),
        fulfilled=fulfilled,
        cancelled=inside & ~use_x,
    )


def _cumulative_cycles(prep: _Prepared, rm: _RunMetric) -> _Cycles:
    """AWT/RWT/TRT: one cycle from creation; stopped while solved/closed; cancelled where the
    metric becomes undefined while the case is not solved or closed."""
    r0 = prep.case_first_run
    n_runs = len(prep.run_t)
    cancelled = np.zeros(len(r0), dtype=bool)
    first_cancel = np.zeros(len(r0), dtype=np.int64)
    if not rm.all_defined:
        runs_closed = (prep.run_status == Status.SOLVED) | (prep.run_status == Status.CLOSED)
        cancel_run = ~rm.defined & ~runs_closed
        first_cancel = _rev_min_accumulate(
            np.where(cancel_run, np.arange(n_runs, dtype=np.int64), _BIG)
        )[r0]
        cancelled = first_cancel <= prep.case_last_run
    # First run of the final solved/closed streak (the whole case if it never was open).
    streak = np.where(prep.last_open_run >= 0, prep.last_open_run + 1, r0)
    stopped = streak <= prep.case_last_run
    stop_run = np.where(cancelled, first_cancel, np.where(stopped, streak, -1)).astype(np.int64)
    sel = np.flatnonzero(rm.defined[r0])
    stop_run = stop_run[sel]
    return _Cycles(
        case=sel.astype(np.int64),
        trigger_t=prep.run_t[r0[sel]],
        trigger_run=r0[sel],
        stop=np.where(stop_run >= 0, prep.run_t[np.maximum(stop_run, 0)], NAT).astype(np.int64),
        stop_run=stop_run,
        fulfilled=np.full(len(sel), FulfilledBy.NONE, dtype=np.int8),
        cancelled=cancelled[sel],
    )


def _cycles(prep: _Prepared, metric: Metric, rm: _RunMetric) -> _Cycles:
    if metric in CUMULATIVE_METRICS:
        return _cumulative_cycles(prep, rm)
    n = len(prep.t)
    idx = np.arange(n, dtype=np.int64)
    defined_ev = rm.defined[prep.ev_run]
    # Cancel markers: after the last event of each instant at which the metric is undefined.
    marker: BoolArray | None = None
    next_marker: Int64Array | None = None
    if not rm.all_defined:
        marker = np.zeros(n, dtype=bool)
        marker[prep.run_last_ev[~rm.defined]] = True
        next_marker = _rev_min_accumulate(np.where(marker, idx, _BIG))

    if metric == Metric.FRES:
        first = prep.case_first_ev
        start_ev = first[defined_ev[first]]
        return _event_cycles(prep, start_ev, prep.next_stop, next_marker, reply_kind=False)
    if metric == Metric.FRT:
        trig = prep.frt_trigger
        trig_c = np.where(trig >= 0, trig, 0)
        start_ev = trig_c[(trig >= 0) & defined_ev[trig_c]]
    elif metric == Metric.NRT:
        is_e = prep.customer_public & (idx > prep.frt_done[prep.ev_case]) & defined_ev
        is_x = prep.agent_reply | prep.stop_event
        if marker is not None:
            is_x = is_x | marker
        last_e = np.full(n, -1, dtype=np.int64)
        last_xm = np.full(n, -1, dtype=np.int64)
        last_e[1:] = _ffill_index(is_e)[:-1]
        last_xm[1:] = _ffill_index(is_x)[:-1]
        cfirst = prep.case_first_ev[prep.ev_case]
        # An eligible comment starts a cycle unless one is already open, i.e. unless the last
        # relevant item before it (comment, stop or cancel marker) is another eligible comment.
        start_ev = idx[is_e & ((last_e < cfirst) | (last_e < last_xm))]
    else:  # PU, PAU: every public agent reply on an unsolved case starts a cycle
        unsolved = (prep.st != Status.SOLVED) & (prep.st != Status.CLOSED)
        start_ev = idx[prep.agent_reply & unsolved & defined_ev]
    return _event_cycles(prep, start_ev, prep.next_reply_or_stop, next_marker, reply_kind=True)


def _b_at(clocks: ClockSet, cal: Int64Array, t: Int64Array) -> Int64Array:
    """B on ``cal`` at ``t`` (ALWAYS_ON gives ``t``)."""
    out = t.copy()
    bus = np.flatnonzero(cal != ALWAYS_ON)
    if len(bus):
        out[bus] = clocks.B(cal[bus], t[bus])
    return out


@dataclass(frozen=True, slots=True, eq=False)
class _Frame:
    """The metric-independent part of measuring cycles: their sub-intervals and spans.

    Sub-intervals of a cycle are the runs ``r_lo .. r_hi-1`` clipped to ``[start, end)``;
    ``span`` is each one's length on its calendar (``kal``), ``dur`` its real length.
    """

    start: Int64Array
    stop: Int64Array  # z, NAT while open
    is_open: BoolArray
    end: Int64Array
    last_run: Int64Array
    r_prev: Int64Array  # run just before end (or at start for an empty cycle)
    r_target: Int64Array  # run whose target and calendar count "at end"
    k_end: Int64Array
    nseg: Int64Array
    nz: Int64Array  # cycles with at least one sub-interval
    heads: Int64Array  # their first sub-interval
    seg_run: Int64Array
    span: Int64Array
    dur: Int64Array
    x: Int64Array  # sub-interval starts
    kal: Int64Array
    span_total: Int64Array  # per cycle


def _frame(
    prep: _Prepared,
    rm: _RunMetric,
    cyc: _Cycles,
    start: Int64Array,
    clocks: ClockSet,
    options: Options,
) -> _Frame:
    now = prep.now
    m = len(start)
    z = np.where(cyc.stop == NAT, NAT, np.maximum(cyc.stop, start)).astype(np.int64)
    is_open = z == NAT
    end = np.where(is_open, now, z).astype(np.int64)
    last_run = prep.case_last_run[cyc.case]
    deferred = bool(np.any(start != cyc.trigger_t))
    if deferred:
        # Sequential recurrence: starts (and clamped stops) need not be run boundaries.
        ck = cyc.case * DELTA
        r_lo = np.searchsorted(prep.run_key, ck + start, side="right") - 1
        r_hi = np.searchsorted(prep.run_key, ck + end, side="left")
        r_at_end = np.searchsorted(prep.run_key, ck + end, side="right") - 1
    else:
        # Starts and stops are event instants, so their runs are known.
        r_lo = cyc.trigger_run
        r_at_end = np.where(is_open, last_run, cyc.stop_run)
        r_hi = np.where(is_open, last_run + (prep.run_t[last_run] < now), cyc.stop_run)
    r_prev = np.where(end > start, r_hi - 1, r_lo)
    # Target and calendar "at end": the last run at or before end that defines the metric (the
    # run at end itself unless the cycle was cancelled there; the trigger run always qualifies).
    r_target = r_at_end if rm.all_defined else _ffill_index(rm.defined)[r_at_end]
    k_end = rm.calendar[r_target]

    nseg = np.maximum(r_hi - r_lo, 0)
    total = int(nseg.sum())
    first_seg = np.cumsum(nseg) - nseg
    nz = np.flatnonzero(nseg)
    heads = first_seg[nz]
    seg_run = np.arange(total, dtype=np.int64) + np.repeat(r_lo - first_seg, nseg)
    span = rm.span[seg_run]
    dur = prep.run_end[seg_run] - prep.run_t[seg_run]
    x = prep.run_t[seg_run]
    # Only deferred cycles (sequential recurrence) clip their first or last run; with
    # calendar_change = last a sub-interval may be measured on another calendar than its run's.
    kal = rm.calendar[seg_run]
    fix = np.zeros(total, dtype=bool)
    if options.calendar_change == CalendarChange.LAST:
        kal_last = np.repeat(k_end, nseg)
        fix |= kal_last != kal
        kal = kal_last
    if deferred:
        tails = heads + nseg[nz] - 1
        fix[heads] |= start[nz] > x[heads]
        fix[tails] |= end[nz] < prep.run_end[seg_run[tails]]
        x[heads] = np.maximum(x[heads], start[nz])
    fx = np.flatnonzero(fix)
    if len(fx):
        seg_cyc = np.repeat(np.arange(m, dtype=np.int64), nseg)[fx]
        xf = x[fx]
        yf = np.maximum(np.minimum(prep.run_end[seg_run[fx]], end[seg_cyc]), xf)
        span[fx] = _b_at(clocks, kal[fx], yf) - _b_at(clocks, kal[fx], xf)
        dur[fx] = yf - xf
    span_total = np.zeros(m, dtype=np.int64)
    if total:
        span_total[nz] = np.add.reduceat(span, heads)
    return _Frame(
        start=start,
        stop=z,
        is_open=is_open,
        end=end,
        last_run=last_run,
        r_prev=r_prev,
        r_target=r_target,
        k_end=k_end,
        nseg=nseg,
        nz=nz,
        heads=heads,
        seg_run=seg_run,
        span=span,
        dur=dur,
        x=x,
        kal=kal,
        span_total=span_total,
    )


def _measure(
    prep: _Prepared,
    rm: _RunMetric,
    cyc: _Cycles,
    fr: _Frame,
    clocks: ClockSet,
    options: Options,
) -> dict[str, NDArray[np.generic]]:
    """Per-cycle outputs (§5.5, §5.6) of one metric on a frame."""
    now = prep.now
    m = len(fr.start)
    nz, heads = fr.nz, fr.heads
    run_ok = rm.running[fr.seg_run]
    tgt = rm.target[fr.seg_run]
    d = np.where(run_ok, fr.span, 0)
    elapsed = np.zeros(m, dtype=np.int64)
    paused_c = np.zeros(m, dtype=np.int64)
    breach = np.full(m, _BIG, dtype=np.int64)
    if len(heads):
        elapsed[nz] = np.add.reduceat(d, heads)
        paused_c[nz] = np.add.reduceat(np.where(run_ok, 0, fr.dur), heads)
        before = np.cumsum(d)
        before -= d
        before -= np.repeat(before[heads], fr.nseg[nz])
        # §5.6: a target already reached at a sub-interval's start breaches there; otherwise the
        # first running sub-interval that crosses the target breaches at the earliest instant
        # the target is reached.
        reached = before >= tgt
        cand = np.where(reached, fr.x, _BIG)
        hit = np.flatnonzero(~reached & run_ok & (tgt <= before + d))
        if len(hit):
            kal = fr.kal[hit]
            need = _b_at(clocks, kal, fr.x[hit]) + tgt[hit] - before[hit]
            cand[hit] = np.minimum(cand[hit], clocks.Binv(kal, need))
        breach[nz] = np.minimum.reduceat(cand, heads)
    breached = breach < fr.end
    paused_b = fr.span_total - elapsed
    t_end = rm.target[fr.r_target]
    last = options.calendar_change == CalendarChange.LAST

    is_open = fr.is_open
    run_now = rm.running[fr.last_run] & is_open
    due = np.full(m, NAT, dtype=np.int64)
    live = np.flatnonzero(run_now & ~breached)
    k_now = fr.k_end if last else rm.calendar[fr.last_run]
    t_now = rm.target[fr.last_run]
    if len(live):
        due[live] = clocks.advance(k_now[live], now, t_now[live] - elapsed[live])
    met = np.flatnonzero(~is_open & ~cyc.cancelled & ~breached & rm.running[fr.r_prev])
    if len(met):
        r_prev = fr.r_prev[met]
        k_prev = fr.k_end[met] if last else rm.calendar[r_prev]
        due[met] = clocks.advance(k_prev, fr.stop[met], rm.target[r_prev] - elapsed[met])
    due = np.where(breached, breach, due)

    warn = np.full(m, NAT, dtype=np.int64)
    lut = rm.lut
    if len(live) and bool(np.any((lut.warn_before >= 0) | (lut.warn_den > 0))):
        pol_now = prep.run_pol[fr.last_run[live]]
        wb, wn, wd = lut.warn_before[pol_now], lut.warn_num[pol_now], lut.warn_den[pol_now]
        sel = np.flatnonzero((wb >= 0) | (wd > 0))
        if len(sel):
            rows = live[sel]
            tn = t_now[rows]
            thr = np.where(wb[sel] >= 0, tn - wb[sel], tn * wn[sel] // np.maximum(wd[sel], 1))
            warn[rows] = clocks.advance(k_now[rows], now, thr - elapsed[rows])

    state = np.where(
        cyc.cancelled,
        CycleState.CANCELLED,
        np.where(
            ~is_open,
            np.where(breached, CycleState.BREACHED_MET, CycleState.MET),
            np.where(
                run_now,
                np.where(breached, CycleState.BREACHED_RUNNING, CycleState.RUNNING),
                np.where(breached, CycleState.BREACHED_PAUSED, CycleState.PAUSED),
            ),
        ),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(t_end > 0, 100.0 * elapsed / np.maximum(t_end, 1), np.nan)
    return {
        "start_at": fr.start,
        "stop_at": fr.stop,
        "fulfilled_by": cyc.fulfilled,
        "state": state.astype(np.int8),
        "target_s": t_end,
        "elapsed_business_s": elapsed,
        "elapsed_calendar_s": fr.end - fr.start,
        "paused_business_s": paused_b,
        "paused_calendar_s": paused_c,
        "due_at": due,
        "breached": breached,
        "breached_at": np.where(breached, breach, NAT).astype(np.int64),
        "remaining_s": t_end - elapsed,
        "percent": percent,
        "warn_at": warn,
        "running": run_now & ~cyc.cancelled,
        "calendar": fr.k_end,
    }


class _BlockCache:
    """Work shared between metrics of one block of cases.

    Metrics whose policies agree on where they are defined share cycles (AWT/RWT/TRT, and
    PU/PAU); those that also agree on business hours share run spans and frames.
    """

    def __init__(self) -> None:
        self.spans: dict[bytes, tuple[Int64Array, Int64Array]] = {}
        self.cycles: dict[tuple[str, bytes], _Cycles] = {}
        self.frames: dict[tuple[str, bytes, bytes], _Frame] = {}


def _cycle_group(metric: Metric) -> str:
    if metric in CUMULATIVE_METRICS:
        return "cumulative"
    if metric in (Metric.PU, Metric.PAU):
        return "update"
    return metric.name


def _metric_columns(
    prep: _Prepared,
    metric: Metric,
    lut: _MetricLut,
    clocks: ClockSet,
    options: Options,
    cache: _BlockCache,
) -> dict[str, NDArray[np.generic]] | None:
    rm = _run_metric(prep, lut, metric, options, cache.spans)
    group = _cycle_group(metric)
    defined_key = lut.defined.tobytes()
    cyc = cache.cycles.get((group, defined_key))
    if cyc is None:
        cyc = cache.cycles[(group, defined_key)] = _cycles(prep, metric, rm)
    m = len(cyc.case)
    if m == 0:
        return None
    group_start = np.ones(m, dtype=bool)
    group_start[1:] = cyc.case[1:] != cyc.case[:-1]
    rank = np.arange(m, dtype=np.int64) - _ffill_index(group_start)
    sequential = options.recurrence == Recurrence.SEQUENTIAL and metric in MULTI_CYCLE_METRICS
    if not sequential:
        key = (group, defined_key, lut.business.tobytes())
        fr = cache.frames.get(key)
        if fr is None:
            fr = cache.frames[key] = _frame(prep, rm, cyc, cyc.trigger_t, clocks, options)
        cols = _measure(prep, rm, cyc, fr, clocks, options)
        keep = np.arange(m, dtype=np.int64)
    else:
        # A cycle starts no earlier than the previous cycle's due_at, which needs that cycle's
        # evaluation: one vectorised pass per rank, not per event.
        parts: list[tuple[Int64Array, dict[str, NDArray[np.generic]]]] = []
        prev_due = np.full(m, NAT, dtype=np.int64)  # indexed by cycle position
        alive = np.zeros(m, dtype=bool)
        for r in range(int(rank.max()) + 1):
            sel = np.flatnonzero(rank == r)
            if r > 0:
                # A cycle whose predecessor did not start by now cannot start either.
                sel = sel[alive[sel - 1]]
            if len(sel) == 0:
                break
            pd = prev_due[sel - 1] if r > 0 else np.full(len(sel), NAT, dtype=np.int64)
            trig = cyc.trigger_t[sel]
            start = np.where(pd == NAT, trig, np.maximum(trig, pd)).astype(np.int64)
            ok = start <= prep.now
            sel, start = sel[ok], start[ok]
            if len(sel) == 0:
                break
            alive[sel] = True
            sub = _take_cycles(cyc, sel)
            fr = _frame(prep, rm, sub, start, clocks, options)
            cols_r = _measure(prep, rm, sub, fr, clocks, options)
            prev_due[sel] = cols_r["due_at"]
            parts.append((sel, cols_r))
        if not parts:
            return None
        keep = np.concatenate([p[0] for p in parts])
        cols = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
        order = np.argsort(keep, kind="stable")
        keep = keep[order]
        cols = {k: v[order] for k, v in cols.items()}
    cols["case"] = prep.case_ids[cyc.case[keep]]
    cols["metric"] = np.full(len(keep), metric, dtype=np.int8)
    cols["cycle_index"] = rank[keep]
    return cols


_CHUNK_EVENTS: Final[int] = 1 << 19
"""Cases are evaluated in blocks of about this many events: temporaries stay cache- and
allocator-friendly, and memory stays flat however large the batch."""


def _chunks(case: Int64Array, size: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` event ranges of whole cases, each about ``size`` events."""
    n = len(case)
    bounds = [0]
    while n - bounds[-1] > size:
        # Cut at the start of the case that contains the nominal cut (cases are contiguous);
        # a case longer than a block extends its block.
        pos = bounds[-1] + size
        cut = int(np.searchsorted(case[bounds[-1] : n], case[pos], side="left")) + bounds[-1]
        if cut <= bounds[-1]:
            cut = int(np.searchsorted(case[bounds[-1] : n], case[pos], side="right")) + bounds[-1]
        if cut >= n:
            break
        bounds.append(cut)
    bounds.append(n)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def evaluate(
    events: EventArrays,
    *,
    policies: Sequence[Policy],
    clocks: ClockSet,
    now: int,
    options: Options | None = None,
) -> CycleTable:
    """Evaluate every metric cycle of every case as of ``now`` (vectorised, §8.3).

    ``policies[i]`` is policy index ``i`` of the events; calendar indices refer to ``clocks``.
    Events with ``t > now`` are ignored. Raises :class:`EventValidationError` for invalid cases
    (see :func:`find_invalid_cases`) and
    :class:`~kontosjef.engine.businesstime.OutsideTableError` if an event instant or ``now`` is
    outside a calendar table in use. Returns one row per cycle (:class:`CycleTable`), sorted by
    ``(metric, case, cycle_index)``.
    """
    opts = options if options is not None else Options()
    ev, order = _sorted_view(events, now)
    if len(ev) == 0:
        return CycleTable.empty(now)
    sorted_case = ev.case if order is None else ev.case[order]
    target_keys = [max(mp.targets, default=0) for p in policies for mp in p.metrics.values()]
    n_prio = max([int(ev.priority.max()), *target_keys, 0]) + 1
    luts = {
        m: _metric_lut(policies, m, n_prio) for m in Metric if any(m in p.metrics for p in policies)
    }
    bad_ids: list[int] = []
    bad_reasons: list[str] = []
    parts: dict[Metric, list[dict[str, NDArray[np.generic]]]] = {m: [] for m in luts}
    for lo, hi in _chunks(sorted_case, _CHUNK_EVENTS):
        chunk = ev.take(slice(lo, hi) if order is None else order[lo:hi])
        ids, reasons = _validate(chunk, len(policies), len(clocks))
        if len(ids):
            bad_ids.extend(ids.tolist())
            bad_reasons.extend(reasons)
        if bad_ids:
            continue  # keep validating so the error lists every invalid case
        prep = _prepare(chunk, clocks, now, opts, n_prio)
        cache = _BlockCache()
        for metric, lut in luts.items():
            cols = _metric_columns(prep, metric, lut, clocks, opts, cache)
            if cols is not None:
                parts[metric].append(cols)
    if bad_ids:
        raise EventValidationError(bad_ids, bad_reasons)
    # Blocks are in case order and each part is sorted by (case, cycle_index), so concatenating
    # metric by metric gives (metric, case, cycle_index) without a sort.
    ordered = [p for m in luts for p in parts[m]]
    if not ordered:
        return CycleTable.empty(now)
    out: dict[str, Any] = {
        n: np.concatenate([p[n] for p in ordered]).astype(d, copy=False) for n, d in _CYCLE_COLUMNS
    }
    return CycleTable(now, **out)


# --------------------------------------------------------------------------------------------
# Case-level summaries (§5.7, §5.8)


@dataclass(frozen=True, slots=True, eq=False)
class CaseSummary:
    """``next_due_at`` per case: the minimum ``due_at`` over running, unbreached cycles."""

    case: Int64Array
    next_due_at: Int64Array


def next_due_at(table: CycleTable) -> CaseSummary:
    """Case escalation instants (§5.7); NAT for cases with no running unbreached cycle."""
    cases = np.unique(table.case)
    pos = np.searchsorted(cases, table.case)
    out = np.full(len(cases), _BIG, dtype=np.int64)
    live = (table.state == CycleState.RUNNING) & (table.due_at != NAT)
    np.minimum.at(out, pos[live], table.due_at[live])
    return CaseSummary(cases, np.where(out == _BIG, NAT, out).astype(np.int64))


@dataclass(frozen=True, slots=True, eq=False)
class CycleAggregates:
    """Multi-cycle aggregates per (case, metric) for NRT, PU and PAU (§5.8).

    ``current_cycle`` is the ``cycle_index`` of the open cycle, or -1.
    """

    case: Int64Array
    metric: Int8Array
    cycles_total: Int64Array
    cycles_breached: Int64Array
    max_elapsed_business_s: Int64Array
    current_cycle: Int64Array


def aggregate_cycles(table: CycleTable) -> CycleAggregates:
    """Aggregate the multi-cycle metrics of ``table`` (rows must be sorted, as returned)."""
    sel = np.isin(table.metric, [int(m) for m in MULTI_CYCLE_METRICS])
    t = table.take(sel)
    n = len(t)
    if n == 0:
        e = np.empty(0, dtype=np.int64)
        return CycleAggregates(e, np.empty(0, np.int8), e, e, e, e)
    head = np.ones(n, dtype=bool)
    head[1:] = (t.case[1:] != t.case[:-1]) | (t.metric[1:] != t.metric[:-1])
    heads = np.flatnonzero(head)
    open_ = (t.stop_at == NAT) & (t.state != CycleState.CANCELLED)
    current = np.maximum.reduceat(np.where(open_, t.cycle_index, -1), heads)
    return CycleAggregates(
        case=t.case[heads],
        metric=t.metric[heads],
        cycles_total=np.diff(np.append(heads, n)).astype(np.int64),
        cycles_breached=np.add.reduceat(t.breached.astype(np.int64), heads),
        max_elapsed_business_s=np.maximum.reduceat(t.elapsed_business_s, heads),
        current_cycle=current.astype(np.int64),
    )


# --------------------------------------------------------------------------------------------
# Incremental mode (§8.4)


@dataclass(frozen=True, slots=True, eq=False)
class LiveState:
    """Open cycles advanced to ``now`` by :meth:`LiveCycles.at` (same row order)."""

    now: int
    elapsed_business_s: Int64Array
    remaining_s: Int64Array
    breached: BoolArray
    breached_at: Int64Array
    state: Int8Array
    due_at: Int64Array
    warn_at: Int64Array


@dataclass(frozen=True, slots=True, eq=False)
class LiveCycles:
    """Open cycles frozen at ``since`` for O(1) updates (§8.4).

    ``elapsed(now) = elapsed_since + (B(now) - b_since) * running``. Valid until the case gets a
    new event, its calendar gets a new version, or its policy changes; then re-evaluate the case.
    ``due_at`` and ``warn_at`` stay constant while nothing changes, so a scheduler can index them.
    """

    since: int
    case: Int64Array
    metric: Int8Array
    cycle_index: Int64Array
    calendar: Int64Array
    running: BoolArray
    target_s: Int64Array
    elapsed_since: Int64Array
    b_since: Int64Array
    breached_at: Int64Array
    due_at: Int64Array
    warn_at: Int64Array

    @classmethod
    def from_table(cls, table: CycleTable, clocks: ClockSet) -> LiveCycles:
        """Take the open (not stopped, not cancelled) cycles of ``table``."""
        sel = (table.stop_at == NAT) & (table.state != CycleState.CANCELLED)
        t = table.take(sel)
        return cls(
            since=table.now,
            case=t.case,
            metric=t.metric,
            cycle_index=t.cycle_index,
            calendar=t.calendar,
            running=t.running,
            target_s=t.target_s,
            elapsed_since=t.elapsed_business_s,
            b_since=clocks.B(t.calendar, np.full(len(t), table.now, dtype=np.int64)),
            breached_at=t.breached_at,
            due_at=t.due_at,
            warn_at=t.warn_at,
        )

    def __len__(self) -> int:
        return len(self.case)

    def at(self, clocks: ClockSet, now: int) -> LiveState:
        """Advance every open cycle to ``now`` (>= ``since``) in O(1) per cycle."""
        if now < self.since:
            raise ValueError("live cycles only move forward in time")
        b_now = clocks.B(self.calendar, np.full(len(self), now, dtype=np.int64))
        elapsed = self.elapsed_since + (b_now - self.b_since) * self.running
        was = self.breached_at != NAT
        # While running and unbreached, due_at is the projected breach instant.
        newly = ~was & self.running & (self.due_at != NAT) & (self.due_at < now)
        breached = was | newly
        breached_at = np.where(newly, self.due_at, self.breached_at).astype(np.int64)
        state = np.where(
            self.running,
            np.where(breached, CycleState.BREACHED_RUNNING, CycleState.RUNNING),
            np.where(breached, CycleState.BREACHED_PAUSED, CycleState.PAUSED),
        ).astype(np.int8)
        return LiveState(
            now=now,
            elapsed_business_s=elapsed.astype(np.int64),
            remaining_s=(self.target_s - elapsed).astype(np.int64),
            breached=breached,
            breached_at=breached_at,
            state=state,
            due_at=self.due_at,
            warn_at=np.where(breached, NAT, self.warn_at).astype(np.int64),
        )
