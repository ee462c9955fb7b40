"""`kontosjef demo` refuses what would hurt a real database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kontosjef.accounts.models import Account

NOW = "2026-11-02T12:00:00+00:00"


@pytest.mark.django_db
def test_it_refuses_to_mix_the_demo_into_real_data(acme):
    with pytest.raises(CommandError, match="not demo data"):
        call_command("demo", "--now", NOW, stdout=StringIO())


@pytest.mark.django_db
def test_it_asks_for_an_offset_in_now():
    with pytest.raises(CommandError, match="UTC offset"):
        call_command("demo", "--now", "2026-11-02T12:00", stdout=StringIO())


@pytest.mark.django_db
def test_it_writes_nothing_when_refusing(acme):
    with pytest.raises(CommandError):
        call_command("demo", "--now", NOW, stdout=StringIO())
    assert list(Account.objects.all()) == [acme]
