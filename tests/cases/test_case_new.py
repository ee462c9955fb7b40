"""New case from the app (/cases/new/): an agent or TAM records a call through `case_open`."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.cases.models import Case, CaseEvent
from tests.factories import make_case
from tests.pages import assert_no_inline_script

URL = "/cases/new/"


def post(client, user, **fields):
    client.force_login(user)
    data = {"priority": "p2", "channel": "phone", **fields}
    return client.post(reverse("case_new"), data)


def test_it_is_at_cases_new(db):
    assert reverse("case_new") == URL


def test_it_lets_a_tam_record_a_call_for_their_account(client, alice, acme, acme_contact):
    response = post(client, alice, account=acme.pk, requester=acme_contact.pk,
                    subject="Payroll export fails", description="Called at 10: export is empty.",
                    opened_by_customer="on")  # fmt: skip
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.pk])
    assert (case.account, case.requester, case.subject) == (
        acme,
        acme_contact,
        "Payroll export fails",
    )
    assert (case.priority, case.channel, case.status) == ("p2", "phone", "new")
    created = CaseEvent.objects.get(case=case)
    assert created.actor_kind == "contact" and created.body == "Called at 10: export is empty."
    assert AuditEntry.objects.filter(action="case.open", actor=alice).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert f"Case {case.pk} is opened." in page


def test_it_lets_an_agent_open_a_case_for_their_department(client, gina, acme, support):
    client.force_login(gina)
    form = client.get(reverse("case_new")).context["form"]
    assert form["department"].value() == support.pk
    response = post(client, gina, account=acme.pk, subject="Login loops", department=support.pk,
                    assignee=gina.pk)  # fmt: skip
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.department, case.assignee) == (support, gina)
    # The agent's new case is in their queue.
    listing = client.get(reverse("case_list"), {"view": "mine"})
    assert [c.pk for c in listing.context["cases"]] == [case.pk]


def test_it_refuses_an_agent_a_case_for_another_department(client, gina, acme, engineering):
    response = post(client, gina, account=acme.pk, subject="Login loops",
                    department=engineering.pk)  # fmt: skip
    assert response.status_code == 403
    assert "You may not open a case for Acme AS." in response.content.decode()
    assert "Login loops" in response.content.decode()  # the text stays in the form
    assert not Case.objects.exists()


def test_it_does_not_offer_a_tam_another_portfolio(client, bob, acme, globex, acme_contact):
    client.force_login(bob)
    html = client.get(reverse("case_new")).content.decode()
    assert "Globex ASA" in html and "Acme AS" not in html and "Kari Nordmann" not in html
    response = post(client, bob, account=acme.pk, subject="Sneaky")
    assert response.status_code == 400
    assert "account" in response.context["form"].errors
    assert not Case.objects.exists()


def test_it_refuses_a_viewer(client, vera, acme):
    client.force_login(vera)
    assert client.get(reverse("case_new")).status_code == 403
    assert post(client, vera, account=acme.pk, subject="Nope").status_code == 403
    assert not Case.objects.exists()


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("case_new"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subject": ""}, "subject", "This field is required."),
        ({"subject": "  "}, "subject", "This field is required."),
        ({"subject": "x" * 301}, "subject", "at most 300 characters"),
        ({"priority": "p9"}, "priority", "Select a valid choice."),
        ({"channel": "pigeon"}, "channel", "Select a valid choice."),
        ({"opened_by_customer": "on"}, "requester", "needs a requester"),
    ],
)
def test_it_shows_what_is_wrong_and_writes_nothing(client, mona, acme, fields, field, message):
    response = post(client, mona, **{"account": acme.pk, "subject": "Printer", **fields})
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert "The case is not opened." in html
    assert_no_inline_script(html)
    assert not Case.objects.exists()


def test_it_refuses_a_requester_of_another_account(client, mona, acme, globex_contact):
    response = post(client, mona, account=acme.pk, subject="Printer", requester=globex_contact.pk)
    assert response.status_code == 400
    assert "must be a contact of the account" in " ".join(
        response.context["form"].errors["requester"]
    )
    assert not Case.objects.exists()


def test_it_narrows_the_requesters_to_the_chosen_account(
    client, mona, acme, globex, acme_contact, globex_contact
):
    client.force_login(mona)
    everyone = client.get(reverse("case_new")).content.decode()
    assert "Kari Nordmann (Acme AS)" in everyone and "Ola Nordmann (Globex ASA)" in everyone
    response = client.get(
        reverse("case_new"), {"account": acme.pk},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="new-case-requester-field",
    )  # fmt: skip
    html = response.content.decode()
    assert "<html" not in html and 'id="new-case-requester-field"' in html
    assert "Kari Nordmann" in html and "Ola Nordmann" not in html


def test_it_starts_from_the_account_the_page_came_from(client, alice, acme, mona):
    make_case(account=acme, by=mona)
    client.force_login(alice)
    form = client.get(reverse("case_new"), {"account": acme.pk}).context["form"]
    assert form["account"].value() == acme.pk
    assert form["channel"].value() == "phone"


def test_the_case_list_links_to_it_for_those_who_may_open_cases(client, alice, vera):
    client.force_login(alice)
    assert f'href="{URL}"' in client.get(reverse("case_list")).content.decode()
    client.force_login(vera)
    assert f'href="{URL}"' not in client.get(reverse("case_list")).content.decode()


def test_the_account_page_links_to_a_new_case_for_the_account(client, alice, vera, acme):
    link = f'href="{URL}?account={acme.pk}"'
    client.force_login(alice)
    assert link in client.get(reverse("account_detail", args=[acme.pk])).content.decode()
    client.force_login(vera)
    assert link not in client.get(reverse("account_detail", args=[acme.pk])).content.decode()
