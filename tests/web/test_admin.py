"""The admin shows every model, read-only where history must not change."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from kontosjef.accounts.services import product_create
from kontosjef.audit.models import AuditEntry
from tests.factories import T0, make_case

OUR_APPS = {"people", "accounts", "cases", "audit"}


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
    case = make_case(account=acme, by=adam, requester=acme_contact)
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
