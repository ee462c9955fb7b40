"""The ServiceNow importer on samples of the UCI log: increments, bad files, dry runs."""

from __future__ import annotations

import csv
import io
import zipfile
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from kontosjef.cases.models import Case, CaseEvent
from kontosjef.integrations.batch import ImportFileError
from kontosjef.integrations.models import ImportRun
from kontosjef.integrations.servicenow import parse_servicenow
from tests.integrations.conftest import UCI, database_fingerprint, needs_data

pytestmark = needs_data


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return pd.read_csv(UCI, dtype=str, keep_default_na=False)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory, uci) -> tuple[list[str], list[list[str]]]:
    numbers = sorted(uci.number.unique())[:300]
    rows = uci[uci.number.isin(numbers)]
    return list(uci.columns), rows.to_numpy().tolist()


@pytest.mark.django_db
def test_it_adds_only_what_is_new_from_a_later_export(tmp_path, sample):
    header, rows = sample
    smc = header.index("sys_mod_count")
    early = [r for r in rows if int(r[smc]) <= 2]
    call_command(
        "import",
        "servicenow",
        str(write_csv(tmp_path / "early.csv", header, early)),
        "--report",
        "/dev/null",
        stdout=StringIO(),
    )
    events_early = CaseEvent.objects.count()
    call_command(
        "import",
        "servicenow",
        str(write_csv(tmp_path / "full.csv", header, rows)),
        "--report",
        "/dev/null",
        stdout=StringIO(),
    )
    incremental = sorted(
        Case.objects.values_list("external_id", "status", "priority", "last_seq", "reopen_count")
    )
    n_incremental = CaseEvent.objects.count()
    assert n_incremental > events_early
    call_command("flush", "--no-input")
    call_command(
        "import",
        "servicenow",
        str(tmp_path / "full.csv"),
        "--report",
        "/dev/null",
        stdout=StringIO(),
    )
    direct = sorted(
        Case.objects.values_list("external_id", "status", "priority", "last_seq", "reopen_count")
    )
    assert (incremental, n_incremental) == (direct, CaseEvent.objects.count())


@pytest.mark.django_db
def test_it_rejects_bad_dates_with_a_report_and_writes_nothing(tmp_path, sample, acme):
    header, rows = sample
    rows = [list(r) for r in rows]
    rows[5][header.index("sys_updated_at")] = "31/02/2016 25:61"
    rows[9][header.index("opened_at")] = "yesterday"
    path = write_csv(tmp_path / "bad-dates.csv", header, rows)
    before = database_fingerprint()
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError, match="2 rows rejected, nothing was written"):
        call_command("import", "servicenow", str(path), "--report", str(report), stdout=StringIO())
    assert database_fingerprint() == before
    lines = list(csv.reader(report.open()))
    assert lines[1][:3] == ["rejected", "7", "sys_updated_at"]
    assert lines[2][:3] == ["rejected", "11", "opened_at"]
    assert ImportRun.objects.get().outcome == "rejected"


@pytest.mark.django_db
def test_it_imports_the_valid_rows_when_asked_to_skip_the_rest(tmp_path, sample):
    header, rows = sample
    rows = [list(r) for r in rows]
    rows[5][header.index("incident_state")] = "Exploded"
    path = write_csv(tmp_path / "bad-state.csv", header, rows)
    out = StringIO()
    call_command(
        "import", "servicenow", str(path), "--skip-invalid", "--report", "/dev/null", stdout=out
    )
    assert "rejected: 1 rows" in out.getvalue()
    assert Case.objects.count() == 300


@pytest.mark.django_db
def test_it_names_the_missing_column_in_one_line(tmp_path, sample):
    header, rows = sample
    renamed = ["state" if h == "incident_state" else h for h in header]
    path = write_csv(tmp_path / "renamed.csv", renamed, rows)
    before = database_fingerprint()
    with pytest.raises(CommandError) as info:
        call_command("import", "servicenow", str(path), stdout=StringIO())
    assert "names column 'incident_state', which the file lacks" in str(info.value)
    assert "\n" not in str(info.value)
    assert database_fingerprint() == before


@pytest.mark.django_db
def test_it_reports_a_truncated_zip_and_writes_nothing(tmp_path):
    data = UCI.read_bytes()
    cut = tmp_path / "truncated.zip"
    cut.write_bytes(data[: len(data) // 2])
    before = database_fingerprint()
    with pytest.raises(CommandError, match="truncated|not a readable zip"):
        call_command("import", "servicenow", str(cut), stdout=StringIO())
    assert database_fingerprint() == before


@pytest.mark.django_db
def test_it_rejects_a_csv_cut_off_mid_row(tmp_path, sample):
    header, rows = sample
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    text = buf.getvalue()
    path = tmp_path / "cut.csv"
    path.write_text(text[: len(text) - 200])
    with pytest.raises(CommandError, match="1 rows rejected"):
        call_command("import", "servicenow", str(path), "--report", "/dev/null", stdout=StringIO())
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_it_validates_without_writing_in_a_dry_run(tmp_path, sample):
    header, rows = sample
    path = write_csv(tmp_path / "sample.csv", header, rows)
    out = StringIO()
    call_command(
        "import", "servicenow", str(path), "--dry-run", "--report", "/dev/null", stdout=out
    )
    assert "Dry run: nothing was written." in out.getvalue()
    assert "300 cases created" in out.getvalue()
    assert Case.objects.count() == 0


def test_it_says_so_when_the_file_is_missing():
    with pytest.raises(ImportFileError, match="file not found"):
        parse_servicenow("/nonexistent/incidents.zip")


def test_it_says_so_when_the_file_is_not_a_csv(tmp_path):
    path = tmp_path / "incidents.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(ImportFileError, match=r"expected one \.csv file"):
        parse_servicenow(path)
