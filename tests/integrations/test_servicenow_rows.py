"""The ServiceNow importer on small hand-made exports: which rows are rejected or skipped (with
their row numbers in the file), and which events a sequence of snapshots becomes."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from kontosjef.cases.models import Case, CaseEvent
from kontosjef.integrations.servicenow import _Dates
from kontosjef.people.models import User

HEADER = (
    "number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,"
    "caller_id,opened_by,opened_at,sys_created_by,sys_created_at,sys_updated_by,sys_updated_at,"
    "contact_type,location,category,subcategory,u_symptom,cmdb_ci,impact,urgency,priority,"
    "assignment_group,assigned_to,knowledge,u_priority_confirmation,notify,problem_id,rfc,vendor,"
    "caused_by,closed_code,resolved_by,resolved_at,closed_at"
).split(",")


def row(number: str, seq: str, state: str, updated: str, **values: str) -> list[str]:
    """A snapshot row; columns not given are the export's missing marker."""
    cells = {
        "number": number,
        "sys_mod_count": seq,
        "incident_state": state,
        "sys_updated_at": updated,
        "opened_at": "1/3/2016 09:00",
        "priority": "3 - Moderate",
        "sys_updated_by": "Updated by  7",
        "opened_by": "Opened by 1",
        "location": "Location 1",
        "caller_id": "Caller 1",
        "assignment_group": "Group A",
        "category": "Category 1",
        "subcategory": "Subcategory 2",
        "contact_type": "Phone",
        "made_sla": "true",
        **values,
    }
    return [cells.get(name, "?") for name in HEADER]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def import_file(path: Path, report: Path, *args: str) -> str:
    out = StringIO()
    call_command("import", "servicenow", str(path), "--report", str(report), *args, stdout=out)
    return out.getvalue()


def report_lines(report: Path) -> list[list[str]]:
    return list(csv.reader(report.open()))[1:]


@pytest.mark.django_db
def test_it_reports_each_rejected_row_with_its_row_number_column_and_reason(tmp_path):
    rows = [
        row("INC1", "0", "New", "1/3/2016 10:00"),  # row 2
        row("INC1", "x", "Active", "1/3/2016 10:05"),  # row 3
        row("INC1", "1", "Exploded", "1/3/2016 10:10"),  # row 4
        row("?", "1", "Active", "1/3/2016 10:15"),  # row 5
        row("INC1", "1", "Active", "31/02/2016 25:61"),  # row 6
        row("INC1", "1", "Active", "1/3/2016 10:20", opened_at="yesterday"),  # row 7
        row("INC1", "1", "Active", "?"),  # row 8
        row("INC1", "1", "Active", "1/3/2016 10:25", priority="9 - Panic"),  # row 9
        row("INC1", "1.5", "Exploded", "never", priority="9 - Panic"),  # row 10
        row("INC1", "2", "Closed", "1/3/2016 11:00"),  # row 11
    ]
    report = tmp_path / "report.csv"
    out = import_file(write(tmp_path / "bad.csv", rows), report, "--skip-invalid")

    assert "rejected: 8 rows" in out
    assert report_lines(report) == [
        ["rejected", "3", "sys_mod_count", "'x' is not a whole number"],
        ["rejected", "4", "incident_state",
         "unknown status 'Exploded': add it to [statuses] in the mapping"],
        ["rejected", "5", "number", "no case id"],
        ["rejected", "6", "sys_updated_at",
         "'31/02/2016 25:61' is not a date in the mapping's timestamp format"],
        ["rejected", "7", "opened_at",
         "'yesterday' is not a date in the mapping's timestamp format"],
        ["rejected", "8", "sys_updated_at", "no update time"],
        ["rejected", "9", "priority", "unknown priority '9 - Panic': add it to [priorities]"],
        ["rejected", "10", "sys_mod_count", "'1.5' is not a whole number"],
    ]  # fmt: skip
    case = Case.objects.get(external_id="INC1")
    assert list(case.events.order_by("seq").values_list("external_id", flat=True)) == [
        "created",
        "2:status",
    ]


@pytest.mark.django_db
def test_it_numbers_rows_of_the_wrong_width_among_the_other_rejections(tmp_path):
    rows = [
        row("INC1", "0", "New", "1/3/2016 10:00"),  # row 2
        row("INC1", "1", "Active", "1/3/2016 10:05"),  # row 3
        row("INC1", "2", "Active", "1/3/2016 10:10")[:-1],  # row 4: one field short
        row("INC1", "3", "Exploded", "1/3/2016 10:15"),  # row 5
        row("INC2", "0", "New", "1/3/2016 10:20", closed_at=""),  # row 6: last field empty
    ]
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError, match=r"2 rows rejected, nothing was written \(first: row 4"):
        import_file(write(tmp_path / "short.csv", rows), report)
    assert report_lines(report) == [
        ["rejected", "4", "", "has 35 fields, the header has 36"],
        ["rejected", "5", "incident_state",
         "unknown status 'Exploded': add it to [statuses] in the mapping"],
    ]  # fmt: skip


@pytest.mark.django_db
def test_it_skips_a_repeated_snapshot_and_updates_after_closed(tmp_path):
    opened = "1/3/2016 00:30"
    rows = [
        row("INC2", "0", "New", "1/3/2016 01:00", opened_at=opened),  # row 2
        row("INC2", "1", "Active", "1/3/2016 02:00", opened_at=opened),  # row 3: updated later
        row("INC2", "1", "Active", "1/3/2016 01:30", opened_at=opened),  # row 4: same counter
        row("INC2", "3", "Active", "1/3/2016 04:00", opened_at=opened),  # row 5: after Closed
        row("INC2", "2", "Closed", "1/3/2016 03:00", opened_at=opened, closed_at=""),  # row 6
    ]
    report = tmp_path / "report.csv"
    out = import_file(write(tmp_path / "skips.csv", rows), report)

    assert "skipped: 2 rows; rejected: 0 rows" in out
    assert report_lines(report) == [
        ["skipped", "4", "sys_mod_count", "INC2: snapshot 1 again later; the later one is kept"],
        ["skipped", "5", "incident_state", "INC2: update after the incident was closed"],
    ]
    case = Case.objects.get(external_id="INC2")
    assert case.status == "closed"
    assert list(case.events.order_by("seq").values_list("external_id", "at")) == [
        ("created", datetime(2016, 3, 1, 0, 30, tzinfo=UTC)),
        ("1:status", datetime(2016, 3, 1, 2, 0, tzinfo=UTC)),
        ("2:status", datetime(2016, 3, 1, 3, 0, tzinfo=UTC)),
    ]


@pytest.mark.django_db
def test_it_turns_each_snapshot_into_priority_handoff_and_status_events_in_that_order(tmp_path):
    rows = [
        row("INC3", "0", "New", "1/3/2016 10:00"),
        row("INC3", "1", "Active", "1/3/2016 11:00", priority="2 - High",
            assignment_group="Group B", assigned_to="Resolver  4"),
        # Stamped before the previous update: moved to its time; -100 keeps the status.
        row("INC3", "2", "-100", "1/3/2016 10:30", priority="2 - High",
            assignment_group="Group B", assigned_to="Resolver 5"),
        row("INC3", "3", "Resolved", "1/3/2016 12:00", priority="2 - High",
            assignment_group="Group B", assigned_to="Resolver 5"),
        row("INC3", "4", "Active", "1/3/2016 13:00", priority="2 - High",
            assignment_group="Group B", assigned_to="Resolver 5"),
        row("INC3", "5", "Closed", "1/3/2016 14:00", priority="2 - High",
            assignment_group="Group B", assigned_to="Resolver 5"),
    ]  # fmt: skip
    import_file(write(tmp_path / "events.csv", rows), tmp_path / "report.csv")

    def at(hour: int) -> datetime:
        return datetime(2016, 3, 1, hour, 0, tzinfo=UTC)

    case = Case.objects.get(external_id="INC3")
    events = case.events.order_by("seq").values_list(
        "external_id", "kind", "from_value", "to_value", "at"
    )
    assert list(events) == [
        ("created", "created", "", "p3", at(9)),
        ("1:priority", "priority", "p3", "p2", at(11)),
        ("1:handoff", "handoff", "Group A", "Group B / Resolver 4", at(11)),
        ("1:status", "status", "new", "open", at(11)),
        ("2:handoff", "handoff", "Group B / Resolver 4", "Group B / Resolver 5", at(11)),
        ("3:status", "status", "open", "solved", at(12)),
        ("4:status", "status", "solved", "open", at(13)),
        ("5:status", "status", "open", "closed", at(14)),
    ]
    assert (case.status, case.priority, case.reopen_count) == ("closed", "p2", 1)
    assert case.subject == "Category 1 / Subcategory 2"
    # An employee belongs to the group they were first assigned in; updaters to none.
    resolver = User.objects.get(external_id="Resolver 4")
    assert resolver.department is not None and resolver.department.name == "Group B"
    assert User.objects.get(external_id="Updated by 7").department is None
    assert CaseEvent.objects.filter(actor_user__external_id="Updated by 7").count() == 7


@pytest.mark.parametrize(
    "fmt", ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y%m%d", "%d.%m.%Y|%H", "%H:%M"]
)
def test_it_reads_dates_exactly_as_strptime_does(fmt):
    texts = [
        "29/2/2016 01:16", "29/02/2016 1:6", " 1/3/2016 01:16", "1/3/2016  01:16",
        "1/3/2016\t01:16", "31/2/2016 01:16", "1/3/2016 24:00", "1/3/2016 01:16 ", "01/03/16 01:16",
        "2016-01-05 01:02:03", "2016-1-5 1:2:3", "2016-01-05T01:02:03", "2016-01-05 01:02:60",
        "2016-01-05 01:02:03.5", "0000-01-05 01:02:03", "0099-01-05 01:02:03", "20160105",
        "2016015", "05.01.2016|7", "05.01.2016|07", "12:30", "today", "now", "NaT", "",
        "٠١/٠٣/٢٠١٦ ٠١:١٦",
    ]  # fmt: skip
    zone = ZoneInfo("Europe/Oslo")
    dates, walls = _Dates(fmt, zone).parse(texts)

    def strptime(text: str) -> datetime | None:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            return None

    expected = [strptime(t) for t in texts]
    assert dates == expected
    assert [d.tzinfo if d else None for d in dates] == [d.tzinfo if d else None for d in expected]
    parsed = sorted((w, d) for w, d in zip(walls.tolist(), dates, strict=True) if d)
    assert [d for _w, d in parsed] == sorted(d for d in expected if d)
