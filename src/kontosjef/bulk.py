"""Bulk writes below the ORM, for importers and recomputes: COPY on PostgreSQL, executemany on
SQLite. Values are the Python values of the model's fields (aware datetimes, dicts for JSON),
except in `insert_new`, which prepares model instances as the ORM does."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
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
                "SELECT array_agg(id ORDER BY n) FROM (SELECT n, nextval(pg_get_serial_sequence("
                "%s, 'id')) AS id FROM generate_series(1, %s) AS n) AS ids",
                [table, n],
            )
            return list(cursor.fetchone()[0])
        # SQLite: the write lock is held from BEGIN IMMEDIATE, so nobody else takes these ids.
        # Above the highest id ever given (AUTOINCREMENT keeps it), as SQLite itself would.
        cursor.execute(
            f"SELECT MAX(COALESCE(MAX(id), 0), COALESCE((SELECT seq FROM sqlite_sequence "
            f'WHERE name = %s), 0)) FROM "{table}"',
            [table],
        )
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + n))


def insert_new(objs: Sequence[Model]) -> None:
    """Insert new instances of one model as QuerySet.bulk_create does (each field prepares its
    value; no save(), no signals), with ids from `allocate_ids` and COPY or executemany instead of
    INSERT ... RETURNING, which costs more than the rows themselves when there are thousands.
    Sets each instance's pk. Models this cannot write the same way go through bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk]
    if (
        pk is None
        or pk.get_internal_type() not in ("AutoField", "BigAutoField")
        or any(f.has_db_default() or f.generated or hasattr(f, "get_placeholder") for f in fields)
    ):
        model._default_manager.bulk_create(objs, batch_size=1000)
        return
    for obj, new_id in zip(objs, allocate_ids(model, len(objs)), strict=True):
        obj.pk = new_id
    rows = [
        [obj.pk, *[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]]
        for obj in objs
    ]
    columns = [str(f.column) for f in (pk, *fields)]  # concrete fields: each has a column
    _write(model._meta.db_table, columns, [rows])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def raw_insert(model: type[Model], columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows in bulk: COPY on PostgreSQL, executemany elsewhere. Values are Python values
    of the model's fields (aware datetimes, dicts for JSON), a row a list or a tuple. `rows` may
    be a generator: it is consumed as the rows are written."""
    kinds = {f.column: f.get_internal_type() for f in model._meta.concrete_fields}
    adapt: dict[int, Callable[[Any], Any]] = {
        i: json.dumps for i, c in enumerate(columns) if kinds.get(c) == "JSONField"
    }
    if connection.vendor != "postgresql":
        times = _SqliteTimes()
        adapt |= {i: times.__getitem__ for i, c in enumerate(columns)
                  if kinds.get(c) == "DateTimeField"}  # fmt: skip
    _write(model._meta.db_table, columns, _adapted(rows, adapt))


def _write(table: str, columns: list[str], parts: Iterable[Iterable[Sequence[Any]]]) -> None:
    """Write rows of database-ready values, part by part."""
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                write = copy.write_row
                for part in parts:
                    for row in part:
                        write(row)
            return
        if connection.vendor != "sqlite":
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(["%s"] * len(columns))})'
            for part in parts:
                cursor.executemany(sql, list(part))
            return
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(["?"] * len(columns))})'
        connection.validate_no_broken_transaction()
        for part in parts:
            # sqlite3's own executemany: Django's wrapper would rewrite the parameter markers
            # and tee the rows to look for named parameters.
            with connection.wrap_database_errors:
                connection.connection.executemany(sql, part)


def _adapted(
    rows: Iterable[Sequence[Any]], adapt: dict[int, Callable[[Any], Any]], size: int = 10_000
) -> Iterator[Iterable[Sequence[Any]]]:
    """`rows` in parts, with the values of some columns converted: column by column, so that the
    loops run in C (zip and map) rather than once per row in Python."""
    rows = iter(rows)
    while part := list(islice(rows, size)):
        if not adapt:
            yield part
            continue
        columns: list[Iterable[Any]] = list(zip(*part, strict=True))
        for i, convert in adapt.items():
            columns[i] = map(convert, columns[i])
        yield zip(*columns, strict=True)


class _SqliteTimes(dict[datetime | None, str | None]):
    """Django's SQLite text form of an aware datetime (naive UTC), cached: imports repeat
    instants. A dict, so that a cached instant is converted without a Python call."""

    def __init__(self) -> None:
        super().__init__()
        if connection.timezone_name != "UTC":
            raise ImproperlyConfigured("bulk import expects the database connection in UTC")

    def __missing__(self, value: datetime | None) -> str | None:
        text = None
        if value is not None:
            text = value.isoformat(" ")
            # At an offset of zero the wall time is UTC already: one call instead of three.
            if text.endswith("+00:00"):
                text = text[:-6]
            else:
                text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        self[value] = text
        return text


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bulk load. It allocates objects by the
    million that all stay alive until it ends, and each collection would walk them again
    (0.2 s of an import of 140,000 rows). Reference counting still frees everything; only
    reference cycles wait for the collector's next run."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
