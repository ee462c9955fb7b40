"""Business-time calendars compiled into UTC interval tables (spec §3, §8.1, §8.2).

Every instant is an ``int64`` count of seconds since the Unix epoch, in UTC (D1). A calendar is a
list of effective-dated :class:`CalendarVersion` objects. :func:`compile_calendar` turns it into a
:class:`CompiledTable`: sorted, disjoint intervals ``[S_i, E_i)`` with lengths ``L`` and the
exclusive prefix sum ``C``. :class:`BusinessClock` answers ``B(t)`` (business seconds from the start
of the table to ``t``), its inverse ``Binv(b)``, elapsed, due and warning instants on numpy arrays;
:class:`ClockSet` does the same for many calendars in one ``searchsorted`` (§8.2).

Missing values: an instant that does not exist (a due instant beyond the table, a null ``stop_at``)
is the sentinel :data:`NAT`, the smallest ``int64``. Use :func:`is_nat` to build a mask. Arithmetic
never sees ``NAT``: functions that accept it pass it through unchanged.

This module is pure: stdlib, numpy and ``zoneinfo``. The ``holidays`` package is imported only by
:func:`holiday_snapshot`, which is called when a calendar is configured, never when compiling.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ALWAYS_ON",
    "DAY",
    "DELTA",
    "NAT",
    "BusinessClock",
    "Calendar",
    "CalendarError",
    "CalendarVersion",
    "ClockSet",
    "Closure",
    "CompiledTable",
    "HolidayProvenance",
    "HolidaySnapshot",
    "Int64Array",
    "OutsideTableError",
    "apply_holiday_snapshot",
    "clear_compile_cache",
    "compile_calendar",
    "holiday_snapshot",
    "is_nat",
    "local_to_utc",
    "parse_clock",
    "to_instant",
    "weekly_hours",
]

Int64Array = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NAT: Final[int] = int(np.iinfo(np.int64).min)
"""The missing instant ("not a time"). Returned by ``Binv`` beyond the table and used for nulls."""

DELTA: Final[int] = 2**40
"""Offset between calendar blocks in a :class:`ClockSet` (§8.2). Exceeds any instant and ``B``."""

ALWAYS_ON: Final[int] = -1
"""Calendar index meaning 24×7 in UTC: ``B(t) = t`` and ``Binv(b) = b``, with no range limit."""

DAY: Final[int] = 86400
_MAX_END: Final[int] = 2 * DAY
_EPOCH_ORDINAL: Final[int] = date(1970, 1, 1).toordinal()
_INT64_MAX: Final[int] = int(np.iinfo(np.int64).max)
# Zone offsets are sampled daily and each change is refined by bisection to the exact second.
# tzdata has no offset change that is undone within a day, so sampling misses no transition.
_ZONE_SAMPLE_STEP: Final[int] = DAY

Span = tuple[int, int]
"""A working interval ``(start, end)`` in seconds after local midnight of the day it starts on."""


class CalendarError(ValueError):
    """A calendar definition is invalid, or a table cannot be built for the requested range."""


class OutsideTableError(ValueError):
    """A query instant lies outside ``[t_begin, t_end]`` of its compiled table; extend the table."""


def is_nat(values: ArrayLike) -> BoolArray:
    """Return the boolean mask of missing instants (:data:`NAT`) in ``values``."""
    return np.asarray(np.asarray(values, dtype=np.int64) == NAT, dtype=np.bool_)


def to_instant(value: datetime) -> int:
    """Convert an offset-aware datetime to epoch seconds; naive datetimes are rejected (§3.1).

    Sub-second parts are truncated towards the earlier second.
    """
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value!r}: instants must carry an offset or zone")
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def parse_clock(text: str) -> int:
    """Parse ``"HH:MM"``, ``"HH:MM:SS"`` or ``"HH:MM(+1)"`` into seconds after local midnight.

    ``"24:00"`` is 86400 (the next midnight); ``"(+1)"`` adds a day for overnight ends.
    """
    body = text.strip()
    extra = 0
    if body.endswith("(+1)"):
        body, extra = body[:-4], DAY
    parts = body.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a wall-clock time: {text!r}")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    if m >= 60 or s >= 60 or h > 24 or (h == 24 and (m or s)):
        raise ValueError(f"not a wall-clock time: {text!r}")
    return h * 3600 + m * 60 + s + extra


def weekly_hours(
    days: Iterable[int], *spans: Span, base: Sequence[Sequence[Span]] | None = None
) -> tuple[tuple[Span, ...], ...]:
    """Build a 7-entry weekly pattern (Monday = 0) with ``spans`` on each of ``days``.

    ``base`` is an existing pattern to extend; its spans on ``days`` are kept.
    """
    out = [list(d) for d in base] if base is not None else [[] for _ in range(7)]
    if len(out) != 7:
        raise CalendarError("a weekly pattern has exactly 7 days")
    for d in days:
        if not 0 <= d < 7:
            raise CalendarError(f"weekday {d} is not in 0..6 (Monday = 0)")
        out[d].extend(spans)
    return tuple(tuple(d) for d in out)


def _check_span(span: Span, what: str) -> Span:
    start, end = int(span[0]), int(span[1])
    if not (0 <= start < DAY and start < end <= _MAX_END):
        raise CalendarError(
            f"{what}: need 0 <= start < 86400 and start < end <= 172800, got {span}"
        )
    return (start, end)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown IANA zone {tz!r}") from exc


@dataclass(frozen=True, slots=True)
class Closure:
    """A dated partial closure: ``[start, end)`` seconds after local midnight of ``day``."""

    day: date
    start: int
    end: int

    def __post_init__(self) -> None:
        _check_span((self.start, self.end), f"closure on {self.day}")


@dataclass(frozen=True, slots=True)
class HolidayProvenance:
    """Where a stored holiday list came from (§3.5). Informational; not part of the content hash."""

    country: str
    subdiv: str | None
    observed: bool
    categories: tuple[str, ...]
    package_version: str
    years: tuple[int, int]


@dataclass(frozen=True, slots=True)
class CalendarVersion:
    """One effective-dated version of a calendar (§3.2).

    - ``tz``: IANA zone of every local time in this version.
    - ``weekly``: 7 tuples of spans, Monday = 0; spans may be split or overnight (end <= 172800).
    - ``holidays``: local dates that are off entirely (``[00:00, 24:00)`` local).
    - ``extra_working``: ``(date, spans)`` pairs that replace the weekly spans on that date.
    - ``closures``: dated partial closures.
    - ``valid_from``: instant this version takes effect; ``None`` only for the first version, which
      applies from the start of any table.
    - ``coverage``: inclusive holiday years ``(first, last)`` the lists are known for; ``None``
      means unbounded (no holiday source). Tables never extend outside the covered years.
    - ``provenance``: where the holiday lists came from.

    Fields are canonicalised on construction (sorted), so equal content compares equal.
    """

    tz: str
    weekly: tuple[tuple[Span, ...], ...]
    holidays: frozenset[date] = frozenset()
    extra_working: tuple[tuple[date, tuple[Span, ...]], ...] = ()
    closures: tuple[Closure, ...] = ()
    valid_from: int | None = None
    coverage: tuple[int, int] | None = None
    provenance: tuple[HolidayProvenance, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        _zone(self.tz)
        if len(self.weekly) != 7:
            raise CalendarError("weekly must have 7 entries (Monday = 0)")
        weekly = tuple(
            tuple(sorted(_check_span(s, f"weekday {i}") for s in day))
            for i, day in enumerate(self.weekly)
        )
        object.__setattr__(self, "weekly", weekly)
        extra: dict[date, tuple[Span, ...]] = {}
        for d, spans in self.extra_working:
            if d in extra:
                raise CalendarError(f"extra_working lists {d} twice")
            extra[d] = tuple(sorted(_check_span(s, f"extra working day {d}") for s in spans))
        object.__setattr__(self, "extra_working", tuple(sorted(extra.items())))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        clash = self.holidays.intersection(extra)
        if clash:
            raise CalendarError(f"dates both holiday and extra working day: {sorted(clash)}")
        object.__setattr__(
            self, "closures", tuple(sorted(self.closures, key=lambda c: (c.day, c.start, c.end)))
        )
        if self.coverage is not None and self.coverage[0] > self.coverage[1]:
            raise CalendarError(f"coverage {self.coverage} is empty")

    def canonical(self) -> dict[str, object]:
        """The compile-relevant content as JSON-ready data (the basis of the content hash)."""
        return {
            "tz": self.tz,
            "weekly": [list(map(list, d)) for d in self.weekly],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "extra_working": [[d.isoformat(), list(map(list, s))] for d, s in self.extra_working],
            "closures": [[c.day.isoformat(), c.start, c.end] for c in self.closures],
            "valid_from": self.valid_from,
            "coverage": list(self.coverage) if self.coverage is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar: one or more versions with strictly increasing ``valid_from`` (§3.2)."""

    versions: tuple[CalendarVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise CalendarError("a calendar needs at least one version")
        previous: int | None = None
        for i, v in enumerate(self.versions[1:], start=1):
            if v.valid_from is None:
                raise CalendarError(f"version {i} needs valid_from")
            if previous is not None and v.valid_from <= previous:
                raise CalendarError("valid_from must increase strictly across versions")
            previous = v.valid_from

    @classmethod
    def single(cls, version: CalendarVersion) -> Calendar:
        """A calendar with one version."""
        return cls((version,))

    def content_hash(self) -> str:
        """SHA-256 of the compile-relevant content; equal calendars share compiled tables."""
        blob = json.dumps([v.canonical() for v in self.versions], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Holidays from the `holidays` package (§3.5)


@dataclass(frozen=True, slots=True)
class HolidaySnapshot:
    """Explicit holiday and substituted-working-day lists for ``provenance.years`` (inclusive)."""

    dates: tuple[date, ...]
    working_days: tuple[date, ...]
    provenance: HolidayProvenance


def holiday_snapshot(
    country: str,
    *,
    years: tuple[int, int],
    subdiv: str | None = None,
    observed: bool = True,
    categories: Sequence[str] | None = None,
) -> HolidaySnapshot:
    """Snapshot public holidays of ``country`` for the inclusive ``years`` from ``holidays``.

    Populates one extra year on each side (observed dates and substituted working days can belong
    to a neighbouring year) and keeps only dates inside ``years``. ``weekend_workdays`` become
    ``working_days``, filtered the same way. Call this when a calendar is configured and store the
    result; compilation never calls the package.
    """
    # Imported here: the package is needed only when a calendar is configured.
    from importlib.metadata import version as package_version

    import holidays as holidays_pkg

    first, last = years
    if first > last:
        raise CalendarError(f"empty year range {years}")
    populated = holidays_pkg.country_holidays(
        country,
        subdiv=subdiv,
        years=range(first - 1, last + 2),
        observed=observed,
        categories=tuple(categories) if categories is not None else None,
    )
    dates = tuple(sorted(d for d in populated if first <= d.year <= last))
    workdays = getattr(populated, "weekend_workdays", ())
    working = tuple(sorted(d for d in workdays if first <= d.year <= last))
    provenance = HolidayProvenance(
        country=country,
        subdiv=subdiv,
        observed=observed,
        categories=tuple(sorted(getattr(populated, "categories", ()) or ())),
        package_version=package_version("holidays"),
        years=(first, last),
    )
    return HolidaySnapshot(dates=dates, working_days=working, provenance=provenance)


def apply_holiday_snapshot(
    version: CalendarVersion,
    snapshot: HolidaySnapshot,
    *,
    working_day_spans: Sequence[Span] | None = None,
) -> CalendarVersion:
    """Return ``version`` with the snapshot's dates added for years it does not cover yet.

    Years already covered keep their stored dates (history stays stable, §3.5); changing them
    needs a new version. The snapshot must be contiguous with the existing coverage.
    Substituted working days get ``working_day_spans``; by default the spans shared by all
    weekdays that have hours (an error if they differ).
    """
    first, last = snapshot.provenance.years
    if version.coverage is None:
        new_years: set[int] = set(range(first, last + 1))
        coverage = (first, last)
    else:
        c0, c1 = version.coverage
        if last < c0 - 1 or first > c1 + 1:
            raise CalendarError(f"snapshot years {first}..{last} leave a gap after {c0}..{c1}")
        new_years = set(range(first, last + 1)) - set(range(c0, c1 + 1))
        coverage = (min(c0, first), max(c1, last))
    spans: tuple[Span, ...]
    if working_day_spans is not None:
        spans = tuple(working_day_spans)
    else:
        distinct = {day for day in version.weekly if day}
        if len(distinct) != 1:
            if snapshot.working_days:
                raise CalendarError("weekdays differ in hours: pass working_day_spans")
            spans = ()
        else:
            spans = next(iter(distinct))
    holidays = set(version.holidays) | {d for d in snapshot.dates if d.year in new_years}
    extra = dict(version.extra_working)
    for d in snapshot.working_days:
        if d.year in new_years and d not in holidays:
            extra[d] = spans
    return replace(
        version,
        holidays=frozenset(holidays),
        extra_working=tuple(sorted(extra.items())),
        coverage=coverage,
        provenance=(*version.provenance, snapshot.provenance),
    )


# --------------------------------------------------------------------------------------------
# Local wall time to UTC (§3.3, D4)


@dataclass(frozen=True, slots=True)
class _ZoneRules:
    """Offset periods of a zone: offset ``offset[i]`` applies on UTC ``[utc[i], utc[i+1])``."""

    utc: Int64Array
    offset: Int64Array
    local_start: Int64Array
    local_end: Int64Array


def _offset_at(zone: ZoneInfo, t: int) -> int:
    off = datetime.fromtimestamp(t, zone).utcoffset()
    if off is None:  # pragma: no cover - ZoneInfo always gives an offset
        raise CalendarError("zone without offset")
    return int(off.total_seconds())


@lru_cache(maxsize=128)
def _zone_rules(tz: str, first_year: int, last_year: int) -> _ZoneRules:
    """Offset periods between 1 Jan ``first_year`` and 1 Jan ``last_year + 1`` (UTC)."""
    zone = _zone(tz)
    lo = to_instant(datetime(first_year, 1, 1, tzinfo=UTC))
    hi = to_instant(datetime(last_year + 1, 1, 1, tzinfo=UTC))
    starts = [lo]
    offsets = [_offset_at(zone, lo)]
    prev_t, prev_off = lo, offsets[0]
    t = lo
    while t < hi:
        t = min(t + _ZONE_SAMPLE_STEP, hi)
        off = _offset_at(zone, t)
        if off != prev_off:
            a, b = prev_t, t  # offset(a) == prev_off, offset(b) != prev_off
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(zone, mid) == prev_off:
                    a = mid
                else:
                    b = mid
            starts.append(b)
            offsets.append(_offset_at(zone, b))
        prev_t, prev_off = t, off
    utc = np.array(starts, dtype=np.int64)
    offset = np.array(offsets, dtype=np.int64)
    local_start = utc + offset
    local_end = np.empty_like(local_start)
    local_end[:-1] = utc[1:] + offset[:-1]
    local_end[-1] = _INT64_MAX
    if np.any(np.diff(local_start) <= 0):  # pragma: no cover - would need weeks-short periods
        raise CalendarError(f"zone {tz!r} has offset periods too short to order")
    return _ZoneRules(utc=utc, offset=offset, local_start=local_start, local_end=local_end)


def _year_of(t: int) -> int:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t)).year


def _rules_for(tz: str, wall_lo: int, wall_hi: int) -> _ZoneRules:
    # Round to 8-year blocks so neighbouring compiles share the sampled zone data.
    first = (_year_of(wall_lo - 2 * DAY) - 1) // 8 * 8
    last = (_year_of(wall_hi + 2 * DAY) + 1) // 8 * 8 + 7
    return _zone_rules(tz, first, last)


def _wall_to_utc(rules: _ZoneRules, wall: Int64Array) -> Int64Array:
    """Convert local wall seconds (days since epoch * 86400 + seconds) to UTC per D4."""
    i = np.searchsorted(rules.local_start, wall, side="right") - 1
    np.maximum(i, 0, out=i)
    prev = np.maximum(i - 1, 0)
    ambiguous = (i >= 1) & (wall < rules.local_end[prev])  # fold=0: the earlier period wins
    inside = wall < rules.local_end[i]
    nxt = np.minimum(i + 1, len(rules.utc) - 1)
    out = np.where(
        ambiguous,
        wall - rules.offset[prev],
        np.where(inside, wall - rules.offset[i], rules.utc[nxt]),  # gap: the transition instant
    )
    return out.astype(np.int64, copy=False)


def local_to_utc(tz: str, day: date, seconds: int) -> int:
    """UTC instant of ``seconds`` after local midnight of ``day`` in ``tz`` (§3.3, D4).

    Ambiguous times take the first occurrence; times inside a gap take the transition instant.
    """
    wall = (day.toordinal() - _EPOCH_ORDINAL) * DAY + seconds
    rules = _rules_for(tz, wall, wall)
    return int(_wall_to_utc(rules, np.array([wall], dtype=np.int64))[0])


# --------------------------------------------------------------------------------------------
# Interval algebra


def _sweep(
    add_s: Int64Array, add_e: Int64Array, rem_s: Int64Array, rem_e: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """Union of the ``add`` intervals minus the union of the ``rem`` intervals, merged and sorted.

    Touching results are merged, so the output is sorted and disjoint with gaps between.
    """
    na, nr = len(add_s), len(rem_s)
    if na == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    pos = np.concatenate([add_s, add_e, rem_s, rem_e])
    da = np.concatenate([np.ones(na, np.int64), -np.ones(na, np.int64), np.zeros(2 * nr, np.int64)])
    dr = np.concatenate([np.zeros(2 * na, np.int64), np.ones(nr, np.int64), -np.ones(nr, np.int64)])
    order = np.argsort(pos, kind="stable")
    pos = pos[order]
    ca = np.cumsum(da[order])
    cr = np.cumsum(dr[order])
    # The state after all events at one position governs the stretch up to the next position.
    last = np.empty(len(pos), dtype=bool)
    last[:-1] = pos[1:] != pos[:-1]
    last[-1] = True
    p, a, r = pos[last], ca[last], cr[last]
    inside = (a > 0) & (r == 0)
    before = np.empty_like(inside)
    before[0] = False
    before[1:] = inside[:-1]
    starts = p[inside & ~before]
    ends = p[~inside & before]
    return starts.astype(np.int64), ends.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Compilation (§8.1)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledTable:
    """Sorted disjoint UTC business intervals ``[starts, ends)`` covering ``[t_begin, t_end]``.

    ``lengths = ends - starts`` and ``cum`` is the exclusive prefix sum of ``lengths``. ``total`` is
    ``B(t_end)``. Arrays are read-only.
    """

    starts: Int64Array
    ends: Int64Array
    lengths: Int64Array
    cum: Int64Array
    t_begin: int
    t_end: int
    total: int
    content_hash: str

    @classmethod
    def from_intervals(
        cls, starts: ArrayLike, ends: ArrayLike, *, t_begin: int, t_end: int, content_hash: str = ""
    ) -> CompiledTable:
        """Build a table from sorted disjoint intervals already clipped to ``[t_begin, t_end]``."""
        s = np.array(starts, dtype=np.int64)
        e = np.array(ends, dtype=np.int64)
        if s.shape != e.shape or s.ndim != 1:
            raise CalendarError("starts and ends must be 1-d arrays of equal length")
        if len(s) and (np.any(e <= s) or np.any(s[1:] < e[:-1]) or s[0] < t_begin or e[-1] > t_end):
            raise CalendarError(
                "intervals must be non-empty, sorted, disjoint and inside the range"
            )
        lengths = e - s
        cum = np.zeros(len(s), dtype=np.int64)
        if len(s) > 1:
            np.cumsum(lengths[:-1], out=cum[1:])
        total = int(cum[-1] + lengths[-1]) if len(s) else 0
        for arr in (s, e, lengths, cum):
            arr.setflags(write=False)
        return cls(s, e, lengths, cum, int(t_begin), int(t_end), total, content_hash)

    def __len__(self) -> int:
        return len(self.starts)


_CACHE_SIZE: Final[int] = 64
_cache: OrderedDict[tuple[str, int, int], CompiledTable] = OrderedDict()
_cache_lock = threading.Lock()


def _year_floor(t: int) -> int:
    return to_instant(datetime(_year_of(t), 1, 1, tzinfo=UTC))


def _version_bounds(calendar: Calendar) -> list[tuple[int | None, int | None]]:
    out: list[tuple[int | None, int | None]] = []
    vs = calendar.versions
    for k, _ in enumerate(vs):
        lo = None if k == 0 else vs[k].valid_from
        hi = vs[k + 1].valid_from if k + 1 < len(vs) else None
        out.append((lo, hi))
    return out


def _coverage_range(version: CalendarVersion) -> tuple[int, int] | None:
    if version.coverage is None:
        return None
    first, last = version.coverage
    return (
        local_to_utc(version.tz, date(first, 1, 1), 0),
        local_to_utc(version.tz, date(last + 1, 1, 1), 0),
    )


def _clip_to_coverage(calendar: Calendar, t_begin: int, t_end: int) -> tuple[int, int]:
    """Shrink ``[t_begin, t_end]`` to the stretch where every version in force is covered."""
    begin, end = t_begin, t_end
    first = True
    for version, (lo, hi) in zip(calendar.versions, _version_bounds(calendar), strict=True):
        eff_lo = begin if lo is None else max(begin, lo)
        eff_hi = end if hi is None else min(end, hi)
        if eff_lo >= eff_hi:
            continue
        cov = _coverage_range(version)
        if cov is not None:
            if cov[0] > eff_lo:
                if not first:
                    return begin, eff_lo
                begin = min(cov[0], eff_hi)
                eff_lo = begin
            if cov[1] < eff_hi:
                return begin, max(cov[1], eff_lo)
        first = False
    return begin, end


def _compile_version(version: CalendarVersion, lo: int, hi: int) -> tuple[Int64Array, Int64Array]:
    """Business intervals of one version, clipped to UTC ``[lo, hi)``."""
    # An overnight span reaches two days past its start day, and zone offsets are within ±1 day.
    d_lo = lo // DAY - 3
    d_hi = hi // DAY + 2
    days = np.arange(d_lo, d_hi + 1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    extra = {d.toordinal() - _EPOCH_ORDINAL: spans for d, spans in version.extra_working}
    is_extra = np.isin(days, np.fromiter(extra.keys(), dtype=np.int64, count=len(extra)))
    ws: list[Int64Array] = []
    we: list[Int64Array] = []
    for wd, spans in enumerate(version.weekly):
        if not spans:
            continue
        base = days[(weekday == wd) & ~is_extra] * DAY
        for s, e in spans:
            ws.append(base + s)
            we.append(base + e)
    for d, spans in extra.items():
        if d_lo <= d <= d_hi:
            for s, e in spans:
                ws.append(np.array([d * DAY + s], dtype=np.int64))
                we.append(np.array([d * DAY + e], dtype=np.int64))
    rs: list[int] = []
    re: list[int] = []
    for h in version.holidays:
        d = h.toordinal() - _EPOCH_ORDINAL
        if d_lo <= d <= d_hi:
            rs.append(d * DAY)
            re.append((d + 1) * DAY)
    for c in version.closures:
        d = c.day.toordinal() - _EPOCH_ORDINAL
        if d_lo <= d <= d_hi:
            rs.append(d * DAY + c.start)
            re.append(d * DAY + c.end)
    if not ws:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    n_work = sum(len(a) for a in ws)
    walls = np.concatenate([*ws, *we, np.array(rs + re, dtype=np.int64)])
    rules = _rules_for(version.tz, d_lo * DAY, (d_hi + 2) * DAY)
    utc = _wall_to_utc(rules, walls)
    a_s, a_e = utc[:n_work], utc[n_work : 2 * n_work]
    keep = a_s < a_e  # an interval lying wholly in a DST gap converts to nothing (§3.3)
    n_rem = len(rs)
    r_s, r_e = utc[2 * n_work : 2 * n_work + n_rem], utc[2 * n_work + n_rem :]
    rkeep = r_s < r_e
    m_s, m_e = _sweep(a_s[keep], a_e[keep], r_s[rkeep], r_e[rkeep])
    m_s = np.maximum(m_s, lo)
    m_e = np.minimum(m_e, hi)
    ok = m_s < m_e
    return m_s[ok], m_e[ok]


def compile_calendar(calendar: Calendar, *, start: int, end: int) -> CompiledTable:
    """Compile ``calendar`` into a table covering at least ``[start, end]`` where possible.

    The range is widened to whole UTC years (so repeated calls share the cache) and then clipped
    to the holiday coverage of the versions in force (§3.5); check ``t_begin``/``t_end`` of the
    result. Results are cached by content hash and range. Raises :class:`CalendarError` if no part
    of the range is covered.
    """
    if end < start:
        raise CalendarError(f"empty range [{start}, {end}]")
    t_begin = _year_floor(start)
    t_end = _year_floor(end)
    if t_end < end or t_end == t_begin:
        t_end = to_instant(datetime(_year_of(end) + 1, 1, 1, tzinfo=UTC))
    t_begin, t_end = _clip_to_coverage(calendar, t_begin, t_end)
    if t_begin >= t_end:
        raise CalendarError("the requested range lies outside the holiday coverage")
    digest = calendar.content_hash()
    key = (digest, t_begin, t_end)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    parts_s: list[Int64Array] = []
    parts_e: list[Int64Array] = []
    for version, (lo, hi) in zip(calendar.versions, _version_bounds(calendar), strict=True):
        v_lo = t_begin if lo is None else max(t_begin, lo)
        v_hi = t_end if hi is None else min(t_end, hi)
        if v_lo < v_hi:
            s, e = _compile_version(version, v_lo, v_hi)
            parts_s.append(s)
            parts_e.append(e)
    starts = np.concatenate(parts_s) if parts_s else np.empty(0, dtype=np.int64)
    ends = np.concatenate(parts_e) if parts_e else np.empty(0, dtype=np.int64)
    table = CompiledTable.from_intervals(
        starts, ends, t_begin=t_begin, t_end=t_end, content_hash=digest
    )
    with _cache_lock:
        _cache[key] = table
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return table


def clear_compile_cache() -> None:
    """Drop every cached table (tests and benchmarks that time cold compiles use this)."""
    with _cache_lock:
        _cache.clear()
    _zone_rules.cache_clear()


# --------------------------------------------------------------------------------------------
# Queries (§3.4, §8.2)


def _as_i64(values: ArrayLike) -> Int64Array:
    return np.asarray(values, dtype=np.int64)


class BusinessClock:
    """Queries on one compiled table. All methods take and return int64 arrays (or scalars).

    ``B`` and ``elapsed`` raise :class:`OutsideTableError` for instants outside
    ``[t_begin, t_end]``. ``Binv`` returns :data:`NAT` beyond the table and never loops.
    ``NAT`` inputs pass through as ``NAT``.
    """

    __slots__ = ("_cum_list", "_ends_list", "_starts_list", "table")

    def __init__(self, table: CompiledTable) -> None:
        self.table = table
        self._starts_list: list[int] | None = None
        self._ends_list: list[int] | None = None
        self._cum_list: list[int] | None = None

    def _check(self, t: Int64Array) -> BoolArray:
        nat = t == NAT
        bad = ((t < self.table.t_begin) | (t > self.table.t_end)) & ~nat
        if bad.any():
            first = int(t[bad].flat[0])
            raise OutsideTableError(
                f"instant {first} outside table [{self.table.t_begin}, {self.table.t_end}]"
            )
        return np.asarray(nat, dtype=np.bool_)

    def B(self, t: ArrayLike) -> Int64Array:
        """Business seconds from ``t_begin`` to ``t`` (continuous, non-decreasing)."""
        tt = _as_i64(t)
        nat = self._check(tt)
        tab = self.table
        k = np.searchsorted(tab.starts, tt, side="right") - 1
        kc = np.maximum(k, 0)
        if len(tab):
            out = tab.cum[kc] + np.clip(tt - tab.starts[kc], 0, tab.lengths[kc])
            out = np.where(k < 0, 0, out)
        else:
            out = np.zeros_like(tt)
        if nat.any():
            out = np.where(nat, NAT, out)
        return np.asarray(out, dtype=np.int64)

    def Binv(self, b: ArrayLike) -> Int64Array:
        """Earliest instant with ``B >= b``; ``t_begin`` for ``b <= 0``; NAT beyond the table.

        A total that runs out exactly at closing time maps to closing time (D5).
        """
        bb = _as_i64(b)
        tab = self.table
        nat = bb == NAT
        j = np.searchsorted(tab.cum, bb, side="left") - 1
        jc = np.clip(j, 0, max(len(tab) - 1, 0))
        if len(tab):
            out = tab.starts[jc] + (bb - tab.cum[jc])
        else:
            out = np.zeros_like(bb)
        out = np.where(bb <= 0, tab.t_begin, out)
        out = np.where((bb > tab.total) | nat, NAT, out)
        return out.astype(np.int64, copy=False)

    def elapsed(self, start: ArrayLike, end: ArrayLike) -> Int64Array:
        """``B(end) - B(start)``: business seconds in ``[start, end)`` (negative if reversed)."""
        s, e = self.B(start), self.B(end)
        out = e - s
        return np.where((s == NAT) | (e == NAT), NAT, out).astype(np.int64, copy=False)

    def due(self, start: ArrayLike, seconds: ArrayLike) -> Int64Array:
        """``max(start, Binv(B(start) + seconds))`` for ``seconds >= 0``; NAT if beyond the table.

        A zero target is due at its start even outside hours (C23).
        """
        r = _as_i64(seconds)
        if np.any(r < 0):
            raise ValueError("due() needs non-negative business seconds")
        s = _as_i64(start)
        bs = self.B(s)
        t = self.Binv(np.where(bs == NAT, NAT, bs + r))
        return np.where(t == NAT, NAT, np.maximum(s, t)).astype(np.int64, copy=False)

    add = due

    def warn_at(
        self,
        start: ArrayLike,
        target: ArrayLike,
        *,
        before: ArrayLike,
        elapsed: ArrayLike = 0,
    ) -> Int64Array:
        """Instant ``before`` business seconds ahead of the due instant, never before ``start``.

        ``max(start, Binv(B(start) + target - before - elapsed))`` (§5.7); NAT beyond the table.
        """
        s = _as_i64(start)
        bs = self.B(s)
        need = _as_i64(target) - _as_i64(before) - _as_i64(elapsed)
        t = self.Binv(np.where(bs == NAT, NAT, bs + need))
        return np.where(t == NAT, NAT, np.maximum(s, t)).astype(np.int64, copy=False)

    # Scalar fast paths for the reference evaluator: plain bisect on Python lists.
    def _lists(self) -> tuple[list[int], list[int], list[int]]:
        if self._starts_list is None or self._ends_list is None or self._cum_list is None:
            self._starts_list = self.table.starts.tolist()
            self._ends_list = self.table.ends.tolist()
            self._cum_list = self.table.cum.tolist()
        return self._starts_list, self._ends_list, self._cum_list

    def b_scalar(self, t: int) -> int:
        """Scalar ``B(t)``; same contract as :meth:`B`."""
        if not self.table.t_begin <= t <= self.table.t_end:
            raise OutsideTableError(
                f"instant {t} outside table [{self.table.t_begin}, {self.table.t_end}]"
            )
        starts, ends, cum = self._lists()
        k = bisect.bisect_right(starts, t) - 1
        if k < 0:
            return 0
        return cum[k] + min(max(t - starts[k], 0), ends[k] - starts[k])

    def binv_scalar(self, b: int) -> int:
        """Scalar ``Binv(b)``; NAT beyond the table."""
        if b <= 0:
            return self.table.t_begin
        if b > self.table.total:
            return NAT
        starts, _, cum = self._lists()
        j = bisect.bisect_left(cum, b) - 1
        return starts[j] + (b - cum[j])


class ClockSet:
    """Many compiled tables queried together (§8.2).

    Calendar ``i`` is ``tables[i]``; its intervals are stored shifted by ``i * DELTA`` so one
    ``searchsorted`` answers a batch that mixes calendars. The index :data:`ALWAYS_ON` (-1) is the
    24×7 UTC calendar with ``B(t) = t``. ``B`` differences are only meaningful within one calendar.
    """

    __slots__ = ("_clocks", "_cum", "_hi", "_len", "_lo", "_starts", "_t_begin", "_t_end", "_total")

    def __init__(self, tables: Sequence[CompiledTable]) -> None:
        self._clocks = tuple(BusinessClock(t) for t in tables)
        n = len(tables)
        offs = [i * DELTA for i in range(n)]
        self._starts = np.concatenate(
            [t.starts + o for t, o in zip(tables, offs, strict=True)] or [np.empty(0, np.int64)]
        ).astype(np.int64)
        self._cum = np.concatenate(
            [t.cum + o for t, o in zip(tables, offs, strict=True)] or [np.empty(0, np.int64)]
        ).astype(np.int64)
        self._len = np.concatenate([t.lengths for t in tables] or [np.empty(0, np.int64)]).astype(
            np.int64
        )
        sizes = np.array([len(t) for t in tables], dtype=np.int64)
        self._hi = np.cumsum(sizes).astype(np.int64)
        self._lo = (self._hi - sizes).astype(np.int64)
        self._t_begin = np.array([t.t_begin for t in tables], dtype=np.int64)
        self._t_end = np.array([t.t_end for t in tables], dtype=np.int64)
        self._total = np.array([t.total for t in tables], dtype=np.int64)

    @classmethod
    def from_mapping(cls, tables: Mapping[int, CompiledTable]) -> ClockSet:
        """Build from ``{index: table}`` with indices ``0..n-1``."""
        if sorted(tables) != list(range(len(tables))):
            raise ValueError("calendar indices must be 0..n-1")
        return cls([tables[i] for i in range(len(tables))])

    def __len__(self) -> int:
        return len(self._clocks)

    def clock(self, calendar: int) -> BusinessClock:
        """The single-calendar clock for index ``calendar`` (>= 0)."""
        return self._clocks[calendar]

    def table(self, calendar: int) -> CompiledTable:
        """The compiled table for index ``calendar`` (>= 0)."""
        return self._clocks[calendar].table

    def _pair(self, calendar: ArrayLike, values: ArrayLike) -> tuple[Int64Array, Int64Array]:
        c, v = np.broadcast_arrays(_as_i64(calendar), _as_i64(values))
        if np.any((c < ALWAYS_ON) | (c >= len(self._clocks))):
            raise ValueError("calendar index out of range")
        return c, v

    def check_range(self, calendar: ArrayLike, t: ArrayLike) -> None:
        """Raise :class:`OutsideTableError` if any non-NAT ``t`` is outside its calendar's table."""
        c, tt = self._pair(calendar, t)
        self._check(c, tt)

    def _check(self, c: Int64Array, tt: Int64Array) -> None:
        if len(self._clocks) == 0:
            return
        cc = np.maximum(c, 0)
        bad = (c >= 0) & (tt != NAT) & ((tt < self._t_begin[cc]) | (tt > self._t_end[cc]))
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            ci = int(c.ravel()[i])
            raise OutsideTableError(
                f"instant {int(tt.ravel()[i])} outside table {ci} "
                f"[{int(self._t_begin[ci])}, {int(self._t_end[ci])}]"
            )

    def B(self, calendar: ArrayLike, t: ArrayLike) -> Int64Array:
        """``B`` of each ``t`` on its calendar; ALWAYS_ON gives ``t``; NAT passes through."""
        c, tt = self._pair(calendar, t)
        self._check(c, tt)
        always = c == ALWAYS_ON
        if len(self._starts) == 0:
            out = np.where(always, tt, 0)
        else:
            cc = np.maximum(c, 0)
            q = tt + cc * DELTA
            k = np.searchsorted(self._starts, q, side="right") - 1
            kc = np.maximum(k, 0)
            inside = k >= self._lo[cc]  # a k before the calendar's block means B = 0
            val = self._cum[kc] - cc * DELTA + np.clip(q - self._starts[kc], 0, self._len[kc])
            out = np.where(always, tt, np.where(inside, val, 0))
        return np.where(tt == NAT, NAT, out).astype(np.int64, copy=False)

    def Binv(self, calendar: ArrayLike, b: ArrayLike) -> Int64Array:
        """Earliest instant with ``B >= b`` on each calendar; NAT beyond its table (§8.2)."""
        c, bb = self._pair(calendar, b)
        always = c == ALWAYS_ON
        nat = bb == NAT
        if len(self._clocks) == 0:
            return np.where(nat, NAT, bb).astype(np.int64, copy=False)
        cc = np.maximum(c, 0)
        if len(self._cum):
            q = bb + cc * DELTA
            j = np.searchsorted(self._cum, q, side="left") - 1
            jc = np.clip(j, 0, len(self._cum) - 1)
            val = self._starts[jc] - cc * DELTA + (q - self._cum[jc])
        else:
            val = np.zeros_like(bb)
        val = np.where(bb <= 0, self._t_begin[cc], val)
        val = np.where(bb > self._total[cc], NAT, val)
        out = np.where(always, bb, val)
        return np.where(nat, NAT, out).astype(np.int64, copy=False)

    def elapsed(self, calendar: ArrayLike, start: ArrayLike, end: ArrayLike) -> Int64Array:
        """``B(end) - B(start)`` per calendar."""
        s, e = self.B(calendar, start), self.B(calendar, end)
        return np.where((s == NAT) | (e == NAT), NAT, e - s).astype(np.int64, copy=False)

    def due(self, calendar: ArrayLike, start: ArrayLike, seconds: ArrayLike) -> Int64Array:
        """``max(start, Binv(B(start) + seconds))`` per calendar; NAT beyond the table."""
        r = _as_i64(seconds)
        if np.any(r < 0):
            raise ValueError("due() needs non-negative business seconds")
        return self.advance(calendar, start, r)

    def advance(self, calendar: ArrayLike, start: ArrayLike, seconds: ArrayLike) -> Int64Array:
        """Like :meth:`due` but allows negative ``seconds`` (then the result is ``start``)."""
        c, s = self._pair(calendar, start)
        bs = self.B(c, s)
        t = self.Binv(c, np.where(bs == NAT, NAT, bs + _as_i64(seconds)))
        return np.where(t == NAT, NAT, np.maximum(s, t)).astype(np.int64, copy=False)
