"""Cases over the API: each role reads exactly the cases the UI shows it, opens cases through
`case_open`, and filters on the common fields."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kontosjef.cases.models import Case
from kontosjef.cases.services import case_add_note, case_change_status
from tests.api.conftest import error_code
from tests.factories import T0, make_account, make_case


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_it_lists_cases_newest_first(api_as, vera, acme, mona):
    old = make_case(account=acme, by=mona, now=T0)
    new = make_case(account=acme, by=mona, now=T0 + timedelta(days=1))
    response = api_as(vera).get("/cases")
    assert ids(response) == [new.pk, old.pk]
    item = response.json()["items"][0]
    assert (item["account"], item["status"], item["priority"], item["version"]) == (
        acme.pk,
        "new",
        "p3",
        1,
    )


def test_it_shows_an_agent_only_their_departments_cases(api_as, gina, acme_case, globex_case):
    client = api_as(gina)
    assert ids(client.get("/cases")) == [acme_case.pk]
    assert client.get(f"/cases/{globex_case.pk}").status_code == 404
    assert client.get(f"/cases/{globex_case.pk}/events").status_code == 404
    assert ids(client.get("/cases", account=globex_case.account_id)) == []


def test_it_lets_erik_not_read_supports_cases(api_as, erik, acme_case, globex_case):
    client = api_as(erik, scope="read")
    assert ids(client.get("/cases")) == [globex_case.pk]
    assert client.get(f"/cases/{acme_case.pk}").status_code == 404


def test_it_filters_cases(api_as, mona, alice, acme, globex, support, engineering, gina):
    p1 = make_case(account=acme, by=mona, priority="p1", department=support, now=T0)
    later = make_case(account=globex, by=mona, department=engineering, now=T0 + timedelta(days=2))
    solved = make_case(account=acme, by=mona, subject="Printer on fire", now=T0)
    case_change_status(
        case=solved, by=mona, to="solved", now=T0 + timedelta(hours=1), expected_version=1
    )
    case_add_note(case=p1, by=mona, body="n", now=T0 + timedelta(days=3), expected_version=1)
    client = api_as(mona)
    assert ids(client.get("/cases", account=globex.pk)) == [later.pk]
    assert set(ids(client.get("/cases", status=["new", "solved"]))) == {p1.pk, later.pk, solved.pk}
    assert ids(client.get("/cases", status="solved")) == [solved.pk]
    assert ids(client.get("/cases", priority="p1")) == [p1.pk]
    assert ids(client.get("/cases", department=engineering.pk)) == [later.pk]
    assert ids(client.get("/cases", is_open="false")) == [solved.pk]
    assert ids(client.get("/cases", q="printer")) == [solved.pk]
    after = (T0 + timedelta(days=1)).isoformat()
    assert ids(client.get("/cases", opened_after=after)) == [later.pk]
    assert set(ids(client.get("/cases", opened_before=after))) == {p1.pk, solved.pk}
    assert ids(
        client.get("/cases", updated_after=(T0 + timedelta(days=2, hours=1)).isoformat())
    ) == [p1.pk]
    assert ids(client.get("/cases", sort="last_event_at"))[-1] == p1.pk


def test_it_refuses_a_time_without_an_offset(api_as, vera):
    response = api_as(vera).get("/cases", opened_after="2026-01-05T09:00:00")
    assert response.status_code == 422
    assert "opened_after" in response.json()["error"]["fields"]


def test_it_lets_alice_open_a_case_for_her_account(api_as, alice, acme, acme_contact, support):
    response = api_as(alice).post(
        "/cases",
        {
            "account": acme.pk,
            "subject": "Invoices are late",
            "priority": "p2",
            "requester": acme_contact.pk,
            "department": support.pk,
            "external_source": "crm",
            "external_id": "CRM-1",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(pk=body["id"])
    assert (case.account, case.requester, case.department, case.channel) == (
        acme,
        acme_contact,
        support,
        "api",
    )
    assert (body["status"], body["version"], body["external_id"]) == ("new", 1, "CRM-1")
    assert case.events.get().actor_user == alice


def test_it_does_not_let_bob_open_a_case_for_alices_account(api_as, bob, acme):
    response = api_as(bob).post("/cases", {"account": acme.pk, "subject": "Mine now"})
    # Acme is outside Bob's portfolio, so to him it is an unknown account.
    assert response.status_code == 422
    assert "account" in response.json()["error"]["fields"]
    assert "Acme" not in response.content.decode()
    assert not Case.objects.exists()


def test_it_does_not_let_a_viewer_open_a_case(api_as, vera, acme):
    response = api_as(vera).post("/cases", {"account": acme.pk, "subject": "Read only"})
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_it_lets_an_agent_open_a_case_only_for_their_department(
    api_as, gina, acme, support, engineering
):
    client = api_as(gina)
    refused = client.post(
        "/cases", {"account": acme.pk, "subject": "Phone call", "department": engineering.pk}
    )
    assert refused.status_code == 403
    taken = client.post(
        "/cases", {"account": acme.pk, "subject": "Phone call", "department": support.pk}
    )
    assert taken.status_code == 201


def test_it_refuses_a_requester_from_another_account(api_as, alice, acme, globex_contact):
    response = api_as(alice).post(
        "/cases", {"account": acme.pk, "subject": "s", "requester": globex_contact.pk}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid"
    assert "requester" in response.json()["error"]["fields"]


def test_it_refuses_a_duplicate_external_id(api_as, alice, acme):
    client = api_as(alice)
    body = {"account": acme.pk, "subject": "s", "external_source": "crm", "external_id": "1"}
    assert client.post("/cases", body).status_code == 201
    response = client.post("/cases", body)
    assert response.status_code == 422
    assert Case.objects.count() == 1


def test_it_explains_missing_fields(api_as, alice):
    response = api_as(alice).post("/cases", {"subject": ""})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"account", "subject"}


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_cases_in_a_constant_number_of_queries(api_as, mona, n, django_assert_num_queries):
    account = make_account(name="Kunde AS", by=mona)
    for i in range(n):
        make_case(account=account, by=mona, now=T0 + timedelta(minutes=i))
    client = api_as(mona)
    # token (with user), token's last use, page of cases
    with django_assert_num_queries(3):
        response = client.get("/cases", limit=100)
    assert len(response.json()["items"]) == n


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_an_agents_cases_in_a_constant_number_of_queries(
    api_as, gina, mona, support, n, django_assert_num_queries
):
    account = make_account(name="Kunde AS", by=mona)
    for i in range(n):
        make_case(account=account, by=mona, department=support, now=T0 + timedelta(minutes=i))
    client = api_as(gina)
    with django_assert_num_queries(3):
        response = client.get("/cases", limit=100)
    assert len(response.json()["items"]) == n
