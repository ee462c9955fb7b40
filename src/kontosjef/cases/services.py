"""Every write to a case. A case changes only by appending an event and applying it.

Each service checks the actor's rights, validates, appends one or more events, applies them to
the case (`case_apply_event`) and writes an audit entry, all in one transaction. Services that
change an existing case take `expected_version`: the version the caller saw. If another writer
got there first the service raises `CaseConflict` and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
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


WEEKDAY_HOURS = [[[8 * 3600, 16 * 3600]]] * 5 + [[], []]


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
) -> Calendar:
    """A calendar with its first version. Public holidays of `holiday_country` for
    `holiday_years` are stored as explicit dates (specs/sla.md §3.5)."""
    if by is not None:
        access.require_manager(by)
    weekly = weekly if weekly is not None else WEEKDAY_HOURS
    holidays_list: list[str] = []
    extra: dict[str, list[list[int]]] = {}
    source: dict[str, Any] = {}
    coverage = None
    try:
        version = engine.CalendarVersion(
            tz=time_zone, weekly=tuple(tuple((s, e) for s, e in day) for day in weekly)
        )
        if holiday_country:
            years = holiday_years or (now.year - 2, now.year + 1)
            snap = engine.holiday_snapshot(holiday_country, years=years, subdiv=holiday_subdiv)
            version = engine.apply_holiday_snapshot(version, snap)
            holidays_list = sorted(d.isoformat() for d in version.holidays)
            extra = {d.isoformat(): [list(s) for s in spans] for d, spans in version.extra_working}
            coverage = list(years)
            p = snap.provenance
            source = {"country": p.country, "subdiv": p.subdiv, "observed": p.observed,
                      "package_version": p.package_version, "years": list(p.years)}  # fmt: skip
    # The holidays package signals an unknown country or subdivision with NotImplementedError.
    except (engine.CalendarError, NotImplementedError, KeyError) as exc:
        raise ValidationError({"weekly": str(exc)}) from exc
    with transaction.atomic():
        calendar = Calendar(name=name.strip(), description=description)
        calendar.full_clean()
        calendar.save()
        cv = CalendarVersion(
            calendar=calendar, valid_from=None, time_zone=time_zone, weekly=weekly,
            holidays=holidays_list, extra_working=extra, coverage=coverage,
            holiday_source=source, created_at=now,
        )  # fmt: skip
        cv.full_clean()
        cv.save()
        after = {"time_zone": time_zone, "weekly": weekly, "holidays": len(holidays_list)}
        audit_record(at=now, actor=by, action="calendar.create", obj=calendar, after=after)
    return calendar


def sla_policy_create(
    *,
    by: User | None,
    name: str,
    metrics: dict[str, dict[str, Any]],
    now: datetime,
    options: dict[str, Any] | None = None,
    description: str = "",
) -> SlaPolicy:
    """A policy with its first version; `metrics` as documented on `SlaPolicyVersion`."""
    if by is not None:
        access.require_manager(by)
    with transaction.atomic():
        policy = SlaPolicy(name=name.strip(), description=description)
        policy.full_clean()
        policy.save()
        version = SlaPolicyVersion(
            policy=policy, valid_from=None, metrics=metrics, options=options or {}, created_at=now
        )
        _validate_policy_version(version)
        version.save()
        audit_record(at=now, actor=by, action="sla_policy.create", obj=policy,
                     after={"metrics": metrics, "options": options or {}})  # fmt: skip
    return policy


def _validate_policy_version(version: SlaPolicyVersion) -> None:
    from kontosjef.cases.sla import around_the_clock, options_to_engine, policy_to_engine

    for name, spec in version.metrics.items():
        if name not in Metric.values:
            raise ValidationError({"metrics": _("Unknown metric %(name)s.") % {"name": name}})
        for prio in spec.get("targets", {}):
            if prio not in Priority.values:
                raise ValidationError(
                    {"metrics": _("Unknown priority %(value)s.") % {"value": prio}}
                )
    try:
        policy_to_engine(version)
        options_to_engine(version.options)
        around_the_clock(version.options)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError({"metrics": str(exc)}) from exc
    version.full_clean()


def tier_sla_set(
    *, by: User | None, tier: str, policy: SlaPolicy, now: datetime, calendar: Calendar | None
) -> TierSla:
    """Set the SLA policy and calendar of a tier. Recompute cycles afterwards (`kontosjef sla
    recompute`) to apply it to existing cases."""
    if by is not None:
        access.require_manager(by)
    with transaction.atomic():
        tier_sla, _created = TierSla.objects.update_or_create(
            tier=tier, defaults={"policy": policy, "calendar": calendar}
        )
        audit_record(at=now, actor=by, action="tier_sla.set", obj=tier_sla,
                     after={"tier": tier, "policy": policy.pk,
                            "calendar": calendar.pk if calendar else None})  # fmt: skip
    return tier_sla


# Configuration pages: new versions of calendars and policies --------------------------------

# How far the holiday years of one version may reach, and how far ahead of today: the stored
# lists are reviewed by people (specs/sla.md §3.5), and a typo should not store a century.
MAX_HOLIDAY_YEARS = 30
MAX_YEARS_AHEAD = 10


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


def _check_new_start(
    valid_from_on: date,
    *,
    today: date,
    valid_from: datetime,
    current: CalendarVersion | SlaPolicyVersion,
    time_zone: str,
) -> None:
    if valid_from_on < today:
        raise ValidationError(
            {"valid_from_on": _("A new version cannot start in the past: choose today or later.")}
        )
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


def _calendar_summary(version: CalendarVersion) -> dict[str, Any]:
    source = version.holiday_source or {}
    return {
        "valid_from": version.valid_from,
        "time_zone": version.time_zone,
        "weekly": version.weekly,
        "holiday_country": source.get("country"),
        "holiday_subdiv": source.get("subdiv"),
        "coverage": version.coverage,
        "extra_holidays": source.get("extra_dates", []),
        "holidays": len(version.holidays),
    }


def calendar_update(
    *,
    calendar: Calendar,
    by: User,
    now: datetime,
    valid_from_on: date,
    time_zone: str,
    weekly: list[list[list[int]]],
    holiday_country: str = "",
    holiday_subdiv: str = "",
    holiday_years: tuple[int, int] | None = None,
    extra_holidays: list[date] | None = None,
) -> ConfigChange[CalendarVersion]:
    """Write a new version of `calendar`, in force from local midnight of `valid_from_on` in
    its (new) time zone; earlier versions stay, so time before it is measured as before.

    `weekly` as on `CalendarVersion`. Public holidays of `holiday_country` (and
    `holiday_subdiv`) for the inclusive `holiday_years` are stored as explicit dates, and
    `extra_holidays` are added to them. Extra working days and closures carry over from the
    latest version. Afterwards the clocks of the cases the version can change are recomputed:
    cases of accounts on the calendar that are not closed or had an event since it starts.
    """
    _require_aware(now)
    access.require_manager(by)
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from exc
    current = calendar_versions(calendar)[-1]
    valid_from = _local_midnight(valid_from_on, time_zone)
    today = now.astimezone(ZoneInfo(time_zone)).date()
    _check_new_start(
        valid_from_on, today=today, valid_from=valid_from, current=current, time_zone=time_zone
    )
    country, subdiv = holiday_country.strip().upper(), holiday_subdiv.strip()
    extra = sorted(set(extra_holidays or []))
    source: dict[str, Any] = {}
    try:
        version = engine.CalendarVersion(
            tz=time_zone,
            weekly=tuple(tuple((int(s), int(e)) for s, e in day) for day in weekly),
            holidays=frozenset(extra),
            extra_working=version_to_engine(current).extra_working,
            closures=version_to_engine(current).closures,
        )
    except engine.CalendarError as exc:
        raise ValidationError(str(exc)) from exc
    if country:
        _check_holiday_source(country, subdiv)
        if holiday_years is None:
            raise ValidationError({"holiday_years": _("Say which years to store holidays for.")})
        first, last = holiday_years
        _check_years("holiday_years", first, last, now=now)
        if not first <= valid_from_on.year <= last:
            raise ValidationError(
                {"holiday_years": _("The years must include %(year)s, when the version starts.")
                 % {"year": valid_from_on.year}}
            )  # fmt: skip
        try:
            snap = engine.holiday_snapshot(country, years=(first, last), subdiv=subdiv or None)
            version = engine.apply_holiday_snapshot(version, snap)
        except engine.CalendarError as exc:
            raise ValidationError(str(exc)) from exc
        p = snap.provenance
        source = {"country": p.country, "subdiv": p.subdiv, "observed": p.observed,
                  "package_version": p.package_version, "years": list(p.years)}  # fmt: skip
    if extra:
        source["extra_dates"] = [d.isoformat() for d in extra]
    cv = CalendarVersion(
        calendar=calendar, valid_from=valid_from, time_zone=time_zone,
        weekly=[[list(span) for span in day] for day in version.weekly],
        holidays=sorted(d.isoformat() for d in version.holidays),
        extra_working={d.isoformat(): [list(s) for s in spans]
                       for d, spans in version.extra_working},
        closures=[[c.day.isoformat(), c.start, c.end] for c in version.closures],
        coverage=list(version.coverage) if version.coverage else None,
        holiday_source=source, created_at=now,
    )  # fmt: skip
    cv.full_clean()
    with transaction.atomic():
        cv.save()
        audit_record(at=now, actor=by, action="calendar.update", obj=calendar,
                     before=_calendar_summary(current), after=_calendar_summary(cv))  # fmt: skip
    affected = Case.objects.filter(account__in=accounts_using_calendar(calendar)).filter(
        Q(closed_at=None) | Q(last_event_at__gte=valid_from)
    )
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
    current = versions[-1]
    if not (current.holiday_source or {}).get("country") or not current.coverage:
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
                extended = engine.apply_holiday_snapshot(version_to_engine(v), snap)
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


def sla_policy_update(
    *,
    policy: SlaPolicy,
    by: User,
    now: datetime,
    valid_from_on: date,
    metrics: dict[str, dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> ConfigChange[SlaPolicyVersion]:
    """Write a new version of `policy` for cases opened from midnight of `valid_from_on` (in
    `TIME_ZONE`); cases opened earlier keep the version they were opened under.

    `metrics` as on `SlaPolicyVersion`; `options` default to the latest version's. Afterwards
    the clocks of cases opened since the version starts, on accounts that use the policy, are
    recomputed.
    """
    _require_aware(now)
    access.require_manager(by)
    current = sla_policy_versions(policy)[-1]
    time_zone = settings.TIME_ZONE
    valid_from = _local_midnight(valid_from_on, time_zone)
    today = now.astimezone(ZoneInfo(time_zone)).date()
    _check_new_start(
        valid_from_on, today=today, valid_from=valid_from, current=current, time_zone=time_zone
    )
    if not any(spec.get("targets") for spec in metrics.values()):
        raise ValidationError({"metrics": _("Set at least one target.")})
    for spec in metrics.values():
        if any(int(seconds) <= 0 for seconds in spec.get("targets", {}).values()):
            raise ValidationError({"metrics": _("Every target must be longer than zero.")})
    version = SlaPolicyVersion(
        policy=policy, valid_from=valid_from, metrics=metrics,
        options=current.options if options is None else options, created_at=now,
    )  # fmt: skip
    _validate_policy_version(version)
    with transaction.atomic():
        version.save()
        audit_record(
            at=now, actor=by, action="sla_policy.update", obj=policy,
            before={"valid_from": current.valid_from, "metrics": current.metrics,
                    "options": current.options},
            after={"valid_from": valid_from, "metrics": metrics, "options": version.options},
        )  # fmt: skip
    affected = Case.objects.filter(
        account__in=accounts_using_policy(policy), opened_at__gte=valid_from
    )
    recomputed, error = _recompute(affected, now)
    return ConfigChange(version, recomputed, error)
