"""KPIs on real customers: the help-desk log's busiest account, checked against figures computed
independently from the raw CSV with pandas."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from kontosjef.accounts.health import kpis_for_range
from kontosjef.accounts.models import Account
from tests.integrations.conftest import HELPDESK, needs_data

pytestmark = [needs_data, pytest.mark.django_db]

SOLVED = {"Resolve ticket", "RESOLVED", "DUPLICATE", "INVALID"}


def expected(log: pd.DataFrame, customer: str) -> dict[str, float]:
    """Per case, in time order and up to its first close: the status the mapping implies."""
    d = log.assign(t=pd.to_datetime(log["Complete Timestamp"]), row=range(len(log)))
    d = d.sort_values(["Case ID", "t", "row"])
    d = d[~d.groupby("Case ID").Activity.transform(
        lambda a: (a == "Closed").shift(fill_value=False).cummax())]  # fmt: skip
    first = d.groupby("Case ID").first()
    cases = first[first.customer == customer].index
    reopened = solved = backlog = handoffs = 0
    for case_id in cases:
        rows = d[d["Case ID"] == case_id]
        status, assignee, was_solved, reopens = "new", None, False, 0
        for activity, resource in zip(rows.Activity, rows.Resource, strict=True):
            if activity == "Take in charge ticket":
                if resource != assignee:
                    handoffs += 1
                    assignee = resource
                if status == "solved":
                    reopens += 1
                status = "open"
            elif activity == "Wait":
                if status == "solved":
                    reopens += 1
                status = "waiting_on_customer"
            elif activity in SOLVED:
                status, was_solved = "solved", True
            elif activity == "Closed":
                status, was_solved = "closed", True
        solved += was_solved and status in ("solved", "closed")
        reopened += was_solved and status in ("solved", "closed") and reopens > 0
        backlog += status not in ("solved", "closed")
    return {
        "case_count": len(cases),
        "reopen_rate": reopened / solved,
        "handoffs_per_case": handoffs / len(cases),
        "backlog_count": backlog,
    }


def test_it_computes_the_busiest_customers_kpis_like_the_raw_log():
    call_command("import", "eventlog", str(HELPDESK), "--mapping", "helpdesk-italy",
                 "--report", "/dev/null", stdout=StringIO())  # fmt: skip
    log = pd.read_csv(HELPDESK, dtype=str, keep_default_na=False)
    first_customer = log.groupby("Case ID").customer.first()
    customer = first_customer.value_counts().idxmax()
    account = Account.objects.get(external_source="helpdesk-italy", external_id=customer)
    times = pd.to_datetime(log["Complete Timestamp"]).dt.tz_localize("Europe/Rome")
    start = times.min().to_pydatetime() - timedelta(seconds=1)
    end = times.max().to_pydatetime() + timedelta(seconds=1)
    ids, table = kpis_for_range(start=start, end=end)
    i = ids.index(account.pk)
    want = expected(log, customer)
    assert table.case_count[i] == want["case_count"] > 200
    assert table.backlog_count[i] == want["backlog_count"]
    assert table.reopen_rate[i] == pytest.approx(want["reopen_rate"])
    assert table.handoffs_per_case[i] == pytest.approx(want["handoffs_per_case"])
