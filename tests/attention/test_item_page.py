"""An attention item's page: the item, its evidence and history, and the actions its TAM or a
manager may take; anyone who may read the account may look."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kontosjef.attention.models import AttentionItem
from kontosjef.attention.services import attention_acknowledge
from tests.attention.items import LATER, NOW, frt
from tests.factories import make_case
from tests.pages import assert_no_inline_script

pytestmark = pytest.mark.usefixtures("clock")


def page(client, user, item):
    client.force_login(user)
    return client.get(reverse("attention_item", args=[item.pk]))


def test_it_shows_the_item_its_evidence_and_its_history(client, items, alice, acme):
    item = frt(acme)
    attention_acknowledge(item=item, by=alice, now=LATER)
    response = page(client, alice, item)
    assert response.status_code == 200
    html = response.content.decode()
    assert "First-reply SLA attainment, 30 days" in html and "Acme AS" in html
    assert reverse("case_detail", args=[item.evidence["cases"][0]]) in html
    assert "Login fails for Acme AS" in html
    assert [e.kind for e in response.context["history"]] == ["opened", "acknowledged"]
    assert "Opened" in html and "for Alice" in html and "Acknowledged" in html
    # Alice may act: the remaining actions are there; a TAM gets no assignment form.
    assert reverse("attention_start", args=[item.pk]) in html
    assert reverse("attention_dismiss", args=[item.pk]) in html
    assert "assign_form" not in response.context
    assert_no_inline_script(html)


def test_it_hides_alices_item_from_bob(client, items, bob, acme):
    assert page(client, bob, frt(acme)).status_code == 404


def test_it_lets_a_viewer_read_an_item_without_actions(client, items, vera, acme):
    response = page(client, vera, frt(acme))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("attention_acknowledge", args=[frt(acme).pk]) not in html
    assert "Only the item's TAM or a manager may change it." in html


def test_it_hides_every_item_from_agents_as_their_inbox_does(
    client, items, erik, gina, acme, mona, vera
):
    item = frt(acme)
    assert page(client, erik, item).status_code == 404
    # Serving one of the account's cases does not open the account's items to an agent.
    make_case(account=acme, by=mona, department=gina.department, now=NOW)
    assert page(client, gina, item).status_code == 404
    # A viewer reads everything, items included, and changes nothing.
    assert page(client, vera, item).status_code == 200


def test_it_answers_404_for_an_unknown_item(client, items, alice):
    client.force_login(alice)
    assert client.get(reverse("attention_item", args=[999_999])).status_code == 404


def test_it_offers_a_manager_the_ranked_tam_suggestions(client, items, mona, lonely):
    item = frt(lonely)
    response = page(client, mona, item)
    html = response.content.decode()
    suggestions = response.context["suggestions"]
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    assert suggestions[0].reasons[0] in html
    assert f'action="{reverse("attention_assign", args=[item.pk])}"' in html
    assert "The account has no TAM." in html
    assert_no_inline_script(html)


def test_it_shows_a_missing_dismissal_reason_on_the_page(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    response = client.post(reverse("attention_dismiss", args=[item.pk]), {"reason": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Say why the item is dismissed." in html and '<details class="drawer" open>' in html
    assert AttentionItem.objects.get(pk=item.pk).state == "open"


def test_it_reports_an_action_on_a_closed_item_as_a_message(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    client.post(reverse("attention_dismiss", args=[item.pk]), {"reason": "Handled elsewhere"})
    response = client.post(reverse("attention_acknowledge", args=[item.pk]), follow=True)
    assert "The item is already closed." in response.content.decode()
    item.refresh_from_db()
    assert item.state == "dismissed"
    html = page(client, alice, item).content.decode()
    assert "Handled elsewhere" in html and reverse("attention_start", args=[item.pk]) not in html


def test_it_acknowledges_from_the_page_and_returns_to_it(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    back = reverse("attention_item", args=[item.pk])
    response = client.post(reverse("attention_acknowledge", args=[item.pk]), {"next": back})
    assert response["Location"] == back
    assert "Acknowledged." in client.get(back).content.decode()


def test_it_shows_the_title_in_the_readers_language(client, items, alice, acme):
    item = frt(acme)
    client.force_login(alice)
    url = reverse("attention_item", args=[item.pk])
    html = client.get(url, headers={"accept-language": "nb"}).content.decode()
    assert "Oppnådd SLA for første svar, 30 dager" in html
    assert "First-reply SLA attainment, 30 days" not in html
    # The stored title stays as the rules wrote it.
    assert AttentionItem.objects.get(pk=item.pk).title == "First-reply SLA attainment, 30 days"


def test_it_answers_an_unknown_item_with_the_sites_404_page(client, alice):
    client.force_login(alice)
    response = client.get(reverse("attention_item", args=[999_999]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or it is not yours to see." in html
    assert reverse("home") in html
