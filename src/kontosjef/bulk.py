"""Bulk writes below the ORM, for importers and recomputes: COPY on PostgreSQL, executemany on
SQLite. Values are the Python values of the model's fields (aware datetimes, dicts for JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model


def allocate_ids(model: type[Model], n: int) -> list[int]:
    """Reserve `n` primary keys, so rows can be inserted without RETURNING one by one."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the write lock is held from BEGIN IMMEDIATE, so nobody else takes these ids.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + n))


def raw_insert(model: type[Model], columns: list[str], rows: Iterable[list[Any]]) -> None:
    """Insert rows in bulk: COPY on PostgreSQL, executemany elsewhere. Values are Python values
    of the model's fields (aware datetimes, dicts for JSON)."""
    table = model._meta.db_table
    json_columns = {
        f.column for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"
    }
    json_at = [i for i, c in enumerate(columns) if c in json_columns]
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    for i in json_at:
                        row[i] = json.dumps(row[i])
                    copy.write_row(row)
            return
        adapt = _SqliteTimes()
        dt_at = [i for i, c in enumerate(columns) if _is_datetime(model, c)]
        batch: list[list[Any]] = []
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(["%s"] * len(columns))})'
        for row in rows:
            for i in dt_at:
                row[i] = adapt(row[i])
            for i in json_at:
                row[i] = json.dumps(row[i])
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


class _SqliteTimes:
    """Django's SQLite text form of an aware datetime (naive UTC), cached: imports repeat
    instants."""

    def __init__(self) -> None:
        self.cache: dict[datetime, str] = {}
        if connection.timezone_name != "UTC":
            raise ImproperlyConfigured("bulk import expects the database connection in UTC")

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = self.cache.get(value)
        if text is None:
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            self.cache[value] = text
        return text


def _is_datetime(model: type[Model], column: str) -> bool:
    return any(
        f.column == column and f.get_internal_type() == "DateTimeField"
        for f in model._meta.concrete_fields
    )
