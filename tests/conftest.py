"""Personas: alice (TAM for Acme), bob (TAM for Globex), mona (manager), vera (viewer),
adam (admin), gina (agent in Support), erik (agent in Engineering)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kontosjef.accounts.models import Account, Contact
from kontosjef.people.models import Department, User
from tests import factories

NOW = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: pytest.FixtureRequest) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _default_expectations(request: pytest.FixtureRequest) -> None:
    """The migration seeds the tier expectations, but tests that flush the database (transactional
    tests, module fixtures) remove them for the tests that follow: put them back."""
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    elif request.node.get_closest_marker("django_db") is None:
        return
    from kontosjef.accounts.services import expectation_seed_defaults

    expectation_seed_defaults()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def support(db: None) -> Department:
    return Department.objects.create(name="Support", code="support")


@pytest.fixture
def engineering(db: None) -> Department:
    return Department.objects.create(name="Engineering", code="engineering")


@pytest.fixture
def adam(db: None) -> User:
    return factories.make_user(username="adam", role="admin")


@pytest.fixture
def mona(db: None) -> User:
    return factories.make_user(username="mona", role="manager")


@pytest.fixture
def alice(db: None) -> User:
    return factories.make_user(username="alice", role="tam")


@pytest.fixture
def bob(db: None) -> User:
    return factories.make_user(username="bob", role="tam")


@pytest.fixture
def vera(db: None) -> User:
    return factories.make_user(username="vera", role="viewer")


@pytest.fixture
def gina(support: Department) -> User:
    return factories.make_user(username="gina", role="agent", department=support)


@pytest.fixture
def erik(engineering: Department) -> User:
    return factories.make_user(username="erik", role="agent", department=engineering)


@pytest.fixture
def acme(mona: User, alice: User) -> Account:
    return factories.make_account(name="Acme AS", by=mona, tam=alice)


@pytest.fixture
def globex(mona: User, bob: User) -> Account:
    return factories.make_account(name="Globex ASA", by=mona, tam=bob, tier="strategic")


@pytest.fixture
def acme_contact(acme: Account, mona: User) -> Contact:
    return factories.make_contact(account=acme, by=mona, name="Kari Nordmann")


@pytest.fixture
def globex_contact(globex: Account, mona: User) -> Contact:
    return factories.make_contact(account=globex, by=mona, name="Ola Nordmann")
