"""Hostile or careless import files: bombs, huge files, duplicate keys, text the API refuses and
roles the file has no business granting. Each one is refused with one line, nothing written."""

from __future__ import annotations

import gzip
import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kontosjef.cases.models import Case
from kontosjef.people.models import User
from tests.integrations.conftest import database_fingerprint

pytestmark = pytest.mark.django_db

MAPPING = """
[source]
name = "tiny"
[columns]
case = "case"
activity = "activity"
timestamp = "at"
resource = "who"
account = "customer"
[accounts]
missing = "Nobody"
[activities."open"]
kind = "created"
[activities."close"]
kind = "status"
status = "closed"
"""


def write_mapping(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(MAPPING)
    return path


def log_text(rows: int) -> str:
    lines = ["case,activity,at,who,customer"]
    lines += [f"C{i},open,2026-01-05T09:{i % 60:02d}:00+00:00,ann,Acme" for i in range(rows)]
    return "\n".join(lines) + "\n"


def run(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, "--report", "/dev/null", stdout=out)
    return out.getvalue()


def test_it_refuses_a_zip_bomb_before_it_fills_memory(tmp_path, settings):
    settings.KONTOSJEF_IMPORT_MAX_BYTES = 1_000_000
    bomb = tmp_path / "incidents.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("incidents.csv", "number\n" + "0" * 50_000_000)
    assert bomb.stat().st_size < 100_000
    before = database_fingerprint()
    with pytest.raises(CommandError, match=r"larger than 1,000,000 bytes uncompressed: refused"):
        run("servicenow", str(bomb))
    assert database_fingerprint() == before


def test_it_stops_reading_a_gzip_bomb_at_the_limit(tmp_path, settings):
    # A gzip stream declares no size: the reader stops at the limit.
    settings.KONTOSJEF_IMPORT_MAX_BYTES = 1_000_000
    bomb = tmp_path / "log.csv.gz"
    bomb.write_bytes(gzip.compress((log_text(1) + "x" * 20_000_000).encode()))
    with pytest.raises(CommandError, match="KONTOSJEF_IMPORT_MAX_BYTES"):
        run("eventlog", str(bomb), "--mapping", str(write_mapping(tmp_path)))


def test_it_refuses_a_file_with_more_rows_than_allowed(tmp_path, settings):
    settings.KONTOSJEF_IMPORT_MAX_ROWS = 5
    path = tmp_path / "log.csv"
    path.write_text(log_text(6))
    with pytest.raises(CommandError, match="more than 5 rows: refused"):
        run("eventlog", str(path), "--mapping", str(write_mapping(tmp_path)))
    path.write_text(log_text(5))
    assert "5 cases created" in run(
        "eventlog", str(path), "--mapping", str(write_mapping(tmp_path))
    )


def native(tmp_path: Path, *records: dict[str, object]) -> Path:
    path = tmp_path / "export.jsonl"
    header = {"format": "kontosjef", "version": 1, "source": "other-desk"}
    path.write_text("\n".join(json.dumps(r) for r in (header, *records)) + "\n")
    return path


ACCOUNT = {"type": "account", "key": "A1", "name": "Acme"}
CASE = {"type": "case", "key": "C1", "account": "A1", "subject": "Broken", "priority": "p3"}
CREATED = {"type": "event", "case": "C1", "key": "e1", "at": "2026-01-05T09:00:00+00:00",
           "kind": "created", "to": "p3"}  # fmt: skip


@pytest.mark.parametrize(
    ("duplicate", "reason"),
    [
        ({**ACCOUNT, "name": "Acme Two"}, "duplicate account key 'A1' (first on row 2)"),
        ({**CASE, "subject": "Other"}, "duplicate case key 'C1' (first on row 3)"),
        ({**CREATED, "body": "again"}, "duplicate event key 'e1' of case 'C1' (first on row 4)"),
    ],
)
def test_it_refuses_a_key_that_appears_twice_in_one_file(tmp_path, duplicate, reason):
    path = native(tmp_path, ACCOUNT, CASE, CREATED, duplicate)
    with pytest.raises(CommandError, match="nothing was written") as error:
        run("cases", str(path))
    assert reason in str(error.value)
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({**CASE, "subject": "x" * 301}, "subject is longer than 300 characters"),
        ({**CASE, "description": "a\x00b"}, "description contains a NUL character"),
        ({**ACCOUNT, "name": "Ac\x00me"}, "name contains a NUL character"),
    ],
)
def test_it_refuses_text_the_api_would_refuse(tmp_path, record, reason):
    records = {r["type"]: r for r in (ACCOUNT, CASE)} | {record["type"]: record}
    path = native(tmp_path, records["account"], records["case"], CREATED)
    with pytest.raises(CommandError, match="nothing was written") as error:
        run("cases", str(path))
    assert reason in str(error.value)
    assert str(error.value).count("\n") == 0
    assert Case.objects.count() == 0


def test_it_refuses_an_event_body_with_a_nul_and_keeps_the_case_whole(tmp_path):
    reply = {**CREATED, "key": "e2", "kind": "note", "body": "bad\x00text"}
    path = native(tmp_path, ACCOUNT, CASE, CREATED, reply)
    with pytest.raises(CommandError, match="body contains a NUL character"):
        run("cases", str(path))
    run("cases", str(path), "--skip-invalid")
    assert Case.objects.count() == 0  # not half a case


def test_it_never_takes_a_role_or_an_existing_user_from_the_file(tmp_path, adam):
    employees = [
        {"type": "employee", "key": "admin", "name": "Mallory", "role": "admin"},
        {"type": "employee", "key": "adam", "name": "Not Adam", "role": "manager"},
        {"type": "employee", "key": "vic", "name": "Vic", "role": "viewer"},
    ]
    reply = {**CREATED, "key": "e2", "kind": "note", "actor_kind": "employee", "actor": "adam",
             "at": "2026-01-05T10:00:00+00:00", "body": "I am in charge"}  # fmt: skip
    out = run("cases", str(native(tmp_path, *employees, ACCOUNT, CASE, CREATED, reply)))
    assert "2 employee roles not taken from the file (imported as agent)" in out
    adam.refresh_from_db()
    assert (adam.role, adam.first_name) == (User.Role.ADMIN, adam.first_name)
    imported = {u.external_id: u for u in User.objects.filter(external_source="other-desk")}
    assert {k: (u.username, u.role) for k, u in imported.items()} == {
        "admin": ("admin", "agent"),
        "adam": ("adam-2", "agent"),
        "vic": ("vic", "viewer"),
    }
    assert not any(
        u.is_staff or u.is_superuser or u.has_usable_password() for u in imported.values()
    )
    note = Case.objects.get().events.get(kind="note")
    assert note.actor_user == imported["adam"]


def test_it_says_that_no_clocks_were_computed_without_a_policy(tmp_path):
    out = run("cases", str(native(tmp_path, ACCOUNT, CASE, CREATED)))
    assert "SLA: no SLA clocks were computed: no SLA policy applies to these cases" in out
    assert "/configuration/tiers/" in out and "kontosjef sla recompute" in out


def test_its_help_names_the_real_default_report_path(settings, capsys):
    with pytest.raises(SystemExit):
        call_command("import", "eventlog", "--help")
    text = "".join(capsys.readouterr().out.split())  # argparse wraps long paths
    assert f"(default:{Path(settings.VAR_DIR) / 'import-reports'}/<file>.<time>.csv)" in text
