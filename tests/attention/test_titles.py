"""Item titles are shown in the reader's language, whatever language the rules ran in."""

from __future__ import annotations

from django.utils import translation

from kontosjef.attention.models import AttentionItem

Kind = AttentionItem.Kind


def title(item: AttentionItem, language: str) -> str:
    with translation.override(language):
        return item.display_title


def test_it_translates_an_sla_breach_title_from_the_items_key():
    item = AttentionItem(
        kind=Kind.SLA_BREACH, key="sla_breach:4711:first_reply:0", title="stored in English"
    )
    assert title(item, "en") == "SLA breached on case #4711 (First reply)"
    assert title(item, "nb") == "SLA brutt på sak #4711 (Første svar)"


def test_it_translates_a_health_drop_with_the_points_it_fell():
    item = AttentionItem(
        kind=Kind.HEALTH_DROP,
        key="health_drop",
        title="stored",
        value=62.0,
        evidence={"score_7_days_ago": 90.0},
    )
    assert title(item, "en") == "Health fell 28 points in 7 days"
    assert "28" in title(item, "nb") and title(item, "nb") != title(item, "en")


def test_it_keeps_a_custom_expectations_name_as_written():
    item = AttentionItem(kind=Kind.EXPECTATION, key="expectation:x", title="Our own standard")
    assert title(item, "nb") == "Our own standard"


def test_it_translates_the_no_tam_title():
    item = AttentionItem(kind=Kind.NO_TAM, key="no_tam", title="stored")
    assert title(item, "en") == "Failing expectations and no TAM"
    assert title(item, "nb") != title(item, "en")
