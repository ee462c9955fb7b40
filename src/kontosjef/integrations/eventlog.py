"""Process event logs (CSV or XES): one row per activity of a case, mapped by a TOML file."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405  (XES files are the operator's own data)
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kontosjef.integrations.batch import (
    AccountSpec,
    EmployeeSpec,
    ImportBatch,
    ImportFileError,
    SourceCase,
    SourceEvent,
)
from kontosjef.integrations.files import (
    READ_ERRORS,
    csv_rows,
    max_rows,
    open_binary,
    open_text,
    require_file,
    too_many_rows,
)
from kontosjef.integrations.mapping import (
    PRIORITIES,
    STATUSES,
    TIERS,
    Mapping,
    render,
    require_columns,
)

KINDS = {"created", "status", "note", "assign"}
TRACE_PREFIX = "case:"  # XES trace attributes appear as columns "case:<key>" (pm4py's convention)


def parse_eventlog(
    path: str | Path, *, mapping: Mapping, progress: Callable[[int], object] | None = None
) -> ImportBatch:
    src = mapping.section("source")
    p = require_file(path)
    fmt = str(src.get("format") or ("xes" if ".xes" in p.name.lower() else "csv"))
    if fmt not in ("csv", "xes"):
        raise ImportFileError(f"{mapping.path.name}: [source] format must be csv or xes")
    try:
        zone = ZoneInfo(str(src.get("time_zone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportFileError(
            f"{mapping.path.name}: unknown time zone {src.get('time_zone')!r}"
        ) from exc
    activities = _activities(mapping)
    reader = _Reader(mapping, zone)
    batch = ImportBatch(source=str(src.get("name", p.stem)))
    rows = _xes_rows(p) if fmt == "xes" else _csv_rows(p)
    header = next(rows)[1]
    require_columns(mapping, header, "the file")  # type: ignore[arg-type]
    grouped: dict[str, list[tuple[datetime, int, dict[str, str]]]] = {}
    for number, row in rows:
        batch.rows += 1
        if progress and batch.rows % 5000 == 0:
            progress(5000)
        if isinstance(row, list):
            batch.reject(number, "", f"has {len(row)} fields, the header has {len(header)}")
            continue
        problem = reader.check(row, activities)
        if problem:
            batch.reject(number, *problem)
            continue
        grouped.setdefault(row[reader.case], []).append((reader.time(row), number, row))
    if progress:
        progress(batch.rows % 5000)
    tier_seen: dict[str, datetime] = {}
    for key, events in grouped.items():
        events.sort(key=lambda e: (e[0], e[1]))
        _build_case(tier_seen, batch, key, events, reader, activities)
    return batch


def _activities(mapping: Mapping) -> dict[str, dict[str, str]]:
    table = mapping.section("activities")
    out = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ImportFileError(
                f"{mapping.path.name}: [activities.{name!r}] needs kind = one of "
                f"{', '.join(sorted(KINDS))}"
            )
        status = spec.get("status")
        if spec["kind"] == "status" and status not in STATUSES - {"ignore"}:
            raise ImportFileError(
                f"{mapping.path.name}: [activities.{name!r}] needs a valid status"
            )
        out[str(name)] = {k: str(v) for k, v in spec.items()}
    return out


class _Reader:
    def __init__(self, mapping: Mapping, zone: ZoneInfo) -> None:
        self.m = mapping
        self.zone = zone
        self.fmt = str(mapping.section("source").get("timestamp_format", "iso"))
        self.case = str(mapping.column("case", required=True))
        self.activity = str(mapping.column("activity", required=True))
        self.timestamp = str(mapping.column("timestamp", required=True))
        self.resource = mapping.column("resource")
        self.account = mapping.column("account")
        self.tier = mapping.column("tier")
        self.priority = mapping.column("priority")
        self.product = mapping.column("product")
        self.department = mapping.column("department")
        self.attributes = [str(a) for a in mapping.section("columns").get("attributes", [])]
        self.tiers = mapping.choice_map("tiers", TIERS)
        self.priorities = mapping.choice_map("priorities", PRIORITIES)
        self.names = {k: str(v) for k, v in mapping.section("names").items()}
        cases = mapping.section("cases")
        self.subject = str(cases.get("subject", "{" + self.case + "}"))
        self.default_priority = str(cases.get("priority", "p3"))
        self.cache: dict[str, datetime | None] = {}

    def name(self, kind: str, value: str) -> str:
        template = self.names.get(kind)
        return template.replace("{}", value) if template else value

    def time(self, row: dict[str, str]) -> datetime:
        value = self._parse(row[self.timestamp])
        assert value is not None  # checked by check()  # noqa: S101
        return value

    def _parse(self, text: str) -> datetime | None:
        if text in self.cache:
            return self.cache[text]
        try:
            if self.fmt == "iso":
                value = datetime.fromisoformat(text)
            else:
                value = datetime.strptime(text, self.fmt)  # noqa: DTZ007  (zone added below)
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.zone)
        except ValueError:
            value = None
        self.cache[text] = value
        return value

    def check(
        self, row: dict[str, str], activities: dict[str, dict[str, str]]
    ) -> tuple[str, str] | None:
        if not row.get(self.case):
            return self.case, "no case id"
        if self._parse(row.get(self.timestamp, "")) is None:
            return self.timestamp, (
                f"{row.get(self.timestamp, '')!r} is not a timestamp like {self.fmt!r}"
            )
        if row.get(self.activity) not in activities:
            return self.activity, (
                f"unknown activity {row.get(self.activity)!r}: add it to [activities]"
            )
        if self.priority and row.get(self.priority) and row[self.priority] not in self.priorities:
            return self.priority, f"unknown priority {row[self.priority]!r}: add it to [priorities]"
        if self.tier and row.get(self.tier) and row[self.tier] not in self.tiers:
            return self.tier, f"unknown tier {row[self.tier]!r}: add it to [tiers]"
        return None


def _build_case(
    tier_seen: dict[str, datetime],
    batch: ImportBatch,
    key: str,
    rows: list[tuple[datetime, int, dict[str, str]]],
    r: _Reader,
    activities: dict[str, dict[str, str]],
) -> None:
    first_at, first_no, first = rows[0]
    last = rows[-1][2]
    # Every customer named on any row is an account; its tier is the service level of its
    # latest row. The case belongs to the customer it was opened for (its first row).
    for at, _number, row in rows:
        key_ = (row.get(r.account) if r.account else "") or "unknown"
        tier = r.tiers.get(row.get(r.tier, ""), "standard") if r.tier else "standard"
        seen = tier_seen.get(key_)
        if seen is None or at >= seen:
            tier_seen[key_] = at
            spec = batch.accounts.get(key_)
            if spec is None:
                batch.accounts[key_] = AccountSpec(
                    name=r.name("account", key_), tier=tier, time_zone=str(r.zone)
                )
            else:
                spec.tier = tier
    account_key = (first.get(r.account) if r.account else "") or "unknown"
    priority = (
        r.priorities.get(first.get(r.priority, ""), r.default_priority)
        if r.priority
        else r.default_priority
    )
    product = None
    if r.product and last.get(r.product):
        product = (r.name("product", last[r.product]), "")
    case = SourceCase(
        key=key,
        account=account_key,
        subject=render(r.subject, first) or key,
        priority=priority,
        product=product,
        attributes={a: last[a] for a in r.attributes if last.get(a)},
        row=first_no,
    )

    def employee(row: dict[str, str]) -> str | None:
        value = row.get(r.resource, "") if r.resource else ""
        if not value:
            return None
        if value not in batch.employees:
            batch.employees[value] = EmployeeSpec(name=r.name("employee", value))
        return value

    def department(row: dict[str, str]) -> str | None:
        value = row.get(r.department, "") if r.department else ""
        if not value:
            return None
        batch.departments.setdefault(value, r.name("department", value))
        return value

    state = {
        "status": "new",
        "priority": priority,
        "assignee": None,
        "department": department(first),
    }
    for index, (at, number, row) in enumerate(rows):
        spec_ = activities[row[r.activity]]
        actor = employee(row)
        actor_kind = "employee" if actor else "system"
        activity = row[r.activity]
        made: list[SourceEvent] = []

        def add(kind: str, made: list[SourceEvent] = made, **fields: Any) -> None:
            made.append(SourceEvent(key="", at=at, kind=kind, row=number, **fields))  # noqa: B023

        if state["status"] == "closed":
            batch.skip(number, r.activity, f"{key}: {activity!r} after the case was closed")
            continue
        if index == 0:
            add("created", to_value=priority, department=state["department"], body=activity)
            if spec_["kind"] == "created":
                case.events.append(made[0])
                made[0].key, made[0].actor_kind, made[0].actor = f"{number}:1", actor_kind, actor
                continue
        if r.priority and row.get(r.priority):
            new_priority = r.priorities[row[r.priority]]
            if new_priority != state["priority"]:
                add("priority", from_value=state["priority"], to_value=new_priority, body=activity)
                state["priority"] = new_priority
        changed = False
        if spec_["kind"] == "assign" and actor and actor != state["assignee"]:
            dept = department(row) or state["department"]
            add(
                "handoff",
                from_value=str(state["assignee"] or ""),
                to_value=actor,
                department=dept,
                assignee=actor,
                body=activity,
            )
            state["assignee"], state["department"] = actor, dept
            changed = True
        target = spec_.get("status")
        if spec_["kind"] in ("status", "assign") and target and target != state["status"]:
            add("status", from_value=state["status"], to_value=target, body=activity)
            state["status"] = target
            changed = True
        if not changed and spec_["kind"] != "priority":
            add("note", body=activity)
        for n, event in enumerate(made, start=1):
            event.key, event.actor_kind, event.actor = f"{number}:{n}", actor_kind, actor
            case.events.append(event)
    batch.cases.append(case)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    with open_text(path) as stream:
        header, rows = csv_rows(stream)
        # Repeated header names (the helpdesk log has "Variant" twice): the first one wins.
        yield 1, header
        width = len(header)
        for number, fields in rows:
            if len(fields) != width:
                yield number, fields
                continue
            row: dict[str, str] = {}
            for h, v in zip(header, fields, strict=True):
                row.setdefault(h, v)
            yield number, row


def _xes_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    """Flatten XES into rows: trace attributes as "case:<key>", event attributes by key."""
    rows: list[tuple[int, dict[str, str]]] = []
    keys: dict[str, None] = {}
    limit = max_rows() + 1
    try:
        with open_binary(path, member_suffix=".xes") as stream:
            trace: dict[str, str] = {}
            depth_event = False
            number = 1
            for action, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
                tag = element.tag.rsplit("}", 1)[-1]
                if action == "start":
                    if tag == "trace":
                        trace = {}
                    elif tag == "event":
                        depth_event = True
                    continue
                if tag == "event":
                    depth_event = False
                    number += 1
                    if number > limit:
                        raise too_many_rows(path.name)
                    event = {k: v for k, v in element.attrib.items() if k.startswith("_")}
                    for child in element:
                        ctag = child.tag.rsplit("}", 1)[-1]
                        if "key" in child.attrib and ctag != "list":
                            event[child.attrib["key"]] = child.attrib.get("value", "")
                    row = {**{TRACE_PREFIX + k: v for k, v in trace.items()}, **event}
                    keys.update(dict.fromkeys(row))
                    rows.append((number, row))
                    element.clear()
                elif not depth_event and "key" in element.attrib and tag != "list":
                    parent_is_trace = True
                    if parent_is_trace:
                        trace[element.attrib["key"]] = element.attrib.get("value", "")
                elif tag == "trace":
                    element.clear()
    except ET.ParseError as exc:
        raise ImportFileError(f"{path.name} is not valid XES (truncated?): {exc}") from exc
    except READ_ERRORS as exc:
        raise ImportFileError(f"{path.name} cannot be read (truncated or corrupt?): {exc}") from exc
    except OSError as exc:
        raise ImportFileError(f"{path.name} cannot be read: {exc}") from exc
    yield 1, list(keys)
    yield from rows
