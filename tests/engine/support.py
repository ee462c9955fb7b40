"""Builders and checks shared by the engine tests."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kontosjef.engine.businesstime import (
    BusinessClock,
    Calendar,
    CalendarVersion,
    ClockSet,
    CompiledTable,
    Span,
    compile_calendar,
    to_instant,
    weekly_hours,
)
from kontosjef.engine.reference import evaluate_reference
from kontosjef.engine.sla import (
    Author,
    CycleRecord,
    CycleTable,
    Event,
    EventArrays,
    Metric,
    MetricPolicy,
    Options,
    Policy,
    Status,
    evaluate,
)

H = 3600
MON, TUE, WED, THU, FRI = "2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"
SAT0, SUN0 = "2025-01-04", "2025-01-05"  # the weekend before MON


def at(day: str, hm: str, tz: str = "Europe/London") -> int:
    """Instant of local ``day hm`` (first occurrence if ambiguous)."""
    naive = datetime.fromisoformat(f"{day} {hm}")
    return to_instant(naive.replace(tzinfo=ZoneInfo(tz)))


def iso(t: int, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(int(t), ZoneInfo(tz)).isoformat()


def hours(h: float) -> int:
    return round(h * H)


def span(start: str, end: str) -> Span:
    from kontosjef.engine.businesstime import parse_clock

    return (parse_clock(start), parse_clock(end))


def version(
    tz: str,
    days: range | list[int],
    *spans: Span,
    holidays: frozenset[date] = frozenset(),
) -> CalendarVersion:
    return CalendarVersion(tz=tz, weekly=weekly_hours(days, *spans), holidays=holidays)


def table(v: CalendarVersion | Calendar, first: int = 2000, last: int = 2030) -> CompiledTable:
    cal = v if isinstance(v, Calendar) else Calendar.single(v)
    return compile_calendar(
        cal,
        start=to_instant(datetime(first, 1, 1, tzinfo=ZoneInfo("UTC"))),
        end=to_instant(datetime(last, 12, 31, tzinfo=ZoneInfo("UTC"))),
    )


def clock(v: CalendarVersion | Calendar, first: int = 2000, last: int = 2030) -> BusinessClock:
    return BusinessClock(table(v, first, last))


LONDON_9_17 = version("Europe/London", range(5), span("09:00", "17:00"))
LONDON_24X7 = version("Europe/London", range(7), span("00:00", "24:00"))

FRT_T = {1: hours(1), 2: hours(4), 3: hours(8)}
RES_T = {1: hours(4), 2: hours(16), 3: hours(40)}


def default_policy(**overrides: MetricPolicy) -> Policy:
    metrics = {
        Metric.FRT: MetricPolicy(FRT_T),
        Metric.NRT: MetricPolicy(FRT_T),
        Metric.AWT: MetricPolicy(RES_T),
        Metric.RWT: MetricPolicy(RES_T),
        Metric.TRT: MetricPolicy(RES_T),
    }
    metrics.update({Metric[k]: v for k, v in overrides.items()})
    return Policy(metrics)


class CaseBuilder:
    """Events of one case with automatic, increasing ``seq``."""

    def __init__(self, case: int = 1) -> None:
        self.case = case
        self.events: list[Event] = []

    def _seq(self) -> int:
        return len(self.events)

    def created(
        self,
        t: int,
        *,
        priority: int = 2,
        policy: int = 0,
        calendar: int = 0,
        by: Author = Author.CUSTOMER,
        public: bool = True,
    ) -> CaseBuilder:
        self.events.append(
            Event.created(
                self.case,
                t,
                self._seq(),
                priority=priority,
                policy=policy,
                calendar=calendar,
                by=by,
                public=public,
            )  # fmt: skip
        )
        return self

    def status(self, t: int, status: Status) -> CaseBuilder:
        self.events.append(Event.status_to(self.case, t, self._seq(), status))
        return self

    def opened(self, t: int, **kw: int) -> CaseBuilder:
        """ "open <t>": created at t and set to open."""
        return self.created(t, **kw).status(t, Status.OPEN)  # type: ignore[arg-type]

    def agent(self, t: int, *, public: bool = True) -> CaseBuilder:
        self.events.append(
            Event.reply(self.case, t, self._seq(), author=Author.AGENT, public=public)
        )
        return self

    def customer(self, t: int, *, public: bool = True) -> CaseBuilder:
        self.events.append(
            Event.reply(self.case, t, self._seq(), author=Author.CUSTOMER, public=public)
        )
        return self

    def priority(self, t: int, priority: int) -> CaseBuilder:
        self.events.append(Event.priority_to(self.case, t, self._seq(), priority))
        return self

    def policy(self, t: int, policy: int) -> CaseBuilder:
        self.events.append(Event.policy_to(self.case, t, self._seq(), policy))
        return self

    def calendar(self, t: int, calendar: int) -> CaseBuilder:
        self.events.append(Event.calendar_to(self.case, t, self._seq(), calendar))
        return self

    def arrays(self) -> EventArrays:
        return EventArrays.from_events(self.events)


def assert_tables_equal(a: CycleTable, b: CycleTable) -> None:
    """Column-by-column equality, NaN == NaN for ``percent``."""
    assert len(a) == len(b), (a.records(), b.records())
    for ra, rb in zip(a.records(), b.records(), strict=True):
        pa, pb = ra.percent, rb.percent
        same_percent = (pa is None and pb is None) or (
            pa is not None and pb is not None and math.isclose(pa, pb, rel_tol=1e-12)
        )
        assert same_percent, (ra, rb)
        names = [f.name for f in fields(ra) if f.name != "percent"]
        assert {k: getattr(ra, k) for k in names} == {k: getattr(rb, k) for k in names}, (ra, rb)


def run(
    events: EventArrays | CaseBuilder,
    *,
    now: int,
    policies: list[Policy] | None = None,
    tables: list[CompiledTable] | None = None,
    options: Options | None = None,
) -> CycleTable:
    """Evaluate with the vectorised and the reference evaluator, check they agree."""
    ev = events.arrays() if isinstance(events, CaseBuilder) else events
    pols = policies if policies is not None else [default_policy()]
    clocks = ClockSet(tables if tables is not None else [table(LONDON_9_17, 2024, 2026)])
    fast = evaluate(ev, policies=pols, clocks=clocks, now=now, options=options)
    slow = evaluate_reference(ev, policies=pols, clocks=clocks, now=now, options=options)
    assert_tables_equal(fast, slow)
    return fast


def cycle(tab: CycleTable, metric: Metric, index: int = 0, case: int | None = None) -> CycleRecord:
    rows = [
        r
        for r in tab.records()
        if r.metric == metric and r.cycle_index == index and (case is None or r.case == case)
    ]
    assert len(rows) == 1, rows
    return rows[0]


def cycles(tab: CycleTable, metric: Metric) -> list[CycleRecord]:
    return [r for r in tab.records() if r.metric == metric]
