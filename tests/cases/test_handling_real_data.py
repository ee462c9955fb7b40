"""The handling review on real customers: the help-desk log's busiest account, its figures
recomputed independently from the raw CSV with pandas."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from kontosjef.accounts.models import Account
from kontosjef.cases.handling import Window, handling_review
from kontosjef.people.models import User
from tests.factories import make_user
from tests.integrations.conftest import HELPDESK, needs_data

pytestmark = [needs_data, pytest.mark.django_db]

SOLVED = {"Resolve ticket", "RESOLVED", "DUPLICATE", "INVALID"}
STATUS = {"Take in charge ticket": "open", "Wait": "waiting", "Closed": "closed"}
STATUS.update(dict.fromkeys(SOLVED, "solved"))


def expected(log: pd.DataFrame, customer: str, end: pd.Timestamp) -> dict[str, object]:
    """What the mapping implies, case by case in time order up to the first close: who held each
    case (its workgroup), for how long while open (the account has no calendar: 24×7)."""
    d = log.assign(
        t=pd.to_datetime(log["Complete Timestamp"]).dt.tz_localize("Europe/Rome", ambiguous=True),
        row=range(len(log)),
    ).sort_values(["Case ID", "t", "row"])
    d = d[~d.groupby("Case ID").Activity.transform(
        lambda a: (a == "Closed").shift(fill_value=False).cummax())]  # fmt: skip
    first = d.groupby("Case ID").first()
    seconds: Counter[str] = Counter()
    handoffs = returns = 0
    paths: Counter[tuple[str, ...]] = Counter()
    for case_id in first[first.customer == customer].index:
        rows = d[d["Case ID"] == case_id]
        group = rows.workgroup.iloc[0] or None
        status, assignee, since = "new", None, rows.t.iloc[0]
        path = [group]
        for activity, resource, workgroup, t in zip(
            rows.Activity, rows.Resource, rows.workgroup, rows.t, strict=True
        ):
            if status not in ("solved", "closed"):
                seconds[group] += (t - since).total_seconds()
            since = t
            if activity == "Take in charge ticket" and resource and resource != assignee:
                handoffs += 1
                assignee, new_group = resource, workgroup or group
                if new_group != group:
                    returns += new_group in path
                    path.append(new_group)
                group = new_group
            status = STATUS.get(activity, status)
        if status not in ("solved", "closed"):
            seconds[group] += (end - since).total_seconds()
        paths[tuple(path)] += 1
    return {"seconds": seconds, "handoffs": handoffs, "returns": returns, "paths": paths}


def test_it_reviews_the_busiest_customer_like_the_raw_log():
    call_command("import", "eventlog", str(HELPDESK), "--mapping", "helpdesk-italy",
                 "--report", "/dev/null", stdout=StringIO())  # fmt: skip
    log = pd.read_csv(HELPDESK, dtype=str, keep_default_na=False)
    customer = log.groupby("Case ID").customer.first().value_counts().idxmax()
    account = Account.objects.get(external_source="helpdesk-italy", external_id=customer)
    times = pd.to_datetime(log["Complete Timestamp"]).dt.tz_localize("Europe/Rome")
    start = times.min().to_pydatetime() - timedelta(seconds=1)
    end = times.max().to_pydatetime() + timedelta(seconds=1)
    manager = make_user(username="mona", role=User.Role.MANAGER)
    review = handling_review(manager, account, Window(start=start, end=end))
    want = expected(log, customer, pd.Timestamp(end))

    assert review.cases > 200
    assert review.handoffs == want["handoffs"] > 0
    assert review.department_returns == want["returns"]
    held = {d.name: d.open_seconds for d in review.departments if d.open_seconds}
    assert held == {f"Workgroup {g}": round(s) for g, s in want["seconds"].items() if round(s)}
    paths = want["paths"]
    top = {
        tuple(name.removeprefix("Workgroup ") for name in v.path): v.cases for v in review.variants
    }
    assert top == {path: paths[path] for path in top}
    # The most common paths, most cases first: none left out has more cases than one shown.
    assert [v.cases for v in review.variants] == sorted(top.values(), reverse=True)
    assert max((n for p, n in paths.items() if p not in top), default=0) <= min(top.values())
    assert sum(paths.values()) == review.cases
    # Ranked against the tier: every percentile is a percentile, the norm has peers.
    assert review.peers > 10
    assert all(0 <= f.percentile <= 100 for f in review.findings)
