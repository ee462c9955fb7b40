"""Kontosjef's own exchange format: JSON Lines (optionally gzipped) or a zip of CSV files.

A file holds one source's records. The first JSON line is the header
`{"format": "kontosjef", "version": 1, "source": NAME}`; every other line is a record with a
`type`: department, employee, account, contact, case or event. docs/import.md has the fields.
`export_native` writes the same format; importing an export into an empty database and exporting
again gives the same file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import Prefetch

from kontosjef.accounts.models import Account, Contact
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.integrations.batch import (
    IMPORTED_ROLES,
    AccountSpec,
    ContactSpec,
    EmployeeSpec,
    ImportBatch,
    ImportFileError,
    SourceCase,
    SourceEvent,
)
from kontosjef.integrations.files import (
    READ_ERRORS,
    limited,
    max_bytes,
    max_rows,
    open_text,
    require_file,
    too_big,
    too_many_rows,
)
from kontosjef.people.models import Department, User

FORMAT, VERSION = "kontosjef", 1
TYPES = ("department", "employee", "account", "contact", "case", "event")
FIELDS: dict[str, list[str]] = {
    "department": ["key", "name"],
    "employee": ["key", "name", "role", "department", "email"],
    "account": ["key", "name", "tier", "country", "time_zone", "status"],
    "contact": ["key", "account", "name", "email", "language"],
    "case": ["key", "account", "requester", "subject", "description", "priority", "channel",
             "product", "component", "sla_met", "attributes"],
    "event": ["case", "key", "at", "kind", "actor_kind", "actor", "public", "from", "to",
              "department", "assignee", "body"],
}  # fmt: skip
REQUIRED = {
    "department": ["key", "name"], "employee": ["key", "name"], "account": ["key", "name"],
    "contact": ["key", "account", "name"], "case": ["key", "account", "subject", "priority"],
    "event": ["case", "key", "at", "kind"],
}  # fmt: skip


# Reading ---------------------------------------------------------------------------------------


def parse_native(
    path: str | Path, *, progress: Callable[[int], object] | None = None
) -> ImportBatch:
    p = require_file(path)
    records = _zip_records(p) if zipfile.is_zipfile(p) else _jsonl_records(p)
    header = next(records)[1]
    if header.get("format") != FORMAT:
        raise ImportFileError(f"{p.name} is not a Kontosjef export (no format header)")
    if header.get("version") != VERSION:
        raise ImportFileError(
            f"{p.name}: format version {header.get('version')!r} is not {VERSION}"
        )
    batch = ImportBatch(source=str(header.get("source") or "kontosjef"))
    cases: dict[str, SourceCase] = {}
    events: list[tuple[int, dict[str, Any]]] = []
    first_row: dict[tuple[str, str], int] = {}  # (type, key) -> the row that named it first
    for number, rec in records:
        batch.rows += 1
        if progress and batch.rows % 5000 == 0:
            progress(5000)
        kind = rec.get("type")
        if kind not in FIELDS:
            batch.reject(number, "type", f"unknown record type {kind!r}")
            continue
        missing = [f for f in REQUIRED[kind] if rec.get(f) in (None, "")]
        if missing:
            batch.reject(number, missing[0], f"a {kind} needs {missing[0]}")
            continue
        key = str(rec["key"])
        # A key twice in one file is a contradiction, not an update: which one is meant?
        ident = (kind, f"{rec['case']}\x00{key}" if kind == "event" else key)
        if ident in first_row:
            what = f"{key!r} of case {rec['case']!r}" if kind == "event" else repr(key)
            batch.reject(
                number, "key", f"duplicate {kind} key {what} (first on row {first_row[ident]})"
            )
            continue
        first_row[ident] = number
        if kind == "department":
            batch.departments[key] = str(rec["name"])
            batch.department_rows[key] = number
        elif kind == "employee":
            role = str(rec.get("role") or "agent")
            if role not in IMPORTED_ROLES:
                batch.notes["employee roles not taken from the file (imported as agent)"] += 1
                role = "agent"
            batch.employees[key] = EmployeeSpec(
                name=str(rec["name"]),
                username=key,
                role=role,
                department=rec.get("department") or None,
                email=str(rec.get("email") or ""),
                row=number,
            )
        elif kind == "account":
            batch.accounts[key] = AccountSpec(
                name=str(rec["name"]),
                tier=str(rec.get("tier") or "standard"),
                country=str(rec.get("country") or ""),
                time_zone=str(rec.get("time_zone") or "UTC"),
                status=str(rec.get("status") or "active"),
                row=number,
            )
        elif kind == "contact":
            batch.contacts[key] = ContactSpec(
                account=str(rec["account"]),
                name=str(rec["name"]),
                email=str(rec.get("email") or ""),
                language=str(rec.get("language") or "en"),
                row=number,
            )
        elif kind == "case":
            product = (
                (str(rec["product"]), str(rec.get("component") or ""))
                if rec.get("product")
                else None
            )
            attributes = rec.get("attributes") or {}
            if isinstance(attributes, str):
                try:
                    attributes = json.loads(attributes or "{}")
                except json.JSONDecodeError:
                    attributes = None
            if not isinstance(attributes, dict):
                batch.reject(number, "attributes", "attributes must be a JSON object")
                continue
            cases[key] = SourceCase(
                key=key,
                account=str(rec["account"]),
                requester=rec.get("requester") or None,
                subject=str(rec["subject"]),
                description=str(rec.get("description") or ""),
                priority=str(rec["priority"]),
                channel=str(rec.get("channel") or "other"),
                product=product,
                sla_met=_bool(rec.get("sla_met")),
                attributes=attributes,
                row=number,
            )
        else:
            events.append((number, rec))
    withheld: set[str] = set()  # cases with a rejected event: imported whole or not at all
    for number, rec in events:
        case = cases.get(str(rec["case"]))
        if case is None:
            batch.reject(number, "case", f"event of unknown case {rec['case']!r}")
            continue
        try:
            at = datetime.fromisoformat(str(rec["at"]))
        except ValueError:
            batch.reject(number, "at", f"{rec['at']!r} is not an ISO 8601 time")
            withheld.add(case.key)
            continue
        if at.tzinfo is None:
            batch.reject(number, "at", f"{rec['at']!r} has no UTC offset")
            withheld.add(case.key)
            continue
        case.events.append(
            SourceEvent(
                key=str(rec["key"]),
                at=at,
                kind=str(rec["kind"]),
                actor_kind=str(rec.get("actor_kind") or "system"),
                actor=rec.get("actor") or None,
                is_public=bool(_bool(rec.get("public"))),
                from_value=str(rec.get("from") or ""),
                to_value=str(rec.get("to") or ""),
                department=rec.get("department") or None,
                assignee=rec.get("assignee") or None,
                body=str(rec.get("body") or ""),
                row=number,
            )
        )
    for case in cases.values():
        if case.key in withheld:
            batch.notes["cases withheld for a rejected row"] += 1
            continue
        if not case.events:
            batch.reject(case.row, "case", f"case {case.key!r} has no events")
            continue
        batch.cases.append(case)
    for spec in batch.contacts.values():
        if spec.account not in batch.accounts:
            batch.reject(0, "account", f"a contact names unknown account {spec.account!r}")
    placed = []
    for case in batch.cases:
        if case.account not in batch.accounts:
            batch.reject(case.row, "account", f"case {case.key!r} names unknown account")
        elif case.requester and case.requester not in batch.contacts:
            batch.reject(case.row, "requester", f"case {case.key!r} names unknown requester")
        else:
            placed.append(case)
    batch.cases = placed
    return batch


def _bool(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    limit = max_rows() + 1
    try:
        with open_text(path, member_suffix=".jsonl") as stream:
            for number, line in enumerate(stream, start=1):
                if number > limit:
                    raise too_many_rows(path.name)
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    if number == 1:
                        raise ImportFileError(f"{path.name} is not JSON Lines: {exc}") from exc
                    record = {"type": None, "_error": str(exc)}
                if not isinstance(record, dict):
                    record = {"type": None}
                yield number, record
    except READ_ERRORS as exc:
        raise ImportFileError(f"{path.name} cannot be read (truncated or corrupt?): {exc}") from exc


def _zip_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "header.json" not in names:
                raise ImportFileError(f"{path.name}: a CSV export needs header.json")
            if sum(i.file_size for i in archive.infolist()) > max_bytes():
                raise too_big(path.name)
            with archive.open("header.json") as raw:
                yield 0, json.loads(limited(raw, path.name).read())
            records = 0
            limit = max_rows()
            for kind in TYPES:
                name = f"{kind}s.csv"
                if name not in names:
                    continue
                with archive.open(name) as raw:
                    text = io.TextIOWrapper(limited(raw, path.name), encoding="utf-8", newline="")
                    reader = csv.DictReader(text)
                    for number, row in enumerate(reader, start=2):
                        records += 1
                        if records > limit:
                            raise too_many_rows(path.name)
                        yield number, {"type": kind, **{k: v for k, v in row.items() if k}}
    except (json.JSONDecodeError, csv.Error, *READ_ERRORS) as exc:
        raise ImportFileError(f"{path.name} cannot be read (truncated or corrupt?): {exc}") from exc


# Writing ---------------------------------------------------------------------------------------


def export_records(*, source: str) -> Iterator[dict[str, Any]]:
    """Every record of the database in the native format, in a stable order."""

    def key(obj: Account | Contact | Case) -> str:
        if not obj.external_id:
            return str(obj.pk)
        if obj.external_source == source:
            return obj.external_id
        return f"{obj.external_source}:{obj.external_id}"

    yield {"format": FORMAT, "version": VERSION, "source": source}
    departments: dict[int | None, str] = {d.pk: d.code for d in Department.objects.order_by("code")}
    for d in Department.objects.order_by("code"):
        yield {"type": "department", "key": d.code, "name": d.name}
    users: dict[int | None, str] = {}
    for u in User.objects.order_by("username"):
        users[u.pk] = u.username
        yield {"type": "employee", "key": u.username, "name": u.get_full_name() or u.username,
               "role": u.role, "department": departments.get(u.department_id),
               "email": u.email}  # fmt: skip
    accounts: dict[int | None, str] = {}
    for a in Account.objects.order_by("external_source", "external_id", "pk"):
        accounts[a.pk] = key(a)
        yield {"type": "account", "key": key(a), "name": a.name, "tier": a.tier,
               "country": a.country, "time_zone": a.time_zone, "status": a.status}  # fmt: skip
    contacts: dict[int | None, str] = {}
    for c in Contact.objects.order_by("external_source", "external_id", "pk"):
        contacts[c.pk] = key(c)
        yield {"type": "contact", "key": key(c), "account": accounts[c.account_id],
               "name": c.name, "email": c.email, "language": c.language}  # fmt: skip
    events = Prefetch("events", queryset=CaseEvent.objects.order_by("seq"))
    cases = (
        Case.objects.select_related("product")
        .prefetch_related(events)
        .order_by("opened_at", "external_source", "external_id", "pk")
    )
    for case in cases.iterator(chunk_size=2000):
        ck = key(case)
        history = list(case.events.all())
        yield {"type": "case", "key": ck, "account": accounts[case.account_id],
               "requester": contacts.get(case.requester_id), "subject": case.subject,
               "description": case.description, "priority": history[0].to_value,
               "channel": case.channel,
               "product": case.product.name if case.product else None,
               "component": case.product.component if case.product else None,
               "sla_met": case.source_sla_met, "attributes": case.attributes}  # fmt: skip
        for e in history:
            actor = None
            if e.actor_kind == "employee":
                actor = users.get(e.actor_user_id)
            elif e.actor_kind == "contact":
                actor = contacts.get(e.actor_contact_id)
            yield {"type": "event", "case": ck, "key": e.external_id or f"seq-{e.seq}",
                   "at": e.at.isoformat(), "kind": e.kind, "actor_kind": e.actor_kind,
                   "actor": actor, "public": e.is_public, "from": e.from_value,
                   "to": e.to_value, "department": departments.get(e.department_id),
                   "assignee": users.get(e.assignee_id), "body": e.body}  # fmt: skip


def export_native(path: str | Path, *, source: str = "kontosjef", csv_zip: bool = False) -> int:
    """Write the database to `path`; returns the number of records."""
    records = export_records(source=source)
    header = next(records)
    count = 0
    if not csv_zip:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            for rec in records:
                out.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
                count += 1
        return count
    buffers: dict[str, tuple[io.StringIO, csv.DictWriter[str]]] = {}
    for kind in TYPES:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS[kind], extrasaction="ignore")
        writer.writeheader()
        buffers[kind] = (buf, writer)
    for rec in records:
        row = {k: (json.dumps(v) if isinstance(v, dict) else ("" if v is None else v))
               for k, v in rec.items()}  # fmt: skip
        buffers[rec["type"]][1].writerow(row)
        count += 1
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", json.dumps(header))
        for kind, (buf, _writer) in buffers.items():
            archive.writestr(f"{kind}s.csv", buf.getvalue())
    return count
