"""The event-log importer on the real help-desk log, in CSV and in XES."""

from __future__ import annotations

import gzip
from collections import Counter
from io import StringIO
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from kontosjef.accounts.models import Account
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.integrations.batch import ImportFileError
from kontosjef.integrations.eventlog import parse_eventlog
from kontosjef.integrations.mapping import load_mapping
from tests.integrations.conftest import HELPDESK, database_fingerprint, needs_data

pytestmark = needs_data


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return pd.read_csv(HELPDESK, dtype=str, keep_default_na=False)


def imported_counts() -> tuple[int, int, Counter[str]]:
    return (
        Case.objects.count(),
        Account.objects.count(),
        Counter(CaseEvent.objects.filter(kind="status").values_list("to_value", flat=True)),
    )


@pytest.mark.django_db
def test_it_imports_the_helpdesk_log_with_its_customers(log):
    out = StringIO()
    call_command(
        "import",
        "eventlog",
        str(HELPDESK),
        "--mapping",
        "helpdesk-italy",
        "--report",
        "/dev/null",
        stdout=out,
    )
    cases, accounts, statuses = imported_counts()
    assert (cases, accounts) == (4_580, 397) == (log["Case ID"].nunique(), log.customer.nunique())
    # Consistent with the source: one closing per "Closed" row (none after a close), and the
    # rows after a close are the only ones skipped.
    order = log.assign(t=pd.to_datetime(log["Complete Timestamp"]), row=range(len(log)))
    order = order.sort_values(["Case ID", "t", "row"])
    after = order.groupby("Case ID").Activity.transform(
        lambda a: (a == "Closed").shift(fill_value=False).cummax()
    )
    kept = order[~after]
    assert statuses["closed"] == (kept.Activity == "Closed").sum()
    assert f"skipped: {int(after.sum())} rows" in out.getvalue()
    assert CaseEvent.objects.filter(kind="created").count() == 4_580
    # Every kept row is at least one event; a case not opened by "Insert ticket" gets one more.
    synthetic = (kept.groupby("Case ID").Activity.first() != "Insert ticket").sum()
    assert CaseEvent.objects.count() >= len(kept) + synthetic
    assert (
        Case.objects.filter(status="closed").count()
        == kept.groupby("Case ID").Activity.apply(lambda a: "Closed" in set(a)).sum()
    )


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_import():
    args = ["import", "eventlog", str(HELPDESK), "--mapping", "helpdesk-italy",
            "--report", "/dev/null"]  # fmt: skip
    call_command(*args, stdout=StringIO())
    before = database_fingerprint()
    out = StringIO()
    call_command(*args, stdout=out)
    assert database_fingerprint()[:-1] == before[:-1]
    assert "4,580 cases unchanged" in out.getvalue()


def write_xes(path: Path, frame: pd.DataFrame, *, compress: bool = False) -> Path:
    """The help-desk rows as XES, the IEEE process-mining format, written independently."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">',
        '<global scope="event"><string key="concept:name" value="__INVALID__"/></global>',
    ]
    for case_id, rows in frame.groupby("Case ID", sort=False):
        lines.append(f'<trace><string key="concept:name" value={quoteattr(case_id)}/>')
        lines.append(f'<string key="customer" value={quoteattr(rows.customer.iloc[0])}/>')
        for _, r in rows.iterrows():
            stamp = pd.Timestamp(r["Complete Timestamp"]).tz_localize("Europe/Rome").isoformat()
            lines.append(
                "<event>"
                f'<string key="concept:name" value={quoteattr(r.Activity)}/>'
                f'<string key="org:resource" value={quoteattr(r.Resource)}/>'
                f'<date key="time:timestamp" value="{stamp}"/>'
                f'<string key="seriousness_2" value={quoteattr(r.seriousness_2)}/>'
                f'<string key="service_level" value={quoteattr(r.service_level)}/>'
                "</event>"
            )
        lines.append("</trace>")
    lines.append("</log>")
    data = "\n".join(lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


XES_MAPPING = """
[source]
name = "helpdesk-xes"
timestamp_format = "iso"
[columns]
case = "case:concept:name"
activity = "concept:name"
timestamp = "time:timestamp"
resource = "org:resource"
account = "case:customer"
tier = "service_level"
priority = "seriousness_2"
"""


@pytest.mark.parametrize("compress", [False, True])
def test_it_reads_xes_like_the_same_rows_in_csv(tmp_path, log, compress):
    sample = log[log["Case ID"].isin(log["Case ID"].unique()[:60])]
    csv_path = tmp_path / "sample.csv"
    sample.to_csv(csv_path, index=False)
    builtin = load_mapping("helpdesk-italy").path.read_text()
    shared = builtin[builtin.index("\n[tiers]") :]
    (tmp_path / "xes.toml").write_text(XES_MAPPING + shared)
    name = "sample.xes.gz" if compress else "sample.xes"
    xes = parse_eventlog(
        write_xes(tmp_path / name, sample, compress=compress),
        mapping=load_mapping(tmp_path / "xes.toml"),
    )
    from_csv = parse_eventlog(csv_path, mapping=load_mapping("helpdesk-italy"))

    def shape(batch):
        return sorted(
            (c.key, c.account, c.priority, [(e.at, e.kind, e.to_value) for e in c.events])
            for c in batch.cases
        )

    assert xes.rows == len(sample) and not xes.rejected
    assert shape(xes) == shape(from_csv)


def test_it_names_an_unknown_activity(tmp_path, log):
    sample = log.head(20).copy()
    sample.loc[3, "Activity"] = "Teleport ticket"
    path = tmp_path / "odd.csv"
    sample.to_csv(path, index=False)
    batch = parse_eventlog(path, mapping=load_mapping("helpdesk-italy"))
    assert [(p.row, p.column) for p in batch.rejected] == [(5, "Activity")]
    assert "Teleport ticket" in batch.rejected[0].reason


@pytest.mark.django_db
def test_it_rejects_a_truncated_xes_file_and_writes_nothing(tmp_path, log):
    path = write_xes(tmp_path / "cut.xes", log.head(50))
    path.write_bytes(path.read_bytes()[:-300])
    (tmp_path / "xes.toml").write_text(XES_MAPPING)
    before = database_fingerprint()
    with pytest.raises(CommandError, match="not valid XES"):
        call_command(
            "import",
            "eventlog",
            str(path),
            "--mapping",
            str(tmp_path / "xes.toml"),
            stdout=StringIO(),
        )
    assert database_fingerprint() == before


def test_it_explains_a_mapping_that_does_not_fit(tmp_path):
    with pytest.raises(ImportFileError, match="mapping file not found"):
        load_mapping(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[activities."Wait"]\nkind = "teleport"\n[columns]\ncase="Case ID"\n')
    with pytest.raises(ImportFileError, match="needs kind"):
        parse_eventlog(HELPDESK, mapping=load_mapping(bad))
