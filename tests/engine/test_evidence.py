"""The cases behind a KPI (``kpi_evidence``): chosen by the rows the KPI counts, so an attention
item's evidence never contradicts its figure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from kontosjef.engine.businesstime import NAT
from kontosjef.engine.health import Kpi, KpiTable, compute_kpis, kpi_evidence
from tests.engine.test_health import (
    _WE,
    _WS,
    DAY,
    HOUR,
    T0,
    T1,
    TRT,
    _data,
    make_cases,
    make_cycles,
    solved,
)


def evidence(kpi: str, cases=None, cycles=None, **kw):
    return kpi_evidence(
        kpi,
        cases if cases is not None else make_cases(),
        cycles if cycles is not None else make_cycles(),
        window_start=T0,
        window_end=T1,
        **kw,
    )


def test_it_names_the_breached_cases_of_an_attainment_newest_breach_first() -> None:
    cycles = make_cycles(
        {"stop_at": T0 + DAY},  # case 1: met
        {"stop_at": T0 + 3 * DAY, "breached": True, "breached_at": T0 + 2 * DAY},  # case 2
        {"stop_at": T0 + 5 * DAY, "breached": True, "breached_at": T0 + 4 * DAY},  # case 3
        {"stop_at": T0 - 1, "breached": True, "breached_at": T0 - 2},  # case 4: before
        {"stop_at": T0 + DAY, "breached": True, "breached_at": T0, "metric": TRT},  # case 5
    )
    ev = evidence(Kpi.FRT_ATTAINMENT, cycles=cycles)
    assert ev.basis == "breached"
    assert ev.for_account(0) == ([3, 2], [T0 + 4 * DAY, T0 + 2 * DAY])
    assert evidence(Kpi.TRT_ATTAINMENT, cycles=cycles).for_account(0)[0] == [5]


def test_it_names_the_slowest_solved_cases_for_a_median_resolution_time() -> None:
    cases = make_cases(
        solved(T0 + DAY, resolution_business_s=5 * HOUR),
        solved(T0 + DAY, resolution_business_s=50 * HOUR),
        solved(T0 - DAY, resolution_business_s=500 * HOUR),  # solved before the window
        solved(T0 + 2 * DAY, resolution_business_s=20 * HOUR),
        {"account": 1, **solved(T0 + DAY, resolution_business_s=HOUR)},
    )
    ev = evidence(Kpi.TTR_MEDIAN, cases=cases)
    assert ev.basis == "slowest_solved"
    assert ev.for_account(0) == ([2, 4, 1], [50 * HOUR, 20 * HOUR, 5 * HOUR])
    assert ev.for_account(1) == ([5], [HOUR])
    assert evidence(Kpi.TTR_MEDIAN, cases=cases, limit=1).for_account(0)[0] == [2]


def test_it_names_the_oldest_open_cases_for_backlog_ages_and_p1_only_for_the_p1_figure() -> None:
    cases = make_cases(
        {"backlog_age_business_s": 10 * HOUR, "priority": 0},
        {"backlog_age_business_s": 90 * HOUR},
        solved(T0 + DAY, backlog_age_business_s=NAT),
    )
    assert evidence(Kpi.BACKLOG_AGE_MAX, cases=cases).for_account(0)[0] == [2, 1]
    assert evidence(Kpi.BACKLOG_P1_AGE_MAX, cases=cases).for_account(0)[0] == [1]


def test_it_names_reopened_and_handed_off_cases() -> None:
    cases = make_cases(
        solved(T0 + DAY, reopen_count=2, handoff_count=1),
        solved(T0 + DAY),
        {"handoff_count": 4},
    )
    assert evidence(Kpi.REOPEN_RATE, cases=cases).for_account(0) == ([1], [2.0])
    assert evidence(Kpi.HANDOFFS_PER_CASE, cases=cases).for_account(0) == ([3, 1], [4.0, 1.0])


def test_it_lists_each_case_once_even_with_several_breached_cycles() -> None:
    cycles = make_cycles(
        {"case": 7, "priority": 0, "breached": True, "breached_at": T0 + DAY},
        {"case": 7, "priority": 0, "breached": True, "breached_at": T0 + 2 * DAY, "metric": TRT},
        {"case": 8, "priority": 0, "breached": True, "breached_at": T0 + 3 * DAY},
    )
    assert evidence(Kpi.BREACHES_P1, cycles=cycles).for_account(0)[0] == [8, 7]


def test_it_has_no_cases_behind_survey_scores_and_refuses_unknown_kpis() -> None:
    ev = evidence(Kpi.CSAT)
    assert ev.basis == "" and ev.for_account(0) == ([], [])
    with pytest.raises(ValueError, match="unknown KPI"):
        evidence("health")


@settings(max_examples=80, deadline=None)
@given(_data())
def test_it_only_names_cases_the_kpi_counts(data) -> None:
    n, cases, cycles, _feedback = data
    table = compute_kpis(cases, cycles, n_accounts=n, window_start=_WS, window_end=_WE)
    for kpi in KpiTable.names:
        ev = kpi_evidence(kpi, cases, cycles, window_start=_WS, window_end=_WE, limit=5)
        assert (np.diff(ev.account) >= 0).all()
        for a in range(n):
            ids, _figures = ev.for_account(a)
            assert len(ids) == len(set(ids)) <= 5
            value = table.value(kpi)[a]
            if kpi.endswith("_attainment") or kpi.startswith("breaches_p"):
                # Breached cases only where the KPI saw a breach.
                if ids:
                    assert not np.isnan(value)
                    assert value < 1 if kpi.endswith("_attainment") else value > 0
            if kpi.startswith(("backlog_age", "backlog_p1", "ttr_")) and ids:
                assert not np.isnan(value)
            if kpi == Kpi.FRT_ATTAINMENT and not np.isnan(value) and value < 1:
                assert ids, "an attainment below 100 % has a breached case behind it"
