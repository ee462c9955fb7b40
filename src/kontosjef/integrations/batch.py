"""What every importer produces: a batch of source records keyed by the source's own ids.

A parser (ServiceNow, event log, native) turns a file into an `ImportBatch`; one writer
(`integrations.services.import_batch`) puts any batch into the database. Keys are the source's
ids as strings; the writer maps them to rows by (external_source, external_id).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

# Roles an import file may give an employee. Anything more (tam, manager, admin) is granted by an
# administrator in the app, never by a file someone brings.
IMPORTED_ROLES = frozenset({"agent", "viewer"})

# The API's limits (kontosjef.api.schemas, the case and account models), applied to imported text.
LONG_TEXT = 50_000
LIMITS = {"subject": 300, "account": 200, "contact": 200, "employee": 150, "department": 120,
          "email": 254, "key": 200}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """A rejected or skipped source row: where it is and why."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class AccountSpec:
    name: str
    tier: str = "standard"
    country: str = ""
    time_zone: str = "UTC"
    status: str = "active"
    row: int = 0


@dataclass
class ContactSpec:
    account: str
    name: str
    email: str = ""
    language: str = "en"
    row: int = 0


@dataclass
class EmployeeSpec:
    name: str
    department: str | None = None
    username: str | None = None
    role: str = "agent"
    email: str = ""
    row: int = 0


@dataclass
class SourceEvent:
    key: str  # unique within its case; makes re-imports idempotent
    at: datetime
    kind: str
    actor_kind: str = "system"
    actor: str | None = None  # employee key or contact key, by actor_kind
    is_public: bool = False
    from_value: str = ""
    to_value: str = ""
    department: str | None = None
    assignee: str | None = None
    body: str = ""
    row: int = 0


@dataclass
class SourceCase:
    key: str
    account: str
    subject: str
    priority: str
    channel: str = "other"
    requester: str | None = None
    description: str = ""
    product: tuple[str, str] | None = None
    sla_met: bool | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    events: list[SourceEvent] = field(default_factory=list)
    row: int = 0


@dataclass
class ImportBatch:
    source: str
    rows: int = 0
    accounts: dict[str, AccountSpec] = field(default_factory=dict)
    contacts: dict[str, ContactSpec] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)  # key -> name
    employees: dict[str, EmployeeSpec] = field(default_factory=dict)
    cases: list[SourceCase] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)  # figures for the report, e.g. duplicates
    department_rows: dict[str, int] = field(default_factory=dict)

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected.append(Problem(row, column, reason))

    def skip(self, row: int, column: str, reason: str) -> None:
        self.skipped.append(Problem(row, column, reason))


def text_problem(value: object, limit: int = LONG_TEXT) -> str | None:
    """Why the API would refuse `value` as text, or None."""
    if not isinstance(value, str):
        return None
    if len(value) > limit:
        return f"is longer than {limit:,} characters"
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode"
    return None


def check_text(batch: ImportBatch) -> None:
    """Reject every record whose text the API would refuse, and every case that depends on one.

    Runs before anything is written: a rejected reference record takes its cases with it, a case
    is rejected whole when one of its events is."""

    def bad(row: int, what: str, value: object, limit: int = LONG_TEXT) -> bool:
        problem = text_problem(value, limit)
        if problem:
            batch.reject(row, what, f"{what} {problem}")
        return problem is not None

    for key, name in list(batch.departments.items()):
        row = batch.department_rows.get(key, 0)
        if bad(row, "key", key, LIMITS["key"]) or bad(row, "name", name, LIMITS["department"]):
            del batch.departments[key]
    for key, spec in list(batch.employees.items()):
        if (
            bad(spec.row, "key", key, LIMITS["key"])
            or bad(spec.row, "name", spec.name, LIMITS["employee"])
            or bad(spec.row, "email", spec.email, LIMITS["email"])
        ):
            del batch.employees[key]
    for key, aspec in list(batch.accounts.items()):
        if bad(aspec.row, "key", key, LIMITS["key"]) or bad(
            aspec.row, "name", aspec.name, LIMITS["account"]
        ):
            del batch.accounts[key]
    for key, cspec in list(batch.contacts.items()):
        if cspec.account not in batch.accounts:
            del batch.contacts[key]  # its account is rejected, with the reason
        elif (
            bad(cspec.row, "key", key, LIMITS["key"])
            or bad(cspec.row, "name", cspec.name, LIMITS["contact"])
            or bad(cspec.row, "email", cspec.email, LIMITS["email"])
        ):
            del batch.contacts[key]
    kept = []
    for case in batch.cases:
        if case.account not in batch.accounts or (
            case.requester and case.requester not in batch.contacts
        ):
            batch.reject(
                case.row, "account", f"case {case.key}: its account or requester is rejected"
            )
            continue
        if (
            bad(case.row, "key", case.key, LIMITS["key"])
            or bad(case.row, "subject", case.subject, LIMITS["subject"])
            or bad(case.row, "description", case.description)
            or any(bad(case.row, "attributes", v) for v in case.attributes.values())
            or any(
                bad(e.row, "body", e.body) or bad(e.row, "key", e.key, LIMITS["key"])
                for e in case.events
            )
        ):
            continue
        kept.append(case)
    batch.cases = kept


class ImportFileError(Exception):
    """The file cannot be read at all: missing, wrong format, or a mapping that does not fit.

    The message is one line, meant for the terminal."""
