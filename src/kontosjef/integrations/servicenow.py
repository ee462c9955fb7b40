"""ServiceNow incident audit exports: one row per update, diffed into case events.

Each row is a snapshot of an incident after an update (`sys_mod_count` counts them). Rows of one
incident are ordered by that counter and compared with the previous snapshot: a changed status,
priority, assignment group or assignee becomes a status, priority or hand-off event at the row's
update time. See docs/import.md for the mapping and what is skipped.

The file is checked and diffed column by column (numpy arrays of codes into each column's distinct
values), not row by row: an export has a few hundred thousand rows but few distinct values per
column. Only the snapshots that become events and cases turn into Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from kontosjef.bulk import gc_paused
from kontosjef.integrations.batch import (
    AccountSpec,
    ContactSpec,
    EmployeeSpec,
    ImportBatch,
    ImportFileError,
    SourceCase,
    SourceEvent,
)
from kontosjef.integrations.files import CsvTable, csv_table
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

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Objects = NDArray[np.object_]

_STATUS_NAMES = sorted(STATUSES)
_PRIORITY_NAMES = sorted(PRIORITIES)
_NEW, _CLOSED, _IGNORE = (_STATUS_NAMES.index(s) for s in ("new", "closed", "ignore"))
_NOT_A_DATE = -1
# `_events` builds SourceEvents positionally (twice as fast as by keyword): in this order.
_EVENT_FIELDS = ("key", "at", "kind", "actor_kind", "actor", "is_public", "from_value",
                 "to_value", "department", "assignee", "body", "row")  # fmt: skip
if tuple(f.name for f in fields(SourceEvent)) != _EVENT_FIELDS:
    raise ImportError("SourceEvent's fields changed: update servicenow._events")


def _pandas() -> Any:
    # Imported on use: pandas takes a quarter of a second to import, and only this importer
    # needs it.
    import pandas as pd  # type: ignore[import-untyped]  # pandas-stubs is not installed

    return pd


class _Dates:
    """datetime.strptime over the distinct texts of the date columns (an export repeats
    timestamps), with a faster path of the same result for the common formats."""

    def __init__(self, fmt: str, zone: ZoneInfo) -> None:
        self.fmt, self.zone = fmt, zone
        self.regex = _strptime_regex(fmt)

    def parse(self, texts: list[str]) -> tuple[list[datetime | None], Ints]:
        """Each text as an aware datetime in the mapping's zone (None if it is not a date), and
        a number that sorts as its wall time does (`_NOT_A_DATE` if none). All dates share the
        zone, and Python compares datetimes that share a zone by their wall time."""
        dates: list[datetime | None] = [None] * len(texts)
        walls = [_NOT_A_DATE] * len(texts)
        zone = self.zone
        if self.regex is None:
            for i, text in enumerate(texts):
                try:
                    value = datetime.strptime(text, self.fmt).replace(tzinfo=zone)
                except ValueError:
                    continue
                dates[i], walls[i] = value, _wall(value)
            return dates, np.array(walls, dtype=np.int64)
        # Each field from its group, or strptime's default when the format lacks it.
        groups = self.regex.groupindex
        pick = itemgetter(*(groups[k] - 1 if k in groups else len(groups) + i
                            for i, k in enumerate("YmdHMS")))  # fmt: skip
        defaults = ("1900", "1", "1", "0", "0", "0")
        match = self.regex.match
        for i, text in enumerate(texts):
            found = match(text)
            # As strptime: the first match must take the whole text.
            if found is None or found.end() != len(text):
                continue
            year, month, day, hour, minute, second = map(int, pick(found.groups() + defaults))
            try:
                dates[i] = datetime(year, month, day, hour, minute, second, tzinfo=zone)
            except ValueError:
                continue
            days = (year * 13 + month) * 32 + day
            walls[i] = (((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000
        return dates, np.array(walls, dtype=np.int64)


# The regular expressions of CPython's _strptime for these directives. A format made of them
# (each at most once) and other text is matched here as strptime matches it; any other format
# goes through strptime itself. tests/integrations/test_servicenow_rows.py holds the two to the
# same results.
_DIRECTIVES = {
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "Y": r"(?P<Y>\d\d\d\d)",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
}


def _strptime_regex(fmt: str) -> re.Pattern[str] | None:
    directives = re.findall(r"%(.)", fmt)
    if not re.fullmatch(r"(?:%[dmYHMS]|[^%])*", fmt) or len(set(directives)) < len(directives):
        return None
    pattern = re.sub(r"([\\.^$*+?\(\){}\[\]|])", r"\\\1", fmt)
    pattern = re.sub(r"\s+", r"\\s+", pattern)
    pattern = re.sub(r"%([dmYHMS])", lambda m: _DIRECTIVES[m.group(1)], pattern)
    return re.compile(pattern, re.IGNORECASE)


def _wall(value: datetime) -> int:
    """A number that orders and equates datetimes as their wall times do (as `_Dates.parse`
    computes it on its fast path)."""
    days = (value.year * 13 + value.month) * 32 + value.day
    seconds = ((days * 24 + value.hour) * 60 + value.minute) * 60 + value.second
    return seconds * 1_000_000 + value.microsecond


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


class _Columns:
    """The file's columns, cleaned on first use: the missing marker becomes "", and anonymised
    names lose their doubled spaces ("Opened by  8")."""

    def __init__(self, table: CsvTable, missing: str) -> None:
        self.table, self.missing = table, missing
        self.size = len(table.numbers)
        self.position: dict[str, int] = {}
        for i, name in enumerate(table.header):
            self.position.setdefault(name, i)
        self.cache: dict[str, tuple[Ints, Objects]] = {}

    def clean(self, values: list[str]) -> list[str]:
        missing = self.missing
        return ["" if v == missing else " ".join(v.split()) if "  " in v else v for v in values]

    def coded(self, column: str | None) -> tuple[Ints, Objects]:
        """Each row's code into the column's distinct cleaned values (an unmapped column is
        empty)."""
        if not column:
            return np.zeros(self.size, dtype=np.int64), np.array([""], dtype=object)
        if column not in self.cache:
            pd = _pandas()
            codes, distinct = pd.factorize(self.table.columns[self.position[column]])
            cleaned = np.array(self.clean(distinct.tolist()), dtype=object)
            # Two texts may clean to the same value: code them as one.
            merged, values = pd.factorize(cleaned)
            self.cache[column] = (merged[codes].astype(np.int64), values.astype(object))
        return self.cache[column]

    def at(self, column: str | None, rows: Ints) -> list[str]:
        """The cleaned values of `column` at `rows` (indices into the table)."""
        if not column:
            return [""] * len(rows)
        if column in self.cache:
            codes, values = self.cache[column]
            return list(values[codes[rows]].tolist())
        codes, distinct = _pandas().factorize(self.table.columns[self.position[column]][rows])
        return list(np.array(self.clean(distinct.tolist()), dtype=object)[codes].tolist())


def parse_servicenow(
    path: str | Path,
    *,
    mapping: Mapping | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportBatch:
    m = mapping or load_mapping(DEFAULT_MAPPING)
    cfg = _Config(m)
    batch = ImportBatch(source=cfg.source)
    with gc_paused():
        table = csv_table(path, check_header=lambda header: require_columns(m, header, "the file"))
        batch.rows = table.rows
        if progress:
            progress(table.rows)
        cols = _Columns(table, cfg.missing)
        snapshots = _Snapshots(batch, cfg, cols)
        if len(snapshots.rows):
            _Diff(batch, cfg, cols, snapshots).build()
    return batch


class _Snapshots:
    """The rows that pass validation (the others are rejected), with their sort keys."""

    def __init__(self, batch: ImportBatch, cfg: _Config, cols: _Columns) -> None:
        col = cfg.col
        self.case_codes, self.case_keys = cols.coded(col["case"])
        seq_codes, seq_texts = cols.coded(col["sequence"])
        self.seq_values = [_whole(t) for t in seq_texts.tolist()]
        upd_codes, upd_texts = cols.coded(col["updated_at"])
        opened = col.get("opened_at")
        opened_codes, opened_texts = cols.coded(opened)
        status_codes, status_texts = cols.coded(col["status"])
        priority_codes, priority_texts = cols.coded(col["priority"])

        # Every distinct date text, parsed once and ranked by time.
        texts = [
            t for t in _pandas().unique(np.concatenate([upd_texts, opened_texts])).tolist() if t
        ]
        dates, walls = cfg.dates.parse(texts)
        ok = walls != _NOT_A_DATE
        distinct, rank = np.unique(walls[ok], return_inverse=True)
        self.at: Objects = np.empty(len(distinct), dtype=object)
        self.at[rank] = [dates[i] for i in np.flatnonzero(ok).tolist()]
        # The rank of each distinct text of a column; -1 for no date (the last entry).
        text_rank = np.full(len(texts) + 1, -1, dtype=np.int64)
        text_rank[:-1][ok] = rank
        index = _pandas().Index(texts, dtype=object)
        self.upd_rank = text_rank[index.get_indexer(upd_texts)]
        self.opened_rank = text_rank[index.get_indexer(opened_texts)]

        # The checks of a row, in the order the first failure is reported.
        checks: list[tuple[Bools, Callable[[int], tuple[str, str]]]] = [
            (_flags(self.case_keys == "", self.case_codes), lambda i: (col["case"], "no case id")),
            (
                _flags([v is None for v in self.seq_values], seq_codes),
                lambda i: (col["sequence"], f"{seq_texts[seq_codes[i]]!r} is not a whole number"),
            ),
            (
                _flags((upd_texts != "") & (self.upd_rank < 0), upd_codes),
                lambda i: _not_a_date(col["updated_at"], upd_texts[upd_codes[i]]),
            ),
        ]
        if opened:
            checks.append(
                (
                    _flags((opened_texts != "") & (self.opened_rank < 0), opened_codes),
                    lambda i: _not_a_date(opened, opened_texts[opened_codes[i]]),
                )
            )
        checks += [
            (_flags(upd_texts == "", upd_codes), lambda i: (col["updated_at"], "no update time")),
            (
                _flags([t not in cfg.statuses for t in status_texts.tolist()], status_codes),
                lambda i: (
                    col["status"],
                    f"unknown status {status_texts[status_codes[i]]!r}: add it to [statuses] in "
                    "the mapping",
                ),
            ),
            (
                _flags([t not in cfg.priorities for t in priority_texts.tolist()], priority_codes),
                lambda i: (
                    col["priority"],
                    f"unknown priority {priority_texts[priority_codes[i]]!r}: add it to "
                    "[priorities]",
                ),
            ),
        ]
        failed = np.zeros(cols.size, dtype=np.int64)
        for k in range(len(checks), 0, -1):
            failed[checks[k - 1][0]] = k
        numbers = cols.table.numbers
        problems = [(row, "", f"has {n} fields, the header has {len(cols.table.header)}")
                    for row, n in cols.table.misfits]  # fmt: skip
        problems += [
            (int(numbers[i]), *checks[failed[i] - 1][1](i)) for i in np.flatnonzero(failed).tolist()
        ]
        for row, column, reason in sorted(problems, key=lambda p: p[0]):
            batch.reject(row, column, reason)

        rows = np.flatnonzero(failed == 0)
        self.rows: Ints = rows
        self.seq_codes = seq_codes
        # (Rows with a status or priority the mapping lacks are rejected: any id will do.)
        self.status_id = np.array(
            [_STATUS_NAMES.index(cfg.statuses.get(t, "ignore")) for t in status_texts.tolist()],
            dtype=np.int64,
        )[status_codes]
        self.priority_id = np.array(
            [_PRIORITY_NAMES.index(cfg.priorities.get(t, "p4")) for t in priority_texts.tolist()],
            dtype=np.int64,
        )[priority_codes]
        self.upd_codes, self.opened_codes = upd_codes, opened_codes


class _Diff:
    """Orders the valid snapshots per incident and turns their differences into events."""

    def __init__(self, batch: ImportBatch, cfg: _Config, cols: _Columns, snaps: _Snapshots) -> None:
        self.batch, self.cfg, self.cols, self.snaps = batch, cfg, cols, snaps

    def build(self) -> None:
        cfg, cols, snaps = self.cfg, self.cols, self.snaps
        col = cfg.col
        numbers = cols.table.numbers
        valid = snaps.rows
        pd = _pandas()

        # Incidents in the order of their first valid row.
        case_codes = snaps.case_codes[valid]
        order_codes = pd.unique(case_codes)
        case_rank = np.empty(len(snaps.case_keys), dtype=np.int64)
        case_rank[order_codes] = np.arange(len(order_codes))
        keys: list[str] = snaps.case_keys[order_codes].tolist()
        n_cases = len(keys)

        # Snapshots by (incident, counter, update time, file row); of two with the same counter
        # the later one is kept (the UCI log has a few stray copies stamped before the
        # incident's first update).
        seq_ints = sorted({v for v in snaps.seq_values if v is not None})
        seq_pos = {v: i for i, v in enumerate(seq_ints)}
        seq_rank = np.array(
            [-1 if v is None else seq_pos[v] for v in snaps.seq_values], dtype=np.int64
        )
        c, q = case_rank[case_codes], seq_rank[snaps.seq_codes[valid]]
        u = snaps.upd_rank[snaps.upd_codes[valid]]
        order = np.lexsort((valid, u, q, c))
        s_rows, c, q = valid[order], c[order], q[order]
        dup = np.zeros(len(s_rows), dtype=bool)
        dup[:-1] = (c[1:] == c[:-1]) & (q[1:] == q[:-1])
        k_rows, kc = s_rows[~dup], c[~dup]

        # Everything after the first Closed is skipped: a closed case is final.
        closed = snaps.status_id[k_rows] == _CLOSED
        k_first = _starts(kc)
        closed_before = np.cumsum(closed) - closed
        after_close = closed_before > closed_before[k_first][kc]
        self._skip(s_rows[dup], c[dup], k_rows[after_close], kc[after_close])

        rows, g = k_rows[~after_close], kc[~after_close]  # the snapshots that are diffed
        first = _starts(g)  # position of each incident's first snapshot
        is_first = np.zeros(len(rows), dtype=bool)
        is_first[first] = True
        first_rows, last_rows = k_rows[k_first], k_rows[_ends(kc)]

        # Each snapshot compared with the one before it: priority, hand-off, status.
        prio = snaps.priority_id[rows]
        dept_codes, dept_values = cols.coded(col.get("department"))
        assignee_codes, assignee_values = cols.coded(col.get("assignee"))
        dept, assignee = dept_codes[rows], assignee_codes[rows]
        prio_event = ~is_first & _changed(prio)
        handoff_event = ~is_first & (_changed(dept) | _changed(assignee))
        status = snaps.status_id[rows]
        status_before = _state_before(status, first[g])
        status_event = (status != _IGNORE) & (status != status_before)

        # Event times: the update time, never earlier than the previous event.
        created = snaps.opened_rank[snaps.opened_codes[first_rows]]
        created = np.where(created >= 0, created, snaps.upd_rank[snaps.upd_codes[first_rows]])
        upd = np.maximum(snaps.upd_rank[snaps.upd_codes[rows]], created[g])
        span = len(snaps.at) + 1
        at_rank = np.maximum.accumulate(upd + g * span) - g * span

        dept_or_none = _or_none(dept_values)
        assignee_or_none = _or_none(assignee_values)
        actor_codes, actor_values = cols.coded(col.get("actor"))
        actor = _or_none(actor_values)[actor_codes[rows]]
        kinds = ["employee" if v else "system" for v in actor_values.tolist()]
        actor_kind = np.array(kinds, dtype=object)[actor_codes[rows]]
        priorities = np.array(_PRIORITY_NAMES, dtype=object)
        statuses = np.array(_STATUS_NAMES, dtype=object)
        seq_text = np.array([str(v) for v in snaps.seq_values], dtype=object)[snaps.seq_codes[rows]]
        row_numbers = numbers[rows]
        dept_name, assignee_name = dept_or_none[dept], assignee_or_none[assignee]

        def changes(kind: str, pos: Ints, before: list[str], after: list[str]) -> Objects:
            n = len(pos)
            return _events(
                (seq_text[pos] + f":{kind}").tolist(),
                snaps.at[at_rank[pos]].tolist(),
                [kind] * n,
                actor_kind[pos].tolist(),
                actor[pos].tolist(),
                before,
                after,
                dept_name[pos].tolist() if kind == "handoff" else [None] * n,
                assignee_name[pos].tolist() if kind == "handoff" else [None] * n,
                row_numbers[pos].tolist(),
            )

        def who(pos: Ints) -> list[str]:
            # Per distinct (group, assignee) pair: a log has far fewer pairs than hand-offs.
            width = len(assignee_values)
            codes, pairs = pd.factorize(dept[pos] * width + assignee[pos])
            names = [_who(dept_or_none[i // width], assignee_or_none[i % width])
                     for i in pairs.tolist()]  # fmt: skip
            return list(np.array(names, dtype=object)[codes].tolist())

        p, h, st = (np.flatnonzero(e) for e in (prio_event, handoff_event, status_event))
        opened_by: list[str] = cols.at(col.get("opened_by"), first_rows)
        parts = [
            _events(
                ["created"] * n_cases,
                snaps.at[created].tolist(),
                ["created"] * n_cases,
                ["employee"] * n_cases,
                [name or None for name in opened_by],
                [""] * n_cases,
                priorities[prio[first]].tolist(),
                dept_name[first].tolist(),
                assignee_name[first].tolist(),
                row_numbers[first].tolist(),
            ),
            changes("priority", p, priorities[prio[p - 1]].tolist(), priorities[prio[p]].tolist()),
            changes("handoff", h, who(h - 1), who(h)),
            changes(
                "status", st, statuses[status_before[st]].tolist(), statuses[status[st]].tolist()
            ),
        ]
        # Within a snapshot: created, priority, hand-off, status.
        sort_key = np.concatenate([first * 4, p * 4 + 1, h * 4 + 2, st * 4 + 3])
        flat = np.concatenate(parts)[np.argsort(sort_key, kind="stable")].tolist()
        ends = np.cumsum(np.bincount(np.concatenate([g[first], g[p], g[h], g[st]]),
                                     minlength=n_cases)).tolist()  # fmt: skip

        self._people(rows, first, opened_by, dept_values[dept], assignee_values[assignee],
                     actor_values[actor_codes[rows]])  # fmt: skip
        self._cases(keys, first_rows, last_rows, flat, ends, priorities[prio[first]].tolist())

    def _skip(self, dup_rows: Ints, dup_case: Ints, closed_rows: Ints, closed_case: Ints) -> None:
        """Skipped snapshots, per incident: repeated counters, then updates after Closed."""
        snaps, col = self.snaps, self.cfg.col
        numbers = self.cols.table.numbers
        rows = np.concatenate([dup_rows, closed_rows])
        case = np.concatenate([dup_case, closed_case])
        phase = np.repeat(np.array([0, 1]), [len(dup_rows), len(closed_rows)])
        keys = snaps.case_keys[snaps.case_codes[rows]].tolist()
        for i in np.lexsort((np.arange(len(rows)), phase, case)).tolist():
            row = int(rows[i])
            if phase[i] == 0:
                seq = snaps.seq_values[snaps.seq_codes[row]]
                reason = f"{keys[i]}: snapshot {seq} again later; the later one is kept"
                self.batch.skip(int(numbers[row]), col["sequence"], reason)
            else:
                reason = f"{keys[i]}: update after the incident was closed"
                self.batch.skip(int(numbers[row]), col["status"], reason)

    def _people(
        self,
        rows: Ints,
        first: Ints,
        opened_by: list[str],
        depts: Objects,
        assignees: Objects,
        actors: Objects,
    ) -> None:
        """Departments and employees (per diffed snapshot: its group, assignee and updater; the
        first one's opener too). An employee is in the group of the first snapshot that names
        them as assignee, or in none if they first appear as opener or updater."""
        batch, pd = self.batch, _pandas()
        for name in pd.unique(depts).tolist():
            if name:
                batch.departments.setdefault(name, name)
        # The people in the order the snapshots name them, each with the group it implies.
        n, m = len(first), len(rows)
        names = np.concatenate([np.array(opened_by, dtype=object), assignees[first], actors,
                                assignees])  # fmt: skip
        groups = np.concatenate([np.full(n, "", dtype=object), depts[first],
                                 np.full(m, "", dtype=object), depts])  # fmt: skip
        order = np.argsort(np.concatenate([first * 4, first * 4 + 1, np.arange(m) * 4 + 2,
                                           np.arange(m) * 4 + 3]), kind="stable")  # fmt: skip
        names, groups = names[order], groups[order]
        named = names != ""
        codes, distinct = pd.factorize(names[named])
        _, first_seen = np.unique(codes, return_index=True)
        for name, group in zip(distinct.tolist(), groups[named][first_seen].tolist(), strict=True):
            batch.employees.setdefault(name, EmployeeSpec(name=name, department=group or None))

    def _cases(
        self,
        keys: list[str],
        first_rows: Ints,
        last_rows: Ints,
        flat: list[SourceEvent],
        ends: list[int],
        priorities: list[str],
    ) -> None:
        batch, cfg, cols = self.batch, self.cfg, self.cols
        col = cfg.col
        accounts = [a or cfg.missing_account for a in cols.at(col.get("account"), last_rows)]
        requesters = [r or None for r in cols.at(col.get("requester"), first_rows)]
        for account, requester in zip(accounts, requesters, strict=True):
            if account not in batch.accounts:
                d = cfg.account_defaults
                batch.accounts[account] = AccountSpec(
                    name=account, tier=d["tier"], country=d["country"], time_zone=d["time_zone"]
                )
            if requester and requester not in batch.contacts:
                batch.contacts[requester] = ContactSpec(account=account, name=requester)
        n = len(keys)
        attributes: list[dict[str, str]] = [{} for _ in range(n)]
        if cfg.attributes:
            columns = [cols.at(a, last_rows) for a in cfg.attributes]
            attributes = [
                {a: v for a, v in zip(cfg.attributes, values, strict=True) if v}
                for values in zip(*columns, strict=True)
            ]
        # The subject template rendered once per distinct combination of the columns it names.
        names = [c for c in cfg.needed if "{" + c + "}" in cfg.subject]
        combos: list[tuple[str, ...]] = [()] * n
        if names:
            combos = list(zip(*(cols.at(c, last_rows) for c in names), strict=True))
        rendered: dict[tuple[str, ...], str] = {}
        for combo in combos:
            if combo not in rendered:
                text = render(cfg.subject, dict(zip(names, combo, strict=True)))
                rendered[combo] = text.strip(" /:")
        channels = cols.at(col.get("channel"), first_rows)
        products = zip(cols.at(col.get("product"), last_rows),
                       cols.at(col.get("component"), last_rows), strict=True)  # fmt: skip
        sla = cols.at(col.get("sla_met"), last_rows)
        numbers = cols.table.numbers[first_rows].tolist()
        batch.cases += [
            SourceCase(
                key=key,
                account=account,
                requester=requester,
                subject=rendered[combo] or key,
                priority=priority,
                channel=cfg.channels.get(channel, "other"),
                product=product if product[0] else None,
                sla_met=cfg.booleans.get(met) if met else None,
                attributes=attrs,
                events=flat[start:end],
                row=number,
            )
            for key, account, requester, combo, priority, channel, product, met, attrs, start,
            end, number in zip(keys, accounts, requesters, combos, priorities, channels,
                               products, sla, attributes, [0, *ends[:-1]], ends, numbers,
                               strict=True)
        ]  # fmt: skip


def _events(*columns: list[Any]) -> Objects:
    """SourceEvents from lists of their fields (key, at, kind, actor_kind, actor, from_value,
    to_value, department, assignee, row), as an array that can be reordered."""
    key, at, kind, actor_kind, actor, before, after, department, assignee, row = columns
    n = len(key)
    out: Objects = np.empty(n, dtype=object)
    out[:] = list(
        map(SourceEvent, key, at, kind, actor_kind, actor, [False] * n, before, after,
            department, assignee, [""] * n, row)
    )  # fmt: skip
    return out


def _whole(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _not_a_date(column: str, text: str) -> tuple[str, str]:
    return column, f"{text!r} is not a date in the mapping's timestamp format"


def _flags(per_value: Sequence[bool] | Bools, codes: Ints) -> Bools:
    """A per-row flag from a flag per distinct value."""
    return np.asarray(per_value, dtype=bool)[codes]


def _starts(group: Ints) -> Ints:
    """Positions where a run of equal values starts."""
    flags = np.ones(len(group), dtype=bool)
    flags[1:] = group[1:] != group[:-1]
    return np.flatnonzero(flags)


def _ends(group: Ints) -> Ints:
    flags = np.ones(len(group), dtype=bool)
    flags[:-1] = group[1:] != group[:-1]
    return np.flatnonzero(flags)


def _changed(values: Ints) -> Bools:
    """Whether each value differs from the one before it (the first is unchanged)."""
    flags = np.zeros(len(values), dtype=bool)
    flags[1:] = values[1:] != values[:-1]
    return flags


def _state_before(status: Ints, group_start: Ints) -> Ints:
    """The status before each snapshot: the last one of an earlier snapshot of the same incident
    that is not `ignore`, or `new`."""
    index = np.where(status != _IGNORE, np.arange(len(status)), -1)
    last = np.maximum.accumulate(index)
    before = np.empty(len(status), dtype=np.int64)
    before[0] = -1
    before[1:] = last[:-1]
    return np.where(before >= group_start, status[before], _NEW)


def _or_none(values: Objects) -> Objects:
    out: Objects = np.empty(len(values), dtype=object)
    out[:] = [v or None for v in values.tolist()]
    return out


def _who(department: str | None, assignee: str | None) -> str:
    return " / ".join(p for p in (department, assignee) if p)
