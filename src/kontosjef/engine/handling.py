"""The handling review: how cases moved between departments and people, vectorised over events.

The adapter reads the case events of any number of cases into :class:`HandlingEvents` (parallel
arrays, one row per event) and the SLA breaches into :class:`BreachArrays`, then calls:

1. :func:`handle_cases` → :class:`Handling`: per case (hand-offs, returns to a department or
   person the case had left, business time held while open and waiting on the customer, reopens,
   first-touch and first-reply delays, breaches), the time per department and person, every
   hand-off with the delay to the next public reply, breaches attributed to their holder, and
   (with ``detail=True``) each case's path through the departments;
2. :func:`account_figures` → :class:`AccountFigures`: the same as one value per account (and
   per account and department);
3. :func:`findings` → the figures of one account against the norm of its tier (the median of
   the tier's accounts) with the account's percentile among them, most unusual first;
4. :func:`variants` → the most common paths with their outcomes.

Conventions (shared with :mod:`kontosjef.engine.sla`): instants are ``int64`` UTC epoch seconds,
durations are business seconds of each case's calendar (a :class:`ClockSet` index, or
``ALWAYS_ON``), a missing instant or duration is :data:`NAT`. Departments, people and hand-off
reasons are dense codes ``0..n-1`` chosen by the adapter, ``-1`` for none. Events after ``now``
are ignored. The module reads no clock and does no I/O; ``docs/interventions.md`` explains the
figures and how "unusual" is decided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # pandas-stubs is not installed
from numpy.typing import NDArray

from .businesstime import NAT, ClockSet
from .sla import Author, Status

__all__ = [
    "FIGURES",
    "MIN_CASES",
    "AccountFigures",
    "BreachArrays",
    "Figure",
    "Finding",
    "Handling",
    "HandlingEvents",
    "HandlingKind",
    "Variant",
    "account_figures",
    "findings",
    "handle_cases",
    "percentile_of",
    "variants",
]

Int64Array = NDArray[np.int64]
Int8Array = NDArray[np.int8]
BoolArray = NDArray[np.bool_]
Float64Array = NDArray[np.float64]

MIN_CASES: Final[int] = 3
"""Accounts with fewer cases in the window take no part in their tier's norm: one or two cases
say too little about how an account is usually handled."""

_OPEN_STATUSES: Final[tuple[int, ...]] = (Status.NEW, Status.OPEN, Status.WAITING, Status.ON_HOLD)
_BIG: Final[int] = np.iinfo(np.int64).max


class HandlingKind(IntEnum):
    """Event kinds the review distinguishes (the case events of the domain)."""

    CREATED = 0
    HANDOFF = 1
    STATUS = 2
    REPLY = 3
    NOTE = 4
    PRIORITY = 5


_EVENT_SPEC: Final[Mapping[str, type[np.generic]]] = MappingProxyType(
    {
        "case": np.int64,
        "t": np.int64,
        "seq": np.int64,
        "kind": np.int8,
        "actor": np.int8,
        "public": np.bool_,
        "status": np.int8,
        "department": np.int64,
        "person": np.int64,
        "reason": np.int64,
        "account": np.int64,
        "calendar": np.int64,
    }
)


def _coerce(obj: object, spec: Mapping[str, type[np.generic]]) -> int:
    """Cast each named field of a frozen dataclass to its dtype; return the common length."""
    owner = type(obj).__name__
    length: int | None = None
    for name, dtype in spec.items():
        arr = np.asarray(getattr(obj, name))
        if arr.ndim != 1:
            raise ValueError(f"{owner}.{name} must be one-dimensional, got shape {arr.shape}")
        if arr.size and np.dtype(dtype).kind in "ib" and arr.dtype.kind == "f":
            raise ValueError(f"{owner}.{name} must be integers, got {arr.dtype}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            raise ValueError(f"{owner}.{name} has {len(arr)} rows, expected {length}")
        object.__setattr__(obj, name, arr.astype(dtype, copy=False))
    return length or 0


@dataclass(frozen=True, slots=True, eq=False)
class HandlingEvents:
    """One row per case event, in any order (sorted by ``(case, t, seq)`` is fastest).

    - ``case``: case id; ``t``: instant; ``seq``: order of events with equal ``t``.
    - ``kind``: :class:`HandlingKind`. Each case's first event must be ``CREATED``.
    - ``actor``: :class:`~kontosjef.engine.sla.Author` (customer, employee, system).
    - ``public``: a public reply (replies only).
    - ``status``: STATUS rows: the :class:`~kontosjef.engine.sla.Status` code moved to; else -1.
    - ``department``, ``person``: CREATED and HANDOFF rows: who holds the case from then on
      (-1 = nobody); ignored on other rows.
    - ``reason``: HANDOFF rows: the hand-off reason's code (-1 = none).
    - ``account``: the case's account (dense index); ``calendar``: the case's calendar in the
      :class:`ClockSet` (or ``ALWAYS_ON``). Both are read from the case's first event.
    """

    case: Int64Array
    t: Int64Array
    seq: Int64Array
    kind: Int8Array
    actor: Int8Array
    public: BoolArray
    status: Int8Array
    department: Int64Array
    person: Int64Array
    reason: Int64Array
    account: Int64Array
    calendar: Int64Array

    def __post_init__(self) -> None:
        _coerce(self, _EVENT_SPEC)

    def __len__(self) -> int:
        return len(self.case)


@dataclass(frozen=True, slots=True, eq=False)
class BreachArrays:
    """One row per breached SLA cycle: its case id, breach instant and metric code."""

    case: Int64Array
    t: Int64Array
    metric: Int64Array

    def __post_init__(self) -> None:
        _coerce(self, {"case": np.int64, "t": np.int64, "metric": np.int64})

    def __len__(self) -> int:
        return len(self.case)

    @classmethod
    def empty(cls) -> BreachArrays:
        z = np.empty(0, np.int64)
        return cls(z, z, z)


@dataclass(frozen=True, slots=True, eq=False)
class Handling:
    """The handling of each case, as of ``now``. Case rows are in case-id order; every other
    table points at them by ``*_row``.

    Cases (``case`` … ``variant``): ``open_s`` is the business time the case was open (new,
    open, waiting on customer, on hold) up to ``now``; ``waiting_s`` the part of it waiting on
    the customer; ``handoffs`` the hand-off events; ``transfers`` the hand-offs that changed the
    department; ``department_returns`` / ``person_returns`` the times the case came back to a
    department / person it had held and left (ping-pong); ``reopens`` the moves out of solved
    other than to closed; ``waits`` the times it started waiting on the customer;
    ``first_touch_s`` the business time from creation to the first event by an employee,
    ``first_reply_s`` to the first public employee reply (NAT: none yet); ``breaches`` the SLA
    breaches; ``is_resolved`` solved or closed at ``now``; ``variant`` the index of its path in
    ``paths`` (``detail`` only, else -1).

    Time (``time_*``): one row per case, department and person that held it, with the business
    time held while open and waiting on the customer.

    Hand-offs (``handoff_*``): one row per hand-off: from and to department and person, reason,
    whether it returned to a department / person held before, and ``handoff_reply_s``: business
    time to the next public employee reply before the next hand-off (NAT: none).

    Breaches (``breach_*``): one row per breach, with the department and person holding the case
    at the breach instant.
    """

    now: int
    case: Int64Array
    account: Int64Array
    opened_at: Int64Array
    open_s: Int64Array
    waiting_s: Int64Array
    handoffs: Int64Array
    transfers: Int64Array
    department_returns: Int64Array
    person_returns: Int64Array
    reopens: Int64Array
    waits: Int64Array
    first_touch_s: Int64Array
    first_reply_s: Int64Array
    breaches: Int64Array
    is_resolved: BoolArray
    variant: Int64Array
    paths: tuple[tuple[int, ...], ...]
    time_row: Int64Array
    time_department: Int64Array
    time_person: Int64Array
    time_open_s: Int64Array
    time_waiting_s: Int64Array
    handoff_row: Int64Array
    handoff_at: Int64Array
    handoff_from_department: Int64Array
    handoff_to_department: Int64Array
    handoff_from_person: Int64Array
    handoff_to_person: Int64Array
    handoff_reason: Int64Array
    handoff_department_return: BoolArray
    handoff_person_return: BoolArray
    handoff_reply_s: Int64Array
    breach_row: Int64Array
    breach_at: Int64Array
    breach_metric: Int64Array
    breach_department: Int64Array
    breach_person: Int64Array

    def __len__(self) -> int:
        return len(self.case)


def _sorted_order(ev: HandlingEvents) -> Int64Array | None:
    """The permutation sorting by (case, t, seq), or None when already sorted."""
    c, t, s = ev.case, ev.t, ev.seq
    if len(c) < 2:
        return None
    dc, dt, ds = np.diff(c), np.diff(t), np.diff(s)
    if bool(np.all((dc > 0) | ((dc == 0) & ((dt > 0) | ((dt == 0) & (ds > 0)))))):
        return None
    return np.lexsort((s, t, c)).astype(np.int64)


def _ffill_index(mask: BoolArray) -> Int64Array:
    """For each row, the index of the last row at or before it where ``mask`` holds (0 if
    none); callers put every case's first row in ``mask`` so nothing leaks across cases."""
    idx = np.where(mask, np.arange(len(mask), dtype=np.int64), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _next_index(mask: BoolArray, start: int = 1) -> Int64Array:
    """For each row i, the smallest j >= i + start with ``mask[j]`` (``len`` if none)."""
    n = len(mask)
    idx = np.where(mask, np.arange(n, dtype=np.int64), n)
    after = np.minimum.accumulate(idx[::-1])[::-1] if n else idx
    if start == 0:
        return after
    return np.concatenate([after[1:], np.array([n], np.int64)])


def handle_cases(
    events: HandlingEvents,
    breaches: BreachArrays | None = None,
    *,
    clocks: ClockSet,
    now: int,
    detail: bool = True,
) -> Handling:
    """Fold every case's events into its handling as of ``now`` (see :class:`Handling`).

    Raises ValueError when a case does not start with a CREATED event. Every event instant and
    ``now`` must lie inside the tables of the calendars in use (``OutsideTableError``).
    """
    keep = events.t <= now
    order = _sorted_order(events) if keep.all() else None
    if not keep.all():
        sel = np.flatnonzero(keep)
        sub_order = _sorted_order(_take(events, sel))
        order = sel if sub_order is None else sel[sub_order]
    ev = events if order is None else _take(events, order)
    n = len(ev)
    case_id, t, kind = ev.case, ev.t, ev.kind
    first = np.ones(n, np.bool_)
    if n:
        first[1:] = case_id[1:] != case_id[:-1]
    starts = np.flatnonzero(first)
    n_cases = len(starts)
    row = np.cumsum(first) - 1  # case row of every event
    if n and not np.all(kind[starts] == HandlingKind.CREATED):
        bad = case_id[starts[kind[starts] != HandlingKind.CREATED]]
        raise ValueError(f"cases must start with a CREATED event: {bad[:10].tolist()}")
    last = np.ones(n, np.bool_)
    if n:
        last[:-1] = first[1:]
    cal = ev.calendar[starts][row] if n else ev.calendar

    # Who holds the case after each event.
    is_assign = (kind == HandlingKind.CREATED) | (kind == HandlingKind.HANDOFF)
    src = _ffill_index(is_assign)
    department = ev.department[src]
    person = ev.person[src]

    # Status after each event: explicit moves, then the projection's derived move (a public
    # customer reply reopens a solved case and ends a wait). A derived move only ever leads to
    # OPEN, so one more forward fill after adding them gives the exact sequence.
    explicit = (kind == HandlingKind.STATUS) | (kind == HandlingKind.CREATED)
    value = np.where(kind == HandlingKind.CREATED, np.int8(Status.NEW), ev.status)
    status = value[_ffill_index(explicit)]
    resume = (
        (kind == HandlingKind.REPLY)
        & (ev.actor == Author.CUSTOMER)
        & ev.public
        & ((status == Status.SOLVED) | (status == Status.WAITING))
    )
    value = np.where(resume, np.int8(Status.OPEN), value)
    status = value[_ffill_index(explicit | resume)]
    before = np.empty(n, np.int8)
    if n:
        before[0] = -1
        before[1:] = status[:-1]
        before[first] = -1
    is_open = np.isin(status, _OPEN_STATUSES)
    reopen = (before == Status.SOLVED) & (status != Status.SOLVED) & (status != Status.CLOSED)
    wait_start = (status == Status.WAITING) & (before != Status.WAITING)

    # Business time of each stretch between an event and the next one of its case (or now).
    b = clocks.B(cal, t)
    b_next = np.empty(n, np.int64)
    if n:
        b_next[:-1] = b[1:]
        b_next[last] = clocks.B(cal[last], np.full(int(last.sum()), now, np.int64))
    stretch = b_next - b
    held = np.where(is_open, stretch, 0)
    waiting = np.where(status == Status.WAITING, stretch, 0)

    # Hand-offs, department runs and returns (ping-pong).
    prev_department = np.empty(n, np.int64)
    prev_person = np.empty(n, np.int64)
    if n:
        prev_department[1:], prev_person[1:] = department[:-1], person[:-1]
        prev_department[first], prev_person[first] = -1, -1
    handoff = kind == HandlingKind.HANDOFF
    transfer = handoff & (department != prev_department)
    dept_run = first | transfer
    person_run = (first | (handoff & (person != prev_person))) & (person >= 0)
    dept_return = np.zeros(n, np.bool_)
    person_return = np.zeros(n, np.bool_)
    runs = np.flatnonzero(dept_run & (department >= 0))
    if len(runs):
        seen = pd.DataFrame({"r": row[runs], "d": department[runs]}).duplicated().to_numpy()
        dept_return[runs[seen]] = True
    runs_p = np.flatnonzero(person_run)
    if len(runs_p):
        seen = pd.DataFrame({"r": row[runs_p], "p": person[runs_p]}).duplicated().to_numpy()
        person_return[runs_p[seen]] = True

    # First touch and first reply: business time from creation to the first such event.
    b_open = b[starts] if n else b
    employee = (ev.actor == Author.AGENT) & ~first
    public_reply = (kind == HandlingKind.REPLY) & (ev.actor == Author.AGENT) & ev.public
    first_touch = _first_after(b, employee, starts, b_open)
    first_reply = _first_after(b, public_reply, starts, b_open)

    # Reply after each hand-off: the next public employee reply before the next hand-off.
    h_idx = np.flatnonzero(handoff)
    next_reply = _next_index(public_reply)[h_idx]
    next_assign = _next_index(is_assign)[h_idx]
    answered = (next_reply < n) & (next_reply < next_assign)
    reply_s = np.full(len(h_idx), NAT, np.int64)
    reply_s[answered] = b[next_reply[answered]] - b[h_idx[answered]]

    # Breaches: the holder of the case at the breach instant.
    br = breaches if breaches is not None else BreachArrays.empty()
    case_ids = case_id[starts] if n else case_id
    b_row, b_at, b_metric, b_dept, b_person = _attribute_breaches(
        br, case_ids, row, t, department, person, now
    )
    breach_count = np.bincount(b_row, minlength=n_cases).astype(np.int64)

    # Time per case, department and person.
    tkey = pd.DataFrame({"r": row, "d": department, "p": person, "h": held, "w": waiting})
    tkey = tkey[is_open]
    time = tkey.groupby(["r", "d", "p"], sort=True, observed=True).sum()
    idx = time.index
    time_row = idx.get_level_values(0).to_numpy(np.int64)
    time_department = idx.get_level_values(1).to_numpy(np.int64)
    time_person = idx.get_level_values(2).to_numpy(np.int64)

    def per_case(values: NDArray[np.generic]) -> Int64Array:
        if not n:
            return np.empty(0, np.int64)
        return np.add.reduceat(values.astype(np.int64), starts).astype(np.int64)

    paths: tuple[tuple[int, ...], ...] = ()
    variant = np.full(n_cases, -1, np.int64)
    if detail and n:
        paths, variant = _paths(row, department, dept_run, n_cases)

    return Handling(
        now=now,
        case=case_ids.astype(np.int64),
        account=ev.account[starts] if n else ev.account,
        opened_at=t[starts] if n else t,
        open_s=per_case(held),
        waiting_s=per_case(waiting),
        handoffs=per_case(handoff),
        transfers=per_case(transfer),
        department_returns=per_case(dept_return),
        person_returns=per_case(person_return),
        reopens=per_case(reopen),
        waits=per_case(wait_start),
        first_touch_s=first_touch,
        first_reply_s=first_reply,
        breaches=breach_count,
        is_resolved=~is_open[last] if n else np.empty(0, np.bool_),
        variant=variant,
        paths=paths,
        time_row=time_row,
        time_department=time_department,
        time_person=time_person,
        time_open_s=time["h"].to_numpy(np.int64),
        time_waiting_s=time["w"].to_numpy(np.int64),
        handoff_row=row[h_idx],
        handoff_at=t[h_idx],
        handoff_from_department=prev_department[h_idx],
        handoff_to_department=department[h_idx],
        handoff_from_person=prev_person[h_idx],
        handoff_to_person=person[h_idx],
        handoff_reason=ev.reason[h_idx],
        handoff_department_return=dept_return[h_idx],
        handoff_person_return=person_return[h_idx],
        handoff_reply_s=reply_s,
        breach_row=b_row,
        breach_at=b_at,
        breach_metric=b_metric,
        breach_department=b_dept,
        breach_person=b_person,
    )


def _take(ev: HandlingEvents, index: Int64Array) -> HandlingEvents:
    return HandlingEvents(**{name: getattr(ev, name)[index] for name in _EVENT_SPEC})


def _first_after(
    b: Int64Array, mask: BoolArray, starts: Int64Array, b_open: Int64Array
) -> Int64Array:
    """Per case: B of the first row where ``mask`` holds minus B at creation (NAT if none)."""
    if not len(b):
        return np.empty(0, np.int64)
    first_b = np.minimum.reduceat(np.where(mask, b, _BIG), starts)
    return np.where(first_b == _BIG, NAT, first_b - b_open).astype(np.int64)


def _attribute_breaches(
    br: BreachArrays,
    case_ids: Int64Array,
    row: Int64Array,
    t: Int64Array,
    department: Int64Array,
    person: Int64Array,
    now: int,
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array, Int64Array]:
    empty = np.empty(0, np.int64)
    if not len(br) or not len(case_ids):
        return empty, empty, empty, empty, empty
    pos = np.searchsorted(case_ids, br.case)
    posc = np.minimum(pos, len(case_ids) - 1)
    known = (case_ids[posc] == br.case) & (br.t != NAT) & (br.t <= now)
    b_row = posc[known]
    b_t = br.t[known]
    # One searchsorted over (case row, instant): rows and instants combined into one key.
    t0 = int(min(int(t.min()), int(b_t.min()) if len(b_t) else int(t.min())))
    span = int(max(int(t.max()), int(b_t.max()) if len(b_t) else 0)) - t0 + 1
    key_events = row * span + (t - t0)
    key_breach = b_row * span + (b_t - t0)
    at = np.searchsorted(key_events, key_breach, side="right") - 1
    at = np.maximum(at, 0)
    # A breach before the case's first event (bad input) goes to its creation holder.
    at = np.where(row[at] == b_row, at, np.searchsorted(row, b_row, side="left"))
    return b_row, b_t, br.metric[known], department[at], person[at]


def _paths(
    row: Int64Array, department: Int64Array, run: BoolArray, n_cases: int
) -> tuple[tuple[tuple[int, ...], ...], Int64Array]:
    """Each case's sequence of departments (consecutive repeats merged) as a variant index."""
    runs = np.flatnonzero(run)
    r, d = row[runs], department[runs]
    bounds = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(r) else np.empty(0, np.int64)
    pieces = np.split(d, bounds[1:]) if len(r) else []
    index: dict[tuple[int, ...], int] = {}
    variant = np.full(n_cases, -1, np.int64)
    for case_row, piece in zip(r[bounds].tolist(), pieces, strict=True):
        path = tuple(int(x) for x in piece.tolist())
        variant[case_row] = index.setdefault(path, len(index))
    return tuple(index), variant


# --------------------------------------------------------------------------------------------
# Per account


@dataclass(frozen=True)
class Figure:
    """A figure the review compares with the tier.

    ``kind`` is "handling" (how the cases were handled: what a TAM can act on) or "outcome"
    (what came of it: breaches, reopens, resolution time; usually what raised the attention).
    ``theme`` groups figures that tell the same story. ``floor`` is added to value and norm
    before taking their ratio, so a norm of 0 does not make every small value infinitely
    unusual; for shares of cases the floor is at least one case of the account's.
    ``higher_is_worse`` picks the side that is a finding."""

    key: str
    kind: str
    theme: str
    unit: str  # "seconds", "share" (of cases), "fraction" (of time or breaches) or "count"
    floor: float
    higher_is_worse: bool = True


FIGURES: Final[tuple[Figure, ...]] = (
    Figure("handoffs_per_case", "handling", "handoffs", "count", 0.1),
    Figure("transfers_per_case", "handling", "handoffs", "count", 0.1),
    Figure("ping_pong_share", "handling", "ping_pong", "share", 0.02),
    Figure("first_touch_median_s", "handling", "replies", "seconds", 900.0),
    Figure("first_reply_median_s", "handling", "replies", "seconds", 900.0),
    Figure("handoff_reply_median_s", "handling", "replies", "seconds", 900.0),
    Figure("waiting_share", "handling", "waits", "fraction", 0.02),
    Figure("open_median_s", "outcome", "resolution", "seconds", 3600.0),
    Figure("reopen_share", "outcome", "reopens", "share", 0.02),
    Figure("breaches_per_case", "outcome", "breaches", "count", 0.05),
)
"""The account-level figures, in the order tables show them."""

DEPARTMENT_FIGURES: Final[tuple[Figure, ...]] = (
    Figure("department_share", "handling", "department_time", "fraction", 0.02),
    Figure("department_reply_median_s", "handling", "replies", "seconds", 900.0),
    Figure("department_breach_share", "outcome", "breaches", "fraction", 0.02),
)
"""Figures per account and department."""


@dataclass(frozen=True, slots=True, eq=False)
class AccountFigures:
    """One value per account (``values[key][a]``, NaN where the account has no measure) and per
    account and department (``by_department[key][a, d]``; column ``n_departments`` is "no
    department"). ``cases[a]`` counts the account's cases."""

    cases: Int64Array
    values: Mapping[str, Float64Array]
    by_department: Mapping[str, Float64Array]
    n_departments: int


def _group_median(account: Int64Array, values: Int64Array, n_accounts: int) -> Float64Array:
    out = np.full(n_accounts, np.nan)
    ok = values != NAT
    if ok.any():
        med = pd.Series(values[ok].astype(np.float64)).groupby(account[ok]).median()
        out[med.index.to_numpy(np.int64)] = med.to_numpy(np.float64)
    return out


def _ratio(num: NDArray[np.generic], den: NDArray[np.generic]) -> Float64Array:
    den_f = np.asarray(den, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.asarray(num, np.float64) / den_f
    return np.where(den_f > 0, out, np.nan)


def account_figures(h: Handling, *, n_accounts: int, n_departments: int) -> AccountFigures:
    """Every account's figures (see ``FIGURES`` and ``docs/interventions.md``)."""
    a = h.account
    cases = np.bincount(a, minlength=n_accounts).astype(np.int64)

    def total(values: NDArray[np.generic]) -> Float64Array:
        return np.bincount(a, weights=values.astype(np.float64), minlength=n_accounts)

    open_total = total(h.open_s)
    values = {
        "handoffs_per_case": _ratio(total(h.handoffs), cases),
        "transfers_per_case": _ratio(total(h.transfers), cases),
        "ping_pong_share": _ratio(total(h.department_returns > 0), cases),
        "first_touch_median_s": _group_median(a, h.first_touch_s, n_accounts),
        "first_reply_median_s": _group_median(a, h.first_reply_s, n_accounts),
        "handoff_reply_median_s": _group_median(a[h.handoff_row], h.handoff_reply_s, n_accounts),
        "open_median_s": _group_median(a, np.where(h.is_resolved, h.open_s, NAT), n_accounts),
        "reopen_share": _ratio(total(h.reopens > 0), cases),
        "waiting_share": _ratio(total(h.waiting_s), open_total),
        "breaches_per_case": _ratio(total(h.breaches), cases),
    }
    width = n_departments + 1
    dept = np.where(h.time_department >= 0, h.time_department, n_departments)
    cell = a[h.time_row] * width + dept
    held = np.bincount(
        cell, weights=h.time_open_s.astype(np.float64), minlength=n_accounts * width
    ).reshape(n_accounts, width)
    share = _ratio(held, held.sum(axis=1, keepdims=True))
    # A department that held none of an account's time has a share of 0, not "unknown".
    share = np.where(np.isnan(share) & (open_total[:, None] > 0), 0.0, share)

    reply = np.full((n_accounts, width), np.nan)
    ok = h.handoff_reply_s != NAT
    if ok.any():
        to = np.where(h.handoff_to_department >= 0, h.handoff_to_department, n_departments)
        s = pd.Series(h.handoff_reply_s[ok].astype(np.float64))
        med = s.groupby([a[h.handoff_row][ok], to[ok]]).median()
        ia = med.index.get_level_values(0).to_numpy(np.int64)
        idp = med.index.get_level_values(1).to_numpy(np.int64)
        reply[ia, idp] = med.to_numpy(np.float64)

    b_dept = np.where(h.breach_department >= 0, h.breach_department, n_departments)
    b_cell = a[h.breach_row] * width + b_dept
    b_count = np.bincount(b_cell, minlength=n_accounts * width).reshape(n_accounts, width)
    b_share = _ratio(b_count, b_count.sum(axis=1, keepdims=True))
    b_share = np.where(np.isnan(b_share) & (cases[:, None] > 0), 0.0, b_share)
    return AccountFigures(
        cases=cases,
        values=values,
        by_department={
            "department_share": share,
            "department_reply_median_s": reply,
            "department_breach_share": b_share,
        },
        n_departments=n_departments,
    )


# --------------------------------------------------------------------------------------------
# Against the tier


def percentile_of(value: float, others: Float64Array) -> float:
    """The mid-rank percentile of ``value`` among ``others`` (which include it): 100 · (number
    below + half the number equal) / count. NaN values are left out; NaN if none remain."""
    vals = others[~np.isnan(others)]
    if math.isnan(value) or not len(vals):
        return math.nan
    below = float(np.sum(vals < value))
    equal = float(np.sum(vals == value))
    return 100.0 * (below + 0.5 * equal) / len(vals)


@dataclass(frozen=True)
class Finding:
    """One figure of the account beside its tier's norm (``kind``, ``theme`` and ``unit`` as in
    its :class:`Figure`).

    ``percentile`` is the account's mid-rank percentile among the tier's accounts on the side
    where the figure is worse (100: worse than every other); ``ratio`` is
    ``(value + floor) / (norm + floor)`` on that side (> 1: worse than the norm); ``score`` orders
    findings: the percentile, and among equal percentiles the larger ratio. ``department`` is -1
    for account-level figures; ``n_department`` marks "no department"."""

    key: str
    kind: str
    theme: str
    unit: str
    department: int
    value: float
    norm: float
    percentile: float
    ratio: float
    peers: int

    @property
    def is_unusual(self) -> bool:
        return self.percentile >= 75.0 and self.ratio > 1.0

    @property
    def score(self) -> tuple[float, float]:
        return (self.percentile, self.ratio)


def _finding(
    fig: Figure, department: int, value: float, tier: Float64Array, cases: int
) -> Finding | None:
    peers = tier[~np.isnan(tier)]
    if math.isnan(value) or not len(peers):
        return None
    norm = float(np.median(peers))
    pct = percentile_of(value, peers)
    floor = max(fig.floor, 1.0 / cases) if fig.unit == "share" and cases else fig.floor
    if fig.higher_is_worse:
        ratio = (value + floor) / (norm + floor)
    else:
        pct = 100.0 - pct
        ratio = (norm + floor) / (value + floor)
    return Finding(
        fig.key, fig.kind, fig.theme, fig.unit, department, value, norm, pct, ratio, len(peers)
    )


def findings(figures: AccountFigures, *, account: int, tier: Int64Array) -> list[Finding]:
    """Every figure of ``account`` against the accounts ``tier`` (dense indices; the account
    among them), most unusual first. Only tier accounts with at least ``MIN_CASES`` cases form
    the norm (the account itself always counts). Department figures are compared for the
    departments that held some of the account's time. Within the ranking, the first finding of
    each theme comes before a second of the same theme, so three figures telling one story do
    not crowd out another story."""
    members = np.asarray(tier, np.int64)
    members = members[(figures.cases[members] >= MIN_CASES) | (members == account)]
    if account not in set(members.tolist()):
        members = np.append(members, account)
    n = int(figures.cases[account])
    out: list[Finding] = []
    for fig in FIGURES:
        col = figures.values[fig.key]
        f = _finding(fig, -1, float(col[account]), col[members], n)
        if f is not None:
            out.append(f)
    share = figures.by_department["department_share"]
    held = np.flatnonzero(np.nan_to_num(share[account]) > 0)
    for fig in DEPARTMENT_FIGURES:
        table = figures.by_department[fig.key]
        for d in held.tolist():
            f = _finding(fig, d, float(table[account, d]), table[members, d], n)
            if f is not None:
                out.append(f)
    return rank(out)


def rank(items: Sequence[Finding]) -> list[Finding]:
    """Unusual findings first (by score, each theme's best before any theme's second), then the
    rest by score."""
    ordered = sorted(items, key=lambda f: f.score, reverse=True)
    unusual = [f for f in ordered if f.is_unusual]
    rest = [f for f in ordered if not f.is_unusual]
    leaders: list[Finding] = []
    followers: list[Finding] = []
    themes: set[str] = set()
    for f in unusual:
        (followers if f.theme in themes else leaders).append(f)
        themes.add(f.theme)
    return leaders + followers + rest


# --------------------------------------------------------------------------------------------
# Variants


@dataclass(frozen=True)
class Variant:
    """A path through the departments with the cases that took it and how they ended:
    ``resolved`` solved or closed now, ``reopened`` reopened at least once, ``breached`` with
    at least one SLA breach, ``open_median_s`` the median business time open of the resolved
    ones (NAT: none resolved)."""

    path: tuple[int, ...]
    cases: int
    resolved: int
    reopened: int
    breached: int
    open_median_s: int


def variants(h: Handling, *, rows: Int64Array | None = None, limit: int = 10) -> list[Variant]:
    """The ``limit`` most common paths of the case rows ``rows`` (all when None), most cases
    first (ties: shorter path first, then path order). Needs a :class:`Handling` computed with
    ``detail=True``."""
    sel = np.arange(len(h), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    sel = sel[h.variant[sel] >= 0]
    if not len(sel):
        return []
    df = pd.DataFrame(
        {
            "v": h.variant[sel],
            "resolved": h.is_resolved[sel],
            "reopened": h.reopens[sel] > 0,
            "breached": h.breaches[sel] > 0,
            "open": np.where(h.is_resolved[sel], h.open_s[sel], NAT).astype(np.float64),
        }
    )
    df.loc[df["open"] == NAT, "open"] = np.nan
    g = df.groupby("v")
    table = pd.DataFrame(
        {
            "cases": g.size(),
            "resolved": g["resolved"].sum(),
            "reopened": g["reopened"].sum(),
            "breached": g["breached"].sum(),
            "open": g["open"].median(),
        }
    )
    out = [
        Variant(
            path=h.paths[int(v)],
            cases=int(r.cases),
            resolved=int(r.resolved),
            reopened=int(r.reopened),
            breached=int(r.breached),
            open_median_s=NAT if math.isnan(r.open) else round(float(r.open)),
        )
        for v, r in table.iterrows()
    ]
    out.sort(key=lambda x: (-x.cases, len(x.path), x.path))
    return out[:limit]
