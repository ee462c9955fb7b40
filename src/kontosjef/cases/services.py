"""Every write to a case. A case changes only by appending an event and applying it.

Each service checks the actor's rights, validates, appends one or more events, applies them to
the case (`case_apply_event`) and writes an audit entry, all in one transaction. Services that
change an existing case take `expected_version`: the version the caller saw. If another writer
got there first the service raises `CaseConflict` and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from kontosjef import engine
from kontosjef.accounts.models import Account, Contact, Product, validate_time_zone
from kontosjef.audit.services import audit_record
from kontosjef.cases.models import (
    OPEN_STATUSES,
    Calendar,
    CalendarVersion,
    Case,
    CaseEvent,
    Channel,
    Metric,
    Priority,
    SlaPolicy,
    SlaPolicyVersion,
    Status,
    TierSla,
)
from kontosjef.cases.sla import SlaConfigurationError, sla_recompute, version_to_engine
from kontosjef.people import access
from kontosjef.people.models import Department, User

logger = logging.getLogger(__name__)

Kind = CaseEvent.Kind
Actor = CaseEvent.Actor

# The fields of a case that events derive; saved together on every append.
PROJECTED_FIELDS = [
    "status",
    "priority",
    "department",
    "assignee",
    "opened_at",
    "solved_at",
    "closed_at",
    "last_event_at",
    "last_seq",
    "reopen_count",
]


# Foreign keys are written by their column (department_id), not by instance.
PROJECTED_ATTNAMES = [
    f"{name}_id" if name in ("department", "assignee") else name for name in PROJECTED_FIELDS
]


class CaseConflict(Exception):
    """Another employee changed the case since the caller loaded it."""

    def __init__(self, case: Case, expected: int, actual: int | None) -> None:
        self.case_id = case.pk
        self.expected = expected
        self.actual = actual
        super().__init__(
            _(
                "Case %(case)s was changed by someone else while you were working on it "
                "(you saw version %(expected)s, it is now %(actual)s). "
                "Reload the case and try again."
            )
            % {"case": case.pk, "expected": expected, "actual": actual}
        )


@dataclass(frozen=True)
class _Actor:
    kind: str
    user: User | None = None
    contact: Contact | None = None


class EventFacts(Protocol):
    """What the projection reads from an event; a `CaseEvent` has it, so do bulk importers' rows."""

    at: datetime
    seq: int
    kind: str
    actor_kind: str
    is_public: bool
    to_value: str
    department_id: int | None
    assignee_id: int | None


class CaseFacts(Protocol):
    """The projected fields of a case; a `Case` has them, so do bulk importers' rows."""

    @property
    def pk(self) -> Any: ...

    status: str
    priority: str
    department_id: int | None
    assignee_id: int | None
    opened_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    last_event_at: datetime
    last_seq: int
    reopen_count: int


def case_apply_event(case: CaseFacts, event: EventFacts) -> None:
    """Derive the case's current fields from one more event, in memory.

    This is the only place that decides what an event does to a case. It applies the derived
    transitions of specs/sla.md §4.3: a customer's public reply reopens a solved case and ends a
    wait on the customer. Raises ValidationError for an event the case cannot take.
    """
    if case.last_seq and event.seq != case.last_seq + 1:
        raise ValidationError({"seq": _("Events must be appended in order.")})
    if case.last_seq and event.at < case.last_event_at:
        raise ValidationError({"at": _("An event cannot be earlier than the case's last event.")})
    if case.status == Status.CLOSED:
        raise ValidationError(
            _("Case %(case)s is closed: open a follow-up case instead.") % {"case": case.pk}
        )

    kind = event.kind
    if kind == Kind.CREATED:
        if case.last_seq:
            raise ValidationError({"kind": _("A case is created only once.")})
        case.status = Status.NEW
        case.priority = event.to_value
        case.department_id = event.department_id
        case.assignee_id = event.assignee_id
        case.opened_at = event.at
    elif not case.last_seq:
        raise ValidationError({"kind": _("The first event of a case must be 'created'.")})
    elif kind == Kind.STATUS:
        _apply_status(case, event.to_value, event.at)
    elif kind == Kind.PRIORITY:
        case.priority = event.to_value
    elif kind == Kind.HANDOFF:
        case.department_id = event.department_id
        case.assignee_id = event.assignee_id
    elif kind == Kind.REPLY:
        if event.actor_kind == Actor.CONTACT and event.is_public:
            if case.status in (Status.SOLVED, Status.WAITING_ON_CUSTOMER):
                _apply_status(case, Status.OPEN, event.at)
    # Internal notes change nothing but the case's last activity.
    case.last_seq = event.seq
    case.last_event_at = event.at


def _apply_status(case: CaseFacts, to: str, at: datetime) -> None:
    if case.status == Status.SOLVED and to not in (Status.SOLVED, Status.CLOSED):
        case.reopen_count += 1
        case.solved_at = None
    if to == Status.SOLVED:
        case.solved_at = at
    elif to == Status.CLOSED:
        case.closed_at = at
        if case.solved_at is None:
            case.solved_at = at
    case.status = to


def case_rebuild(case: Case) -> Case:
    """A fresh, unsaved projection of the case from its stored events (for checks and repair)."""
    fresh = Case(
        pk=case.pk,
        account_id=case.account_id,
        subject=case.subject,
        channel=case.channel,
        priority=Priority.P3,
        status=Status.NEW,
        opened_at=case.opened_at,
        last_event_at=case.opened_at,
        last_seq=0,
    )
    for event in case.events.order_by("seq"):
        case_apply_event(fresh, event)
    return fresh


def _validate_text(field: str, value: str, *, required: bool = True, limit: int = 50_000) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("This field is required.")})
    if len(value) > limit:
        raise ValidationError(
            {field: _("At most %(limit)s characters are allowed.") % {"limit": limit}}
        )
    return value


def _validate_choice(field: str, value: str, choices: type[Priority] | type[Status]) -> str:
    if value not in choices.values:
        raise ValidationError({field: _("%(value)s is not a valid choice.") % {"value": value}})
    return value


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def case_open(
    *,
    account: Account,
    by: User,
    subject: str,
    now: datetime,
    priority: str = Priority.P3,
    channel: str = Channel.EMAIL,
    description: str = "",
    requester: Contact | None = None,
    department: Department | None = None,
    assignee: User | None = None,
    product: Product | None = None,
    opened_by_customer: bool = False,
    external_source: str = "",
    external_id: str = "",
) -> Case:
    """Open a case. When `opened_by_customer`, the requester is the actor of the created event
    and the description is the customer's first public comment."""
    _require_aware(now)
    if department is None and assignee is not None:
        department = assignee.department
    if not access.can_open_case(by, account, department):
        raise PermissionDenied(_("You may not open a case for %(account)s.") % {"account": account})
    subject = _validate_text("subject", subject, limit=300)
    description = _validate_text("description", description, required=False)
    _validate_choice("priority", priority, Priority)
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": _("%(value)s is not a valid choice.") % {"value": channel}}
        )
    if requester is not None and requester.account_id != account.pk:
        raise ValidationError({"requester": _("The requester must be a contact of the account.")})
    if opened_by_customer and requester is None:
        raise ValidationError({"requester": _("A case opened by the customer needs a requester.")})
    actor = (
        _Actor(Actor.CONTACT, contact=requester)
        if opened_by_customer
        else _Actor(Actor.EMPLOYEE, user=by)
    )
    with transaction.atomic():
        case = Case(
            account=account,
            requester=requester,
            subject=subject,
            description=description,
            priority=priority,
            status=Status.NEW,
            channel=channel,
            product=product,
            opened_at=now,
            last_event_at=now,
            external_source=external_source,
            external_id=external_id,
        )
        event = _event(
            case,
            actor,
            now,
            Kind.CREATED,
            to_value=priority,
            department=department,
            assignee=assignee,
            body=description,
            is_public=bool(description),
        )
        case_apply_event(case, event)
        case.full_clean()
        case.save()
        event.case = case
        event.full_clean()
        event.save()
        audit_record(at=now, actor=by, action="case.open", obj=case, after=_state(case))
        _recompute_clocks(case, now)
    return case


def _event(case: Case, actor: _Actor, at: datetime, kind: str, **fields: Any) -> CaseEvent:
    return CaseEvent(
        case=case,
        at=at,
        seq=case.last_seq + 1,
        kind=kind,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_contact=actor.contact,
        **fields,
    )


def _state(case: Case) -> dict[str, Any]:
    return {
        "status": case.status,
        "priority": case.priority,
        "department": case.department_id,
        "assignee": case.assignee_id,
        "version": case.version,
    }


def _append(
    *,
    case: Case,
    by: User,
    now: datetime,
    expected_version: int,
    action: str,
    events: list[tuple[_Actor, str, dict[str, Any]]],
) -> list[CaseEvent]:
    """Append events to a case under optimistic concurrency; the heart of every case write."""
    _require_aware(now)
    access.require_act_on_case(by, case)
    before = _state(case)
    before["version"] = expected_version
    with transaction.atomic():
        written: list[CaseEvent] = []
        for actor, kind, fields in events:
            event = _event(case, actor, now, kind, **fields)
            case_apply_event(case, event)
            event.full_clean(exclude=["case"])
            written.append(event)
        # Claim the case by a conditional UPDATE: a second writer holding the same version
        # matches no row and gets a conflict instead of overwriting the first one's change.
        values = {attname: getattr(case, attname) for attname in PROJECTED_ATTNAMES}
        updated = Case.objects.filter(pk=case.pk, version=expected_version).update(
            **values, version=expected_version + 1
        )
        if not updated:
            actual = Case.objects.filter(pk=case.pk).values_list("version", flat=True).first()
            raise CaseConflict(case, expected_version, actual)
        case.version = expected_version + 1
        try:
            CaseEvent.objects.bulk_create(written)
        except IntegrityError as exc:  # the (case, seq) key: a writer that skipped the claim
            raise CaseConflict(case, expected_version, None) from exc
        audit_record(at=now, actor=by, action=action, obj=case, before=before, after=_state(case))
        # Every event moves the case's SLA clocks: recompute them in the same transaction.
        _recompute_clocks(case, now)
    return written


def _reload_on_failure(case: Case) -> None:
    case.refresh_from_db()


def _recompute_clocks(case: Case, now: datetime) -> None:
    try:
        sla_recompute(now=now, cases=[case.pk])
    except SlaConfigurationError:
        # A calendar whose holidays end before today must not stop people working on cases;
        # the clocks stay as they were and `kontosjef sla recompute` says what to fix.
        logger.exception("SLA clocks of case %s not updated", case.pk)


def _employee(by: User) -> _Actor:
    return _Actor(Actor.EMPLOYEE, user=by)


def case_reply(
    *,
    case: Case,
    by: User,
    body: str,
    now: datetime,
    expected_version: int,
    as_contact: Contact | None = None,
    then_status: str | None = None,
    external_id: str = "",
) -> list[CaseEvent]:
    """A public reply: by the employee, or the customer's reply that the employee records.

    `then_status` sets a status in the same step ("reply and set waiting on customer").
    `external_id` (on this and the other append services) is the sender's id of the event, unique
    per case, so a system that delivers the same event twice cannot record it twice.
    """
    body = _validate_text("body", body)
    if as_contact is not None and as_contact.account_id != case.account_id:
        raise ValidationError({"as_contact": _("The contact must belong to the case's account.")})
    actor = _Actor(Actor.CONTACT, contact=as_contact) if as_contact else _employee(by)
    events: list[tuple[_Actor, str, dict[str, Any]]] = [
        (actor, Kind.REPLY, {"is_public": True, "body": body, "external_id": external_id})
    ]
    if then_status is not None and then_status != _status_after_reply(case, actor):
        _validate_choice("then_status", then_status, Status)
        events.append((_employee(by), Kind.STATUS, {"to_value": then_status}))
    return _guarded(
        case,
        lambda: _append(
            case=case,
            by=by,
            now=now,
            expected_version=expected_version,
            action="case.reply",
            events=_with_from_values(case, events),
        ),
    )


def case_add_note(
    *,
    case: Case,
    by: User,
    body: str,
    now: datetime,
    expected_version: int,
    external_id: str = "",
) -> CaseEvent:
    """An internal note, seen by employees only."""
    body = _validate_text("body", body)
    return _guarded(
        case,
        lambda: _append(
            case=case,
            by=by,
            now=now,
            expected_version=expected_version,
            action="case.note",
            events=[
                (
                    _employee(by),
                    Kind.NOTE,
                    {"is_public": False, "body": body, "external_id": external_id},
                )
            ],
        ),
    )[0]


def case_change_status(
    *,
    case: Case,
    by: User,
    to: str,
    now: datetime,
    expected_version: int,
    reason: str = "",
    external_id: str = "",
) -> CaseEvent:
    _validate_choice("to", to, Status)
    if to == case.status:
        raise ValidationError({"to": _("The case already has this status.")})
    return _guarded(
        case,
        lambda: _append(
            case=case,
            by=by,
            now=now,
            expected_version=expected_version,
            action="case.status",
            events=[
                (
                    _employee(by),
                    Kind.STATUS,
                    {
                        "from_value": case.status,
                        "to_value": to,
                        "body": reason.strip(),
                        "external_id": external_id,
                    },
                )
            ],
        ),
    )[0]


def case_change_priority(
    *,
    case: Case,
    by: User,
    to: str,
    now: datetime,
    expected_version: int,
    reason: str = "",
    external_id: str = "",
) -> CaseEvent:
    _validate_choice("to", to, Priority)
    if to == case.priority:
        raise ValidationError({"to": _("The case already has this priority.")})
    if case.status not in OPEN_STATUSES:
        raise ValidationError({"to": _("Only an open case can change priority.")})
    return _guarded(
        case,
        lambda: _append(
            case=case,
            by=by,
            now=now,
            expected_version=expected_version,
            action="case.priority",
            events=[
                (
                    _employee(by),
                    Kind.PRIORITY,
                    {
                        "from_value": case.priority,
                        "to_value": to,
                        "body": reason.strip(),
                        "external_id": external_id,
                    },
                )
            ],
        ),
    )[0]


def case_hand_off(
    *,
    case: Case,
    by: User,
    reason: str,
    now: datetime,
    expected_version: int,
    department: Department | None = None,
    assignee: User | None = None,
    external_id: str = "",
) -> CaseEvent:
    """Hand the case to another department and/or person, with a reason.

    Naming only a person moves the case to that person's department. Naming only a department
    leaves the case unassigned in that department's queue.
    """
    reason = _validate_text("reason", reason)
    if department is None and assignee is None:
        raise ValidationError(_("Name a department or a person to hand the case to."))
    if department is None and assignee is not None:
        department = assignee.department or case.department
    if assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": _("%(user)s is not active.") % {"user": assignee}})
    if department == case.department and assignee == case.assignee:
        raise ValidationError(_("The case is already with them."))
    if case.status not in OPEN_STATUSES:
        raise ValidationError(_("Only an open case can be handed off."))
    return _guarded(
        case,
        lambda: _append(
            case=case,
            by=by,
            now=now,
            expected_version=expected_version,
            action="case.handoff",
            events=[
                (
                    _employee(by),
                    Kind.HANDOFF,
                    {
                        "from_value": _who(case.department, case.assignee),
                        "to_value": _who(department, assignee),
                        "department": department,
                        "assignee": assignee,
                        "body": reason,
                        "external_id": external_id,
                    },
                )
            ],
        ),
    )[0]


def _status_after_reply(case: Case, actor: _Actor) -> str:
    if actor.kind == Actor.CONTACT and case.status in (Status.SOLVED, Status.WAITING_ON_CUSTOMER):
        return Status.OPEN
    return case.status


def _who(department: Department | None, assignee: User | None) -> str:
    parts = [str(department) if department else "", str(assignee) if assignee else ""]
    return " / ".join(p for p in parts if p)[:64]


def _with_from_values(
    case: Case, events: list[tuple[_Actor, str, dict[str, Any]]]
) -> list[tuple[_Actor, str, dict[str, Any]]]:
    # The status a follow-up status event leaves depends on what the reply before it did.
    out = []
    for actor, kind, fields in events:
        if kind == Kind.STATUS:
            fields = {**fields, "from_value": _status_after_reply(case, events[0][0])}
        out.append((actor, kind, fields))
    return out


def _guarded[T](case: Case, write: Callable[[], T]) -> T:
    """Run a write; on any failure reload the case so the caller never keeps a half-applied one."""
    try:
        result = write()
    except (ValidationError, CaseConflict, PermissionDenied, IntegrityError):
        _reload_on_failure(case)
        raise
    return result


# SLA configuration --------------------------------------------------------------------------
#
# Calendars and policies are created with a first version that applies from the start, and
# changed by new versions from a date (history stays, specs/sla.md §3.2). Which policy and
# calendar a case uses comes from its account's tier (`TierSla`) unless the account has its own.
# Every service here checks that `by` is a manager or an administrator (`by=None` only for
# bootstrap code: the demo, benchmarks), names the field of each error and how to fix it, writes
# an audit entry, and recomputes the SLA clocks the change can affect.


WEEKDAY_HOURS = [[[8 * 3600, 16 * 3600]]] * 5 + [[], []]
DAY_SECONDS = 86_400
# How far the holiday years of one version may reach, and how far ahead of today: the stored
# lists are reviewed by people (specs/sla.md §3.5), and a typo should not store a century.
MAX_HOLIDAY_YEARS = 30
MAX_YEARS_AHEAD = 10
# The policy options of specs/sla.md §2.3 and their allowed values (booleans for the first two).
POLICY_OPTIONS: dict[str, tuple[Any, ...]] = {
    "customer_reply_resumes": (True, False),
    "solved_time_counts": (True, False),
    "calendar_change": ("piecewise", "last"),
    "recurrence": ("independent", "sequential"),
}
# Statuses a clock may run in; solved and closed always stop it.
RUNNING_STATUSES = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class ConfigChange[T]:
    """What a configuration service wrote, and what happened to the clocks it affects.

    `recomputed` cases had their SLA clocks recomputed after the write. A non-empty
    `recompute_error` says why they could not be (the write stands; fix the cause and run
    `kontosjef sla recompute`).
    """

    obj: T
    recomputed: int
    recompute_error: str = ""


def _require_configurer(by: User | None) -> None:
    if by is not None:
        access.require_manager(by)


def _unique_name(model: type[Calendar] | type[SlaPolicy], name: str, *, pk: int | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give it a name.")})
    others = model.objects.exclude(pk=pk) if pk is not None else model.objects.all()
    if others.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("“%(name)s” is already taken: choose another name.") % {"name": name}}
        )
    return name


def accounts_using_calendar(calendar: Calendar) -> QuerySet[Account]:
    """Accounts whose cases are measured on `calendar`: their own, or their tier's."""
    tiers = TierSla.objects.filter(calendar=calendar).values("tier")
    return Account.objects.filter(Q(calendar=calendar) | Q(calendar=None, tier__in=tiers))


def accounts_using_policy(policy: SlaPolicy) -> QuerySet[Account]:
    """Accounts whose cases follow `policy`: their own, or their tier's."""
    tiers = TierSla.objects.filter(policy=policy).values("tier")
    return Account.objects.filter(Q(sla_policy=policy) | Q(sla_policy=None, tier__in=tiers))


def calendar_versions(calendar: Calendar) -> list[CalendarVersion]:
    """The calendar's versions, first (valid_from NULL, which PostgreSQL sorts last) first."""
    return sorted(calendar.versions.all(), key=_version_start)


def sla_policy_versions(policy: SlaPolicy) -> list[SlaPolicyVersion]:
    """The policy's versions, first (valid_from NULL) first."""
    return sorted(policy.versions.all(), key=_version_start)


def _version_start(version: CalendarVersion | SlaPolicyVersion) -> datetime:
    return version.valid_from or datetime.min.replace(tzinfo=UTC)


def _local_midnight(day: date, time_zone: str) -> datetime:
    # The engine's conversion: a midnight inside a DST gap moves to the transition (D4).
    return datetime.fromtimestamp(engine.local_to_utc(time_zone, day, 0), UTC)


def _recompute(cases: QuerySet[Case], now: datetime) -> tuple[int, str]:
    ids = list(cases.values_list("pk", flat=True))
    if not ids:
        return 0, ""
    try:
        sla_recompute(now=now, cases=ids)
    except SlaConfigurationError as exc:
        logger.warning("SLA clocks not recomputed after a configuration change: %s", exc)
        return 0, str(exc)
    return len(ids), ""


def _new_start(
    valid_from_on: date | None,
    *,
    now: datetime,
    current: CalendarVersion | SlaPolicyVersion | None,
    time_zone: str,
) -> datetime | None:
    """When a new version starts: local midnight of `valid_from_on`, today or later and after
    the latest version; None (from the start) for the first version of a calendar or policy."""
    if current is None:
        if valid_from_on is not None:
            raise ValidationError(
                {"valid_from_on": _("The first version applies from the start: leave the day out.")}
            )
        return None
    if valid_from_on is None:
        raise ValidationError({"valid_from_on": _("Choose the day the new version starts.")})
    if valid_from_on < now.astimezone(ZoneInfo(time_zone)).date():
        raise ValidationError(
            {"valid_from_on": _("A new version cannot start in the past: choose today or later.")}
        )
    valid_from = _local_midnight(valid_from_on, time_zone)
    if current.valid_from is not None and valid_from <= current.valid_from:
        starts = current.valid_from.astimezone(ZoneInfo(time_zone)).date().isoformat()
        raise ValidationError(
            {
                "valid_from_on": _(
                    "The latest version starts on %(date)s: a new version must start later."
                )
                % {"date": starts}
            }
        )
    return valid_from


# Calendars ------------------------------------------------------------------------------------


def _check_holiday_source(country: str, subdiv: str) -> None:
    import holidays as holidays_pkg

    supported = holidays_pkg.list_supported_countries(include_aliases=False)
    if country not in supported:
        raise ValidationError(
            {"holiday_country": _("%(value)s is not a country with known public holidays.")
             % {"value": country}}
        )  # fmt: skip
    if subdiv and subdiv not in supported[country]:
        raise ValidationError(
            {"holiday_subdiv": _("%(value)s is not a subdivision of %(country)s (known: %(known)s)")
             % {"value": subdiv, "country": country,
                "known": ", ".join(supported[country]) or "—"}}
        )  # fmt: skip


def _check_years(field: str, first: int, last: int, *, now: datetime) -> None:
    if first > last:
        raise ValidationError({field: _("The first year must not be after the last.")})
    if last - first + 1 > MAX_HOLIDAY_YEARS:
        raise ValidationError(
            {field: _("At most %(count)s years at a time.") % {"count": MAX_HOLIDAY_YEARS}}
        )
    if last > now.year + MAX_YEARS_AHEAD:
        raise ValidationError(
            {field: _("At most %(count)s years ahead.") % {"count": MAX_YEARS_AHEAD}}
        )


def _spans(field: str, what: str, spans: Any) -> tuple[tuple[int, int], ...]:
    """Spans as the engine takes them, each checked: start in the day, end after the start and
    at most the next midnight plus a day (an overnight shift)."""
    out = []
    for span in spans:
        start, end = int(span[0]), int(span[1])
        if not (0 <= start < DAY_SECONDS and start < end <= 2 * DAY_SECONDS):
            raise ValidationError(
                {field: _("%(what)s: hours must start within the day and end after they start.")
                 % {"what": what}}
            )  # fmt: skip
        out.append((start, end))
    return tuple(out)


def _working_day_spans(weekly: tuple[tuple[tuple[int, int], ...], ...]) -> tuple[Any, ...]:
    """The hours of a substituted working day (a CN or UA transfer day, §3.5): the hours most
    weekdays have, so a shorter Friday does not stop the package's dates from being stored."""
    days = [day for day in weekly if day]
    if not days:
        return ()
    return max(set(days), key=days.count)


@dataclass(frozen=True)
class _Hours:
    """A calendar version's content, checked: the engine's version and the holiday source."""

    version: engine.CalendarVersion
    source: dict[str, Any]


def _calendar_hours(
    *,
    now: datetime,
    time_zone: str,
    weekly: list[list[list[int]]],
    holiday_country: str,
    holiday_subdiv: str,
    holiday_years: tuple[int, int] | None,
    extra_holidays: list[date],
    extra_working: dict[date, list[list[int]]],
    closures: list[tuple[date, int, int]],
    starts_on: date | None,
) -> _Hours:
    """Check a calendar version's content, field by field, and store its public holidays as
    dates (specs/sla.md §3.5). `starts_on`: the day a later version starts (its holiday years
    must include it); None for a first version."""
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from exc
    if len(weekly) != 7:
        raise ValidationError({"weekly": _("Give the hours of each of the seven weekdays.")})
    week = tuple(_spans("weekly", str(WEEKDAYS[i]), day) for i, day in enumerate(weekly))
    off = sorted(set(extra_holidays))
    working = {d: _spans("extra_working", d.isoformat(), s) for d, s in extra_working.items()}
    clash = sorted(set(off) & set(working))
    if clash:
        raise ValidationError(
            {"extra_working": _("%(dates)s: a day cannot be both an extra day off and an extra "
                                "working day. Remove it from one of the lists.")
             % {"dates": ", ".join(d.isoformat() for d in clash)}}
        )  # fmt: skip
    for day, start, end in closures:
        _spans("closures", day.isoformat(), [(start, end)])
    country, subdiv = holiday_country.strip().upper(), holiday_subdiv.strip().upper()
    if subdiv and not country:
        raise ValidationError(
            {"holiday_subdiv": _("Choose the country of the subdivision, or leave it empty.")}
        )
    try:
        version = engine.CalendarVersion(
            tz=time_zone,
            weekly=week,
            holidays=frozenset(off),
            extra_working=tuple(sorted(working.items())),
            closures=tuple(engine.Closure(d, s, e) for d, s, e in closures),
        )
    except engine.CalendarError as exc:  # checked above; the engine is the last word
        raise ValidationError(str(exc)) from exc
    source: dict[str, Any] = {}
    if country:
        _check_holiday_source(country, subdiv)
        if holiday_years is None:
            raise ValidationError({"holiday_years": _("Say which years to store holidays for.")})
        first, last = holiday_years
        _check_years("holiday_years", first, last, now=now)
        if starts_on is not None and not first <= starts_on.year <= last:
            raise ValidationError(
                {"holiday_years": _("The years must include %(year)s, when the version starts.")
                 % {"year": starts_on.year}}
            )  # fmt: skip
        try:
            snap = engine.holiday_snapshot(country, years=(first, last), subdiv=subdiv or None)
        # The holidays package signals an unknown country or subdivision with NotImplementedError.
        except (engine.CalendarError, NotImplementedError, KeyError) as exc:
            raise ValidationError({"holiday_country": str(exc)}) from exc
        both = sorted(set(snap.dates) & set(working))
        if both:
            raise ValidationError(
                {"extra_working": _("%(dates)s: public holidays cannot be extra working days. "
                                    "Remove them from the extra working days.")
                 % {"dates": ", ".join(d.isoformat() for d in both)}}
            )  # fmt: skip
        version = engine.apply_holiday_snapshot(
            version, snap, working_day_spans=_working_day_spans(week)
        )
        p = snap.provenance
        source = {"country": p.country, "subdiv": p.subdiv, "observed": p.observed,
                  "package_version": p.package_version, "years": list(p.years)}  # fmt: skip
    if off:
        source["extra_dates"] = [d.isoformat() for d in off]
    return _Hours(version, source)


def _calendar_version_row(
    calendar: Calendar, hours: _Hours, *, valid_from: datetime | None, now: datetime
) -> CalendarVersion:
    version = hours.version
    cv = CalendarVersion(
        calendar=calendar, valid_from=valid_from, time_zone=version.tz,
        weekly=[[list(span) for span in day] for day in version.weekly],
        holidays=sorted(d.isoformat() for d in version.holidays),
        extra_working={d.isoformat(): [list(s) for s in spans]
                       for d, spans in version.extra_working},
        closures=[[c.day.isoformat(), c.start, c.end] for c in version.closures],
        coverage=list(version.coverage) if version.coverage else None,
        holiday_source=hours.source, created_at=now,
    )  # fmt: skip
    cv.full_clean()
    return cv


def _calendar_summary(version: CalendarVersion | None) -> dict[str, Any]:
    if version is None:
        return {}
    source = version.holiday_source or {}
    return {
        "valid_from": version.valid_from,
        "time_zone": version.time_zone,
        "weekly": version.weekly,
        "holiday_country": source.get("country"),
        "holiday_subdiv": source.get("subdiv"),
        "coverage": version.coverage,
        "extra_holidays": source.get("extra_dates", []),
        "extra_working": sorted(version.extra_working),
        "closures": version.closures,
        "holidays": len(version.holidays),
    }


def calendar_create(
    *,
    by: User | None,
    name: str,
    time_zone: str,
    now: datetime,
    weekly: list[list[list[int]]] | None = None,
    holiday_country: str | None = None,
    holiday_years: tuple[int, int] | None = None,
    holiday_subdiv: str | None = None,
    description: str = "",
    extra_holidays: list[date] | None = None,
    extra_working: dict[date, list[list[int]]] | None = None,
    closures: list[tuple[date, int, int]] | None = None,
) -> Calendar:
    """A calendar with its first version, in force from the start.

    `weekly` as on `CalendarVersion` (default: Monday to Friday 08:00–16:00). Public holidays of
    `holiday_country` (and `holiday_subdiv`) for the inclusive `holiday_years` (default: two
    years back to next year) are stored as explicit dates, `extra_holidays` added to them;
    `extra_working` replaces the weekly hours on its dates and `closures` close part of a day.
    No case uses a new calendar yet, so no clock is recomputed.
    """
    _require_aware(now)
    _require_configurer(by)
    name = _unique_name(Calendar, name, pk=None)
    country = (holiday_country or "").strip().upper()
    if country and holiday_years is None:
        holiday_years = (now.year - 2, now.year + 1)
    hours = _calendar_hours(
        now=now, time_zone=time_zone, weekly=weekly if weekly is not None else WEEKDAY_HOURS,
        holiday_country=country, holiday_subdiv=holiday_subdiv or "",
        holiday_years=holiday_years, extra_holidays=extra_holidays or [],
        extra_working=extra_working or {}, closures=closures or [], starts_on=None,
    )  # fmt: skip
    with transaction.atomic():
        calendar = Calendar(name=name, description=description.strip())
        calendar.full_clean()
        calendar.save()
        cv = _calendar_version_row(calendar, hours, valid_from=None, now=now)
        cv.save()
        after = {"name": name, **_calendar_summary(cv)}
        audit_record(at=now, actor=by, action="calendar.create", obj=calendar, after=after)
    return calendar


def calendar_rename(
    *, calendar: Calendar, by: User, now: datetime, name: str, description: str
) -> Calendar:
    """Change a calendar's name and description; its hours and clocks stay as they are."""
    _require_aware(now)
    access.require_manager(by)
    name = _unique_name(Calendar, name, pk=calendar.pk)
    before = {"name": calendar.name, "description": calendar.description}
    calendar.name, calendar.description = name, description.strip()
    calendar.full_clean()
    with transaction.atomic():
        calendar.save(update_fields=["name", "description"])
        after = {"name": calendar.name, "description": calendar.description}
        audit_record(
            at=now, actor=by, action="calendar.rename", obj=calendar, before=before, after=after
        )
    return calendar


def calendar_update(
    *,
    calendar: Calendar,
    by: User,
    now: datetime,
    valid_from_on: date | None,
    time_zone: str,
    weekly: list[list[list[int]]],
    holiday_country: str = "",
    holiday_subdiv: str = "",
    holiday_years: tuple[int, int] | None = None,
    extra_holidays: list[date] | None = None,
    extra_working: dict[date, list[list[int]]] | None = None,
    closures: list[tuple[date, int, int]] | None = None,
) -> ConfigChange[CalendarVersion]:
    """Write a new version of `calendar`, in force from local midnight of `valid_from_on` in
    its (new) time zone; earlier versions stay, so time before it is measured as before. A
    calendar without versions (created by name in the admin) gets its first version, in force
    from the start: `valid_from_on` must then be None.

    `weekly` as on `CalendarVersion`. Public holidays of `holiday_country` (and
    `holiday_subdiv`) for the inclusive `holiday_years` are stored as explicit dates, and
    `extra_holidays` are added to them. `extra_working` and `closures` replace those of the
    latest version; None carries them over. Afterwards the clocks of the cases the version can
    change are recomputed: cases of accounts on the calendar that are not closed or had an
    event since it starts.
    """
    _require_aware(now)
    access.require_manager(by)
    versions = calendar_versions(calendar)
    current = versions[-1] if versions else None
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from exc
    valid_from = _new_start(valid_from_on, now=now, current=current, time_zone=time_zone)
    if extra_working is None:
        extra_working = {
            date.fromisoformat(d): spans
            for d, spans in (current.extra_working if current else {}).items()
        }
    if closures is None:
        closures = [
            (date.fromisoformat(d), int(s), int(e))
            for d, s, e in (current.closures if current else [])
        ]
    hours = _calendar_hours(
        now=now, time_zone=time_zone, weekly=weekly, holiday_country=holiday_country,
        holiday_subdiv=holiday_subdiv, holiday_years=holiday_years,
        extra_holidays=extra_holidays or [], extra_working=extra_working, closures=closures,
        starts_on=valid_from_on,
    )  # fmt: skip
    cv = _calendar_version_row(calendar, hours, valid_from=valid_from, now=now)
    with transaction.atomic():
        cv.save()
        audit_record(at=now, actor=by, action="calendar.update", obj=calendar,
                     before=_calendar_summary(current), after=_calendar_summary(cv))  # fmt: skip
    affected = Case.objects.filter(account__in=accounts_using_calendar(calendar))
    if valid_from is not None:
        affected = affected.filter(Q(closed_at=None) | Q(last_event_at__gte=valid_from))
    recomputed, error = _recompute(affected, now)
    return ConfigChange(cv, recomputed, error)


def calendar_extend_holidays(
    *, calendar: Calendar, by: User, now: datetime, to_year: int
) -> ConfigChange[Calendar]:
    """Store public holidays up to `to_year` in the versions of `calendar` that take them from
    the `holidays` package and need them: the latest version up to `to_year`, earlier ones up
    to the year the next version starts.

    Years already covered keep their stored dates, so no time measured before changes
    (specs/sla.md §3.5). Afterwards the clocks of cases that the old coverage could not measure
    (not closed, or with events since it ended) are recomputed.
    """
    _require_aware(now)
    access.require_manager(by)
    versions = calendar_versions(calendar)
    current = versions[-1] if versions else None
    if current is None or not (current.holiday_source or {}).get("country") or not current.coverage:
        raise ValidationError(
            {"to_year": _("This calendar takes no public holidays from a country.")}
        )
    if to_year <= int(current.coverage[1]):
        raise ValidationError(
            {"to_year": _("The holidays are already stored up to %(year)s.")
             % {"year": current.coverage[1]}}
        )  # fmt: skip
    _check_years("to_year", int(current.coverage[0]), to_year, now=now)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    since: datetime | None = None
    with transaction.atomic():
        for i, v in enumerate(versions):
            source = v.holiday_source or {}
            if not source.get("country") or not v.coverage:
                continue
            need = to_year
            if i + 1 < len(versions):
                following = _version_start(versions[i + 1])
                need = min(to_year, following.astimezone(ZoneInfo(v.time_zone)).year)
            first, last = int(v.coverage[0]), int(v.coverage[1])
            if need <= last:
                continue
            try:
                snap = engine.holiday_snapshot(
                    source["country"], years=(last + 1, need), subdiv=source.get("subdiv"),
                    observed=source.get("observed", True),
                )  # fmt: skip
                engine_version = version_to_engine(v)
                extended = engine.apply_holiday_snapshot(
                    engine_version,
                    snap,
                    working_day_spans=_working_day_spans(engine_version.weekly),
                )
            except engine.CalendarError as exc:
                raise ValidationError({"to_year": str(exc)}) from exc
            v.holidays = sorted(d.isoformat() for d in extended.holidays)
            v.extra_working = {
                d.isoformat(): [list(s) for s in spans] for d, spans in extended.extra_working
            }
            v.coverage = [first, need]
            v.holiday_source = {
                **source,
                "years": [first, need],
                "extensions": [
                    *source.get("extensions", []),
                    {"years": [last + 1, need], "package_version":
                     snap.provenance.package_version, "at": now.isoformat()},
                ],
            }  # fmt: skip
            v.full_clean()
            v.save(update_fields=["holidays", "extra_working", "coverage", "holiday_source"])
            key = str(v.pk)
            before[key], after[key] = [first, last], [first, need]
            start = _local_midnight(date(last + 1, 1, 1), v.time_zone)
            since = start if since is None else min(since, start)
        audit_record(at=now, actor=by, action="calendar.extend_holidays", obj=calendar,
                     before={"coverage": before}, after={"coverage": after})  # fmt: skip
    if since is None:
        return ConfigChange(calendar, 0)
    affected = Case.objects.filter(account__in=accounts_using_calendar(calendar)).filter(
        Q(closed_at=None) | Q(last_event_at__gte=since)
    )
    recomputed, error = _recompute(affected, now)
    return ConfigChange(calendar, recomputed, error)


def calendar_cover_history(*, calendar_ids: Iterable[int], first_year: int, now: datetime) -> int:
    """Extend the public holidays of the calendars that take them from a country so that they
    reach back to `first_year`: an imported history older than the calendar (a calendar
    set up on the first morning, then years of data imported) is measured instead of refused.

    Only years the calendar did not cover yet are added (specs/sla.md §3.5: stored years never
    change), backwards on the first version, each recorded in the
    version's holiday source and audited as a system action. Returns how many versions changed.
    A calendar with hand-entered holidays only is left alone: its owner must extend it.
    """
    _require_aware(now)
    first_year = max(first_year, now.year - 100)
    changed = 0
    for calendar in Calendar.objects.filter(pk__in=list(calendar_ids)).order_by("pk"):
        versions = calendar_versions(calendar)
        if not versions:
            continue
        # Forwards is the owner's decision (calendar_extend_holidays): only history is added.
        wanted: list[tuple[CalendarVersion, int | None, int | None]] = [
            (versions[0], first_year, None)
        ]
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        with transaction.atomic():
            for v, lo, hi in wanted:
                v.refresh_from_db()
                source = v.holiday_source or {}
                if not source.get("country") or not v.coverage:
                    continue
                first, last = int(v.coverage[0]), int(v.coverage[1])
                years = (lo, first - 1) if lo is not None and lo < first else None
                if years is None and hi is not None and hi > last:
                    years = (last + 1, hi)
                if years is None:
                    continue
                try:
                    snap = engine.holiday_snapshot(
                        source["country"], years=years, subdiv=source.get("subdiv"),
                        observed=source.get("observed", True),
                    )  # fmt: skip
                    engine_version = version_to_engine(v)
                    extended = engine.apply_holiday_snapshot(
                        engine_version, snap,
                        working_day_spans=_working_day_spans(engine_version.weekly),
                    )  # fmt: skip
                except engine.CalendarError as exc:
                    logger.warning("calendar %s: holidays not extended (%s)", calendar, exc)
                    continue
                v.holidays = sorted(d.isoformat() for d in extended.holidays)
                v.extra_working = {
                    d.isoformat(): [list(x) for x in spans] for d, spans in extended.extra_working
                }
                coverage = [min(first, years[0]), max(last, years[1])]
                v.coverage = coverage
                v.holiday_source = {
                    **source,
                    "years": coverage,
                    "extensions": [
                        *source.get("extensions", []),
                        {"years": list(years), "package_version":
                         snap.provenance.package_version, "at": now.isoformat(),
                         "reason": "history"},
                    ],
                }  # fmt: skip
                v.full_clean()
                v.save(update_fields=["holidays", "extra_working", "coverage", "holiday_source"])
                before[str(v.pk)], after[str(v.pk)] = [first, last], coverage
                changed += 1
            if after:
                audit_record(at=now, actor=None, action="calendar.cover_history", obj=calendar,
                             before={"coverage": before}, after={"coverage": after})  # fmt: skip
    return changed


# SLA policies ---------------------------------------------------------------------------------


def _check_metrics(metrics: dict[str, dict[str, Any]]) -> None:
    """Every metric, priority, target, warning and running status of a version is one the
    engine takes; errors name the metric and what to change."""
    labels = dict(Metric.choices)
    for name, spec in metrics.items():
        if name not in labels:
            raise ValidationError({"metrics": _("Unknown metric %(name)s.") % {"name": name}})
        label = labels[name]
        for prio, seconds in spec.get("targets", {}).items():
            if prio not in Priority.values:
                raise ValidationError(
                    {"metrics": _("Unknown priority %(value)s.") % {"value": prio}}
                )
            # Zero is a target the engine measures (due at the start, specs/sla.md C23); the
            # form asks people for more, but derived policies (bench/) may use it.
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise ValidationError(
                    {"metrics": _("%(metric)s, %(priority)s: a target is a whole number of "
                                  "seconds, zero or more.") % {"metric": label,
                                                                "priority": prio.upper()}}
                )  # fmt: skip
        fraction, before = spec.get("warn_at_fraction"), spec.get("warn_before_s")
        if fraction is not None and before is not None:
            raise ValidationError(
                {"metrics": _("%(metric)s: warn at a percentage of the target or some hours "
                              "before it is due, not both.") % {"metric": label}}
            )  # fmt: skip
        if fraction is not None and not 0 < float(fraction) < 1:
            raise ValidationError(
                {"metrics": _("%(metric)s: the warning must lie between 1 and 99 %% of the "
                              "target.") % {"metric": label}}
            )  # fmt: skip
        if before is not None and (not isinstance(before, int) or before <= 0):
            raise ValidationError(
                {"metrics": _("%(metric)s: warn a positive number of hours before it is due.")
                 % {"metric": label}}
            )  # fmt: skip
        running = spec.get("running")
        if running is not None and (not running or set(running) - set(RUNNING_STATUSES)):
            raise ValidationError(
                {"metrics": _("%(metric)s: the clock must run in at least one open status "
                              "(new, open, waiting on customer, on hold).") % {"metric": label}}
            )  # fmt: skip


def _check_options(options: dict[str, Any]) -> None:
    from kontosjef.cases.sla import around_the_clock

    for key, value in options.items():
        if key == "around_the_clock":
            try:
                around_the_clock(options)
            except ValueError as exc:
                raise ValidationError({"options": str(exc)}) from exc
            continue
        if key not in POLICY_OPTIONS or value not in POLICY_OPTIONS[key]:
            raise ValidationError(
                {"options": _("%(key)s=%(value)s is not a policy option.")
                 % {"key": key, "value": value}}
            )  # fmt: skip


def _validate_policy_version(version: SlaPolicyVersion) -> None:
    from kontosjef.cases.sla import options_to_engine, policy_to_engine

    _check_metrics(version.metrics)
    _check_options(version.options)
    try:
        policy_to_engine(version)
        options_to_engine(version.options)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError({"metrics": str(exc)}) from exc
    version.full_clean()


def _require_targets(metrics: dict[str, dict[str, Any]]) -> None:
    if not any(spec.get("targets") for spec in metrics.values()):
        raise ValidationError({"metrics": _("Set at least one target.")})


def sla_policy_create(
    *,
    by: User | None,
    name: str,
    metrics: dict[str, dict[str, Any]],
    now: datetime,
    options: dict[str, Any] | None = None,
    description: str = "",
) -> SlaPolicy:
    """A policy with its first version, which applies to every case (from the start);
    `metrics` and `options` as documented on `SlaPolicyVersion`, at least one target. No case
    follows a new policy until a tier or an account uses it, so no clock is recomputed."""
    _require_aware(now)
    _require_configurer(by)
    name = _unique_name(SlaPolicy, name, pk=None)
    _require_targets(metrics)
    with transaction.atomic():
        policy = SlaPolicy(name=name, description=description.strip())
        policy.full_clean()
        policy.save()
        version = SlaPolicyVersion(
            policy=policy, valid_from=None, metrics=metrics, options=options or {}, created_at=now
        )
        _validate_policy_version(version)
        version.save()
        after = {"name": name, "metrics": metrics, "options": options or {}}
        audit_record(at=now, actor=by, action="sla_policy.create", obj=policy, after=after)
    return policy


def sla_policy_rename(
    *, policy: SlaPolicy, by: User, now: datetime, name: str, description: str
) -> SlaPolicy:
    """Change a policy's name and description; its targets and clocks stay as they are."""
    _require_aware(now)
    access.require_manager(by)
    name = _unique_name(SlaPolicy, name, pk=policy.pk)
    before = {"name": policy.name, "description": policy.description}
    policy.name, policy.description = name, description.strip()
    policy.full_clean()
    with transaction.atomic():
        policy.save(update_fields=["name", "description"])
        audit_record(at=now, actor=by, action="sla_policy.rename", obj=policy, before=before,
                     after={"name": policy.name, "description": policy.description})  # fmt: skip
    return policy


def sla_policy_update(
    *,
    policy: SlaPolicy,
    by: User,
    now: datetime,
    valid_from_on: date | None,
    metrics: dict[str, dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> ConfigChange[SlaPolicyVersion]:
    """Write a new version of `policy` for cases opened from midnight of `valid_from_on` (in
    `TIME_ZONE`); cases opened earlier keep the version they were opened under. A policy
    without versions (created by name in the admin) gets its first version, for every case:
    `valid_from_on` must then be None.

    `metrics` as on `SlaPolicyVersion`; `options` default to the latest version's. Afterwards
    the clocks of cases opened since the version starts (all cases, for a first version), on
    accounts that use the policy, are recomputed.
    """
    _require_aware(now)
    access.require_manager(by)
    versions = sla_policy_versions(policy)
    current = versions[-1] if versions else None
    valid_from = _new_start(valid_from_on, now=now, current=current, time_zone=settings.TIME_ZONE)
    _require_targets(metrics)
    if options is None:
        options = current.options if current else {}
    version = SlaPolicyVersion(
        policy=policy, valid_from=valid_from, metrics=metrics, options=options, created_at=now
    )
    _validate_policy_version(version)
    with transaction.atomic():
        version.save()
        before = (
            {"valid_from": current.valid_from, "metrics": current.metrics,
             "options": current.options} if current else {}
        )  # fmt: skip
        audit_record(at=now, actor=by, action="sla_policy.update", obj=policy, before=before,
                     after={"valid_from": valid_from, "metrics": metrics,
                            "options": version.options})  # fmt: skip
    affected = Case.objects.filter(account__in=accounts_using_policy(policy))
    if valid_from is not None:
        affected = affected.filter(opened_at__gte=valid_from)
    recomputed, error = _recompute(affected, now)
    return ConfigChange(version, recomputed, error)


# Which policy and calendar: tiers and accounts ------------------------------------------------


def _check_configured(
    policy: SlaPolicy | None, calendar: Calendar | None, *, policy_field: str, calendar_field: str
) -> None:
    """A policy without targets or a calendar without hours measures nothing: say so, instead
    of leaving cases without clocks (or on a silent 24×7)."""
    if policy is not None and not policy.versions.exists():
        raise ValidationError(
            {policy_field: _("“%(name)s” has no targets yet: save its targets first.")
             % {"name": policy.name}}
        )  # fmt: skip
    if calendar is not None and not calendar.versions.exists():
        raise ValidationError(
            {calendar_field: _("“%(name)s” has no business hours yet: save its hours first.")
             % {"name": calendar.name}}
        )  # fmt: skip


def _check_tier(tier: str) -> None:
    if tier not in Account.Tier.values:
        raise ValidationError({"tier": _("%(value)s is not a tier.") % {"value": tier}})


def _tier_cases(tier: str) -> QuerySet[Case]:
    """Cases whose policy or calendar comes from their tier."""
    return Case.objects.filter(account__tier=tier).filter(
        Q(account__sla_policy=None) | Q(account__calendar=None)
    )


def tier_sla_set(
    *, by: User | None, tier: str, policy: SlaPolicy, now: datetime, calendar: Calendar | None
) -> ConfigChange[TierSla]:
    """Set the SLA policy and calendar (None: around the clock) of every account of `tier`
    that has none of its own, then recompute the clocks of those accounts' cases. Setting what
    is already set changes nothing."""
    _require_aware(now)
    _require_configurer(by)
    _check_tier(tier)
    _check_configured(policy, calendar, policy_field="policy", calendar_field="calendar")
    existing = TierSla.objects.filter(tier=tier).first()
    if (
        existing
        and existing.policy_id == policy.pk
        and existing.calendar_id == (calendar.pk if calendar else None)
    ):
        return ConfigChange(existing, 0)
    before = {"policy": existing.policy_id, "calendar": existing.calendar_id} if existing else {}
    with transaction.atomic():
        tier_sla, _created = TierSla.objects.update_or_create(
            tier=tier, defaults={"policy": policy, "calendar": calendar}
        )
        audit_record(at=now, actor=by, action="tier_sla.set", obj=tier_sla, before=before,
                     after={"tier": tier, "policy": policy.pk,
                            "calendar": calendar.pk if calendar else None})  # fmt: skip
    recomputed, error = _recompute(_tier_cases(tier), now)
    return ConfigChange(tier_sla, recomputed, error)


def tier_sla_clear(*, by: User, tier: str, now: datetime) -> ConfigChange[str]:
    """Take the SLA policy and calendar away from `tier`: its accounts without a policy of
    their own get no SLA clocks. Their cases' clocks are recomputed (removed)."""
    _require_aware(now)
    access.require_manager(by)
    _check_tier(tier)
    existing = TierSla.objects.filter(tier=tier).first()
    if existing is None:
        return ConfigChange(tier, 0)
    with transaction.atomic():
        audit_record(at=now, actor=by, action="tier_sla.clear", obj=existing,
                     before={"tier": tier, "policy": existing.policy_id,
                             "calendar": existing.calendar_id})  # fmt: skip
        existing.delete()
    recomputed, error = _recompute(_tier_cases(tier), now)
    return ConfigChange(tier, recomputed, error)


def account_sla_set(
    *,
    account: Account,
    by: User,
    now: datetime,
    sla_policy: SlaPolicy | None,
    calendar: Calendar | None,
) -> ConfigChange[Account]:
    """Give `account` its own SLA policy and calendar; None for either means the tier's. The
    clocks of the account's cases are recomputed."""
    _require_aware(now)
    access.require_manager(by)
    _check_configured(sla_policy, calendar, policy_field="sla_policy", calendar_field="calendar")
    before = {"sla_policy": account.sla_policy_id, "calendar": account.calendar_id}
    after = {
        "sla_policy": sla_policy.pk if sla_policy else None,
        "calendar": calendar.pk if calendar else None,
    }
    if before == after:
        return ConfigChange(account, 0)
    account.sla_policy, account.calendar = sla_policy, calendar
    with transaction.atomic():
        account.save(update_fields=["sla_policy", "calendar"])
        audit_record(at=now, actor=by, action="account.set_sla", obj=account, before=before,
                     after=after)  # fmt: skip
    recomputed, error = _recompute(Case.objects.filter(account=account), now)
    return ConfigChange(account, recomputed, error)
