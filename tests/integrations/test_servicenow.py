"""The ServiceNow importer on the real UCI incident audit log."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from kontosjef.cases.models import Case, CaseEvent
from kontosjef.integrations.models import ImportRun
from tests.integrations.conftest import UCI, database_fingerprint, needs_data

pytestmark = needs_data

STATUS = {"New": "new", "Active": "open", "Awaiting User Info": "waiting_on_customer",
          "Awaiting Evidence": "waiting_on_customer", "Awaiting Vendor": "on_hold",
          "Awaiting Problem": "on_hold", "Resolved": "solved", "Closed": "closed"}  # fmt: skip


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return pd.read_csv(UCI, dtype=str, keep_default_na=False)


def expected_events(df: pd.DataFrame) -> Counter[str]:
    """Event counts computed independently from the raw log with pandas: snapshots ordered by
    sys_mod_count, duplicates and everything after the first Closed dropped, then changes of
    mapped status (the broken '-100' keeps the previous one), priority and group/assignee."""
    d = df.assign(
        smc=df.sys_mod_count.astype(int),
        row=range(len(df)),
        upd=pd.to_datetime(df.sys_updated_at, format="%d/%m/%Y %H:%M"),
    )
    d = d.sort_values(["number", "smc", "upd", "row"]).drop_duplicates(
        ["number", "smc"], keep="last"
    )
    d["status"] = d.incident_state.map(STATUS)
    d["status"] = d.groupby("number").status.ffill().fillna("new")
    closed_before = d.groupby("number").status.transform(
        lambda s: (s == "closed").shift(fill_value=False).cummax()
    )
    d = d[~closed_before]
    first = ~d.number.duplicated()
    prev = d.groupby("number")[["status", "priority", "assignment_group", "assigned_to"]].shift()
    prev.loc[first, "status"] = "new"
    prev.loc[first, "priority"] = d.loc[first, "priority"]
    prev.loc[first, ["assignment_group", "assigned_to"]] = d.loc[
        first, ["assignment_group", "assigned_to"]
    ].to_numpy()
    return Counter({
        "created": int(first.sum()),
        "status": int((d.status != prev.status).sum()),
        "priority": int((d.priority != prev.priority).sum()),
        "handoff": int(((d.assignment_group != prev.assignment_group)
                        | (d.assigned_to != prev.assigned_to)).sum()),
    })  # fmt: skip


@pytest.fixture(scope="module")
def imported(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("import", "servicenow", str(UCI), "--report", "/dev/null", stdout=out)
        yield out.getvalue()
        call_command("flush", "--no-input")


@pytest.mark.django_db
def test_it_imports_every_incident_of_the_uci_log(imported, uci):
    assert Case.objects.filter(external_source="servicenow").count() == 24_918
    assert "141,712 rows read" in imported
    assert "rejected: 0 rows" in imported
    run = ImportRun.objects.get()
    assert (run.outcome, run.rows, run.figures["cases created"]) == ("committed", 141_712, 24_918)


@pytest.mark.django_db
def test_it_reconstructs_the_events_the_log_implies(imported, uci):
    got = Counter(CaseEvent.objects.values_list("kind", flat=True))
    assert got == expected_events(uci)


@pytest.mark.django_db
def test_it_keeps_the_sources_sla_verdict_and_state(imported, uci):
    last = uci.assign(smc=uci.sys_mod_count.astype(int)).sort_values("smc").groupby("number").last()
    # made_sla of the last snapshot is the verdict
    made = (last.made_sla == "true").to_dict()
    got = dict(Case.objects.values_list("external_id", "source_sla_met"))
    assert got == made
    assert set(Case.objects.values_list("status", flat=True)) == {"closed"}
    reopened = last.reopen_count.astype(int)
    assert Case.objects.filter(reopen_count__gt=0).count() == pytest.approx(
        int((reopened > 0).sum()), rel=0.05
    )


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_file_is_imported_again(imported):
    before = database_fingerprint()
    out = StringIO()
    call_command("import", "servicenow", str(UCI), "--report", "/dev/null", stdout=out)
    assert database_fingerprint()[:-1] == before[:-1]  # only an audit entry is added
    assert "24,918 cases unchanged" in out.getvalue()
