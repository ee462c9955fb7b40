"""Suggesting a TAM for an account: experience up, workload down, reasons shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kontosjef.accounts.services import account_assign_tam, account_unassign_tam
from kontosjef.attention.services import tam_suggestions
from tests.factories import make_account, make_case, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_it_ranks_the_experienced_idle_tam_first(mona, alice, bob):
    target = make_account(name="Target ASA", by=mona, tier="strategic")
    # Bob once handled a strategic account and has nothing now; Alice is busy with three.
    past = make_account(name="Past ASA", by=mona, tier="strategic")
    account_assign_tam(account=past, tam=bob, by=mona, reason="Cover", now=NOW - timedelta(days=90))
    account_unassign_tam(account=past, by=mona, reason="Done", now=NOW - timedelta(days=30))
    for i in range(3):
        busy = make_account(name=f"Busy {i} AS", by=mona, tam=alice)
        make_case(account=busy, by=mona)
    ranked = tam_suggestions(account=target, now=NOW)
    assert [s.tam for s in ranked] == [bob, alice]
    best = ranked[0]
    assert (best.same_tier, best.accounts, best.open_items) == (1, 0, 0)
    assert ranked[1].accounts == 3 and ranked[1].open_cases == 3
    assert any("tier" in reason for reason in best.reasons)


def test_it_lists_every_active_tam_and_no_one_else(mona, alice, bob, gina):
    inactive = make_user(username="gone", role="tam")
    inactive.is_active = False
    inactive.save()
    target = make_account(name="Target AS", by=mona)
    assert {s.tam for s in tam_suggestions(account=target, now=NOW)} == {alice, bob}
