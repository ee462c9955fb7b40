"""The case list (/cases/): views, filters, sorting, paging and scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from kontosjef.accounts.models import Product
from kontosjef.cases.services import (
    case_change_status,
    case_hand_off,
    case_reply,
    sla_policy_create,
    tier_sla_set,
)
from tests.factories import make_account, make_case
from tests.pages import assert_no_inline_script

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = 60


@pytest.fixture
def hour_sla(mona):
    """Every tier: first reply within 60 minutes around the clock, warning at half time."""
    policy = sla_policy_create(by=mona, name="Hour", now=T - timedelta(days=30), metrics={
        "first_reply": {"targets": {p: 60 * MINUTE for p in ("p1", "p2", "p3", "p4")},
                        "business_hours": False, "warn_at_fraction": 0.5},
    })  # fmt: skip
    for tier in ("strategic", "enterprise", "standard"):
        tier_sla_set(by=mona, tier=tier, policy=policy, calendar=None, now=T - timedelta(days=30))
    return policy


def customer_case(account, contact, by, *, opened, **fields):
    return make_case(account=account, by=by, requester=contact, opened_by_customer=True,
                     now=opened, **fields)  # fmt: skip


def listing(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("case_list"), params)
    assert response.status_code == 200
    return response


def ids(response):
    return [case.pk for case in response.context["cases"]]


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("case_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_is_linked_in_the_navigation(client, gina):
    client.force_login(gina)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("case_list")}"' in html


def test_it_keeps_an_agent_to_their_departments_cases(client, mona, gina, acme, globex, support,
                                                       engineering):  # fmt: skip
    mine = make_case(account=acme, by=mona, department=support)
    theirs = make_case(account=globex, by=mona, department=engineering)
    assert ids(listing(client, gina)) == [mine.pk]
    # Asking for another department's queue shows nothing of it.
    response = listing(client, gina, department=engineering.pk)
    assert theirs.pk not in ids(response)
    assert f"#{theirs.pk} " not in response.content.decode()


def test_it_keeps_a_tam_to_their_portfolio(client, mona, bob, acme, globex):
    make_case(account=acme, by=mona, subject="Acme's trouble")
    theirs = make_case(account=globex, by=mona)
    assert ids(listing(client, bob)) == [theirs.pk]
    # Acme is not Bob's to filter by: the filter is left out and Acme stays unseen.
    response = listing(client, bob, account=acme.pk)
    assert ids(response) == [theirs.pk]
    html = response.content.decode()
    assert "Acme" not in html


def test_it_shows_a_viewer_every_case(client, mona, vera, acme, globex):
    cases = {make_case(account=acme, by=mona).pk, make_case(account=globex, by=mona).pk}
    assert set(ids(listing(client, vera))) == cases
    assert "New case" not in listing(client, vera).content.decode()


def test_it_filters_by_department_assignee_priority_account_and_product(
    client, mona, gina, erik, acme, globex, support, engineering
):
    product = Product.objects.create(name="Ledger")
    a = make_case(account=acme, by=mona, department=support, priority="p1")
    b = make_case(account=globex, by=mona, department=engineering, priority="p3")
    c = make_case(account=globex, by=mona, department=support, priority="p3")
    case_hand_off(case=c, by=mona, reason="Gina knows it", now=T, expected_version=c.version,
                  department=None, assignee=gina)  # fmt: skip
    b.product = product  # no service sets a product after opening; set it directly
    b.save(update_fields=["product"])
    assert set(ids(listing(client, mona, department=support.pk))) == {a.pk, c.pk}
    assert ids(listing(client, mona, assignee=gina.pk)) == [c.pk]
    assert set(ids(listing(client, mona, assignee="none"))) == {a.pk, b.pk}
    assert ids(listing(client, mona, priority="p1")) == [a.pk]
    assert set(ids(listing(client, mona, account=globex.pk))) == {b.pk, c.pk}
    assert ids(listing(client, mona, product=product.pk)) == [b.pk]
    assert ids(listing(client, mona, account=globex.pk, priority="p3", department=support.pk)) == [
        c.pk
    ]


def test_it_shows_open_cases_unless_asked_for_others(client, mona, acme):
    open_case = make_case(account=acme, by=mona)
    solved = make_case(account=acme, by=mona)
    case_change_status(case=solved, by=mona, to="solved", now=T, expected_version=solved.version)
    assert ids(listing(client, mona)) == [open_case.pk]
    assert ids(listing(client, mona, status="closed")) == [solved.pk]
    assert set(ids(listing(client, mona, status="all"))) == {open_case.pk, solved.pk}
    assert ids(listing(client, mona, status="solved")) == [solved.pk]
    # A stale or forged value is left out, not refused.
    assert ids(listing(client, mona, status="bogus")) == [open_case.pk]


def test_it_filters_by_sla_state_and_sorts_by_the_next_deadline(
    client, hour_sla, mona, acme, acme_contact
):
    breached = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=90))
    warning = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=40))
    on_track = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=10))
    answered = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=20))
    case_reply(case=answered, by=mona, body="On it", now=T - timedelta(minutes=15),
               expected_version=answered.version)  # fmt: skip
    with time_machine.travel(T, tick=False):
        response = listing(client, mona)
        assert ids(response) == [breached.pk, warning.pk, on_track.pk, answered.pk]
        states = {case.pk: case.sla_state for case in response.context["cases"]}
        assert states == {breached.pk: "breached", warning.pk: "warning",
                          on_track.pk: "running", answered.pk: "none"}  # fmt: skip
        html = response.content.decode()
        assert "Breached" in html and "On track" in html and "Warning" in html
        assert ids(listing(client, mona, sla="breached")) == [breached.pk]
        assert ids(listing(client, mona, sla="warning")) == [warning.pk]
        assert ids(listing(client, mona, sla="running")) == [on_track.pk]
        assert ids(listing(client, mona, sla="none")) == [answered.pk]
        # Latest deadline first, cases without a running clock still last.
        assert ids(listing(client, mona, sort="-due")) == [
            on_track.pk, warning.pk, breached.pk, answered.pk
        ]  # fmt: skip


def test_it_shows_paused_clocks_while_waiting_on_the_customer(client, mona, acme, acme_contact):
    policy = sla_policy_create(by=mona, name="Work", now=T - timedelta(days=1), metrics={
        "agent_work": {"targets": {p: 8 * 60 * MINUTE for p in ("p1", "p2", "p3", "p4")},
                       "business_hours": False},
    })  # fmt: skip
    tier_sla_set(
        by=mona, tier="enterprise", policy=policy, calendar=None, now=T - timedelta(days=1)
    )
    waiting = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=10))
    working = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=10))
    case_change_status(case=waiting, by=mona, to="waiting_on_customer",
                       now=T - timedelta(minutes=5), expected_version=waiting.version)  # fmt: skip
    with time_machine.travel(T, tick=False):
        response = listing(client, mona)
        assert ids(listing(client, mona, sla="paused")) == [waiting.pk]
    states = {c.pk: c.sla_state for c in response.context["cases"]}
    assert states == {waiting.pk: "paused", working.pk: "running"}
    # A paused clock has no deadline: the working case comes first.
    assert ids(response) == [working.pk, waiting.pk]


def test_it_offers_my_queue_my_department_and_breaching_soon(
    client, hour_sla, mona, gina, acme, acme_contact, support, engineering
):
    assigned = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=40),
                             department=support)  # fmt: skip
    case_hand_off(case=assigned, by=mona, reason="Yours", now=T - timedelta(minutes=39),
                  expected_version=assigned.version, department=None, assignee=gina)  # fmt: skip
    queued = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=2),
                           department=support)  # fmt: skip
    elsewhere = customer_case(acme, acme_contact, mona, opened=T - timedelta(minutes=45),
                              department=engineering)  # fmt: skip
    late = customer_case(acme, acme_contact, mona, opened=T - timedelta(hours=3))
    with time_machine.travel(T, tick=False):
        assert ids(listing(client, gina, view="mine")) == [assigned.pk]
        assert ids(listing(client, gina, view="department")) == [assigned.pk, queued.pk]
        # Due within four hours and not yet breached, for everyone they may read.
        assert set(ids(listing(client, mona, view="breaching"))) == {
            assigned.pk, queued.pk, elsewhere.pk
        }  # fmt: skip
        assert late.pk not in ids(listing(client, mona, view="breaching"))
        assert ids(listing(client, gina, view="breaching")) == [assigned.pk, queued.pk]
        # Mona has no department: no such view is offered; asking for it shows all cases.
        response = listing(client, mona, view="department")
        assert len(ids(response)) == 4
        assert [key for key, _ in response.context["views"]] == ["", "mine", "breaching"]
        html = listing(client, gina).content.decode()
        assert "My queue" in html and "My department" in html and "Breaching soon" in html


def test_it_pages_fifty_cases_at_a_time(client, mona, acme):
    for i in range(55):
        make_case(account=acme, by=mona, subject=f"Printer {i}")
    first = listing(client, mona)
    assert len(first.context["cases"]) == 50
    assert "1–50 of 55 cases" in first.content.decode()
    second = listing(client, mona, page=2)
    assert len(second.context["cases"]) == 5
    assert not set(ids(first)) & set(ids(second))


def test_it_answers_htmx_with_the_results_fragment(client, mona, acme):
    case = make_case(account=acme, by=mona)
    client.force_login(mona)
    response = client.get(reverse("case_list"), {"priority": "p3"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f"#{case.pk} " in html and "<html" not in html
    assert 'hx-swap-oob="innerHTML"' in html
    page = client.get(reverse("case_list")).content.decode()
    assert "<html" in page
    assert_no_inline_script(page)


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_in_a_constant_number_of_queries(
    client, hour_sla, mona, alice, n, support, django_assert_num_queries
):
    for i in range(n):
        account = make_account(name=f"Fjord {i:02d} AS", by=mona, tam=alice)
        make_case(account=account, by=mona, department=support, subject=f"Sync {i} fails")
    Product.objects.create(name="Ledger")
    client.force_login(alice)
    # session, user; departments, people, accounts, products; count, rows; nav inbox count
    with django_assert_num_queries(9):
        response = client.get(reverse("case_list"), {"sort": "-updated"})
    assert len(response.context["cases"]) == n
