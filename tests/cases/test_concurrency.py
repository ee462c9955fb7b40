"""Two employees changing the same case at once: the second gets a conflict, nothing is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kontosjef.cases.models import Case
from kontosjef.cases.services import CaseConflict, case_add_note, case_change_priority
from tests.factories import T0, make_case


def test_it_rejects_the_second_of_two_concurrent_changes(acme, mona, alice):
    case = make_case(account=acme, by=mona)
    monas_copy = Case.objects.get(pk=case.pk)
    alices_copy = Case.objects.get(pk=case.pk)

    case_change_priority(
        case=monas_copy,
        by=mona,
        to="p1",
        now=T0 + timedelta(minutes=5),
        expected_version=monas_copy.version,
    )
    with pytest.raises(CaseConflict, match="changed by someone else") as info:
        case_change_priority(
            case=alices_copy,
            by=alice,
            to="p4",
            now=T0 + timedelta(minutes=6),
            expected_version=alices_copy.version,
        )
    assert (info.value.expected, info.value.actual) == (1, 2)

    stored = Case.objects.get(pk=case.pk)
    assert (stored.priority, stored.version, stored.events.count()) == ("p1", 2, 2)
    # The loser's in-memory copy is reloaded, not left half-applied.
    assert alices_copy.priority == "p1"


def test_it_accepts_the_change_after_a_reload(acme, mona, alice):
    case = make_case(account=acme, by=mona)
    stale = Case.objects.get(pk=case.pk)
    case_add_note(
        case=case, by=mona, body="first", now=T0 + timedelta(minutes=1), expected_version=1
    )
    with pytest.raises(CaseConflict):
        case_add_note(
            case=stale, by=alice, body="second", now=T0 + timedelta(minutes=2), expected_version=1
        )
    case_add_note(
        case=stale,
        by=alice,
        body="second",
        now=T0 + timedelta(minutes=2),
        expected_version=stale.version,
    )
    assert list(case.events.values_list("body", flat=True)) == ["", "first", "second"]
