"""A superuser is an administrator: `kontosjef createsuperuser` on a fresh install makes one, and
no path leaves a superuser with a lesser role."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from kontosjef import cli
from kontosjef.audit.models import AuditEntry
from kontosjef.people.models import User


def test_it_makes_the_first_superuser_an_administrator(db, monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-admin-password-2026")
    # The command closes every database connection when it ends; on PostgreSQL that would be
    # the test's own transaction. (tests/browser/test_fresh_install.py runs it as a process.)
    monkeypatch.setattr(connections, "close_all", lambda: None)
    cli.main(["createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com"])
    assert "Superuser created successfully." in capsys.readouterr().out
    root = User.objects.get(username="root")
    assert root.role == User.Role.ADMIN and root.is_manager_or_admin
    assert root.is_superuser and root.is_staff
    entry = AuditEntry.objects.get(action="user.create", object_id=str(root.pk))
    assert entry.actor is None and entry.after["role"] == "admin"
    # The administrator signs in and may open what only administrators may.
    client = Client()
    assert client.login(username="root", password="first-admin-password-2026")
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("configuration")).status_code == 200


def test_it_refuses_a_superuser_with_another_role(db):
    with pytest.raises(ValueError, match="role admin"):
        User.objects.create_superuser("boss", "boss@example.com", "pw-boss-2026", role="viewer")
    assert not User.objects.filter(username="boss").exists()


def test_it_explains_the_rule_when_the_admin_ticks_superuser_on_a_viewer(db):
    """The admin's user form validates the model; the constraint names the fix."""
    user = User(username="vic", role=User.Role.VIEWER, is_superuser=True, password="x")
    with pytest.raises(ValidationError, match="A superuser must have the role Administrator"):
        user.full_clean()


def test_it_turns_superusers_made_before_the_fix_into_administrators(transactional_db):
    """Installs whose `createsuperuser` made a Viewer get an administrator on `migrate`."""
    executor = MigrationExecutor(connection)
    before = [("people", "0003_user_notify")]
    after = executor.loader.graph.leaf_nodes("people")
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("people", "User")
    old.objects.create(username="legacy", role="viewer", is_superuser=True, password="!")
    old.objects.create(username="reader", role="viewer", is_superuser=False, password="!")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert User.objects.get(username="legacy").role == User.Role.ADMIN
    assert User.objects.get(username="legacy").is_staff
    assert User.objects.get(username="reader").role == User.Role.VIEWER
