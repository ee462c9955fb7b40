"""What every importer produces: a batch of source records keyed by the source's own ids.

A parser (ServiceNow, event log, native) turns a file into an `ImportBatch`; one writer
(`integrations.services.import_batch`) puts any batch into the database. Keys are the source's
ids as strings; the writer maps them to rows by (external_source, external_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class ContactSpec:
    account: str
    name: str
    email: str = ""
    language: str = "en"


@dataclass
class EmployeeSpec:
    name: str
    department: str | None = None
    username: str | None = None
    role: str = "agent"
    email: str = ""


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

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected.append(Problem(row, column, reason))

    def skip(self, row: int, column: str, reason: str) -> None:
        self.skipped.append(Problem(row, column, reason))


class ImportFileError(Exception):
    """The file cannot be read at all: missing, wrong format, or a mapping that does not fit.

    The message is one line, meant for the terminal."""
