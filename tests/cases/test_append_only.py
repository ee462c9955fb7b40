"""Case events and audit entries are append-only below the ORM: the database refuses changes."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import CaseEvent
from tests.factories import make_case


@pytest.fixture
def event(acme, mona) -> CaseEvent:
    return make_case(account=acme, by=mona).events.get()


def refused(sql: str, params: list[object]) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        assert "append-only" in str(exc)
        return True
    return False


def test_it_refuses_an_sql_update_of_a_case_event(event):
    assert refused("UPDATE cases_caseevent SET body = %s WHERE id = %s", ["forged", event.pk])
    event.refresh_from_db()
    assert event.body == ""


def test_it_refuses_an_sql_delete_of_a_case_event(event):
    assert refused("DELETE FROM cases_caseevent WHERE id = %s", [event.pk])
    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_it_refuses_orm_updates_and_deletes_of_case_events(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(body="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).delete()
    assert CaseEvent.objects.get(pk=event.pk).body == ""


def test_it_refuses_to_change_or_delete_audit_entries(event):
    entry = AuditEntry.objects.first()
    assert entry is not None
    assert refused("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["x", entry.pk])
    assert refused("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL")
def test_it_refuses_to_truncate_the_case_events(event):
    with connection.cursor() as cursor:  # Django defers FK checks; TRUNCATE needs none pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert refused("TRUNCATE cases_caseevent CASCADE", [])
    assert CaseEvent.objects.filter(pk=event.pk).exists()
