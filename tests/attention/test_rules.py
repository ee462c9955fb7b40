"""The attention rules: raise once, update while unmet, resolve when met, route to the TAM or the
managers, and respect dismissals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kontosjef.accounts.models import Account, Expectation
from kontosjef.accounts.services import account_assign_tam, account_create, contact_create
from kontosjef.attention.models import AttentionItem
from kontosjef.attention.services import (
    attention_acknowledge,
    attention_dismiss,
    attention_start,
    health_refresh,
)
from kontosjef.cases.services import (
    case_change_status,
)
from tests.factories import make_answered_case, make_case, make_strict_first_reply_sla, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MIN = 60


@pytest.fixture
def strict_sla(mona):
    return make_strict_first_reply_sla(by=mona, now=NOW)


def answered_case(account, contact, by, opened, minutes):
    return make_answered_case(
        account=account, contact=contact, by=by, opened=opened, minutes=minutes
    )


def frt_item(account):
    return AttentionItem.objects.filter(account=account, key="expectation:frt_attainment_30d")


def test_it_raises_one_item_for_an_unmet_expectation_and_keeps_it_unique(
    strict_sla, acme, acme_contact, mona, alice
):
    for day in range(4):
        answered_case(acme, acme_contact, mona, NOW - timedelta(days=10 - day), 90)
    run = health_refresh(now=NOW)
    item = frt_item(acme).get()
    # The cases are answered but still open after a week: the backlog age is unmet too.
    assert [i for i in run.opened if i.key == item.key] == [item]
    assert {i.key for i in run.opened} == {item.key, "expectation:backlog_age_max"}
    assert (item.state, item.owner, item.queue) == ("open", alice, "tam")
    assert (item.value, item.threshold, item.window_days) == (0.0, 0.90, 30)
    assert len(item.evidence["cases"]) == 4
    again = health_refresh(now=NOW + timedelta(hours=1))
    assert again.opened == [] and frt_item(acme).count() == 1


def test_it_updates_the_item_while_unmet_and_resolves_it_when_met(
    strict_sla, acme, acme_contact, mona
):
    answered_case(acme, acme_contact, mona, NOW - timedelta(days=5), 90)
    health_refresh(now=NOW)
    for hour in range(2):
        answered_case(acme, acme_contact, mona, NOW + timedelta(hours=hour), 5)
    run = health_refresh(now=NOW + timedelta(hours=3))
    item = frt_item(acme).get()
    assert (run.updated, item.state, item.value) == (1, "open", pytest.approx(2 / 3))
    for hour in range(3, 10):
        answered_case(acme, acme_contact, mona, NOW + timedelta(hours=hour), 5)
    run = health_refresh(now=NOW + timedelta(hours=11))
    item.refresh_from_db()
    assert (run.resolved, item.state) == (1, "resolved")
    assert [e.kind for e in item.events.all()] == ["opened", "updated", "resolved"]
    # History is kept: a new breach later opens a new item.
    answered_case(acme, acme_contact, mona, NOW + timedelta(hours=12), 600)
    answered_case(acme, acme_contact, mona, NOW + timedelta(hours=13), 600)
    health_refresh(now=NOW + timedelta(days=1))
    assert list(frt_item(acme).values_list("state", flat=True).order_by("opened_at")) == [
        "resolved",
        "open",
    ]


def test_it_routes_to_the_managers_when_the_account_has_no_tam(strict_sla, mona):
    lonely = account_create(by=mona, name="Lonely AS", country="NO", now=NOW, tier="standard")
    contact = contact_create(account=lonely, by=mona, name="Siri", now=NOW)
    answered_case(lonely, contact, mona, NOW - timedelta(days=3), 90)
    health_refresh(now=NOW)
    item = frt_item(lonely).get()
    assert (item.owner, item.queue) == (None, "managers")
    no_tam = AttentionItem.objects.get(account=lonely, key="no_tam")
    assert no_tam.kind == "no_tam"
    # A manager assigns a TAM: the next run routes the item to them.
    bobby = make_user(username="bobby", role="tam")
    account_assign_tam(account=lonely, tam=bobby, by=mona, reason="Needs a TAM", now=NOW)
    run = health_refresh(now=NOW + timedelta(minutes=5))
    item.refresh_from_db()
    assert (item.owner, item.queue, run.routed) == (bobby, "tam", 1)
    assert AttentionItem.objects.get(account=lonely, key="no_tam").state == "resolved"


def test_it_lets_the_tam_acknowledge_start_and_dismiss_with_a_reason(
    strict_sla, acme, acme_contact, mona, alice, bob, vera
):
    answered_case(acme, acme_contact, mona, NOW - timedelta(days=3), 90)
    health_refresh(now=NOW)
    item = frt_item(acme).get()
    for intruder in (bob, vera):
        with pytest.raises(PermissionDenied):
            attention_acknowledge(item=item, by=intruder, now=NOW)
    attention_acknowledge(item=item, by=alice, now=NOW)
    attention_start(item=item, by=alice, now=NOW)
    with pytest.raises(ValidationError):
        attention_dismiss(item=item, by=alice, reason="  ", now=NOW)
    attention_dismiss(item=item, by=alice, reason="Known outage, agreed with customer", now=NOW)
    item.refresh_from_db()
    assert (item.state, item.close_reason) == ("dismissed", "Known outage, agreed with customer")
    assert [e.kind for e in item.events.all()] == ["opened", "acknowledged", "started", "dismissed"]
    # Dismissed while still unmet: not raised again until the condition clears once.
    assert health_refresh(now=NOW + timedelta(hours=1)).opened == []


def test_it_uses_an_accounts_own_threshold(strict_sla, acme, acme_contact, mona):
    Expectation.objects.create(
        code="frt_attainment_30d", name="First reply (Acme)", kpi="frt_attainment",
        comparator=">=", threshold=0.0, window_days=30, severity="critical", weight=3,
        scale=0.2, account=acme,
    )  # fmt: skip
    answered_case(acme, acme_contact, mona, NOW - timedelta(days=3), 90)
    health_refresh(now=NOW)
    assert not frt_item(acme).exists()


def test_it_flags_an_sla_breach_on_a_strategic_account(strict_sla, globex, globex_contact, mona):
    from kontosjef.cases.sla import sla_sweep

    case = make_case(account=globex, by=mona, requester=globex_contact, opened_by_customer=True,
                     now=NOW - timedelta(hours=2))  # fmt: skip
    assert sla_sweep(now=NOW) >= 1
    health_refresh(now=NOW)
    item = AttentionItem.objects.get(account=globex, kind="sla_breach")
    assert (item.severity, item.evidence["cases"]) == ("critical", [case.pk])
    case_change_status(case=case, by=mona, to="solved", now=NOW + timedelta(minutes=1),
                       expected_version=case.version)  # fmt: skip
    health_refresh(now=NOW + timedelta(minutes=2))
    item.refresh_from_db()
    assert item.state == "resolved"


def test_it_gives_a_quiet_account_no_score_rather_than_a_perfect_one(strict_sla, acme):
    result = health_refresh(now=NOW)
    assert result.opened == []
    snapshot = Account.objects.get(pk=acme.pk).health_snapshots.get()
    assert snapshot.score is None
    assert all(not d["has_data"] for d in snapshot.details.values())


def test_it_notifies_the_tam_of_a_new_item_once(strict_sla, acme, acme_contact, mona, alice):
    from kontosjef.integrations.models import Notification

    alice.email = "alice@fjordlys.example"
    alice.save()
    answered_case(acme, acme_contact, mona, NOW - timedelta(days=3), 90)
    health_refresh(now=NOW)
    health_refresh(now=NOW + timedelta(hours=1))
    rows = Notification.objects.filter(recipient=alice, channel="email")
    assert rows.count() == 1
    assert "First-reply SLA attainment" in rows.get().payload["subject"]
