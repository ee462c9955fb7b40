"""The portfolio (home page): sign-in, each role's accounts, health, items, SLA attainment,
backlog and last contact; filters, sorting, search, the htmx fragment and a constant query count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from kontosjef.accounts.models import Account, HealthSnapshot, KpiSnapshot
from kontosjef.attention.models import AttentionItem
from kontosjef.cases.services import case_add_note, case_reply
from kontosjef.people.models import User
from kontosjef.people.services import INTEGRATION_SOURCE, user_create
from tests.factories import PASSWORD, T0, make_account, make_case, make_contact
from tests.pages import assert_no_inline_script

NOW = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# Health and KPI snapshots are the daily job's output over weeks of history, and attention items
# come from rules that need that history: the tests write them straight to the models.


def _health(account: Account, score: float, *, trend: float | None = 0.0, days_ago: int = 0):
    HealthSnapshot.objects.create(
        account=account,
        on=TODAY - timedelta(days=days_ago),
        score=score,
        trend=trend,
        computed_at=NOW,
    )


def _kpis(account: Account, *, frt: float | None, trt: float | None, days_ago: int = 0):
    KpiSnapshot.objects.create(
        account=account,
        on=TODAY - timedelta(days=days_ago),
        window_days=30,
        values={"frt_attainment": frt, "trt_attainment": trt, "backlog_count": 0.0},
        computed_at=NOW,
    )


def _item(account: Account, key: str, *, state: str = "open", close_reason: str = ""):
    return AttentionItem.objects.create(
        account=account,
        kind="expectation",
        key=key,
        title=f"Unmet {key}",
        severity="warning",
        queue="tam",
        state=state,
        close_reason=close_reason,
        opened_at=NOW,
        updated_at=NOW,
    )


def _customer_case(account: Account, by: User, *, days_ago: float):
    contact = make_contact(account=account, by=by, name=f"Kari {account.name}")
    return make_case(
        account=account,
        by=by,
        requester=contact,
        opened_by_customer=True,
        now=NOW - timedelta(days=days_ago),
    )


def _names(response) -> list[str]:
    return [row.account.name for row in response.context["rows"]]


@pytest.fixture
def initech(mona: User) -> Account:
    return make_account(name="Initech AB", by=mona, tier="standard", country="SE")


@pytest.fixture
def three(mona, acme, globex, initech):
    """Three accounts that differ in every column (ascending orders in the comments)."""
    _health(acme, 90, trend=0.5)  # health: Initech, Globex, Acme
    _health(globex, 70, trend=-0.5)  # trend: Globex, Initech, Acme
    _health(initech, 50, trend=0.0)
    _item(globex, "a")  # items: Acme 0, Initech 1, Globex 2
    _item(globex, "b")
    _item(initech, "c")
    _item(acme, "dismissed", state="dismissed", close_reason="Known and accepted")
    _kpis(acme, frt=0.95, trt=0.90)  # attainment: Initech, Globex, Acme
    _kpis(globex, frt=0.80, trt=0.70)  # resolution: Globex, Acme, Initech
    _kpis(initech, frt=0.60, trt=0.95)
    _customer_case(acme, mona, days_ago=1)  # backlog: Acme 1, Initech 2, Globex 3
    for days in (20, 15, 10):  # last contact, oldest first: Globex, Initech, Acme
        _customer_case(globex, mona, days_ago=days)
    for days in (6, 5):
        _customer_case(initech, mona, days_ago=days)
    return acme, globex, initech


# Sign-in -----------------------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_signs_in_with_username_and_password(client, alice, acme):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert "Acme AS" in response.content.decode()


def test_it_rejects_a_wrong_password(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


# Who sees what -----------------------------------------------------------------------------------


def test_it_shows_a_tam_only_their_portfolio(client, alice, acme, globex, initech):
    client.force_login(alice)
    response = client.get(reverse("home"))
    page = response.content.decode()
    assert _names(response) == ["Acme AS"]
    assert "My accounts" in page and "Globex ASA" not in page
    assert 'id="portfolio-tam"' not in page  # no TAM filter or column in one's own portfolio


def test_it_keeps_a_tam_to_their_portfolio_whatever_the_query_string(
    client, alice, bob, acme, globex, initech
):
    client.force_login(alice)
    # The old "All accounts" link, another TAM's portfolio and the unassigned accounts.
    for params in ({"scope": "all"}, {"tam": bob.pk}, {"tam": "none"}):
        response = client.get(reverse("home"), params)
        page = response.content.decode()
        assert _names(response) == ["Acme AS"], params
        assert response.context["summary"].accounts == 1
        assert "Globex ASA" not in page and "Initech AB" not in page
    assert "All accounts" not in page and "scope=all" not in page and 'name="scope"' not in page


def test_it_shows_a_manager_every_account_with_its_tam(client, mona, acme, globex, initech):
    client.force_login(mona)
    response = client.get(reverse("home"))
    page = response.content.decode()
    assert sorted(_names(response)) == ["Acme AS", "Globex ASA", "Initech AB"]
    assert "Alice" in page and "Bob" in page and "Unassigned" in page


def test_it_narrows_a_manager_to_one_tams_portfolio(client, mona, bob, acme, globex, initech):
    client.force_login(mona)
    response = client.get(reverse("home"), {"tam": bob.pk})
    assert _names(response) == ["Globex ASA"]


def test_it_shows_a_manager_the_accounts_without_a_tam(client, mona, acme, globex, initech):
    client.force_login(mona)
    response = client.get(reverse("home"), {"tam": "none"})
    assert _names(response) == ["Initech AB"]


def test_it_offers_tams_but_not_integrations_in_the_tam_filter(client, mona, alice, bob):
    user_create(
        by=None, username="integration.crm", password=None, role="tam", now=T0,
        first_name="Crm", external_source=INTEGRATION_SOURCE, external_id="crm",
    )  # fmt: skip
    client.force_login(mona)
    select = re.search(
        r'<select name="tam".*?</select>', client.get(reverse("home")).content.decode(), re.S
    )
    assert select is not None
    options = re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0))
    assert options == ["All TAMs", "Unassigned", "Alice", "Bob"]


def test_it_shows_an_agent_the_accounts_of_their_departments_cases(
    client, gina, mona, support, acme, globex
):
    make_case(account=globex, by=mona, department=support)
    client.force_login(gina)
    assert _names(client.get(reverse("home"))) == ["Globex ASA"]


def test_it_shows_a_viewer_every_account(client, vera, acme, globex, initech):
    client.force_login(vera)
    assert len(_names(client.get(reverse("home")))) == 3


# What each row shows -----------------------------------------------------------------------------


def test_it_shows_health_items_attainment_backlog_and_last_contact(client, mona, three):
    client.force_login(mona)
    response = client.get(reverse("home"), {"q": "globex"})
    row = re.search(r"<tr>\s*<th scope=\"row\">.*?</tr>", response.content.decode(), re.S)
    assert row is not None
    cells = row.group(0)
    globex = three[1]
    assert f'href="/accounts/{globex.pk}/"' in cells
    assert 'class="badge score band-watch"' in cells and ">70<" in cells
    assert 'class="trend-down"' in cells
    assert '<span class="badge sev-warning">2</span>' in cells  # the dismissed item is not open
    assert "80 %" in cells and "70 %" in cells
    assert '<td class="num">3</td>' in cells
    assert "1\xa0week ago" in cells  # the newest of its customers' messages, 10 days ago


def test_it_counts_public_messages_not_internal_notes_as_contact(client, mona, acme):
    case = _customer_case(acme, mona, days_ago=30)
    case_reply(case=case, by=mona, body="We are on it.", now=NOW - timedelta(days=3),
               expected_version=case.version)  # fmt: skip
    case.refresh_from_db()
    case_add_note(case=case, by=mona, body="Checked the logs.", now=NOW - timedelta(hours=1),
                  expected_version=case.version)  # fmt: skip
    client.force_login(mona)
    row = client.get(reverse("home")).context["rows"][0]
    assert row.last_contact_at == NOW - timedelta(days=3)
    assert row.since_last_contact == "3\xa0days ago"


def test_it_shows_never_for_an_account_without_contact(client, mona, acme):
    make_case(account=acme, by=mona)  # taken in by an employee, without a message
    client.force_login(mona)
    response = client.get(reverse("home"))
    assert response.context["rows"][0].last_contact_at is None
    assert ">never<" in response.content.decode()


def test_it_shows_no_attainment_without_sla_cycles_and_sorts_it_last(client, mona, three):
    quiet = make_account(name="Quiet AS", by=mona)
    _kpis(quiet, frt=None, trt=None)  # no SLA cycle ended in the window
    client.force_login(mona)
    response = client.get(reverse("home"), {"sort": "attainment"})
    assert _names(response)[-1] == "Quiet AS"
    assert response.context["rows"][-1].account.frt_attainment is None
    assert _names(client.get(reverse("home"), {"sort": "-attainment"}))[-1] == "Quiet AS"


def test_it_draws_30_days_of_health_as_a_sparkline(client, alice, acme):
    for days_ago, score in [(40, 10), (29, 80), (20, 85), (10, 90), (0, 95)]:
        _health(acme, score, days_ago=days_ago)
    client.force_login(alice)
    response = client.get(reverse("home"))
    history = response.context["rows"][0].history
    assert len(history) == 30
    assert (history[0], history[9], history[19], history[29]) == (80, 85, 90, 95)
    assert history.count(None) == 26  # days without a snapshot are gaps; day 40 is outside
    points = re.search(r'<polyline points="([^"]+)"', response.content.decode())
    assert points is not None and len(points.group(1).split()) == 4


def test_it_sums_up_accounts_risk_items_and_cases(client, mona, three):
    client.force_login(mona)
    summary = client.get(reverse("home")).context["summary"]
    assert (summary.accounts, summary.at_risk, summary.open_items, summary.open_cases) == (
        3, 1, 3, 6,
    )  # fmt: skip


# Filters, search and sorting ---------------------------------------------------------------------


def test_it_filters_by_tier(client, mona, acme, globex, initech):
    client.force_login(mona)
    assert _names(client.get(reverse("home"), {"tier": "strategic"})) == ["Globex ASA"]


@pytest.mark.parametrize(
    ("band", "names"),
    [
        ("healthy", ["Acme AS"]),
        ("watch", ["Globex ASA"]),
        ("at_risk", ["Initech AB"]),
        ("unknown", ["Umbrella AS"]),
    ],
)
def test_it_filters_by_health_band(client, mona, three, band, names):
    make_account(name="Umbrella AS", by=mona)  # no snapshot yet
    client.force_login(mona)
    assert _names(client.get(reverse("home"), {"band": band})) == names


def test_it_reads_the_latest_health_snapshot(client, mona, acme):
    _health(acme, 40, days_ago=1)
    _health(acme, 88, days_ago=0)
    client.force_login(mona)
    assert _names(client.get(reverse("home"), {"band": "healthy"})) == ["Acme AS"]


def test_it_filters_to_accounts_with_open_items(client, mona, three):
    client.force_login(mona)
    response = client.get(reverse("home"), {"items": "on", "sort": "name"})
    assert _names(response) == ["Globex ASA", "Initech AB"]


def test_it_searches_account_names(client, mona, acme, globex, initech):
    client.force_login(mona)
    assert _names(client.get(reverse("home"), {"q": " INITECH "})) == ["Initech AB"]
    assert _names(client.get(reverse("home"), {"q": "nobody"})) == []


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("name", ["Acme AS", "Globex ASA", "Initech AB"]),
        ("health", ["Initech AB", "Globex ASA", "Acme AS"]),
        ("trend", ["Globex ASA", "Initech AB", "Acme AS"]),
        ("items", ["Acme AS", "Initech AB", "Globex ASA"]),
        ("attainment", ["Initech AB", "Globex ASA", "Acme AS"]),
        ("resolution", ["Globex ASA", "Acme AS", "Initech AB"]),
        ("backlog", ["Acme AS", "Initech AB", "Globex ASA"]),
        ("contact", ["Globex ASA", "Initech AB", "Acme AS"]),
    ],
)
def test_it_sorts_by_each_column_both_ways(client, mona, three, sort, order):
    client.force_login(mona)
    assert _names(client.get(reverse("home"), {"sort": sort})) == order
    assert _names(client.get(reverse("home"), {"sort": f"-{sort}"})) == order[::-1]


def test_it_puts_the_worst_health_first_and_unscored_accounts_last(client, mona, three):
    make_account(name="Aardvark AS", by=mona)  # no snapshot yet
    client.force_login(mona)
    response = client.get(reverse("home"))
    assert _names(response) == ["Initech AB", "Globex ASA", "Acme AS", "Aardvark AS"]


def test_it_marks_the_sorted_column_and_links_the_other_direction(client, mona, three):
    client.force_login(mona)
    page = client.get(reverse("home"), {"sort": "-items", "tier": "enterprise"}).content.decode()
    assert re.search(r'<th scope="col" class="num" aria-sort="descending">\s*'
                     r'<a href="\?sort=items&amp;tier=enterprise"', page)  # fmt: skip
    assert page.count("aria-sort=") == 1
    # Other columns start with their worst first: many items, but low health.
    assert 'href="?sort=health&amp;tier=enterprise"' in page
    assert 'href="?sort=-backlog&amp;tier=enterprise"' in page
    assert '<input type="hidden" name="sort" value="-items" form="portfolio-filters">' in page


def test_it_ignores_unknown_filter_values(client, mona, acme):
    client.force_login(mona)
    response = client.get(reverse("home"), {"tam": "9999", "sort": "evil", "band": "x"})
    assert response.status_code == 200
    assert _names(response) == ["Acme AS"]


def test_it_pages_fifty_accounts_at_a_time(client, mona):
    for i in range(51):
        make_account(name=f"Kunde {i:02d} AS", by=mona)
    client.force_login(mona)
    first = client.get(reverse("home"), {"sort": "name"})
    assert len(_names(first)) == 50
    assert "1–50 of 51 accounts" in first.content.decode()
    second = client.get(reverse("home"), {"sort": "name", "page": 2})
    assert _names(second) == ["Kunde 50 AS"]


# htmx, page hygiene, query count -----------------------------------------------------------------


def test_it_answers_htmx_with_the_results_fragment_only(client, mona, three):
    client.force_login(mona)
    response = client.get(reverse("home"), {"tier": "strategic"}, headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert "<html" not in fragment and "<form" not in fragment
    assert "Globex ASA" in fragment and "Acme AS" not in fragment
    assert 'id="portfolio-count" class="muted" role="status" hx-swap-oob="innerHTML"' in fragment
    assert "HX-Request" in response["Vary"]


def test_it_refreshes_the_results_in_place_and_works_without_javascript(client, mona, acme):
    client.force_login(mona)
    page = client.get(reverse("home")).content.decode()
    form = re.search(r'<form id="portfolio-filters"[^>]*>', page)
    assert form is not None
    assert 'method="get" action="/"' in form.group(0)
    assert 'hx-get="/"' in form.group(0) and 'hx-target="#portfolio-results"' in form.group(0)
    assert 'hx-push-url="true"' in form.group(0)
    assert '<div id="portfolio-results"' in page and '<button type="submit">' in page


def test_it_has_no_inline_script(client, mona, three):
    client.force_login(mona)
    assert_no_inline_script(client.get(reverse("home")).content.decode())


def test_it_shows_the_page_in_norwegian(client, alice, acme):
    client.force_login(alice)
    response = client.get(reverse("home"), headers={"accept-language": "nb"})
    assert response.status_code == 200
    assert "Mine kunder" in response.content.decode()


def test_it_sends_a_content_security_policy(client, alice):
    client.force_login(alice)
    response = client.get(reverse("home"))
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_accounts_in_a_constant_number_of_queries(
    client, mona, alice, n, django_assert_num_queries
):
    for i in range(n):
        account = make_account(name=f"Kunde {i:02d} AS", by=mona, tam=alice if i % 2 else None)
        _customer_case(account, mona, days_ago=i % 7 + 1)
        _health(account, 50 + i, days_ago=1)
        _health(account, 60 + i)
        _kpis(account, frt=0.9, trt=0.8)
        _item(account, "x")
    client.force_login(mona)
    # session, user, TAMs for the filter, count, page of accounts, current TAMs, health history,
    # last contact, summary, first-run guidance (a manager), data's last activity, inbox count
    with django_assert_num_queries(12):
        response = client.get(reverse("home"))
    assert len(response.context["rows"]) == n
