"""Writing an import batch: all or nothing, idempotent, in bulk.

`import_batch` maps the batch's source keys to existing rows by (external_source, external_id),
creates what is missing, appends only the case events it has not seen (by event key), derives case
state through `cases.services.case_apply_event`, and records an `ImportRun`. With rejected rows
and no `skip_invalid`, or with `dry_run`, it writes nothing but the run record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify

from kontosjef.accounts.models import Account, Contact, Product
from kontosjef.audit.services import audit_record
from kontosjef.bulk import allocate_ids, gc_paused, insert_new, raw_insert
from kontosjef.cases.models import Case, CaseEvent, Priority, Status
from kontosjef.cases.services import CaseFacts, case_apply_event
from kontosjef.cases.sla import SlaConfigurationError, sla_recompute
from kontosjef.integrations.batch import (
    IMPORTED_ROLES,
    ImportBatch,
    ImportFileError,
    Problem,
    SourceCase,
    SourceEvent,
    check_text,
)
from kontosjef.integrations.models import ImportRun
from kontosjef.people import access
from kontosjef.people.models import Department, User

Progress = Callable[[int], object]

CASE_COLUMNS = [
    "id", "account_id", "requester_id", "subject", "description", "priority", "status",
    "department_id", "assignee_id", "product_id", "channel", "external_source", "external_id",
    "opened_at", "solved_at", "closed_at", "last_event_at", "last_seq", "reopen_count",
    "version", "source_sla_met", "attributes",
]  # fmt: skip
EVENT_COLUMNS = [
    "case_id", "at", "seq", "kind", "actor_kind", "actor_user_id", "actor_contact_id",
    "is_public", "from_value", "to_value", "department_id", "assignee_id", "body", "external_id",
]  # fmt: skip


@dataclass
class ImportResult:
    outcome: str
    rows: int
    figures: Counter[str] = field(default_factory=Counter)
    rejected: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    run: ImportRun | None = None
    sla_problem: str = ""  # why no SLA clocks were computed, if none were

    @property
    def committed(self) -> bool:
        return self.outcome == ImportRun.Outcome.COMMITTED


NO_CLOCKS = (
    "no SLA clocks were computed: no SLA policy applies to these cases. Give their accounts' "
    "tiers a policy (Configuration > Tiers and accounts, /configuration/tiers/), then run "
    "`kontosjef sla recompute`."
)


class _Rollback(Exception):
    pass


def import_batch(
    *,
    batch: ImportBatch,
    by: User | None,
    now: datetime,
    importer: str,
    path: str,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Write `batch`. `by=None` is the command line run by the server's operator (who may write
    anything); a user must be a manager or admin."""
    if by is not None:
        access.require_manager(by)
    check_text(batch)
    result = ImportResult(
        outcome=ImportRun.Outcome.COMMITTED,
        rows=batch.rows,
        figures=Counter(batch.notes),
        rejected=list(batch.rejected),
        skipped=list(batch.skipped),
    )
    if batch.rejected and not skip_invalid:
        result.outcome = ImportRun.Outcome.REJECTED
    else:
        try:
            with gc_paused(), transaction.atomic():
                writer = _Writer(batch, result, progress, now)
                writer.write()
                # Imported history moves SLA clocks like typed events do. A calendar that cannot
                # measure the history leaves the clocks alone, as it does for typed events, and
                # the command says so; `kontosjef sla recompute` catches up once it is fixed.
                try:
                    with transaction.atomic():
                        cycles = sla_recompute(now=now, cases=writer.touched)
                except SlaConfigurationError as exc:
                    result.sla_problem = f"no SLA clocks were computed: {exc}"
                else:
                    if writer.touched and not cycles:
                        result.sla_problem = NO_CLOCKS
                if result.rejected and not skip_invalid:
                    raise _Rollback
                if dry_run:
                    raise _Rollback
                run = _record(result, batch=batch, by=by, now=now, importer=importer, path=path)
                audit_record(
                    at=now,
                    actor=by,
                    action=f"import.{importer}",
                    obj=run,
                    after={"source": batch.source, **result.figures},
                )
                return result
        except _Rollback:
            result.outcome = (
                ImportRun.Outcome.REJECTED
                if result.rejected and not skip_invalid
                else ImportRun.Outcome.DRY_RUN
            )
        except DatabaseError as exc:
            # Checks before the write should leave nothing for the database to refuse; if it
            # still does, the operator gets one line and a run record, never a traceback.
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            result.outcome = ImportRun.Outcome.REJECTED
            result.rejected.append(Problem(0, "", f"the database refused the import: {reason}"))
            _record(result, batch=batch, by=by, now=now, importer=importer, path=path)
            raise ImportFileError(
                f"the database refused the import, nothing was written: {reason}"
            ) from exc
    _record(result, batch=batch, by=by, now=now, importer=importer, path=path)
    return result


def _record(
    result: ImportResult,
    *,
    batch: ImportBatch,
    by: User | None,
    now: datetime,
    importer: str,
    path: str,
) -> ImportRun:
    result.run = ImportRun.objects.create(
        source=batch.source,
        importer=importer,
        path=path[:500],
        started_at=now,
        # The one extra clock read: how long the run took is a measurement, not a business time.
        finished_at=max(now, timezone.now()),
        by=by,
        outcome=result.outcome,
        rows=batch.rows,
        figures=dict(result.figures),
        problems=[p.as_dict() for p in (result.rejected + result.skipped)[:1000]],
    )
    return result.run


class _Writer:
    def __init__(
        self, batch: ImportBatch, result: ImportResult, progress: Progress | None, now: datetime
    ) -> None:
        self.now = now
        self.touched: list[int] = []
        self.batch = batch
        self.source = batch.source
        self.result = result
        self.figures = result.figures
        self.progress = progress

    def write(self) -> None:
        # Primary keys by source key too: looked up per case and event, cheaper than `.pk`.
        self.departments = self._departments()
        self.department_ids = {k: d.pk for k, d in self.departments.items()}
        self.users = self._employees()
        self.user_ids = {k: u.pk for k, u in self.users.items()}
        self.accounts = self._accounts()
        self.account_ids = {k: a.pk for k, a in self.accounts.items()}
        self.contacts = self._contacts()
        self.contact_ids = {k: c.pk for k, c in self.contacts.items()}
        self.products = self._products()
        self.product_ids = {k: p.pk for k, p in self.products.items()}
        self._cases()

    # Reference data ----------------------------------------------------------------------------

    def _departments(self) -> dict[str, Department]:
        wanted = self.batch.departments
        existing = {d.name: d for d in Department.objects.filter(name__in=set(wanted.values()))}
        taken = set(Department.objects.values_list("code", flat=True))
        missing = []
        for name in sorted(set(wanted.values()) - set(existing)):
            code = _unique(slugify(name)[:36] or "department", taken)
            missing.append(Department(name=name, code=code))
        Department.objects.bulk_create(missing)
        self.figures["departments created"] += len(missing)
        by_name = existing | {d.name: d for d in missing}
        return {key: by_name[name] for key, name in wanted.items()}

    def _employees(self) -> dict[str, User]:
        wanted = self.batch.employees
        existing = {u.external_id: u for u in User.objects.filter(external_source=self.source)}
        taken = set(
            User.objects.filter(username__startswith=f"{self.source}.").values_list(
                "username", flat=True
            )
        )
        # A file's username never takes over an existing user: "admin" in a file is a new name
        # in history ("admin-2"), not the administrator.
        if any(s.username for k, s in wanted.items() if k not in existing):
            taken |= set(User.objects.values_list("username", flat=True))
        missing = []
        for key in sorted(set(wanted) - set(existing)):
            spec = wanted[key]
            if spec.username:
                username = _unique(spec.username[:140], taken)
            else:
                username = _unique(f"{self.source}.{slugify(key) or 'user'}"[:140], taken)
            user = User(
                username=username,
                first_name=spec.name[:150],
                email=spec.email,
                role=spec.role if spec.role in IMPORTED_ROLES else User.Role.AGENT,
                department=self.departments.get(spec.department) if spec.department else None,
                external_source=self.source,
                external_id=key,
            )
            # Imported employees are names in history; they sign in only once an admin sets a
            # password.
            user.set_unusable_password()
            missing.append(user)
        insert_new(missing)
        self.figures["employees created"] += len(missing)
        return existing | {u.external_id: u for u in missing}

    def _accounts(self) -> dict[str, Account]:
        wanted = self.batch.accounts
        existing = {a.external_id: a for a in Account.objects.filter(external_source=self.source)}
        missing = []
        for key in sorted(set(wanted) - set(existing)):
            spec = wanted[key]
            account = Account(
                name=spec.name[:200],
                tier=spec.tier,
                country=spec.country,
                time_zone=spec.time_zone,
                status=spec.status,
                external_source=self.source,
                external_id=key,
                created_at=self._first_seen.get(key, self.now),
            )
            missing.append(account)
        Account.objects.bulk_create(missing, batch_size=1000)
        self.figures["accounts created"] += len(missing)
        return existing | {a.external_id: a for a in missing}

    @property
    def _first_seen(self) -> dict[str, datetime]:
        if not hasattr(self, "_first_seen_cache"):
            seen: dict[str, datetime] = {}
            for case in self.batch.cases:
                if case.events:
                    at = case.events[0].at
                    if case.account not in seen or at < seen[case.account]:
                        seen[case.account] = at
            self._first_seen_cache = seen
        return self._first_seen_cache

    def _contacts(self) -> dict[str, Contact]:
        wanted = self.batch.contacts
        existing = {c.external_id: c for c in Contact.objects.filter(external_source=self.source)}
        missing = [
            Contact(
                account=self.accounts[spec.account],
                name=spec.name[:200],
                email=spec.email,
                language=spec.language,
                external_source=self.source,
                external_id=key,
            )
            for key, spec in sorted(wanted.items())
            if key not in existing
        ]
        insert_new(missing)
        self.figures["contacts created"] += len(missing)
        return existing | {c.external_id: c for c in missing}

    def _products(self) -> dict[tuple[str, str], Product]:
        wanted = {c.product for c in self.batch.cases if c.product}
        existing = {(p.name, p.component): p for p in Product.objects.all()}
        missing = [
            Product(name=n[:200], component=c[:200]) for n, c in sorted(wanted - set(existing))
        ]
        Product.objects.bulk_create(missing)
        self.figures["products created"] += len(missing)
        products = existing | {(p.name, p.component): p for p in missing}
        product_ids = {k: p.pk for k, p in products.items()}
        links = {
            (self.account_ids[c.account], product_ids[c.product])
            for c in self.batch.cases
            if c.product
        }
        through = Account.products.through
        have = set(through.objects.values_list("account_id", "product_id"))
        if links - have:
            raw_insert(through, ["account_id", "product_id"], sorted(links - have))
        return products

    # Cases and events --------------------------------------------------------------------------

    def _cases(self) -> None:
        existing_ids = dict(
            Case.objects.filter(external_source=self.source).values_list("external_id", "id")
        )
        fresh = [c for c in self.batch.cases if c.key not in existing_ids]
        known = [c for c in self.batch.cases if c.key in existing_ids]
        if fresh:
            self._create_cases(fresh)
        if known:
            self._extend_cases(known, existing_ids)

    def _create_cases(self, fresh: list[SourceCase]) -> None:
        """New cases, then their events. The cases are written as they are projected, so that
        PostgreSQL stores the rows streamed so far while the next ones are computed."""
        # Ids are handed out in order to the cases that project without error: the ids are those
        # of one allocation per case written. Ids left over go unused.
        ids = allocate_ids(Case, len(fresh))
        written: list[int] = []
        events: list[tuple[Any, ...]] = []

        def case_rows() -> Iterator[tuple[Any, ...]]:
            for start in range(0, len(fresh), 5000):
                chunk = fresh[start : start + 5000]
                for sc in chunk:
                    case = self._new_case(sc, ids[len(written)])
                    projected = self._project(case, sc, sc.events)
                    if projected is None:
                        continue
                    written.append(case.id)
                    events.extend(map(_event_values, projected))
                    yield _case_values(case)
                if self.progress:
                    self.progress(len(chunk))

        raw_insert(Case, CASE_COLUMNS, case_rows())
        raw_insert(CaseEvent, EVENT_COLUMNS, events)
        self.touched += written
        self.figures["cases created"] += len(written)
        self.figures["events created"] += len(events)

    def _new_case(self, sc: SourceCase, pk: int) -> _CaseRow:
        first = sc.events[0].at
        return _CaseRow(
            id=pk,
            account_id=self.account_ids[sc.account],
            requester_id=self.contact_ids[sc.requester] if sc.requester else None,
            subject=sc.subject[:300],
            description=sc.description,
            priority=sc.priority,
            product_id=self.product_ids[sc.product] if sc.product else None,
            channel=sc.channel,
            external_source=self.source,
            external_id=sc.key,
            opened_at=first,
            last_event_at=first,
            source_sla_met=sc.sla_met,
            attributes=sc.attributes,
        )

    def _extend_cases(self, known: list[SourceCase], ids: dict[str, int]) -> None:
        case_ids = [ids[c.key] for c in known]
        cases: dict[int, Case] = {}
        seen: dict[int, set[str]] = {}
        for start in range(0, len(case_ids), 5000):
            part = case_ids[start : start + 5000]
            cases.update(Case.objects.in_bulk(part))
            for case_id, key in CaseEvent.objects.filter(case_id__in=part).values_list(
                "case_id", "external_id"
            ):
                seen.setdefault(case_id, set()).add(key)
        changed: list[Case] = []
        rows: list[_Event] = []
        for sc in known:
            case = cases[ids[sc.key]]
            have = seen.get(case.pk, set())
            new = [e for e in sc.events if e.key not in have]
            self.figures["events already imported"] += len(sc.events) - len(new)
            if not new:
                self.figures["cases unchanged"] += 1
                continue
            events = self._project(case, sc, new)
            if events is None:
                continue
            for event in events:
                event.case_id = case.pk
            rows.extend(events)
            case.version += 1
            changed.append(case)
            self.touched.append(case.pk)
        Case.objects.bulk_update(
            changed,
            ["status", "priority", "department", "assignee", "solved_at", "closed_at",
             "last_event_at", "last_seq", "reopen_count", "version", "source_sla_met"],
            batch_size=1000,
        )  # fmt: skip
        _insert_events(rows)
        self.figures["cases updated"] += len(changed)
        self.figures["events created"] += len(rows)
        if self.progress:
            self.progress(len(known))

    def _project(
        self, case: CaseFacts, sc: SourceCase, source_events: list[SourceEvent]
    ) -> list[_Event] | None:
        events = []
        se = None
        users, contacts, departments = self.user_ids, self.contact_ids, self.department_ids
        case_id = case.pk
        try:
            for se in source_events:
                actor_kind = se.actor_kind
                actor_user = actor_contact = None
                if se.actor:
                    if actor_kind == "employee":
                        actor_user = users[se.actor]
                    elif actor_kind == "contact":
                        actor_contact = contacts[se.actor]
                if (actor_kind == "employee" and actor_user is None) or (
                    actor_kind == "contact" and actor_contact is None
                ):
                    actor_kind = "system"
                event = _Event(
                    case_id,
                    se.at,
                    case.last_seq + 1,
                    se.kind,
                    actor_kind,
                    actor_user,
                    actor_contact,
                    se.is_public,
                    se.from_value[:64],
                    se.to_value[:64],
                    departments[se.department] if se.department else None,
                    users[se.assignee] if se.assignee else None,
                    se.body,
                    se.key[:200],
                )
                _check_event(event)
                case_apply_event(case, event)
                events.append(event)
        except ValidationError as exc:
            reason = "; ".join(exc.messages)
            row = se.row if se is not None else sc.row
            self.result.rejected.append(Problem(row, "case", f"case {sc.key}: {reason}"))
            return None
        except KeyError as exc:
            row = se.row if se is not None else sc.row
            self.result.rejected.append(
                Problem(row, "case", f"case {sc.key}: refers to unknown {exc.args[0]!r}")
            )
            return None
        if sc.sla_met is not None and isinstance(case, Case | _CaseRow):
            case.source_sla_met = sc.sla_met
        return events


@dataclass(slots=True)
class _CaseRow:
    """A new case row on its way to the database; cheaper than a model instance."""

    id: int
    account_id: int
    requester_id: int | None
    subject: str
    description: str
    priority: str
    product_id: int | None
    channel: str
    external_source: str
    external_id: str
    opened_at: datetime
    last_event_at: datetime
    source_sla_met: bool | None
    attributes: dict[str, str]
    status: str = "new"
    department_id: int | None = None
    assignee_id: int | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    last_seq: int = 0
    reopen_count: int = 0
    version: int = 1

    @property
    def pk(self) -> int:
        return self.id


@dataclass(slots=True)
class _Event:
    """A case event row on its way to the database; cheaper than a model instance."""

    case_id: int | None
    at: datetime
    seq: int
    kind: str
    actor_kind: str
    actor_user_id: int | None
    actor_contact_id: int | None
    is_public: bool
    from_value: str
    to_value: str
    department_id: int | None
    assignee_id: int | None
    body: str
    external_id: str


EVENT_KINDS = set(CaseEvent.Kind.values)
PRIORITY_VALUES = set(Priority.values)
STATUS_VALUES = set(Status.values)
ACTOR_KINDS = set(CaseEvent.Actor.values)


def _check_event(event: _Event) -> None:
    # The database checks these too; checking here names the row instead of failing the batch.
    if event.kind not in EVENT_KINDS:
        raise ValidationError(f"unknown event kind {event.kind!r}")
    if event.actor_kind not in ACTOR_KINDS:
        raise ValidationError(f"unknown actor kind {event.actor_kind!r}")
    if event.kind == "note" and event.is_public:
        raise ValidationError("an internal note cannot be public")
    if event.at.tzinfo is None:
        raise ValidationError("event time has no UTC offset")
    if event.kind in ("created", "priority") and event.to_value not in PRIORITY_VALUES:
        raise ValidationError(f"unknown priority {event.to_value!r}")
    if event.kind == "status" and event.to_value not in STATUS_VALUES:
        raise ValidationError(f"unknown status {event.to_value!r}")


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


# A row's values in column order, in one C call.
_case_values = attrgetter(*CASE_COLUMNS)
_event_values = attrgetter(*EVENT_COLUMNS)


def _insert_events(events: list[_Event]) -> None:
    raw_insert(CaseEvent, EVENT_COLUMNS, map(_event_values, events))
