"""Kontosjef's own format: export, import into an empty database, export again: same file."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kontosjef.cases.models import Case, CaseEvent
from kontosjef.cases.services import case_hand_off, case_reply
from tests.factories import T0, make_case

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(acme, globex, acme_contact, mona, alice, gina, erik, support, engineering):
    case = make_case(
        account=acme, by=mona, requester=acme_contact, opened_by_customer=True, department=support
    )
    case_reply(
        case=case,
        by=gina,
        body="Looking",
        now=T0 + timedelta(hours=1),
        expected_version=1,
        then_status="waiting_on_customer",
    )
    case_reply(
        case=case,
        by=gina,
        as_contact=acme_contact,
        body="Details",
        now=T0 + timedelta(hours=5),
        expected_version=2,
    )
    case_hand_off(
        case=case,
        by=gina,
        assignee=erik,
        reason="Bug",
        now=T0 + timedelta(hours=6),
        expected_version=3,
    )
    make_case(account=globex, by=mona, priority="p1")
    return case


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".zip"])
def test_it_round_trips_through_an_empty_database(tmp_path, history, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    call_command("export", str(first), stdout=StringIO())
    cases = sorted(Case.objects.values_list("subject", "status", "priority", "last_seq"))
    call_command("flush", "--no-input")
    assert Case.objects.count() == 0
    call_command("import", "cases", str(first), stdout=StringIO())
    assert sorted(Case.objects.values_list("subject", "status", "priority", "last_seq")) == cases
    call_command("export", str(second), stdout=StringIO())
    if suffix == ".jsonl":
        # The same file, except that roles above agent are never taken from a file: an
        # administrator grants them.
        expected = re.sub(r'"role": "(admin|manager|tam)"', '"role": "agent"', first.read_text())
        assert expected != first.read_text()
        assert second.read_text() == expected
    assert CaseEvent.objects.filter(kind="handoff", assignee__username="erik").count() == 1


def test_it_imports_an_export_again_without_changes(tmp_path, history):
    path = tmp_path / "x.jsonl"
    call_command("export", str(path), stdout=StringIO())
    call_command("flush", "--no-input")
    call_command("import", "cases", str(path), stdout=StringIO())
    events = CaseEvent.objects.count()
    out = StringIO()
    call_command("import", "cases", str(path), stdout=out)
    assert CaseEvent.objects.count() == events
    assert "2 cases unchanged" in out.getvalue()


def test_it_rejects_records_it_cannot_place_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        {"format": "kontosjef", "version": 1, "source": "test"},
        {"type": "account", "key": "A1", "name": "Acme"},
        {"type": "case", "key": "C1", "account": "A1", "subject": "s", "priority": "p3"},
        {"type": "event", "case": "C1", "key": "e1", "at": "2026-01-05T09:00:00", "kind": "created",
         "to": "p3"},
        {"type": "event", "case": "C9", "key": "e1", "at": "2026-01-05T09:00:00+00:00",
         "kind": "created", "to": "p3"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines))
    report = tmp_path / "r.csv"
    with pytest.raises(CommandError, match="rows rejected, nothing was written"):
        call_command("import", "cases", str(path), "--report", str(report), stdout=StringIO())
    text = report.read_text()
    assert "has no UTC offset" in text and "unknown case 'C9'" in text
    assert Case.objects.count() == 0


def test_it_refuses_a_file_that_is_not_an_export(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(CommandError, match="not a Kontosjef export"):
        call_command("import", "cases", str(path), stdout=StringIO())
