"""Expectations per tier: the table, editing a tier's expectation, account overrides read-only."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kontosjef.accounts.models import Expectation
from kontosjef.accounts.services import account_create, expectation_update
from kontosjef.audit.models import AuditEntry
from tests.configuration.conftest import NOW, SET_UP
from tests.pages import assert_no_inline_script


def frt(tier: str) -> Expectation:
    return Expectation.objects.get(code="frt_attainment_30d", tier=tier)


def test_it_lists_each_tiers_expectations_in_their_units(client, mona):
    client.force_login(mona)
    html = client.get(reverse("configuration_expectations")).content.decode()
    assert "First-reply SLA attainment, 30 days" in html
    assert "≥ 95 %" in html  # strategic, stored as 0.95
    assert "≤ 8 h" in html  # oldest open P1 case, stored as 28,800 business seconds
    assert_no_inline_script(html)
    only = client.get(reverse("configuration_expectations"), {"tier": "standard"})
    assert all(row["expectation"].tier == "standard" for row in only.context["rows"])


def test_it_changes_one_tiers_expectation_and_leaves_the_other_tiers_alone(client, mona):
    client.force_login(mona)
    enterprise = frt("enterprise")
    url = reverse("configuration_expectation", args=[enterprise.pk])
    page = client.get(url).content.decode()
    assert "This changes this tier only" in page
    data = {"threshold": "92.5", "window_days": "7", "severity": "warning", "weight": "2",
            "is_active": "on"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302
    enterprise.refresh_from_db()
    assert (enterprise.threshold, enterprise.window_days) == (0.925, 7)
    assert (enterprise.severity, enterprise.weight, enterprise.is_active) == ("warning", 2, True)
    for tier in ("strategic", "standard"):
        other = frt(tier)
        assert (other.window_days, other.severity, other.weight) == (30, "critical", 3.0), tier
    assert frt("strategic").threshold == 0.95
    entry = AuditEntry.objects.get(action="expectation.update")
    assert entry.actor == mona and entry.before["threshold"] == 0.9
    assert entry.after["threshold"] == 0.925 and "also_changed" not in entry.after


def test_it_evaluates_each_tier_with_its_own_rule(mona):
    from kontosjef.accounts.health import health_compute

    enterprise = frt("enterprise")
    expectation_update(expectation=enterprise, by=mona, now=NOW, threshold=0.9, window_days=7,
                       severity="warning", weight=2.0, is_active=True)  # fmt: skip
    big = account_create(by=mona, name="Big AS", tier="enterprise", country="NO", now=NOW)
    top = account_create(by=mona, name="Top AS", tier="strategic", country="NO", now=NOW)
    result = health_compute(now=NOW)
    columns = [j for j, code in enumerate(result.codes) if code == "frt_attainment_30d"]
    assert len(columns) == 2  # one rule per tier that differs
    rules = {}
    for account in (big, top):
        i = result.index(account.pk)
        (j,) = [j for j in columns if result.evaluation.applies[i, j]]
        rules[account.tier] = result.evaluation.expectations[j]
    assert (rules["enterprise"].window_days, rules["enterprise"].severity) == (7, "warning")
    assert (rules["strategic"].window_days, rules["strategic"].severity) == (30, "critical")


def test_it_switches_a_tiers_expectation_off(client, mona):
    client.force_login(mona)
    standard = frt("standard")
    url = reverse("configuration_expectation", args=[standard.pk])
    data = {"threshold": "85", "window_days": "30", "severity": standard.severity,
            "weight": str(standard.weight)}  # fmt: skip
    client.post(url, data)
    standard.refresh_from_db()
    assert standard.is_active is False
    assert frt("enterprise").is_active is True


@pytest.mark.parametrize(
    ("code", "threshold", "message"),
    [
        ("frt_attainment_30d", "-5", "between 0 and 100 percent"),
        ("frt_attainment_30d", "120", "between 0 and 100 percent"),
        ("backlog_age_max", "-1", "cannot be negative"),
        ("p1_breaches_30d", "-1", "cannot be negative"),
        ("csat_90d", "7", "between 1 and 5"),
        ("frt_attainment_30d", "ninety", "Enter a number"),
    ],
)
def test_it_shows_what_is_wrong_and_writes_nothing(client, mona, code, threshold, message):
    expectation = Expectation.objects.get(code=code, tier="enterprise")
    before = (expectation.threshold, expectation.window_days, expectation.severity)
    client.force_login(mona)
    url = reverse("configuration_expectation", args=[expectation.pk])
    data = {"threshold": threshold, "window_days": "7", "severity": "info", "weight": "1",
            "is_active": "on"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["threshold"])
    assert "Nothing was saved" in response.content.decode()
    expectation.refresh_from_db()
    assert (expectation.threshold, expectation.window_days, expectation.severity) == before
    assert not AuditEntry.objects.filter(action="expectation.update").exists()


def test_it_refuses_a_window_the_health_engine_does_not_compute(mona):
    with pytest.raises(ValidationError, match="Choose a window"):
        expectation_update(expectation=frt("enterprise"), by=mona, now=NOW, threshold=0.9,
                           window_days=14, severity="critical", weight=3,
                           is_active=True)  # fmt: skip


def test_it_writes_nothing_when_nothing_changes(mona):
    e = frt("enterprise")
    expectation_update(expectation=e, by=mona, now=NOW, threshold=e.threshold,
                       window_days=e.window_days, severity=e.severity, weight=e.weight,
                       is_active=e.is_active)  # fmt: skip
    assert not AuditEntry.objects.filter(action="expectation.update").exists()


def test_it_lets_only_managers_change_an_expectation(alice):
    e = frt("enterprise")
    with pytest.raises(PermissionDenied):
        expectation_update(expectation=e, by=alice, now=NOW, threshold=0.5, window_days=30,
                           severity="info", weight=1, is_active=True)  # fmt: skip


def make_overrides(mona, n: int) -> None:
    for i in range(Expectation.objects.filter(account__isnull=False).count(), n):
        account = account_create(by=mona, name=f"Account {i:02d}", country="NO", now=SET_UP)
        # Overrides have no web form (the admin sets them): made here as the admin would.
        Expectation.objects.create(
            code="frt_attainment_30d", name="First-reply SLA attainment, 30 days",
            kpi="frt_attainment", comparator=">=", threshold=0.8, window_days=30,
            severity="critical", weight=3, account=account,
        )  # fmt: skip


def test_it_lists_account_overrides_read_only_with_their_account(client, mona):
    make_overrides(mona, 1)
    override = Expectation.objects.get(account__isnull=False)
    client.force_login(mona)
    html = client.get(reverse("configuration_expectations")).content.decode()
    assert "Account 00" in html and "≥ 80 %" in html
    assert reverse("account_detail", args=[override.account_id]) in html
    assert reverse("configuration_expectation", args=[override.pk]) not in html
    assert client.get(reverse("configuration_expectation", args=[override.pk])).status_code == 404


def test_it_lists_expectations_in_the_same_number_of_queries_for_3_and_30_overrides(
    client, mona, django_assert_num_queries
):
    client.force_login(mona)
    url = reverse("configuration_expectations")
    make_overrides(mona, 3)
    client.get(url)
    with django_assert_num_queries(7) as three:
        assert client.get(url).status_code == 200
    make_overrides(mona, 30)
    with django_assert_num_queries(len(three.captured_queries)):
        assert client.get(url).status_code == 200
