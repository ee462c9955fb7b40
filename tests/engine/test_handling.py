"""The handling review engine: worked vectors and properties over random event streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kontosjef.engine import ALWAYS_ON, NAT, ClockSet, compile_calendar
from kontosjef.engine.businesstime import Calendar, CalendarVersion
from kontosjef.engine.handling import (
    MIN_CASES,
    AccountFigures,
    BreachArrays,
    HandlingEvents,
    HandlingKind,
    account_figures,
    findings,
    handle_cases,
    percentile_of,
    variants,
)
from kontosjef.engine.sla import Author, Status
from tests.engine.support import MON, TUE, WED, at, span, weekly_hours

H = 3600
K = HandlingKind
CUSTOMER, EMPLOYEE, SYSTEM = Author.CUSTOMER, Author.AGENT, Author.SYSTEM


def office_clocks() -> ClockSet:
    """Calendar 0: Monday to Friday 09:00–17:00 UTC."""
    version = CalendarVersion(tz="UTC", weekly=weekly_hours(range(5), span("09:00", "17:00")))
    table = compile_calendar(Calendar((version,)), start=at(MON, "00:00"), end=at(WED, "23:00"))
    return ClockSet([table])


def utc(day: str, hm: str) -> int:
    return at(day, hm, "UTC")


def events(rows: list[tuple]) -> HandlingEvents:
    """Rows of (case, account, calendar, t, kind, actor, public, status, department, person,
    reason); seq is the row's position within its case."""
    seqs: dict[int, int] = {}
    seq = []
    for r in rows:
        seqs[r[0]] = seqs.get(r[0], 0) + 1
        seq.append(seqs[r[0]])
    cols = list(zip(*rows, strict=True))
    return HandlingEvents(
        case=np.array(cols[0]),
        account=np.array(cols[1]),
        calendar=np.array(cols[2]),
        t=np.array(cols[3]),
        seq=np.array(seq),
        kind=np.array(cols[4]),
        actor=np.array(cols[5]),
        public=np.array(cols[6]),
        status=np.array(cols[7]),
        department=np.array(cols[8]),
        person=np.array(cols[9]),
        reason=np.array(cols[10]),
    )


def ev(case, account, cal, t, kind, actor, *, public=False, status=-1, dept=-1, person=-1,
       reason=-1):  # fmt: skip
    return (case, account, cal, t, kind, actor, public, status, dept, person, reason)


# Case 1 (account 0, office hours): first line → second line → first line, a wait on the
# customer, a solve, a reopen by the customer, a second solve. Case 2 (account 0, 24×7): created
# in second line, touched by a note, still open. Case 3 (account 1): solved and closed in an hour.
WORKED = [
    ev(1, 0, 0, utc(MON, "09:00"), K.CREATED, CUSTOMER, dept=0),
    ev(1, 0, 0, utc(MON, "10:00"), K.STATUS, EMPLOYEE, status=Status.OPEN),
    ev(1, 0, 0, utc(MON, "10:30"), K.REPLY, EMPLOYEE, public=True),
    ev(1, 0, 0, utc(MON, "12:00"), K.HANDOFF, EMPLOYEE, dept=1, person=2, reason=0),
    ev(1, 0, 0, utc(MON, "16:00"), K.REPLY, EMPLOYEE, public=True),
    ev(1, 0, 0, utc(MON, "16:30"), K.STATUS, EMPLOYEE, status=Status.WAITING),
    ev(1, 0, 0, utc(TUE, "10:00"), K.REPLY, CUSTOMER, public=True),
    ev(1, 0, 0, utc(TUE, "11:00"), K.HANDOFF, EMPLOYEE, dept=0, person=1, reason=1),
    ev(1, 0, 0, utc(TUE, "12:00"), K.STATUS, EMPLOYEE, status=Status.SOLVED),
    ev(1, 0, 0, utc(TUE, "13:00"), K.REPLY, CUSTOMER, public=True),
    ev(1, 0, 0, utc(TUE, "14:00"), K.STATUS, EMPLOYEE, status=Status.SOLVED),
    ev(2, 0, ALWAYS_ON, utc(MON, "09:00"), K.CREATED, CUSTOMER, dept=1, person=2),
    ev(2, 0, ALWAYS_ON, utc(MON, "09:10"), K.NOTE, EMPLOYEE),
    ev(3, 1, 0, utc(MON, "09:00"), K.CREATED, EMPLOYEE, dept=0, person=1),
    ev(3, 1, 0, utc(MON, "09:30"), K.REPLY, EMPLOYEE, public=True),
    ev(3, 1, 0, utc(MON, "10:00"), K.STATUS, EMPLOYEE, status=Status.SOLVED),
    ev(3, 1, 0, utc(MON, "11:00"), K.STATUS, SYSTEM, status=Status.CLOSED),
    # After now: ignored.
    ev(3, 1, 0, utc(WED, "13:00"), K.NOTE, EMPLOYEE),
]
NOW = utc(WED, "12:00")
BREACHES = BreachArrays(
    case=np.array([1, 1, 99]),
    t=np.array([utc(MON, "11:00"), utc(TUE, "09:30"), utc(MON, "11:00")]),
    metric=np.array([0, 1, 0]),
)


@pytest.fixture(scope="module")
def worked():
    # Reversed, so the engine has to sort.
    return handle_cases(events(WORKED[::-1]), BREACHES, clocks=office_clocks(), now=NOW)


def test_it_folds_each_case_into_its_handling(worked):
    h = worked
    assert h.case.tolist() == [1, 2, 3]
    assert h.account.tolist() == [0, 0, 1]
    assert h.open_s.tolist() == [12 * H, 51 * H, 1 * H]
    assert h.waiting_s.tolist() == [int(1.5 * H), 0, 0]
    assert h.handoffs.tolist() == [2, 0, 0]
    assert h.transfers.tolist() == [2, 0, 0]
    assert h.department_returns.tolist() == [1, 0, 0]
    # The first holder of case 1 was nobody in first line: person 1 takes it for the first time.
    assert h.person_returns.tolist() == [0, 0, 0]
    assert h.reopens.tolist() == [1, 0, 0]
    assert h.waits.tolist() == [1, 0, 0]
    assert h.first_touch_s.tolist() == [H, 600, 1800]
    assert h.first_reply_s.tolist() == [int(1.5 * H), NAT, 1800]
    assert h.breaches.tolist() == [2, 0, 0]
    assert h.is_resolved.tolist() == [True, False, True]


def test_it_measures_time_per_department_and_person_in_business_time(worked):
    h = worked
    rows = {
        (int(r), int(d), int(p)): (int(o), int(w))
        for r, d, p, o, w in zip(
            h.time_row, h.time_department, h.time_person, h.time_open_s, h.time_waiting_s,
            strict=True,
        )
    }  # fmt: skip
    assert rows == {
        (0, 0, -1): (3 * H, 0),  # Monday 09–12, unassigned in first line
        (0, 0, 1): (2 * H, 0),  # Tuesday 11–12 and 13–14 with person 1
        (0, 1, 2): (7 * H, int(1.5 * H)),  # Monday 12–17, Tuesday 09–11, a wait inside
        (1, 1, 2): (51 * H, 0),  # 24×7 from Monday 09:00 to Wednesday 12:00
        (2, 0, 1): (1 * H, 0),
    }


def test_it_lists_hand_offs_with_returns_reasons_and_the_reply_after(worked):
    h = worked
    assert h.handoff_row.tolist() == [0, 0]
    assert h.handoff_from_department.tolist() == [0, 1]
    assert h.handoff_to_department.tolist() == [1, 0]
    assert h.handoff_from_person.tolist() == [-1, 2]
    assert h.handoff_to_person.tolist() == [2, 1]
    assert h.handoff_reason.tolist() == [0, 1]
    assert h.handoff_department_return.tolist() == [False, True]
    assert h.handoff_reply_s.tolist() == [4 * H, NAT]


def test_it_attributes_breaches_to_whoever_held_the_case(worked):
    h = worked
    assert h.breach_row.tolist() == [0, 0]  # the breach of an unknown case is left out
    assert h.breach_department.tolist() == [0, 1]
    assert h.breach_person.tolist() == [-1, 2]


def test_it_finds_each_cases_path_through_the_departments(worked):
    h = worked
    assert [h.paths[v] for v in h.variant] == [(0, 1, 0), (1,), (0,)]
    table = variants(h)
    assert [(v.path, v.cases, v.resolved, v.reopened, v.breached) for v in table] == [
        ((0,), 1, 1, 0, 0),
        ((1,), 1, 0, 0, 0),
        ((0, 1, 0), 1, 1, 1, 1),
    ]
    assert table[0].open_median_s == H
    assert table[1].open_median_s == NAT


def test_it_rolls_cases_up_per_account(worked):
    f = account_figures(worked, n_accounts=3, n_departments=2)
    v = {k: col.tolist() for k, col in f.values.items()}
    assert f.cases.tolist() == [2, 1, 0]
    assert v["handoffs_per_case"][:2] == [1.0, 0.0]
    assert v["ping_pong_share"][:2] == [0.5, 0.0]
    assert v["first_touch_median_s"][:2] == [(H + 600) / 2, 1800.0]
    assert v["first_reply_median_s"][:2] == [1.5 * H, 1800.0]
    assert v["handoff_reply_median_s"][0] == 4 * H
    assert math.isnan(v["handoff_reply_median_s"][1])
    assert v["open_median_s"][:2] == [12.0 * H, 1.0 * H]
    assert v["reopen_share"][:2] == [0.5, 0.0]
    assert v["waiting_share"][0] == pytest.approx(1.5 / 63)
    assert v["breaches_per_case"][:2] == [1.0, 0.0]
    assert all(math.isnan(col[2]) for col in v.values())  # an account without cases
    share = f.by_department["department_share"]
    assert share[0].tolist() == pytest.approx([5 / 63, 58 / 63, 0.0])
    assert share[1].tolist() == [1.0, 0.0, 0.0]
    assert f.by_department["department_breach_share"][0].tolist() == [0.5, 0.5, 0.0]


def test_it_refuses_a_case_that_does_not_start_with_its_creation():
    bad = events([ev(5, 0, ALWAYS_ON, 100, K.NOTE, EMPLOYEE)])
    with pytest.raises(ValueError, match="CREATED"):
        handle_cases(bad, clocks=ClockSet([]), now=200)


def test_it_reads_nothing_from_no_events():
    empty = HandlingEvents(**{k: np.empty(0, np.int64) for k in HandlingEvents.__slots__})
    h = handle_cases(empty, clocks=ClockSet([]), now=10)
    assert len(h) == 0
    f = account_figures(h, n_accounts=1, n_departments=1)
    assert f.cases.tolist() == [0]
    assert variants(h) == []


# Against the tier ---------------------------------------------------------------------------


def test_it_gives_the_mid_rank_percentile():
    tier = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert percentile_of(4.0, tier) == 87.5
    assert percentile_of(1.0, tier) == 12.5
    assert percentile_of(2.0, np.array([2.0, 2.0])) == 50.0
    assert math.isnan(percentile_of(math.nan, tier))


def synthetic_figures(n: int, hot: int) -> AccountFigures:
    """n accounts with ordinary figures; account `hot` hands off four times as often and its
    department 1 holds most of its time."""
    rng = np.random.default_rng(4)
    values = {
        key: rng.uniform(0.9, 1.1, n) * base
        for key, base in {
            "handoffs_per_case": 0.3, "transfers_per_case": 0.3, "ping_pong_share": 0.05,
            "first_touch_median_s": 3600.0, "first_reply_median_s": 3600.0,
            "handoff_reply_median_s": 7200.0, "open_median_s": 36000.0, "reopen_share": 0.03,
            "waiting_share": 0.1, "breaches_per_case": 0.1,
        }.items()
    }  # fmt: skip
    values["handoffs_per_case"][hot] = 1.2
    share = np.tile(np.array([0.7, 0.3, 0.0]), (n, 1))
    share[hot] = [0.2, 0.8, 0.0]
    by_department = {
        "department_share": share,
        "department_reply_median_s": np.full((n, 3), 3600.0),
        "department_breach_share": np.tile(np.array([0.5, 0.5, 0.0]), (n, 1)),
    }
    return AccountFigures(np.full(n, 10), values, by_department, 2)


def test_it_ranks_what_is_unusual_for_the_tier_first():
    figures = synthetic_figures(20, hot=7)
    out = findings(figures, account=7, tier=np.arange(20))
    top = out[:2]
    assert {(f.key, f.department) for f in top} == {
        ("handoffs_per_case", -1),
        ("department_share", 1),
    }
    first = next(f for f in top if f.key == "handoffs_per_case")
    assert first.percentile == pytest.approx(100 * 19.5 / 20)
    assert first.value == 1.2
    assert first.norm == pytest.approx(float(np.median(figures.values["handoffs_per_case"])))
    assert first.is_unusual
    # One finding per theme before any second: "transfers" says what "hand-offs" said.
    themes = [f.theme for f in out if f.is_unusual]
    distinct = len(set(themes))
    assert len(set(themes[:distinct])) == distinct


def test_it_leaves_accounts_with_too_few_cases_out_of_the_norm():
    figures = synthetic_figures(5, hot=0)
    cases = np.array([10, 1, 1, 1, 10])
    small = AccountFigures(cases, figures.values, figures.by_department, 2)
    f = next(f for f in findings(small, account=0, tier=np.arange(5)) if f.key == "reopen_share")
    assert f.peers == 2 == int((cases >= MIN_CASES).sum())


# Properties ---------------------------------------------------------------------------------


@st.composite
def streams(draw):
    """Random cases: a creation, then hand-offs, status moves, replies and notes."""
    rows = []
    n_cases = draw(st.integers(1, 6))
    for case in range(1, n_cases + 1):
        account = draw(st.integers(0, 2))
        cal = draw(st.sampled_from([0, ALWAYS_ON]))
        t = utc(MON, "08:00") + draw(st.integers(0, 20 * H))
        rows.append(ev(case, account, cal, t, K.CREATED, CUSTOMER, dept=draw(st.integers(-1, 2)),
                       person=draw(st.integers(-1, 3))))  # fmt: skip
        closed = False
        for _ in range(draw(st.integers(0, 12))):
            t += draw(st.integers(0, 6 * H))
            kind = draw(st.sampled_from([K.HANDOFF, K.STATUS, K.REPLY, K.NOTE]))
            actor = draw(st.sampled_from([CUSTOMER, EMPLOYEE, SYSTEM]))
            if kind == K.HANDOFF:
                rows.append(ev(case, account, cal, t, kind, EMPLOYEE,
                               dept=draw(st.integers(-1, 2)), person=draw(st.integers(-1, 3)),
                               reason=draw(st.integers(-1, 1))))  # fmt: skip
            elif kind == K.STATUS:
                status = draw(st.sampled_from(list(Status)))
                rows.append(ev(case, account, cal, t, kind, EMPLOYEE, status=status))
                closed = status == Status.CLOSED
            else:
                rows.append(ev(case, account, cal, t, kind, actor, public=draw(st.booleans())))
            if closed:
                break
    return rows


CLOCKS = office_clocks()


@settings(max_examples=60, deadline=None)
@given(streams(), st.randoms(use_true_random=False))
def test_it_does_not_depend_on_the_order_of_its_input(rows, rnd):
    now = utc(WED, "20:00")
    a = handle_cases(events(rows), clocks=CLOCKS, now=now)
    # Shuffling rows changes nothing but their order; seq comes from the unshuffled order.
    e = events(rows)
    perm = np.array(rnd.sample(range(len(rows)), len(rows)))
    b = handle_cases(
        HandlingEvents(**{k: getattr(e, k)[perm] for k in HandlingEvents.__slots__}),
        clocks=CLOCKS,
        now=now,
    )
    for name in ("case", "open_s", "waiting_s", "handoffs", "transfers", "department_returns",
                 "person_returns", "reopens", "first_touch_s", "first_reply_s", "time_open_s",
                 "handoff_reply_s", "variant"):  # fmt: skip
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name


@settings(max_examples=80, deadline=None)
@given(streams())
def test_it_keeps_its_totals_consistent(rows):
    now = utc(WED, "20:00")
    h = handle_cases(events(rows), clocks=CLOCKS, now=now)
    per_case = np.bincount(h.time_row, weights=h.time_open_s, minlength=len(h))
    assert per_case.tolist() == h.open_s.astype(float).tolist()
    waiting = np.bincount(h.time_row, weights=h.time_waiting_s, minlength=len(h))
    assert waiting.tolist() == h.waiting_s.astype(float).tolist()
    assert np.all(h.waiting_s <= h.open_s)
    assert np.all(h.open_s <= now - h.opened_at)
    assert np.all(h.transfers <= h.handoffs)
    assert np.all(h.department_returns <= h.transfers)
    ok = h.first_reply_s != NAT
    assert np.all(h.first_touch_s[ok] <= h.first_reply_s[ok])
    assert sum(v.cases for v in variants(h, limit=1000)) == len(h)
    f = account_figures(h, n_accounts=3, n_departments=3)
    share = f.by_department["department_share"]
    with_time = np.bincount(h.account, weights=h.open_s, minlength=3) > 0
    assert np.allclose(share[with_time].sum(axis=1), 1.0)
    for account in np.flatnonzero(f.cases).tolist():
        for item in findings(f, account=account, tier=np.arange(3)):
            assert 0.0 <= item.percentile <= 100.0
