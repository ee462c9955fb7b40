"""Account KPIs, expectations, health score and trend (``kontosjef.engine.health``).

Hand-computed examples for every KPI, the half-open window, the no-data rules, a property test
against a naive per-account loop, and the score and trend formulas against their definitions.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kontosjef.engine.businesstime import NAT
from kontosjef.engine.health import (
    DEFAULT_EXPECTATIONS,
    METRIC_KEYS,
    STANDARD_WINDOWS,
    AccountExpectations,
    CaseColumns,
    CycleColumns,
    Evaluation,
    Expectation,
    FeedbackColumns,
    HealthConfig,
    Kpi,
    KpiTable,
    compute_kpis,
    compute_standard_kpis,
    evaluate_expectations,
    expectations_for_accounts,
    health_scores,
    health_trend,
)
from kontosjef.engine.sla import Metric

DAY = 86_400
HOUR = 3_600
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: window start in the hand-computed examples
T1 = T0 + 30 * DAY  # window end
FRT, NRT, TRT = int(Metric.FRT), int(Metric.NRT), int(Metric.TRT)

_CASE_DEFAULTS: dict[str, Any] = {
    "account": 0,
    "opened_at": T0 + DAY,
    "solved_at": NAT,
    "closed_at": NAT,
    "is_open": True,
    "priority": 2,
    "reopen_count": 0,
    "handoff_count": 0,
    "requester": -1,
    "resolution_business_s": NAT,
    "backlog_age_business_s": NAT,
}
_CYCLE_DEFAULTS: dict[str, Any] = {
    "account": 0,
    "metric": FRT,
    "stop_at": NAT,
    "breached": False,
    "breached_at": NAT,
    "priority": 2,
    "is_cancelled": False,
}


def make_cases(*rows: Mapping[str, Any]) -> CaseColumns:
    """Cases from keyword rows; unspecified columns take the defaults above."""
    full = [{**_CASE_DEFAULTS, "case": i + 1, **r} for i, r in enumerate(rows)]
    if not full:
        return CaseColumns.empty()
    return CaseColumns(**{k: np.array([r[k] for r in full]) for k in full[0]})


def make_cycles(*rows: Mapping[str, Any]) -> CycleColumns:
    full = [{**_CYCLE_DEFAULTS, "case": i + 1, **r} for i, r in enumerate(rows)]
    if not full:
        return CycleColumns.empty()
    return CycleColumns(**{k: np.array([r[k] for r in full]) for k in full[0]})


def solved(at: int, **extra: Any) -> dict[str, Any]:
    return {"solved_at": at, "is_open": False, **extra}


def kpis(
    cases: CaseColumns | None = None,
    cycles: CycleColumns | None = None,
    *,
    n_accounts: int = 1,
    feedback: FeedbackColumns | None = None,
) -> KpiTable:
    return compute_kpis(
        cases if cases is not None else CaseColumns.empty(),
        cycles if cycles is not None else CycleColumns.empty(),
        n_accounts=n_accounts,
        window_start=T0,
        window_end=T1,
        feedback=feedback,
    )


# --------------------------------------------------------------------------------------------
# KPIs, hand-computed


def test_it_measures_attainment_per_metric_over_cycles_stopped_in_the_window() -> None:
    table = kpis(
        cycles=make_cycles(
            {"stop_at": T0},  # met, on the window's first second
            {"stop_at": T0 + DAY},  # met
            {"stop_at": T0 + 2 * DAY},  # met
            {"stop_at": T0 + 3 * DAY, "breached": True, "breached_at": T0 + 2 * DAY},
            {"stop_at": T0 - 1},  # met before the window
            {"stop_at": T1, "breached": True, "breached_at": T0},  # stops on the end: excluded
            {"stop_at": NAT, "breached": True, "breached_at": T0 + DAY},  # still open
            {"metric": TRT, "stop_at": T0 + DAY, "breached": True, "breached_at": T0},
        )
    )
    assert table.frt_attainment.tolist() == [0.75]
    assert table.trt_attainment.tolist() == [0.0]
    assert np.isnan(table.nrt_attainment).all()


def test_it_ignores_cancelled_cycles_unless_their_breach_stands() -> None:
    table = kpis(
        cycles=make_cycles(
            {"stop_at": T0 + DAY},
            {"stop_at": T0 + DAY, "is_cancelled": True},
            {"stop_at": T0 + DAY, "is_cancelled": True, "breached": True, "breached_at": T0},
        )
    )
    assert table.frt_attainment.tolist() == [0.5]


def test_it_counts_breaches_by_priority_when_the_breach_happens() -> None:
    table = kpis(
        cycles=make_cycles(
            {"priority": 0, "breached": True, "breached_at": T0 + DAY},  # still running late
            {"priority": 0, "breached": True, "breached_at": T0, "stop_at": T0 + DAY},
            {"priority": 0, "metric": NRT, "breached": True, "breached_at": T0 + 5},
            {"priority": 0, "breached": True, "breached_at": T0 - 1, "stop_at": T0 + DAY},
            {"priority": 1, "breached": True, "breached_at": T1},  # on the window end
            {"priority": 3, "breached": True, "breached_at": T1 - 1},
            {"priority": 2, "stop_at": T0 + DAY},  # met
        )
    )
    assert [table.breaches_p1[0], table.breaches_p2[0], table.breaches_p3[0]] == [3, 0, 0]
    assert table.breaches_p4.tolist() == [1]


def test_it_counts_the_backlog_at_window_end_with_its_business_age() -> None:
    table = kpis(
        make_cases(
            {"backlog_age_business_s": 10 * HOUR},
            {"backlog_age_business_s": 30 * HOUR, "priority": 0},
            {"backlog_age_business_s": 20 * HOUR, "priority": 0},
            {"backlog_age_business_s": 50 * HOUR, "opened_at": T0 - 90 * DAY},
            {"backlog_age_business_s": HOUR, "opened_at": T1},  # opened on the window end
            solved(T1 + HOUR),  # open at the window end, solved since: counted, no age
            solved(T1 - 1),  # solved before the window end
            {"closed_at": T1 - 1, "is_open": False},  # closed without a solve instant
        )
    )
    assert table.backlog_count.tolist() == [5]
    assert table.backlog_age_median.tolist() == [25 * HOUR]
    assert table.backlog_age_max.tolist() == [50 * HOUR]
    assert table.backlog_p1_age_max.tolist() == [30 * HOUR]


def test_it_gives_median_and_p90_time_to_resolution_of_cases_solved_in_the_window() -> None:
    table = kpis(
        make_cases(
            *[solved(T0 + DAY, resolution_business_s=h * HOUR) for h in (50, 10, 40, 20, 30)],
            solved(T0 - 1, resolution_business_s=1000 * HOUR),  # solved before the window
            solved(T0 + DAY),  # no resolution time measured
        )
    )
    assert table.ttr_median.tolist() == [30 * HOUR]
    # numpy's linear rule: position 0.9 · 4 = 3.6 between 40 h and 50 h.
    assert table.ttr_p90[0] == pytest.approx(46 * HOUR)


def test_it_measures_the_reopen_rate_of_cases_solved_in_the_window() -> None:
    table = kpis(
        make_cases(
            solved(T0 + DAY, reopen_count=2),
            solved(T0 + DAY),
            solved(T0 + DAY),
            solved(T0 + DAY),
            solved(T0 - DAY, reopen_count=1),  # outside the window
            {"reopen_count": 1},  # reopened and open again: not solved in the window
        )
    )
    assert table.reopen_rate.tolist() == [0.25]


def test_it_counts_cases_and_hand_offs_per_case_opened_in_the_window() -> None:
    table = kpis(
        make_cases(
            {"handoff_count": 3},
            {"handoff_count": 0},
            {"handoff_count": 1},
            {"handoff_count": 9, "opened_at": T0 - 1},
        )
    )
    assert table.case_count.tolist() == [3]
    assert table.handoffs_per_case[0] == pytest.approx(4 / 3)


def test_it_counts_cases_per_distinct_requester() -> None:
    table = kpis(
        make_cases(
            {"requester": 7},
            {"requester": 7},
            {"requester": 7},
            {"requester": 8},
            {"requester": -1},  # no requester: in case_count, not in cases per contact
            {"requester": 8, "account": 1},  # the same contact id in another account
            {"requester": 9, "account": 1, "opened_at": T0 - 1},
        ),
        n_accounts=2,
    )
    assert table.cases_per_contact.tolist() == [2.0, 1.0]
    assert table.case_count.tolist() == [5, 1]


def test_it_averages_csat_and_scores_nps_from_answers_in_the_window() -> None:
    nan = float("nan")
    feedback = FeedbackColumns(
        account=np.array([0, 0, 0, 0, 0]),
        answered_at=np.array([T0, T0 + 1, T0 + 2, T0 + 3, T1]),
        csat=np.array([4.0, 5.0, nan, nan, 1.0]),
        nps=np.array([10.0, 9.0, 7.0, 3.0, 0.0]),
    )
    table = kpis(feedback=feedback)
    assert table.csat.tolist() == [4.5]
    assert table.nps.tolist() == [25.0]  # 2 promoters, 1 passive, 1 detractor of 4


def test_it_treats_windows_as_half_open() -> None:
    table = kpis(make_cases({"opened_at": T0}, {"opened_at": T1 - 1}, {"opened_at": T1}))
    assert table.case_count.tolist() == [2]
    assert table.backlog_count.tolist() == [2]


def test_it_reports_no_data_as_nan_and_absent_counts_as_zero() -> None:
    table = kpis(
        make_cases(solved(T0 + DAY, resolution_business_s=HOUR, requester=1)),
        make_cycles({"stop_at": T0 + DAY}),
        n_accounts=3,
    )
    for name in Kpi:
        column = table.as_dict()[name]
        assert column.shape == (3,)
        if column.dtype.kind == "i":
            assert column[1:].tolist() == [0, 0], name
        else:
            assert np.isnan(column[1:]).all(), name


def test_it_handles_no_accounts_at_all() -> None:
    table = kpis(n_accounts=0)
    assert len(table) == 0
    assert all(v.shape == (0,) for v in table.as_dict().values())


def test_it_computes_the_standard_windows_ending_now() -> None:
    now = T1
    cases = make_cases(
        {"opened_at": now - 3 * DAY}, {"opened_at": now - 20 * DAY}, {"opened_at": now - 60 * DAY}
    )
    tables = compute_standard_kpis(cases, CycleColumns.empty(), n_accounts=1, now=now)
    assert sorted(tables) == list(STANDARD_WINDOWS)
    assert [tables[d].case_count[0] for d in STANDARD_WINDOWS] == [1, 2, 3]
    assert tables[7].window_start == now - 7 * DAY
    assert tables[7].window_end == now


def test_it_names_every_kpi_as_a_table_field() -> None:
    table_fields = [f.name for f in fields(KpiTable)][2:-1]  # window bounds first, samples last
    assert table_fields == [k.value for k in Kpi] == list(KpiTable.names)


def test_it_uses_the_sla_engine_metric_codes() -> None:
    assert [m.name.lower() for m in sorted(Metric)] == list(METRIC_KEYS)
    assert [int(m) for m in sorted(Metric)] == list(range(len(METRIC_KEYS)))
    assert {f"{k}_attainment" for k in METRIC_KEYS} <= set(KpiTable.names)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: make_cases({"priority": 4}), "priority"),
        (lambda: make_cycles({"metric": 8}), "metric"),
        (lambda: make_cases({"solved_at": float("nan")}), "dtype"),
        (lambda: make_cases({"opened_at": NAT}), "opened_at"),
        (
            lambda: CycleColumns(
                **{**{k: np.zeros(2, int) for k in _CYCLE_DEFAULTS}, "case": np.zeros(3, int)}
            ),
            "rows",
        ),  # fmt: skip
        (lambda: kpis(make_cases({"account": 1})), "account"),
        (lambda: kpis(make_cycles({"account": -1})), "account"),
        (
            lambda: compute_kpis(
                make_cases(), make_cycles(), n_accounts=1, window_start=T1, window_end=T0
            ),
            "window",
        ),
        (
            lambda: FeedbackColumns(
                np.array([0]), np.array([T0]), np.array([5.0]), np.array([11.0])
            ),
            "nps",
        ),  # fmt: skip
    ],
)
def test_it_rejects_bad_input_with_a_clear_error(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --------------------------------------------------------------------------------------------
# KPIs against a naive per-account loop


def _naive_kpis(
    cases: CaseColumns, cycles: CycleColumns, fb: FeedbackColumns, n: int, ws: int, we: int
) -> dict[str, list[float]]:
    """Each KPI from its definition in docs/health.md, one account and one row at a time."""

    def inside(t: int) -> bool:
        return t != NAT and ws <= t < we

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    def quantile(values: list[int], q: float) -> float:
        return float(np.percentile(values, 100 * q)) if values else float("nan")

    c = {f.name: getattr(cases, f.name).tolist() for f in fields(CaseColumns)}
    y = {f.name: getattr(cycles, f.name).tolist() for f in fields(CycleColumns)}
    out: dict[str, list[float]] = {k.value: [] for k in Kpi}
    for a in range(n):
        for code, key in enumerate(METRIC_KEYS):
            met = late = 0
            for i in range(len(cycles)):
                if y["account"][i] != a or y["metric"][i] != code or not inside(y["stop_at"][i]):
                    continue
                if y["breached"][i]:
                    late += 1
                elif not y["is_cancelled"][i]:
                    met += 1
            out[f"{key}_attainment"].append(ratio(met, met + late))
        # Breach counts need an SLA clock that ran in the window (open, or stopped in or after it).
        ran = any(
            y["account"][i] == a
            and (
                y["stop_at"][i] == NAT
                or y["stop_at"][i] >= ws
                or (y["breached"][i] and inside(y["breached_at"][i]))
            )
            for i in range(len(cycles))
        )
        for p in range(4):
            count = sum(
                1
                for i in range(len(cycles))
                if y["account"][i] == a
                and y["priority"][i] == p
                and y["breached"][i]
                and inside(y["breached_at"][i])
            )
            out[f"breaches_p{p + 1}"].append(count if ran else float("nan"))
        backlog, ages, p1_ages, ttr, reopened, n_solved = 0, [], [], [], 0, 0
        opened, handoffs, with_requester, requesters = 0, 0, 0, set()
        for i in range(len(cases)):
            if c["account"][i] != a:
                continue
            resolved = c["solved_at"][i] if c["solved_at"][i] != NAT else c["closed_at"][i]
            if c["opened_at"][i] < we and (c["is_open"][i] or (resolved != NAT and resolved >= we)):
                backlog += 1
                age = c["backlog_age_business_s"][i]
                if age != NAT:
                    ages.append(age)
                    if c["priority"][i] == 0:
                        p1_ages.append(age)
            if inside(c["solved_at"][i]):
                n_solved += 1
                reopened += c["reopen_count"][i] > 0
                if c["resolution_business_s"][i] != NAT:
                    ttr.append(c["resolution_business_s"][i])
            if inside(c["opened_at"][i]):
                opened += 1
                handoffs += c["handoff_count"][i]
                if c["requester"][i] >= 0:
                    with_requester += 1
                    requesters.add(c["requester"][i])
        out["backlog_count"].append(backlog)
        out["backlog_age_median"].append(statistics.median(ages) if ages else float("nan"))
        out["backlog_age_max"].append(max(ages) if ages else float("nan"))
        out["backlog_p1_age_max"].append(max(p1_ages) if p1_ages else float("nan"))
        out["ttr_median"].append(quantile(ttr, 0.5))
        out["ttr_p90"].append(quantile(ttr, 0.9))
        out["reopen_rate"].append(ratio(reopened, n_solved))
        out["handoffs_per_case"].append(ratio(handoffs, opened))
        out["cases_per_contact"].append(ratio(with_requester, len(requesters)))
        out["case_count"].append(opened)
        answers = [
            i for i in range(len(fb)) if fb.account[i] == a and inside(int(fb.answered_at[i]))
        ]
        csat = [float(fb.csat[i]) for i in answers if not np.isnan(fb.csat[i])]
        nps = [float(fb.nps[i]) for i in answers if not np.isnan(fb.nps[i])]
        out["csat"].append(statistics.fmean(csat) if csat else float("nan"))
        promoters = sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)
        out["nps"].append(100 * promoters / len(nps) if nps else float("nan"))
    return out


# Instants on a coarse grid around the window so that boundaries are hit often.
_WS, _WE = 1_000, 1_010
_instant = st.integers(996, 1_013)
_maybe = st.one_of(st.just(NAT), _instant, _instant)  # NAT one time in three
_duration = st.one_of(st.just(NAT), st.integers(0, 50), st.integers(0, 50))


@st.composite
def _data(draw: st.DrawFn) -> tuple[int, CaseColumns, CycleColumns, FeedbackColumns]:
    n = draw(st.integers(1, 4))
    acc = st.integers(0, n - 1)
    case_rows = draw(
        st.lists(
            st.fixed_dictionaries({
                "account": acc,
                "opened_at": _instant,
                "solved_at": _maybe,
                "closed_at": _maybe,
                "is_open": st.booleans(),
                "priority": st.integers(0, 3),
                "reopen_count": st.integers(0, 2),
                "handoff_count": st.integers(0, 3),
                "requester": st.integers(-1, 3),
                "resolution_business_s": _duration,
                "backlog_age_business_s": _duration,
            }),
            max_size=40,
        )
    )  # fmt: skip
    cycle_rows = draw(
        st.lists(
            st.fixed_dictionaries({
                "account": acc,
                "metric": st.integers(0, len(METRIC_KEYS) - 1),
                "stop_at": _maybe,
                "breached_at": _maybe,
                "priority": st.integers(0, 3),
                "is_cancelled": st.booleans(),
            }),
            max_size=40,
        )
    )  # fmt: skip
    for r in cycle_rows:
        r["breached"] = r["breached_at"] != NAT
    fb_rows = draw(
        st.lists(
            st.tuples(
                acc,
                _instant,
                st.one_of(st.just(float("nan")), st.integers(1, 5).map(float)),
                st.one_of(st.just(float("nan")), st.integers(0, 10).map(float)),
            ),
            max_size=10,
        )
    )
    feedback = FeedbackColumns(
        *(np.array([r[i] for r in fb_rows], dtype=float if i >= 2 else np.int64) for i in range(4))
    )
    return n, make_cases(*case_rows), make_cycles(*cycle_rows), feedback


@settings(max_examples=300, deadline=None)
@given(_data())
def test_it_agrees_with_a_naive_per_account_loop(
    data: tuple[int, CaseColumns, CycleColumns, FeedbackColumns],
) -> None:
    n, cases, cycles, feedback = data
    table = compute_kpis(
        cases, cycles, n_accounts=n, window_start=_WS, window_end=_WE, feedback=feedback
    )
    expected = _naive_kpis(cases, cycles, feedback, n, _WS, _WE)
    for name, column in table.as_dict().items():
        np.testing.assert_allclose(column, expected[name], rtol=1e-12, equal_nan=True, err_msg=name)


# --------------------------------------------------------------------------------------------
# Expectations


def _one_kpi_table(kpi: str, values: Sequence[float], window_days: int = 30) -> KpiTable:
    """A KPI table with ``kpi`` set to ``values`` and NaN (or 0) elsewhere."""
    n = len(values)
    cols: dict[str, Any] = {}
    for f in fields(KpiTable)[2:-1]:
        integer = f.name.startswith(("breaches", "backlog_count", "case_count"))
        cols[f.name] = np.zeros(n, np.int64) if integer else np.full(n, np.nan)
    cols[kpi] = np.asarray(values, dtype=cols[kpi].dtype)
    return KpiTable(window_start=T1 - window_days * DAY, window_end=T1, **cols)


def _evaluate(exp: Expectation, values: Sequence[float]) -> Evaluation:
    table = _one_kpi_table(exp.kpi, values, exp.window_days)
    return evaluate_expectations(
        {exp.window_days: table}, AccountExpectations.uniform([exp], len(values))
    )


@pytest.mark.parametrize(
    ("comparator", "met"),
    [
        (">=", [False, True, True]),
        (">", [False, False, True]),
        ("<=", [True, True, False]),
        ("<", [True, False, False]),
    ],
)
def test_it_compares_kpis_with_each_comparator(comparator: str, met: list[bool]) -> None:
    exp = Expectation("e", Kpi.FRT_ATTAINMENT, comparator, 0.9, 30)
    result = _evaluate(exp, [0.8, 0.9, 1.0])
    assert result.met[:, 0].tolist() == met
    assert (result.unmet == ~result.met).all()


def test_it_gives_a_relative_shortfall_by_default() -> None:
    at_least = Expectation("a", Kpi.FRT_ATTAINMENT, ">=", 0.8, 30)
    assert _evaluate(at_least, [0.6, 0.0, 0.9]).shortfall[:, 0].tolist() == pytest.approx(
        [0.25, 1.0, 0.0]
    )
    at_most = Expectation("b", Kpi.TTR_MEDIAN, "<=", 10 * HOUR, 30)
    assert _evaluate(at_most, [15 * HOUR, 40 * HOUR, 5 * HOUR]).shortfall[:, 0].tolist() == [
        0.5,
        1.0,
        0.0,
    ]


def test_it_scales_the_shortfall_by_the_expectation_scale() -> None:
    exp = Expectation("p1", Kpi.BREACHES_P1, "<=", 0, 30, scale=4.0)
    assert _evaluate(exp, [0, 1, 3, 9]).shortfall[:, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    zero = Expectation("z", Kpi.BREACHES_P1, "<=", 0, 30)
    assert _evaluate(zero, [0, 1]).shortfall[:, 0].tolist() == [0.0, 1.0]


def test_it_treats_a_strict_miss_at_the_threshold_as_unmet_without_shortfall() -> None:
    result = _evaluate(Expectation("s", Kpi.CSAT, ">", 4.0, 30), [4.0])
    assert result.met.tolist() == [[False]]
    assert result.shortfall.tolist() == [[0.0]]


def test_it_counts_no_data_as_met_and_says_so() -> None:
    result = _evaluate(Expectation("c", Kpi.CSAT, ">=", 4.2, 30), [float("nan"), 3.0])
    assert result.met[:, 0].tolist() == [True, False]
    assert result.has_data[:, 0].tolist() == [False, True]
    assert result.shortfall[0, 0] == 0.0


def test_it_applies_per_account_thresholds_and_skips_accounts_without_the_expectation() -> None:
    exp = Expectation("f", Kpi.FRT_ATTAINMENT, ">=", 0.9, 30)
    table = _one_kpi_table(Kpi.FRT_ATTAINMENT, [0.85, 0.85, 0.5])
    plan = AccountExpectations((exp,), np.array([[0.9], [0.8], [np.nan]]))
    result = evaluate_expectations({30: table}, plan)
    assert result.met[:, 0].tolist() == [False, True, True]
    assert result.applies[:, 0].tolist() == [True, True, False]
    assert result.value[:, 0].tolist() == [0.85, 0.85, 0.5]


def test_it_refuses_an_expectation_whose_window_was_not_computed() -> None:
    exp = Expectation("f", Kpi.FRT_ATTAINMENT, ">=", 0.9, 14)
    with pytest.raises(ValueError, match="14-day"):
        evaluate_expectations(
            {30: _one_kpi_table(Kpi.FRT_ATTAINMENT, [1.0])},
            AccountExpectations.uniform([exp], 1),
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kpi": "happiness"}, "unknown KPI"),
        ({"comparator": "=="}, "comparator"),
        ({"severity": "fatal"}, "severity"),
        ({"weight": -1.0}, "weight"),
        ({"window_days": 0}, "window_days"),
        ({"scale": 0.0}, "scale"),
        ({"threshold": float("nan")}, "threshold"),
    ],
)
def test_it_rejects_malformed_expectations(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "id": "x",
        "kpi": "csat",
        "comparator": ">=",
        "threshold": 4.0,
        "window_days": 30,
    }
    with pytest.raises(ValueError, match=message):
        Expectation(**{**base, **kwargs})


def test_it_builds_thresholds_from_tier_defaults_with_per_account_overrides() -> None:
    custom = Expectation("acme_csat", Kpi.CSAT, ">=", 4.8, 90)
    plan = expectations_for_accounts(
        ["strategic", "enterprise", "standard", "standard"],
        overrides={(1, "frt_attainment_30d"): 0.97, (2, "reopen_rate_30d"): None,
                   (3, "acme_csat"): 4.7},
        extra=[custom],
    )  # fmt: skip
    col = {eid: j for j, eid in enumerate(plan.ids)}
    frt = plan.thresholds[:, col["frt_attainment_30d"]]
    assert frt.tolist() == [0.95, 0.97, 0.85, 0.85]
    reopen = plan.thresholds[:, col["reopen_rate_30d"]]
    assert reopen[:2].tolist() == [0.10, 0.10]
    assert np.isnan(reopen[2]) and reopen[3] == 0.15
    nrt = plan.thresholds[:, col["nrt_attainment_30d"]]
    assert np.isnan(nrt[2:]).all()  # not a standard-tier expectation
    acme = plan.thresholds[:, col["acme_csat"]]
    assert np.isnan(acme[:3]).all() and acme[3] == 4.7


def test_it_refuses_unknown_tiers_overrides_and_conflicting_rules() -> None:
    with pytest.raises(ValueError, match="tier"):
        expectations_for_accounts(["platinum"])
    with pytest.raises(ValueError, match="unknown expectation"):
        expectations_for_accounts(["standard"], overrides={(0, "nope"): 1.0})
    with pytest.raises(ValueError, match="out of range"):
        expectations_for_accounts(["standard"], overrides={(1, "frt_attainment_30d"): 1.0})
    a = Expectation("x", Kpi.CSAT, ">=", 4.0, 30)
    b = Expectation("x", Kpi.CSAT, ">=", 4.0, 90)
    with pytest.raises(ValueError, match="differs"):
        expectations_for_accounts(["s", "t"], by_tier={"s": [a], "t": [b]})


def test_it_starts_every_tier_with_stricter_standards_for_bigger_customers() -> None:
    assert set(DEFAULT_EXPECTATIONS) == {"strategic", "enterprise", "standard"}
    by_tier = {t: {e.id: e for e in exps} for t, exps in DEFAULT_EXPECTATIONS.items()}
    frt = [by_tier[t]["frt_attainment_30d"].threshold for t in ("strategic", "enterprise")]
    assert frt == [0.95, 0.90] and by_tier["standard"]["frt_attainment_30d"].threshold == 0.85
    for exps in DEFAULT_EXPECTATIONS.values():
        assert {e.window_days for e in exps} <= set(STANDARD_WINDOWS)
        assert {"frt_attainment_30d", "p1_breaches_30d", "reopen_rate_30d"} <= {e.id for e in exps}
    for eid, strategic in by_tier["strategic"].items():
        if eid in by_tier["standard"]:
            standard = by_tier["standard"][eid].threshold
            if strategic.comparator == ">=":
                assert strategic.threshold >= standard, eid
            else:
                assert strategic.threshold <= standard, eid


# --------------------------------------------------------------------------------------------
# Health score


def _evaluation(applies: Any, shortfall: Any, exps: Sequence[Expectation]) -> Evaluation:
    applies = np.asarray(applies, dtype=bool)
    shortfall = np.where(applies, np.asarray(shortfall, dtype=float), 0.0)
    nan = np.full(applies.shape, np.nan)
    return Evaluation(tuple(exps), nan, nan, applies, applies, shortfall == 0, shortfall)


NO_FLOORS = HealthConfig(miss_floors={"info": 0, "warning": 0, "critical": 0})


def test_it_scores_health_from_weighted_shortfalls() -> None:
    exps = [
        Expectation("frt", Kpi.FRT_ATTAINMENT, ">=", 0.95, 30, "critical", 3.0),  # 3 · 2 = 6
        Expectation("ttr", Kpi.TTR_MEDIAN, "<=", 8 * HOUR, 30, "warning", 1.0),  # 1 · 1 = 1
        Expectation("nps", Kpi.NPS, ">=", 30, 90, "info", 4.0),  # 4 · 0.25 = 1
    ]
    evaluation = _evaluation([[1, 1, 1], [1, 1, 0]], [[0.5, 1.0, 0.0], [0, 1, 0]], exps)
    scores = health_scores(evaluation, NO_FLOORS)
    # Account 0: stakes 75, 12.5, 12.5; loses 37.5 + 12.5. Account 1: stakes 6/7 and 1/7 of 100.
    assert scores.points_at_stake[0].tolist() == [75.0, 12.5, 12.5]
    assert scores.points_lost[0].tolist() == [37.5, 12.5, 0.0]
    assert scores.score[0] == 50.0
    assert scores.score[1] == pytest.approx(600 / 7)
    assert scores.expectation_ids == ("frt", "ttr", "nps")
    assert scores.measured.tolist() == [3, 2]


def test_it_makes_a_wide_miss_cost_at_least_its_severity_floor() -> None:
    exps = [
        Expectation("frt", Kpi.FRT_ATTAINMENT, ">=", 0.95, 30, "critical", 3.0),  # s = 6
        Expectation("ttr", Kpi.TTR_MEDIAN, "<=", 8 * HOUR, 30, "warning", 1.0),  # s = 1
        Expectation("nps", Kpi.NPS, ">=", 30, 90, "info", 4.0),  # s = 1
    ]
    # Account 0 misses the warning completely: its stake is 12.5 points, its floor 50.
    # Account 1 misses the critical one by half: stake 75 × 0.5 beats the floor 75 × 0.5? Equal.
    # Account 2 misses the info one by half: max(12.5, 10) × 0.5.
    evaluation = _evaluation(
        [[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[0, 1, 0], [0.5, 0, 0], [0, 0, 0.5]], exps
    )
    scores = health_scores(evaluation)
    assert scores.points_lost[0].tolist() == [0.0, 50.0, 0.0]
    assert scores.points_lost[1].tolist() == [37.5, 0.0, 0.0]
    assert scores.points_lost[2].tolist() == [0.0, 0.0, 6.25]
    assert scores.score.tolist() == [50.0, 62.5, 93.75]


def test_it_scales_losses_down_together_when_they_pass_100() -> None:
    exps = [Expectation(f"e{i}", Kpi.CSAT, ">=", 4.0, 30, "critical") for i in range(3)]
    scores = health_scores(_evaluation([[1, 1, 1]], [[1.0, 1.0, 0.5]], exps))
    # Each would cost 75, 75 and 37.5 points: 187.5 in all, scaled to 100.
    assert scores.score[0] == 0.0
    np.testing.assert_allclose(scores.points_lost[0], [40.0, 40.0, 20.0])


def test_it_leaves_expectations_without_data_out_of_the_score() -> None:
    exps = [
        Expectation("frt", Kpi.FRT_ATTAINMENT, ">=", 0.95, 30, "critical", 3.0),
        Expectation("csat", Kpi.CSAT, ">=", 4.0, 90, "warning", 2.0),
    ]
    applies = np.array([[True, True], [True, True]])
    has_data = np.array([[True, False], [False, False]])
    shortfall = np.array([[0.0, 0.0], [0.0, 0.0]])
    nan = np.full(applies.shape, np.nan)
    evaluation = Evaluation(tuple(exps), nan, nan, applies, has_data, shortfall == 0, shortfall)
    scores = health_scores(evaluation)
    # Account 0: only first reply is measured, and it carries all 100 points.
    assert scores.points_at_stake[0].tolist() == [100.0, 0.0]
    assert scores.score[0] == 100.0
    # Account 1: nothing measured, so no score at all (not a perfect one).
    assert np.isnan(scores.score[1])
    assert scores.points_lost[1].tolist() == [0.0, 0.0]
    assert scores.measured.tolist() == [1, 0]


def test_it_scores_zero_when_everything_fails_completely_and_none_when_nothing_applies() -> None:
    exps = [Expectation(f"e{i}", Kpi.CSAT, ">=", 4.0, 30, sev) for i, sev in
            enumerate(("info", "warning", "critical"))]  # fmt: skip
    scores = health_scores(_evaluation([[1, 1, 1], [0, 0, 0]], [[1, 1, 1], [0, 0, 0]], exps))
    assert scores.score[0] == 0.0
    assert np.isnan(scores.score[1])
    assert scores.points_lost[1].tolist() == [0.0, 0.0, 0.0]


def test_it_takes_weights_and_severity_factors_from_the_config() -> None:
    exps = [
        Expectation("a", Kpi.CSAT, ">=", 4.0, 30, "warning", 1.0),
        Expectation("b", Kpi.NPS, ">=", 30, 30, "critical", 1.0),
    ]
    evaluation = _evaluation([[1, 1]], [[1.0, 0.0]], exps)
    assert health_scores(evaluation, NO_FLOORS).score[0] == pytest.approx(100 * 2 / 3)
    assert health_scores(evaluation).score[0] == 50.0
    config = HealthConfig(
        severity_factors={"info": 0, "warning": 1, "critical": 1}, miss_floors=NO_FLOORS.miss_floors
    )
    assert health_scores(evaluation, config).score[0] == 50.0
    config = HealthConfig(weights={"a": 0.0})
    assert health_scores(evaluation, config).score[0] == 100.0
    with pytest.raises(ValueError, match="severity_factors"):
        HealthConfig(severity_factors={"warning": 1.0})
    with pytest.raises(ValueError, match="miss_floors"):
        HealthConfig(miss_floors={"warning": 1.0})
    with pytest.raises(ValueError, match="between 0 and 100"):
        HealthConfig(miss_floors={"info": 1, "warning": 1, "critical": 101})


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_it_keeps_scores_in_bounds_and_explains_every_lost_point(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_acc, n_exp = int(rng.integers(1, 20)), int(rng.integers(1, 8))
    exps = [
        Expectation(f"e{j}", Kpi.CSAT, ">=", 4.0, 30, str(rng.choice(["info", "warning",
                    "critical"])), float(rng.choice([0.0, 0.5, 1.0, 3.0])))
        for j in range(n_exp)
    ]  # fmt: skip
    applies = rng.random((n_acc, n_exp)) < 0.7
    shortfall = np.where(rng.random((n_acc, n_exp)) < 0.3, 1.0, rng.random((n_acc, n_exp)))
    scores = health_scores(_evaluation(applies, shortfall, exps))
    scored = ~np.isnan(scores.score)
    assert ((scores.score[scored] >= 0) & (scores.score[scored] <= 100)).all()
    np.testing.assert_allclose(
        scores.points_lost.sum(axis=1)[scored], 100 - scores.score[scored], atol=1e-9
    )
    assert (scores.points_lost[~scored] == 0).all()
    stake = scores.points_at_stake.sum(axis=1)
    assert (np.isclose(stake, 100) | np.isclose(stake, 0)).all()
    assert (scores.points_lost[~applies] == 0).all()
    # No score exactly where nothing measured carries weight.
    weight = np.array([e.weight for e in exps])
    assert (scored == ((applies * weight).sum(axis=1) > 0)).all()


def test_it_scores_accounts_end_to_end_with_the_default_expectations() -> None:
    now = T1
    # Account 0 (strategic) answers 2 of 4 P1 cases late; account 1 (standard) is quiet.
    cycles = make_cycles(
        *[{"stop_at": now - DAY, "priority": 0} for _ in range(2)],
        *[{"stop_at": now - DAY, "priority": 0, "breached": True, "breached_at": now - 2 * DAY}
          for _ in range(2)],
    )  # fmt: skip
    tables = compute_standard_kpis(make_cases(), cycles, n_accounts=2, now=now)
    plan = expectations_for_accounts(["strategic", "standard"])
    evaluation = evaluate_expectations(tables, plan)
    scores = health_scores(evaluation)
    ids = list(plan.ids)
    assert not evaluation.met[0, ids.index("frt_attainment_30d")]
    assert not evaluation.met[0, ids.index("p1_breaches_30d")]
    assert evaluation.met[1].all()
    # The quiet account had no SLA clock and no case: nothing measured, so no score.
    assert not evaluation.has_data[1].any()
    # Half the P1 cases late on a strategic account misses two critical standards widely.
    assert 0 <= scores.score[0] < 65 and np.isnan(scores.score[1])
    lost = dict(zip(ids, scores.points_lost[0], strict=True))
    assert lost["frt_attainment_30d"] > 0 and lost["p1_breaches_30d"] > 0
    assert sum(lost.values()) == pytest.approx(100 - scores.score[0])


# --------------------------------------------------------------------------------------------
# Trend


def test_it_fits_the_trend_slope_like_polyfit() -> None:
    rng = np.random.default_rng(7)
    days = np.arange(20_000, 20_030)
    scores = 70 + rng.normal(0, 5, (50, 30)) + np.linspace(-0.5, 0.5, 50)[:, None] * (days - 20_000)
    scores[rng.random(scores.shape) < 0.3] = np.nan
    scores[0] = np.nan
    scores[1, 1:] = np.nan
    slope = health_trend(days, scores)
    assert np.isnan(slope[:2]).all()
    for a in range(2, 50):
        have = ~np.isnan(scores[a])
        expected = np.polyfit(days[have], scores[a, have], 1)[0]
        assert slope[a] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_it_fits_only_the_last_30_days() -> None:
    days = np.arange(100, 160)
    scores = np.where(days < 130, 100.0, 100.0 - 2.0 * (days - 130))[None, :]
    assert health_trend(days, scores)[0] == pytest.approx(-2.0)
    assert health_trend(days, scores, end_day=129)[0] == pytest.approx(0.0)
    assert health_trend(days, scores, days=2)[0] == pytest.approx(-2.0)
    assert np.isnan(health_trend(days, scores, days=1)[0])
    assert health_trend(np.empty(0, int), np.empty((3, 0))).shape == (3,)


def test_it_matches_the_worked_example_in_the_docs() -> None:
    # docs/health.md: a strategic account at 0.85 first-reply attainment loses 12.4 points.
    plan = expectations_for_accounts(["strategic"])
    tables = {d: _one_kpi_table(Kpi.FRT_ATTAINMENT, [0.85], d) for d in STANDARD_WINDOWS}
    scores = health_scores(evaluate_expectations(tables, plan))
    frt = list(plan.ids).index("frt_attainment_30d")
    # First-reply attainment and the P1 breach count (0, met) have data: s = 6 each, so first
    # reply has 50 points at stake. The shortfall 0.10 / 0.20 = 0.5 costs max(50, 75) × 0.5.
    assert scores.points_at_stake[0, frt] == pytest.approx(50.0)
    assert scores.points_lost[0, frt] == pytest.approx(37.5)
    assert scores.score[0] == pytest.approx(62.5)


def test_it_weighs_a_miss_on_few_cases_by_its_credibility() -> None:
    # One late first reply out of 4 (75 %) and 25 late out of 100 (75 %): the same miss, but only
    # the second is certain enough to count nearly in full: n / (n + 5).
    cycles = make_cycles(
        *[{"stop_at": T0 + DAY, "breached": k == 0, "breached_at": T0 if k == 0 else NAT}
          for k in range(4)],
        *[{"account": 1, "stop_at": T0 + DAY, "breached": k < 25,
           "breached_at": T0 if k < 25 else NAT} for k in range(100)],
    )  # fmt: skip
    table = kpis(cycles=cycles, n_accounts=2)
    assert table.samples["frt_attainment"].tolist() == [4, 100]
    exp = Expectation("frt", Kpi.FRT_ATTAINMENT, ">=", 0.95, 30, "critical", 3.0, 0.20)
    plan = AccountExpectations.uniform([exp], 2)
    evaluation = evaluate_expectations({30: table}, plan)
    assert evaluation.samples is not None and evaluation.samples[:, 0].tolist() == [4, 100]
    assert evaluation.shortfall[:, 0].tolist() == pytest.approx([4 / 9, 100 / 105])
    raw = evaluate_expectations({30: table}, plan, credibility=0)
    assert raw.shortfall[:, 0].tolist() == pytest.approx([1.0, 1.0])
    assert not evaluation.met[:, 0].any()
    with pytest.raises(ValueError, match="credibility"):
        evaluate_expectations({30: table}, plan, credibility=-1)


def test_it_counts_facts_in_full_whatever_the_sample() -> None:
    cases = make_cases({"backlog_age_business_s": 200 * HOUR})
    exp = Expectation("age", Kpi.BACKLOG_AGE_MAX, "<=", 100 * HOUR, 7, "warning")
    evaluation = evaluate_expectations(
        {7: kpis(cases=cases)}, AccountExpectations.uniform([exp], 1)
    )
    assert evaluation.shortfall[0, 0] == 1.0
    assert evaluation.samples is not None and evaluation.samples[0, 0] == -1
