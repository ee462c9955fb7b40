"""The admin shows every model, read-only where history must not change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from kontosjef.accounts.services import product_create
from kontosjef.attention.models import AttentionItem, AttentionItemEvent
from kontosjef.attention.services import health_refresh
from kontosjef.audit.models import AuditEntry
from kontosjef.cases.services import calendar_create, sla_policy_create, tier_sla_set
from kontosjef.cases.sla import sla_sweep
from kontosjef.integrations.batch import ImportBatch
from kontosjef.integrations.models import Notification
from kontosjef.integrations.services import import_batch
from kontosjef.people.services import api_token_create
from tests.factories import T0, make_case

OUR_APPS = {"people", "accounts", "cases", "audit", "integrations", "attention"}


def test_it_registers_every_model_of_our_apps():
    ours = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    through = {m for m in ours if m._meta.auto_created}
    assert ours - through <= set(admin.site._registry)


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in OUR_APPS and not m._meta.auto_created],
)
def test_it_lists_and_shows_each_model(client, adam, acme, acme_contact, support, model):
    product = product_create(by=adam, name="Lønn", component="Payroll run", now=T0)
    calendar = calendar_create(by=adam, name="Oslo", time_zone="Europe/Oslo", now=T0)
    policy = sla_policy_create(by=adam, name="Gold", now=T0,
                               metrics={"first_reply": {"targets": {"p3": 60}}})  # fmt: skip
    tier_sla_set(by=adam, tier="enterprise", policy=policy, calendar=calendar, now=T0)
    case = make_case(account=acme, by=adam, requester=acme_contact, opened_by_customer=True)
    sla_sweep(now=T0 + timedelta(days=7))
    health_refresh(now=T0 + timedelta(days=7))
    # An item straight from the model: the rules need weeks of history to raise one.
    item = AttentionItem.objects.create(
        account=acme, kind="expectation", key="expectation:x", title="X", severity="warning",
        queue="tam", opened_at=T0, updated_at=T0,
    )  # fmt: skip
    AttentionItemEvent.objects.create(item=item, at=T0, kind="opened")
    Notification.objects.create(
        kind="item_opened", channel="webhook", target="https://example.invalid/hook", item=item,
        next_attempt_at=T0, created_at=T0,
    )  # fmt: skip
    import_batch(batch=ImportBatch(source="test"), by=adam, now=T0, importer="test", path="x")
    api_token_create(by=adam, name="Admin laptop", scope="read", now=T0)
    assert case.product is None and product.pk
    client.force_login(adam)
    opts = model._meta
    listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert listing.status_code == 200
    obj = model.objects.first()
    detail = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert detail.status_code == 200


def test_it_offers_no_way_to_edit_case_history(client, adam, acme):
    case = make_case(account=acme, by=adam)
    client.force_login(adam)
    event = case.events.get()
    url = reverse("admin:cases_caseevent_change", args=[event.pk])
    response = client.post(url, {"body": "forged"})
    assert response.status_code == 403
    assert reverse("admin:cases_caseevent_delete", args=[event.pk])
    assert client.post(reverse("admin:cases_caseevent_delete", args=[event.pk])).status_code == 403


def test_it_audits_an_edit_made_in_the_admin(client, adam, acme):
    client.force_login(adam)
    url = reverse("admin:accounts_account_change", args=[acme.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "name": "Acme Holding AS",
            "products": [],
            "tam_assignments-TOTAL_FORMS": 1,
            "tam_assignments-INITIAL_FORMS": 1,
            "contacts-TOTAL_FORMS": 0,
            "contacts-INITIAL_FORMS": 0,
        }
    )
    data["tam_assignments-0-id"] = acme.tam_assignments.get().pk
    data["tam_assignments-0-account"] = acme.pk
    data["created_at_0"], data["created_at_1"] = "2026-01-05", "10:00:00"
    data.pop("created_at", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "account.admin_change"
    assert (entry.before["name"], entry.after["name"]) == ("Acme AS", "Acme Holding AS")


def test_it_lets_an_admin_revoke_a_token_but_never_see_its_hash(client, adam, alice):
    issued = api_token_create(by=alice, name="Leaked", scope="read_write", now=T0)
    client.force_login(adam)
    detail = client.get(reverse("admin:people_apitoken_change", args=[issued.token.pk]))
    assert issued.token.secret_hash not in detail.content.decode()
    client.post(
        reverse("admin:people_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [issued.token.pk]},
    )
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert AuditEntry.objects.filter(action="api_token.revoke", actor=adam).exists()
