"""Personal API tokens: issued once in clear, stored hashed, revoked by their owner (or an admin),
every change in the audit log without the secret."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kontosjef.audit.models import AuditEntry
from kontosjef.people.models import ApiToken
from kontosjef.people.services import (
    api_token_create,
    api_token_hash,
    api_token_revoke,
    api_token_use,
)
from tests.factories import T0


def test_it_returns_the_secret_once_and_stores_only_its_hash(alice):
    issued = api_token_create(by=alice, name="CRM sync", scope="read_write", now=T0)
    assert issued.secret.startswith("ksj_") and len(issued.secret) >= 40
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert stored.secret_hash == api_token_hash(issued.secret)
    assert stored.prefix == issued.secret[:12]
    assert (stored.user, stored.scope, stored.created_at) == (alice, "read_write", T0)


def test_it_issues_a_different_secret_each_time(alice):
    first = api_token_create(by=alice, name="one", scope="read", now=T0)
    second = api_token_create(by=alice, name="two", scope="read", now=T0)
    assert first.secret != second.secret


def test_it_audits_creation_and_revocation_without_the_secret(alice):
    issued = api_token_create(by=alice, name="CRM sync", scope="read", now=T0)
    api_token_revoke(token=issued.token, by=alice, now=T0 + timedelta(days=1))
    entries = AuditEntry.objects.filter(object_type="people.apitoken").order_by("at")
    assert [e.action for e in entries] == ["api_token.create", "api_token.revoke"]
    assert all(e.actor == alice for e in entries)
    text = str([(e.before, e.after, e.object_repr) for e in entries])
    assert issued.secret not in text and issued.token.secret_hash not in text


def test_it_refuses_a_token_without_a_name_or_with_an_unknown_scope(alice):
    with pytest.raises(ValidationError) as info:
        api_token_create(by=alice, name="  ", scope="everything", now=T0)
    assert set(info.value.message_dict) == {"name", "scope"}
    assert not ApiToken.objects.exists()


def test_it_lets_only_the_owner_or_an_admin_revoke(alice, bob, adam):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=issued.token, by=bob, now=T0)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None
    api_token_revoke(token=issued.token, by=adam, now=T0)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at == T0


def test_it_revokes_only_once(alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    api_token_revoke(token=issued.token, by=alice, now=T0)
    api_token_revoke(token=issued.token, by=alice, now=T0 + timedelta(hours=1))
    assert issued.token.revoked_at == T0
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1


def test_it_finds_only_an_active_token_by_its_secret(alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    assert api_token_use(secret=issued.secret, now=T0) == issued.token
    assert api_token_use(secret=issued.secret + "x", now=T0) is None
    assert api_token_use(secret="not-a-token", now=T0) is None
    api_token_revoke(token=issued.token, by=alice, now=T0)
    assert api_token_use(secret=issued.secret, now=T0) is None


def test_it_records_use_to_the_minute(alice):
    issued = api_token_create(by=alice, name="laptop", scope="read", now=T0)
    api_token_use(secret=issued.secret, now=T0)
    api_token_use(secret=issued.secret, now=T0 + timedelta(seconds=30))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == T0
    api_token_use(secret=issued.secret, now=T0 + timedelta(minutes=2))
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == T0 + timedelta(minutes=2)
