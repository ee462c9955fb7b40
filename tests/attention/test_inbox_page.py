"""The attention inbox: each TAM sees their own items, managers their queue; acknowledge, dismiss
with a reason and assign a TAM, in place with htmx or by post/redirect/get."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kontosjef.accounts.models import TamAssignment
from kontosjef.accounts.services import account_assign_tam
from kontosjef.attention.models import AttentionItem
from kontosjef.attention.services import health_refresh, tam_suggestions
from tests.attention.items import HTMX, LATER, NOW, frt, late_reply
from tests.factories import make_account
from tests.pages import assert_no_inline_script

pytestmark = pytest.mark.usefixtures("clock")


def inbox(client, user, **params):
    client.force_login(user)
    return client.get(reverse("attention_inbox"), params)


def test_it_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("attention_inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_a_tam_only_their_own_items(client, items, alice, acme, globex, lonely):
    response = inbox(client, alice)
    shown = response.context["items"]
    assert shown and {i.account for i in shown} == {acme}
    assert all(i.owner == alice for i in shown)
    page = response.content.decode()
    assert "Acme AS" in page and "Globex ASA" not in page and "Lonely AS" not in page
    # A TAM has no queue to choose.
    assert 'name="queue"' not in page


def test_it_drops_an_item_from_a_former_tams_inbox_until_it_is_routed(
    client, items, mona, alice, bob, acme
):
    account_assign_tam(account=acme, tam=bob, by=mona, reason="Rebalance", now=LATER)
    item = frt(acme)
    assert item.owner == alice  # the rules route it at their next run
    assert inbox(client, alice).context["items"] == []
    assert "Acme AS" not in inbox(client, alice).content.decode()
    health_refresh(now=LATER)
    assert frt(acme) in inbox(client, bob).context["items"]


def test_it_shows_a_manager_the_managers_queue_and_on_request_every_item(
    client, items, mona, acme, globex, lonely
):
    assert {i.account for i in inbox(client, mona).context["items"]} == {lonely}
    assert {i.account for i in inbox(client, mona, queue="managers").context["items"]} == {lonely}
    assert inbox(client, mona, queue="mine").context["items"] == []
    everything = inbox(client, mona, queue="all").context["items"]
    assert {i.account for i in everything} == {acme, globex, lonely}


def test_it_puts_the_most_severe_first_then_the_newest(client, items, mona):
    shown = inbox(client, mona, queue="all").context["items"]
    ranks = [{"critical": 0, "warning": 1, "info": 2}[i.severity] for i in shown]
    assert ranks == sorted(ranks) and ranks[0] == 0
    for a, b in zip(shown, shown[1:], strict=False):
        if a.severity == b.severity:
            assert (a.opened_at, a.pk) >= (b.opened_at, b.pk)


def test_it_filters_by_kind_severity_and_account(client, items, mona, globex, lonely):
    assert {i.kind for i in inbox(client, mona, queue="all", kind="no_tam").context["items"]} == {
        "no_tam"
    }
    critical = inbox(client, mona, queue="all", severity="critical").context["items"]
    assert critical and {i.severity for i in critical} == {"critical"}
    found = inbox(client, mona, queue="all", account="GLOBEX").context["items"]
    assert found and {i.account for i in found} == {globex}


def test_it_shows_the_evidence_inline_with_links_to_cases_and_account(client, items, alice, acme):
    page = inbox(client, alice).content.decode()
    item = frt(acme)
    case_id = item.evidence["cases"][0]
    assert "<details" in page and reverse("case_detail", args=[case_id]) in page
    assert "Login fails for Acme AS" in page
    assert reverse("account_detail", args=[acme.pk]) in page
    assert "0 %" in page and "expected at least 90 %" in page


def test_it_acknowledges_by_post_and_redirects_back(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    back = reverse("attention_inbox") + "?kind=expectation"
    response = client.post(reverse("attention_acknowledge", args=[item.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    item.refresh_from_db()
    assert item.state == "acknowledged"
    assert item.events.filter(kind="acknowledged", by=alice).exists()
    assert "Acknowledged." in client.get(back).content.decode()


def test_it_ignores_a_next_address_on_another_site(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    response = client.post(
        reverse("attention_acknowledge", args=[item.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("attention_item", args=[item.pk])


def test_it_acknowledges_with_htmx_and_swaps_the_card(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    response = client.post(
        reverse("attention_acknowledge", args=[item.pk]),
        {"next": reverse("attention_inbox")},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="item-{item.pk}"' in html and "<html" not in html
    assert 'hx-swap-oob="true"' in html and "Acknowledged." in html
    assert_no_inline_script(html)
    item.refresh_from_db()
    assert item.state == "acknowledged"


def test_it_starts_work_on_an_item(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    client.post(reverse("attention_start", args=[item.pk]), headers=HTMX)
    item.refresh_from_db()
    assert item.state == "in_progress"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["post", "htmx"])
def test_it_dismisses_with_a_reason(client, items, alice, acme, headers):
    item = frt(acme)
    client.force_login(alice)
    response = client.post(
        reverse("attention_dismiss", args=[item.pk]),
        {"reason": "Known outage, agreed with the customer", "next": reverse("attention_inbox")},
        headers=headers,
    )
    item.refresh_from_db()
    assert (item.state, item.close_reason) == (
        "dismissed",
        "Known outage, agreed with the customer",
    )
    if headers:
        assert response.status_code == 200 and "Dismissed" in response.content.decode()
        # The navigation's count follows in place: Alice's only item is gone.
        html = response.content.decode()
        assert '<span class="count" id="nav-inbox-count" hx-swap-oob="true" hidden>0' in html
    else:
        assert response.status_code == 302
    # A dismissed item leaves the inbox.
    assert item not in inbox(client, alice).context["items"]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["post", "htmx"])
def test_it_refuses_to_dismiss_without_a_reason(client, items, alice, acme, headers):
    item = frt(acme)
    client.force_login(alice)
    response = client.post(
        reverse("attention_dismiss", args=[item.pk]), {"reason": "   "}, headers=headers
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Say why the item is dismissed." in html and 'aria-invalid="true"' in html
    assert ("<html" in html) is not bool(headers)
    item.refresh_from_db()
    assert item.state == "open"


def test_it_hides_alices_item_from_bob_and_lets_him_change_nothing(client, items, bob, acme):
    item = frt(acme)
    events = item.events.count()
    client.force_login(bob)
    for name, data in [
        ("attention_acknowledge", {}),
        ("attention_start", {}),
        ("attention_dismiss", {"reason": "Not mine"}),
        ("attention_dismiss", {}),
        ("attention_assign", {"tam": str(bob.pk), "reason": "Mine now"}),
    ]:
        for headers in ({}, HTMX):
            response = client.post(reverse(name, args=[item.pk]), data, headers=headers)
            assert response.status_code == 404, name
    assert client.get(reverse("attention_assign", args=[item.pk])).status_code == 404
    item.refresh_from_db()
    assert (item.state, item.owner.username, item.events.count()) == ("open", "alice", events)


def test_it_forbids_a_viewer_to_act_on_an_item_they_can_read(client, items, vera, acme):
    item = frt(acme)
    events = item.events.count()
    client.force_login(vera)
    for name, data in [
        ("attention_acknowledge", {}),
        ("attention_start", {}),
        ("attention_dismiss", {"reason": "Not mine"}),
    ]:
        for headers in ({}, HTMX):
            response = client.post(reverse(name, args=[item.pk]), data, headers=headers)
            assert response.status_code == 403, name
    assert client.get(reverse("attention_assign", args=[item.pk])).status_code == 403
    item.refresh_from_db()
    assert (item.state, item.owner.username, item.events.count()) == ("open", "alice", events)


def test_it_gives_a_viewer_no_inbox(client, items, vera):
    response = inbox(client, vera)
    assert response.status_code == 200
    assert response.context["items"] == []
    assert "no attention inbox" in response.content.decode()


def test_it_lets_a_manager_assign_a_suggested_tam_and_reroutes_the_items(
    client, items, mona, alice, bob, lonely
):
    item = frt(lonely)
    no_tam = AttentionItem.objects.get(account=lonely, kind="no_tam")
    client.force_login(mona)
    panel = client.get(
        reverse("attention_assign", args=[item.pk]), {"next": "/inbox/"}, headers=HTMX
    )
    assert panel.status_code == 200 and "<html" not in panel.content.decode()
    best = tam_suggestions(account=lonely, now=LATER)[0]
    assert [s.tam for s in panel.context["suggestions"]][0] == best.tam
    assert best.reasons[0] in panel.content.decode()
    response = client.post(
        reverse("attention_assign", args=[item.pk]),
        {"tam": best.tam.pk, "reason": "Most experience with standard accounts", "next": "/inbox/"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert f"{best.tam} is now the TAM of Lonely AS." in response.content.decode()
    item.refresh_from_db()
    no_tam.refresh_from_db()
    assert (item.owner, item.queue) == (best.tam, "tam")
    assert item.events.filter(kind="routed", by=mona).exists()
    assert no_tam.state == "resolved"
    assert TamAssignment.objects.get(account=lonely, ended_at=None).tam == best.tam
    # The item has left the managers' queue and is in the new TAM's inbox.
    assert item not in inbox(client, mona).context["items"]
    assert item in inbox(client, best.tam).context["items"]


def test_it_reassigns_a_tam_by_post_and_redirects(client, items, mona, alice, bob, acme):
    item = frt(acme)
    client.force_login(mona)
    response = client.post(
        reverse("attention_assign", args=[item.pk]),
        {"tam": bob.pk, "reason": "Alice is on leave", "next": "/inbox/?queue=all"},
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/?queue=all"
    item.refresh_from_db()
    assert item.owner == bob
    assert item in inbox(client, bob).context["items"]
    assert item not in inbox(client, alice).context["items"]


def test_it_shows_assignment_errors_without_assigning(client, items, mona, alice, acme):
    item = frt(acme)
    client.force_login(mona)
    missing = client.post(
        reverse("attention_assign", args=[item.pk]), {"tam": alice.pk, "reason": ""}, headers=HTMX
    )
    assert "Say why this TAM is assigned." in missing.content.decode()
    same = client.post(
        reverse("attention_assign", args=[item.pk]), {"tam": alice.pk, "reason": "Again"}
    )
    assert same.status_code == 200 and "is already the TAM" in same.content.decode()
    item.refresh_from_db()
    assert item.owner == alice


def test_it_has_no_inline_script(client, items, mona):
    assert_no_inline_script(inbox(client, mona, queue="all").content.decode())
    item = AttentionItem.objects.filter(account__name="Lonely AS").first()
    client.force_login(mona)
    assert_no_inline_script(
        client.get(reverse("attention_assign", args=[item.pk])).content.decode()
    )


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_items_in_a_constant_number_of_queries(
    client, first_reply_sla, mona, alice, n, django_assert_num_queries
):
    for i in range(n):
        late_reply(make_account(name=f"Kunde {i:02d} AS", by=mona, tam=alice), mona)
    health_refresh(now=NOW)
    total = AttentionItem.objects.filter(owner=alice).count()
    assert total >= n
    client.force_login(alice)
    # session, user, count, page of items, evidence cases, navigation count
    with django_assert_num_queries(7):
        response = client.get(reverse("attention_inbox"))
    assert len(response.context["items"]) == min(total, 25)
