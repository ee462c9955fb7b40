"""The account page: health with each contribution, KPIs, charts, contacts, TAM history, open and
resolved cases, and the timeline of employee actions, filterable and refreshed in place by htmx."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from kontosjef.accounts.health import health_snapshot
from kontosjef.cases.services import (
    case_add_note,
    case_change_status,
    case_reply,
)
from tests.factories import make_answered_case, make_case, make_strict_first_reply_sla
from tests.pages import assert_no_inline_script

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MIN = 60
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def strict_sla(mona):
    return make_strict_first_reply_sla(by=mona, now=NOW)


def answered(account, contact, by, opened, minutes):
    return make_answered_case(
        account=account, contact=contact, by=by, opened=opened, minutes=minutes
    )


@pytest.fixture
def late_acme(strict_sla, acme, acme_contact, mona):
    """Acme answered late three times and on time once, with health computed on two days."""
    for day, minutes in ((9, 90), (8, 90), (7, 5), (6, 120)):
        answered(acme, acme_contact, mona, NOW - timedelta(days=day), minutes)
    health_snapshot(now=NOW - timedelta(days=1))
    health_snapshot(now=NOW)
    return acme


def page(client, user, account, query="", **headers):
    client.force_login(user)
    return client.get(reverse("account_detail", args=[account.pk]) + query, headers=headers)


def chart_specs(html):
    return {
        m.group(1): json.loads(m.group(2))
        for m in re.finditer(
            r'<script id="(chart-[a-z]+)-spec" type="application/json">(.*?)</script>', html, re.S
        )
    }


def test_it_shows_each_contribution_and_they_add_up_to_100_minus_the_score(
    client, alice, late_acme
):
    response = page(client, alice, late_acme)
    assert response.status_code == 200
    health = response.context["health"]
    lost = [c.points_lost for c in health.contributions]
    assert health.snapshot.score < 100
    assert sum(lost) == pytest.approx(100 - health.snapshot.score, abs=0.05)
    assert lost == sorted(lost, reverse=True) and lost[0] > 0
    by_code = {c.code: c for c in health.contributions}
    frt = by_code["frt_attainment_30d"]
    assert (frt.is_met, frt.value, frt.samples) == (False, 0.25, 4)
    # The four cases have stayed open for a week: the oldest-open-case standard is missed too.
    assert {c.code for c in health.contributions if c.points_lost} == {
        "frt_attainment_30d", "backlog_age_max"
    }  # fmt: skip
    assert not by_code["csat_90d"].has_data and by_code["csat_90d"].points_lost == 0
    html = response.content.decode()
    assert "First-reply SLA attainment, 30 days" in html and "25 %" in html and "≥ 90 %" in html
    assert f"{100 - health.snapshot.score:.1f}" in html
    assert_no_inline_script(html)


def test_it_shows_kpis_against_the_accounts_expectations(client, alice, late_acme):
    response = page(client, alice, late_acme)
    rows = {row.kpi: row for row in response.context["kpis"]}
    frt = rows["frt_attainment"]
    assert frt.values == [0.5, 0.25, 0.25]  # one of the two answers in the last 7 days was late
    assert (frt.expectation.threshold, frt.is_met) == (0.90, False)
    assert rows["case_count"].expectation is None
    assert "pu_attainment" not in rows  # no data and no expectation


def test_it_embeds_each_chart_as_a_valid_vega_lite_spec(client, alice, late_acme):
    html = page(client, alice, late_acme).content.decode()
    specs = chart_specs(html)
    assert set(specs) == {
        "chart-health", "chart-attainment", "chart-backlog", "chart-priority", "chart-product"
    }  # fmt: skip
    for spec in specs.values():
        assert spec["$schema"].endswith("vega-lite/v6.json")
        assert spec["width"] == "container" and spec["description"]
    attainment = specs["chart-attainment"]["layer"]
    assert [p["value"] for p in attainment[0]["data"]["values"]] == [0.25, 0.25]
    assert attainment[1]["data"]["values"] == [
        {"series": "First-reply SLA attainment", "threshold": 0.9}
    ]
    assert [r["score"] for r in specs["chart-health"]["layer"][1]["data"]["values"]] == [
        s.score for s in late_acme.health_snapshots.order_by("on")
    ]
    priorities = specs["chart-priority"]["data"]["values"]
    assert priorities == [
        {"priority": "P3", "name": "P3 – normal", "state": "Still open", "cases": 4}
    ]
    assert 'role="img" aria-label="SLA attainment per day' in html


def test_it_says_so_when_an_account_has_no_health_yet(client, alice, acme):
    html = page(client, alice, acme).content.decode()
    assert "No health score yet" in html and "No SLA measurements yet." in html
    assert chart_specs(html) == {}


def test_it_lists_contacts_and_the_tam_history(client, alice, bob, mona, acme, acme_contact):
    from kontosjef.accounts.services import account_assign_tam

    account_assign_tam(account=acme, tam=bob, by=mona, reason="Alice moves to Globex", now=NOW)
    html = page(client, mona, acme).content.decode()
    assert "Kari Nordmann" in html and "kari@acme.example" in html and "English" in html
    history = re.search(r'id="tams-heading".*?</section>', html, re.S).group(0)
    assert history.index("Bob") < history.index("Alice")
    assert "Alice moves to Globex" in history and "Initial assignment" in history
    assert "assigned by Mona" in history


def test_it_lists_open_cases_with_the_next_sla_deadline_and_resolved_ones_apart(
    client, alice, mona, strict_sla, acme, acme_contact
):
    waiting = make_case(account=acme, by=mona, requester=acme_contact, opened_by_customer=True,
                        priority="p1", subject="Payroll stopped",
                        now=NOW - timedelta(minutes=10))  # fmt: skip
    done = answered(acme, acme_contact, mona, NOW - timedelta(days=2), 5)
    case_change_status(case=done, by=mona, to="solved", now=NOW - timedelta(days=1),
                       expected_version=done.version)  # fmt: skip
    response = page(client, alice, acme)
    open_cases = list(response.context["open_cases"].object_list)
    assert open_cases == [waiting]
    assert open_cases[0].next_due_at == NOW + timedelta(minutes=20)
    assert list(response.context["closed_cases"].object_list) == [done]
    html = response.content.decode()
    assert f'href="{reverse("case_detail", args=[waiting.pk])}"' in html
    assert 'class="badge prio-P1"' in html


@pytest.fixture
def busy_acme(acme, alice, gina, erik, mona, support, engineering):
    """Acme's cases: one in Support worked by Gina, one in Engineering worked by Erik."""
    first = make_case(account=acme, by=gina, department=support, subject="Login fails", now=NOW)
    case_add_note(case=first, by=gina, body="Looks like SSO.", now=NOW + timedelta(minutes=1),
                  expected_version=first.version)  # fmt: skip
    first.refresh_from_db()
    case_reply(case=first, by=alice, body="We are on it.", now=NOW + timedelta(minutes=2),
               expected_version=first.version)  # fmt: skip
    second = make_case(account=acme, by=erik, department=engineering, subject="Slow export",
                       now=NOW + timedelta(minutes=3))  # fmt: skip
    case_add_note(case=second, by=erik, body="Profiling.", now=NOW + timedelta(minutes=4),
                  expected_version=second.version)  # fmt: skip
    return acme


def timeline(response):
    return [(e.actor_user.username, e.kind) for e in response.context["timeline_events"]]


def test_it_shows_every_employee_action_newest_first(client, mona, busy_acme):
    response = page(client, mona, busy_acme)
    assert timeline(response) == [
        ("erik", "note"), ("erik", "created"), ("alice", "reply"), ("gina", "note"),
        ("gina", "created"),
    ]  # fmt: skip
    html = response.content.decode()
    assert "Added an internal note" in html and "Looks like SSO." in html
    assert "Opened the case as P3 – normal" in html


def test_it_filters_the_timeline_by_person_department_and_kind(
    client, mona, alice, erik, busy_acme, support
):
    assert timeline(page(client, mona, busy_acme, f"?person={alice.pk}")) == [("alice", "reply")]
    assert timeline(page(client, mona, busy_acme, f"?department={support.pk}")) == [
        ("gina", "note"), ("gina", "created"),
    ]  # fmt: skip
    assert timeline(page(client, mona, busy_acme, "?kind=note")) == [
        ("erik", "note"), ("gina", "note"),
    ]  # fmt: skip
    assert timeline(page(client, mona, busy_acme, f"?person={erik.pk}&kind=created")) == [
        ("erik", "created")
    ]
    response = page(client, mona, busy_acme, f"?person={alice.pk}&kind=note")
    assert timeline(response) == []
    assert "No actions match these filters." in response.content.decode()


def test_it_refreshes_only_the_timeline_for_htmx(client, mona, busy_acme):
    response = page(client, mona, busy_acme, "?kind=reply", HX_Target="timeline", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline">')
    assert "<html" not in html and "We are on it." in html and "Looks like SSO." not in html
    assert 'role="status"' in html
    assert "HX-Request" in response["Vary"]
    assert_no_inline_script(html)


def test_it_offers_a_filter_form_that_works_without_javascript(client, mona, busy_acme):
    html = page(client, mona, busy_acme).content.decode()
    form = re.search(r'<form class="filters".*?</form>', html, re.S).group(0)
    url = reverse("account_detail", args=[busy_acme.pk])
    assert f'method="get" action="{url}#timeline-heading"' in form and f'hx-get="{url}"' in form
    assert 'hx-target="#timeline"' in form and 'hx-push-url="true"' in form
    for name in ("person", "department", "kind"):
        assert f'<label for="id_{name}">' in form
    assert ">Alice<" in form and ">Erik<" in form and ">Mona<" not in form


def test_it_pages_the_timeline_and_the_pager_refreshes_it_in_place(client, mona, acme):
    case = make_case(account=acme, by=mona, now=NOW)
    for minute in range(1, 30):
        at = NOW + timedelta(minutes=minute)
        case_add_note(case=case, by=mona, body=f"Note {minute}", now=at,
                      expected_version=case.version)  # fmt: skip
        case.refresh_from_db()
    first = page(client, mona, acme, "?kind=note")
    assert first.context["timeline"].paginator.count == 29
    assert 'hx-get="?kind=note&amp;page=2"' in first.content.decode()
    second = page(client, mona, acme, "?kind=note&page=2", HX_Target="timeline", **HTMX)
    assert [e.body for e in second.context["timeline_events"]] == [
        f"Note {m}" for m in range(4, 0, -1)
    ]


def test_it_refreshes_only_a_case_list_for_htmx(client, mona, acme):
    make_case(account=acme, by=mona, subject="Invoices are late", now=NOW)
    html = page(client, mona, acme, HX_Target="open-cases", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="open-cases">') and "Invoices are late" in html
    html = page(client, mona, acme, HX_Target="closed-cases", **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="closed-cases">') and "No resolved cases." in html


def _events(account, by, n):
    case = make_case(account=account, by=by, now=NOW)
    for minute in range(1, n):
        case_add_note(case=case, by=by, body="Checked.", now=NOW + timedelta(minutes=minute),
                      expected_version=case.version)  # fmt: skip
        case.refresh_from_db()


@pytest.mark.parametrize("events", [3, 30])
def test_it_reads_the_timeline_in_a_constant_number_of_queries(
    client, django_assert_num_queries, mona, acme, events
):
    _events(acme, mona, events)
    client.force_login(mona)
    url = reverse("account_detail", args=[acme.pk])
    # Session, user, account and its TAM; count, ids and rows of the page's events.
    with django_assert_num_queries(7):
        response = client.get(url, headers={"HX-Target": "timeline", **HTMX})
    assert len(response.context["timeline_events"]) == min(events, 25)


@pytest.mark.parametrize("cases", [3, 30])
def test_it_reads_the_whole_page_in_a_constant_number_of_queries(
    client, django_assert_num_queries, mona, strict_sla, acme, acme_contact, cases
):
    for i in range(cases):
        done = answered(acme, acme_contact, mona, NOW - timedelta(hours=cases - i), 45)
        if i % 2:
            case_change_status(case=done, by=mona, to="solved", now=NOW - timedelta(minutes=1),
                               expected_version=done.version)  # fmt: skip
    health_snapshot(now=NOW)
    client.force_login(mona)
    with django_assert_num_queries(24):
        response = client.get(reverse("account_detail", args=[acme.pk]))
    assert response.context["open_cases"].paginator.count == cases - cases // 2


def test_it_hides_an_account_from_an_agent_outside_its_departments(client, gina, busy_acme, globex):
    assert page(client, gina, busy_acme).status_code == 200
    assert page(client, gina, globex).status_code == 404


def test_it_shows_an_agent_only_their_departments_cases_and_actions(client, gina, busy_acme):
    response = page(client, gina, busy_acme)
    assert [c.subject for c in response.context["open_cases"].object_list] == ["Login fails"]
    assert {username for username, _kind in timeline(response)} == {"gina", "alice"}
    assert "Slow export" not in response.content.decode()


def test_it_keeps_a_tam_to_their_portfolio_and_shows_viewers_everything(
    client, bob, vera, acme, globex
):
    assert page(client, bob, globex).status_code == 200
    assert page(client, bob, acme).status_code == 404
    assert page(client, vera, globex).status_code == 200
    assert page(client, vera, acme).status_code == 200
    client.logout()
    response = client.get(reverse("account_detail", args=[acme.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_returns_404_for_an_account_that_does_not_exist(client, mona):
    client.force_login(mona)
    assert client.get(reverse("account_detail", args=[999_999])).status_code == 404
