"""Database triggers that make history tables append-only, below the ORM.

UPDATE and DELETE (and TRUNCATE on PostgreSQL) are refused with an integrity error. The one way
to remove history is `kontosjef flush`, which wipes the whole database on purpose: it opens a
purge window (a row in `kontosjef_history_purge` on SQLite, a session setting on PostgreSQL).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

PURGE_TABLE = "kontosjef_history_purge"
PURGE_SETTING = "kontosjef.allow_purge"


def install_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        guard = f"WHEN NOT EXISTS (SELECT 1 FROM {PURGE_TABLE})"
        return [
            f"CREATE TABLE IF NOT EXISTS {PURGE_TABLE} (allowed integer NOT NULL)",
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {guard} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        ]
    if vendor == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'UPDATE' AND current_setting('{PURGE_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
        ]
    raise ImproperlyConfigured(f"Kontosjef runs on SQLite and PostgreSQL, not on {vendor}")


def uninstall_sql(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update",
            f"DROP TRIGGER IF EXISTS {table}_no_delete",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_append_only()",
    ]


def open_purge_window(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {PURGE_TABLE} (allowed integer NOT NULL)")
            cursor.execute(f"INSERT INTO {PURGE_TABLE} (allowed) VALUES (1)")
        elif connection.vendor == "postgresql":
            cursor.execute(f"SET {PURGE_SETTING} = 'on'")
            # TRUNCATE refuses tables with deferred foreign-key checks still pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def close_purge_window(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DELETE FROM {PURGE_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"RESET {PURGE_SETTING}")


def migration_operations(table: str):
    """A RunPython pair for a migration that installs the triggers on `table`."""
    from django.db import migrations

    def forward(apps, schema_editor):
        for sql in install_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    def backward(apps, schema_editor):
        for sql in uninstall_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    return migrations.RunPython(forward, backward)
