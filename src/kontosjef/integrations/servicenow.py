"""ServiceNow incident audit exports: one row per update, diffed into case events.

Each row is a snapshot of an incident after an update (`sys_mod_count` counts them). Rows of one
incident are ordered by that counter and compared with the previous snapshot: a changed status,
priority, assignment group or assignee becomes a status, priority or hand-off event at the row's
update time. See docs/import.md for the mapping and what is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kontosjef.integrations.batch import (
    AccountSpec,
    ContactSpec,
    EmployeeSpec,
    ImportBatch,
    ImportFileError,
    SourceCase,
    SourceEvent,
)
from kontosjef.integrations.files import csv_rows, open_text
from kontosjef.integrations.mapping import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
    Mapping,
    load_mapping,
    render,
    require_columns,
)

DEFAULT_MAPPING = "servicenow"


class _Dates:
    """strptime with a cache: an export repeats the same timestamps on many rows."""

    def __init__(self, fmt: str, zone: ZoneInfo) -> None:
        self.fmt, self.zone = fmt, zone
        self.cache: dict[str, datetime | None] = {}

    def __call__(self, text: str) -> datetime | None:
        try:
            return self.cache[text]
        except KeyError:
            pass
        try:
            value: datetime | None = datetime.strptime(text, self.fmt).replace(tzinfo=self.zone)
        except ValueError:
            value = None
        self.cache[text] = value
        return value


class _Config:
    """A ServiceNow mapping, checked and turned into look-up tables."""

    NAMES = (
        "case", "sequence", "updated_at", "opened_at", "status", "priority", "account",
        "requester", "department", "assignee", "actor", "opened_by", "product", "component",
        "channel", "sla_met",
    )  # fmt: skip

    def __init__(self, m: Mapping) -> None:
        src = m.section("source")
        self.source = str(src.get("name", "servicenow"))
        self.missing = str(src.get("missing", ""))
        try:
            zone = ZoneInfo(str(src.get("time_zone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ImportFileError(
                f"{m.path.name}: unknown time zone {src.get('time_zone')!r}"
            ) from exc
        self.dates = _Dates(str(src.get("timestamp_format", "%d/%m/%Y %H:%M")), zone)
        self.statuses = m.choice_map("statuses", STATUSES)
        self.priorities = m.choice_map("priorities", PRIORITIES)
        self.channels = m.choice_map("channels", CHANNELS)
        self.booleans = {str(k): bool(v) for k, v in m.section("booleans").items()}
        acc = m.section("accounts")
        self.missing_account = str(acc.get("missing", "Unknown"))
        self.account_defaults = {
            "tier": str(acc.get("tier", "standard")),
            "country": str(acc.get("country", "")),
            "time_zone": str(acc.get("time_zone", "UTC")),
        }
        for required in ("case", "sequence", "updated_at", "status", "priority"):
            m.column(required, required=True)
        self.col: dict[str, str] = {n: c for n in self.NAMES if (c := m.column(n))}
        self.subject = str(m.section("cases").get("subject", "{" + self.col["case"] + "}"))
        self.attributes = [str(a) for a in m.section("columns").get("attributes", [])]
        self.needed = sorted(set(self.col.values()) | set(self.attributes) | set(m.columns()))

    def get(self, row: dict[str, str], name: str) -> str:
        column = self.col.get(name)
        return row.get(column, "") if column else ""


def parse_servicenow(
    path: str | Path,
    *,
    mapping: Mapping | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportBatch:
    cfg = _Config(mapping or load_mapping(DEFAULT_MAPPING))
    batch = ImportBatch(source=cfg.source)
    snapshots: dict[str, list[tuple[int, int, dict[str, str]]]] = {}
    missing = cfg.missing
    with open_text(path) as stream:
        header, rows = csv_rows(stream)
        require_columns(mapping or load_mapping(DEFAULT_MAPPING), header, "the file")
        width = len(header)
        # Keep only the mapped columns, cleaned once: the missing marker becomes "", and
        # anonymised names lose their doubled spaces ("Opened by  8").
        index = [(name, header.index(name)) for name in cfg.needed]
        case_col, seq_col = cfg.col["case"], cfg.col["sequence"]
        for number, fields in rows:
            batch.rows += 1
            if progress and batch.rows % 10000 == 0:
                progress(10000)
            if len(fields) != width:
                batch.reject(number, "", f"has {len(fields)} fields, the header has {width}")
                continue
            row = {}
            for name, i in index:
                value = fields[i]
                if value == missing:
                    value = ""
                elif "  " in value:
                    value = " ".join(value.split())
                row[name] = value
            key = row[case_col]
            if not key:
                batch.reject(number, case_col, "no case id")
                continue
            try:
                seq = int(row[seq_col])
            except ValueError:
                batch.reject(number, seq_col, f"{row[seq_col]!r} is not a whole number")
                continue
            problem = _check_row(row, cfg)
            if problem:
                batch.reject(number, problem[0], problem[1])
                continue
            snapshots.setdefault(key, []).append((seq, number, row))
    if progress:
        progress(batch.rows % 10000)
    updated = cfg.col["updated_at"]
    for key, snaps in snapshots.items():
        # Of two snapshots with the same counter, the later update is the real one (the UCI log
        # has a few stray copies stamped before the incident's first update).
        snaps.sort(key=lambda s: (s[0], cfg.dates(s[2][updated]), s[1]))
        kept = []
        for i, snap in enumerate(snaps):
            if i + 1 < len(snaps) and snaps[i + 1][0] == snap[0]:
                reason = f"{key}: snapshot {snap[0]} again later; the later one is kept"
                batch.skip(snap[1], cfg.col["sequence"], reason)
            else:
                kept.append(snap)
        _build_case(batch, cfg, key, kept)
    return batch


def _check_row(row: dict[str, str], cfg: _Config) -> tuple[str, str] | None:
    for name in ("updated_at", "opened_at"):
        column = cfg.col.get(name)
        if column and row[column] and cfg.dates(row[column]) is None:
            return column, f"{row[column]!r} is not a date in the mapping's timestamp format"
    updated = cfg.col["updated_at"]
    if not row[updated]:
        return updated, "no update time"
    status = row[cfg.col["status"]]
    if status not in cfg.statuses:
        return cfg.col["status"], f"unknown status {status!r}: add it to [statuses] in the mapping"
    priority = row[cfg.col["priority"]]
    if priority not in cfg.priorities:
        return cfg.col["priority"], f"unknown priority {priority!r}: add it to [priorities]"
    return None


def _build_case(
    batch: ImportBatch, cfg: _Config, key: str, snaps: list[tuple[int, int, dict[str, str]]]
) -> None:
    _first_seq, first_row_no, first = snaps[0]
    last = snaps[-1][2]
    get = cfg.get
    account_key = get(last, "account") or cfg.missing_account
    if account_key not in batch.accounts:
        batch.accounts[account_key] = AccountSpec(name=account_key, **cfg.account_defaults)
    requester = get(first, "requester") or None
    if requester and requester not in batch.contacts:
        batch.contacts[requester] = ContactSpec(account=account_key, name=requester)

    def employee(name: str, department: str | None = None) -> str | None:
        if not name:
            return None
        if name not in batch.employees:
            batch.employees[name] = EmployeeSpec(name=name, department=department)
        return name

    def department(name: str) -> str | None:
        if not name:
            return None
        batch.departments.setdefault(name, name)
        return name

    product = (get(last, "product"), get(last, "component")) if get(last, "product") else None
    sla_text = get(last, "sla_met")
    case = SourceCase(
        key=key,
        account=account_key,
        requester=requester,
        subject=render(cfg.subject, last).strip(" /:") or key,
        priority=cfg.priorities[first[cfg.col["priority"]]],
        channel=cfg.channels.get(get(first, "channel"), "other"),
        product=product,
        sla_met=cfg.booleans.get(sla_text) if sla_text else None,
        attributes={a: last[a] for a in cfg.attributes if last.get(a)},
        row=first_row_no,
    )
    opened = cfg.dates(get(first, "opened_at")) if get(first, "opened_at") else None
    first_update = cfg.dates(first[cfg.col["updated_at"]])
    created_at = opened or first_update
    assert created_at is not None  # checked by _check_row  # noqa: S101
    group = department(get(first, "department"))
    case.events.append(
        SourceEvent(
            key="created",
            at=created_at,
            kind="created",
            actor_kind="employee",
            actor=employee(get(first, "opened_by")),
            to_value=case.priority,
            department=group,
            assignee=employee(get(first, "assignee"), group),
            row=first_row_no,
        )  # fmt: skip
    )
    status, priority, assignee = "new", case.priority, case.events[0].assignee
    last_at = created_at
    for seq, number, row in snaps:
        if status == "closed":
            batch.skip(number, cfg.col["status"], f"{key}: update after the incident was closed")
            continue
        updated = cfg.dates(row[cfg.col["updated_at"]])
        assert updated is not None  # checked by _check_row  # noqa: S101
        at = max(updated, last_at)
        actor = employee(get(row, "actor"))
        common = {"at": at, "actor_kind": "employee" if actor else "system", "actor": actor,
                  "row": number}  # fmt: skip
        new_priority = cfg.priorities[row[cfg.col["priority"]]]
        if new_priority != priority:
            case.events.append(SourceEvent(
                key=f"{seq}:priority", kind="priority", from_value=priority,
                to_value=new_priority, **common,  # type: ignore[arg-type]
            ))  # fmt: skip
            priority = new_priority
        new_group = department(get(row, "department"))
        new_assignee = employee(get(row, "assignee"), new_group)
        if (new_group, new_assignee) != (group, assignee):
            case.events.append(SourceEvent(
                key=f"{seq}:handoff", kind="handoff", from_value=_who(group, assignee),
                to_value=_who(new_group, new_assignee), department=new_group,
                assignee=new_assignee, **common,  # type: ignore[arg-type]
            ))  # fmt: skip
            group, assignee = new_group, new_assignee
        new_status = cfg.statuses[row[cfg.col["status"]]]
        if new_status not in ("ignore", status):
            case.events.append(SourceEvent(
                key=f"{seq}:status", kind="status", from_value=status, to_value=new_status,
                **common,  # type: ignore[arg-type]
            ))  # fmt: skip
            status = new_status
        last_at = at
    batch.cases.append(case)


def _who(department: str | None, assignee: str | None) -> str:
    return " / ".join(p for p in (department, assignee) if p)
