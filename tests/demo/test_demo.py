"""The demo company: deterministic, believable, and loaded through the case projection."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from kontosjef.accounts.models import Account, Contact, TamAssignment
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.cases.services import PROJECTED_FIELDS, case_rebuild
from kontosjef.demo.simulate import EMPLOYEES, plan_company
from kontosjef.people.models import Department, User

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def fingerprint(seed: int, now: datetime = NOW) -> str:
    plan = plan_company(seed=seed, now=now)
    digest = hashlib.sha256()
    for account in plan.accounts:
        digest.update(repr(account).encode())
    for case in plan.cases:
        digest.update(repr(case).encode())
    return digest.hexdigest()


def test_it_plans_the_same_company_for_the_same_seed():
    assert fingerprint(7) == fingerprint(7)


def test_it_plans_another_company_for_another_seed():
    assert fingerprint(7) != fingerprint(8)


def test_it_keeps_every_event_in_time_order_and_before_now():
    plan = plan_company(seed=3, now=NOW)
    for case in plan.cases:
        times = [e.at for e in case.events]
        assert times == sorted(times)
        assert times[-1] < plan.now
        assert case.events[0].kind == "created"


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("demo", "--seed", "11", "--now", NOW.isoformat(), stdout=out)
        yield out.getvalue()
        call_command("flush", "--no-input")


@pytest.mark.django_db
def test_it_loads_a_believable_company(demo_db):
    assert Department.objects.count() == 6
    assert User.objects.count() == len(EMPLOYEES) == 25
    assert set(User.objects.values_list("role", flat=True)) == {
        "admin",
        "manager",
        "tam",
        "agent",
        "viewer",
    }
    assert Account.objects.count() == 150
    tiers = {
        t: Account.objects.filter(tier=t).count() for t in ("strategic", "enterprise", "standard")
    }
    assert tiers == {"strategic": 15, "enterprise": 45, "standard": 90}
    assert Contact.objects.count() > 300
    assert TamAssignment.objects.filter(ended_at=None).count() >= 60
    cases = Case.objects.count()
    assert 6000 < cases < 12000
    assert CaseEvent.objects.count() > 5 * cases
    first = Case.objects.order_by("opened_at").first()
    assert first is not None and first.opened_at < NOW - timedelta(days=700)
    kinds = set(CaseEvent.objects.values_list("kind", flat=True))
    assert kinds == {"created", "status", "priority", "handoff", "reply", "note"}
    assert Case.objects.filter(reopen_count__gt=0).exists()
    assert (
        Case.objects.filter(status="waiting_on_customer").exists()
        or Case.objects.filter(events__to_value="waiting_on_customer").exists()
    )
    assert Case.objects.exclude(status__in=["solved", "closed"]).exists(), "live cases near now"
    assert "Demo logins" in demo_db and "kontosjef-demo" in demo_db


@pytest.mark.django_db
def test_it_derives_the_loaded_cases_from_their_events(demo_db):
    for case in Case.objects.order_by("?")[:40]:
        rebuilt = case_rebuild(case)
        for name in PROJECTED_FIELDS:
            attname = Case._meta.get_field(name).attname
            assert getattr(rebuilt, attname) == getattr(case, attname), (case.pk, name)


@pytest.mark.django_db
def test_it_does_not_load_twice(demo_db):
    out = StringIO()
    call_command("demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Account.objects.count() == 150


@pytest.mark.django_db
def test_it_raises_an_item_for_the_degrading_account_soon_after_the_planted_date(demo_db):
    from kontosjef.attention.models import AttentionItem
    from kontosjef.demo.simulate import Effects

    # The demo runs the rules day by day over its last months of history.
    fx = Effects()
    havbris = Account.objects.get(name=fx.degrading_account)
    planted = NOW - timedelta(days=fx.degrading_from_days)
    items = AttentionItem.objects.filter(account=havbris, key="expectation:frt_attainment_30d")
    assert not items.filter(opened_at__lt=planted).exists()
    first = items.order_by("opened_at").first()
    assert first is not None
    assert planted <= first.opened_at <= planted + timedelta(days=21), first.opened_at


@pytest.mark.django_db
def test_it_shows_the_degrading_account_at_risk_with_a_falling_long_trend(demo_db):
    from kontosjef.accounts.health import health_band
    from kontosjef.accounts.models import HealthSnapshot
    from kontosjef.demo.simulate import Effects

    havbris = Account.objects.get(name=Effects().degrading_account)
    latest = HealthSnapshot.objects.filter(account=havbris).order_by("-on").first()
    assert latest is not None and latest.on == NOW.date()
    assert health_band(latest.score) == "at_risk", latest.score
    # Worse for 120 days: the year's trend falls clearly, whatever the last month did.
    assert latest.trend_365 is not None and latest.trend_365 < -0.1
    # Two years of daily history back the charts and trends.
    days = HealthSnapshot.objects.filter(account=havbris).count()
    assert days >= 730
    # Most accounts are healthy, and the quiet ones have no score rather than a perfect one.
    today = HealthSnapshot.objects.filter(on=NOW.date())
    healthy = sum(1 for s in today if health_band(s.score) == "healthy")
    assert healthy > today.count() / 2
    assert all(s.score is None or s.details for s in today)


@pytest.mark.django_db
def test_it_names_the_planted_cause_in_the_degrading_accounts_handling_review(demo_db):
    from kontosjef.cases.handling import Window, handling_review
    from kontosjef.demo.simulate import Effects

    fx = Effects()
    havbris = Account.objects.get(name=fx.degrading_account)
    mona = User.objects.get(username="mona")
    since = NOW - timedelta(days=fx.degrading_from_days)
    review = handling_review(mona, havbris, Window(start=since, end=NOW))
    top = review.top_findings[:3]
    # More hand-offs and slower replies, far outside the strategic tier's norm.
    assert {"handoffs", "replies"} <= {f.theme for f in top}, top
    assert all(f.percentile > 90 for f in top)
    # Second line, the slowed-down department, held an unusual share of the cases' time.
    assert any(
        f.key == "department_share" and f.department == "Second-line support"
        for f in review.top_findings
    ), review.top_findings
    slowest = max(
        (d for d in review.departments if d.reply_median_seconds is not None),
        key=lambda d: d.reply_median_seconds or 0,
    )
    assert slowest.name == "Second-line support"


@pytest.mark.django_db
def test_it_shows_second_line_replying_slower_after_its_planted_date(demo_db):
    from kontosjef.cases.handling import Window, handling_review
    from kontosjef.demo.simulate import Effects

    fx = Effects()
    havbris = Account.objects.get(name=fx.degrading_account)
    mona = User.objects.get(username="mona")
    slow_from = NOW - timedelta(days=fx.slow_from_days)
    degrading_from = NOW - timedelta(days=fx.degrading_from_days)

    def second_line_reply(window: Window) -> int:
        review = handling_review(mona, havbris, window)
        row = next(d for d in review.departments if d.name == "Second-line support")
        assert row.reply_median_seconds is not None
        return row.reply_median_seconds

    before = second_line_reply(Window(slow_from - timedelta(days=140), slow_from))
    after = second_line_reply(Window(slow_from, degrading_from))
    assert after > 2 * before
