"""The handling review of an account: case events in, `engine.handling` figures and findings out.

`handling_review(user, account, window)` is the one read every door uses (the account's
"Handling review" page, `GET /api/v1/accounts/{id}/handling`, the intervention workspace). It
reads the cases opened in the window by every account of the account's tier in a few queries
(events, breaches, names), measures business time on each account's calendar, computes every
tier account's figures in one vectorised engine call (the norm), then the account's own cases
in detail, and ranks the account's figures by how unusual they are for its tier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db.models import Case as When_
from django.db.models import Q, Value, When
from django.db.models.functions import Substr
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kontosjef.accounts.health import data_as_of
from kontosjef.accounts.models import Account
from kontosjef.cases.models import Case, CaseEvent, CycleState, Metric, MetricCycle
from kontosjef.cases.queries import hours_text
from kontosjef.cases.sla import METRIC_CODES, METRIC_NAMES, STATUS_CODES, account_calendars
from kontosjef.engine import (
    ALWAYS_ON,
    NAT,
    CalendarError,
    ClockSet,
    CompiledTable,
    compile_calendar,
)
from kontosjef.engine import Metric as EngineMetric
from kontosjef.engine import handling as eh
from kontosjef.engine.sla import Author
from kontosjef.people import access
from kontosjef.people.models import Department, User

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 90
WINDOW_CHOICES = (30, 90, 180, 365)
TOP_FINDINGS = 5
TOP_CASES = 10
REASON_LENGTH = 200

KIND_CODES = {
    CaseEvent.Kind.CREATED: eh.HandlingKind.CREATED,
    CaseEvent.Kind.HANDOFF: eh.HandlingKind.HANDOFF,
    CaseEvent.Kind.STATUS: eh.HandlingKind.STATUS,
    CaseEvent.Kind.REPLY: eh.HandlingKind.REPLY,
    CaseEvent.Kind.NOTE: eh.HandlingKind.NOTE,
    CaseEvent.Kind.PRIORITY: eh.HandlingKind.PRIORITY,
}
ACTOR_CODES = {
    CaseEvent.Actor.CONTACT: Author.CUSTOMER,
    CaseEvent.Actor.EMPLOYEE: Author.AGENT,
    CaseEvent.Actor.SYSTEM: Author.SYSTEM,
}
BREACHED_STATES = (CycleState.BREACHED_RUNNING, CycleState.BREACHED_PAUSED, CycleState.BREACHED_MET)


@dataclass(frozen=True)
class Window:
    """Cases opened in `[start, end)`, measured as of `end`."""

    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return round((self.end - self.start).total_seconds() / 86400)


def review_window(*, now: datetime, days: int = DEFAULT_DAYS) -> Window:
    """The `days` days ending now, or at the end of the data's last day when the data is old
    (an imported history), like the account page's figures."""
    end = data_as_of(now)
    return Window(start=end - timedelta(days=days), end=end)


# Reading ----------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """The engine inputs for a set of cases, and the codes they use."""

    events: eh.HandlingEvents
    breaches: eh.BreachArrays
    clocks: ClockSet
    now: int
    account_ids: list[int]  # dense account index -> id
    department_ids: list[int]  # dense department code -> id
    person_ids: list[int]  # dense person code -> id
    reasons: list[str]  # dense reason code -> text
    # Accounts whose calendar could not measure the window (measured around the clock instead).
    unmeasured: set[int] = field(default_factory=set)


def _codes(values: list[int | None]) -> tuple[np.ndarray, list[int]]:
    """Dense codes for ids (None -> -1) and the ids in code order."""
    ids = sorted({v for v in values if v is not None})
    index = {v: i for i, v in enumerate(ids)}
    return np.fromiter((index.get(v, -1) if v is not None else -1 for v in values), np.int64,
                       len(values)), ids  # fmt: skip


def load(cases: Q, window: Window) -> Loaded:
    """Every event up to `window.end` of the cases matching `cases` and opened in the window,
    their breaches, and the calendars of their accounts, in three queries."""
    chosen = Case.objects.filter(cases, opened_at__gte=window.start, opened_at__lt=window.end)
    rows = list(
        CaseEvent.objects.filter(case__in=chosen.values("pk"), at__lte=window.end)
        .annotate(
            reason=When_(
                When(kind=CaseEvent.Kind.HANDOFF, then=Substr("body", 1, REASON_LENGTH)),
                default=Value(""),
            )
        )
        .order_by("case_id", "seq")
        .values_list(
            "case_id",
            "case__account_id",
            "at",
            "seq",
            "kind",
            "actor_kind",
            "is_public",
            "to_value",
            "department_id",
            "assignee_id",
            "reason",
        )  # fmt: skip
        .iterator(chunk_size=50_000)
    )
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 11
    account, account_ids = _codes(list(cols[1]))
    department, department_ids = _codes(list(cols[8]))
    person, person_ids = _codes(list(cols[9]))
    kinds = cols[4]
    reason_index: dict[str, int] = {}
    reason = np.fromiter(
        (
            reason_index.setdefault(text.strip(), len(reason_index))
            if k == CaseEvent.Kind.HANDOFF and text.strip()
            else -1
            for k, text in zip(kinds, cols[10], strict=True)
        ),
        np.int64,
        n,
    )
    status = np.fromiter(
        (
            STATUS_CODES.get(v, -1) if k == CaseEvent.Kind.STATUS else -1
            for k, v in zip(kinds, cols[7], strict=True)
        ),
        np.int8,
        n,
    )
    t = np.fromiter((int(at.timestamp()) for at in cols[2]), np.int64, n)
    end = int(window.end.timestamp())
    calendar, clocks, unmeasured = _calendars(account_ids, account, t, end)
    events = eh.HandlingEvents(
        case=np.fromiter(cols[0], np.int64, n),
        t=t,
        seq=np.fromiter(cols[3], np.int64, n),
        kind=np.fromiter((KIND_CODES[k] for k in kinds), np.int8, n),
        actor=np.fromiter((ACTOR_CODES[a] for a in cols[5]), np.int8, n),
        public=np.fromiter(cols[6], np.bool_, n),
        status=status,
        department=department,
        person=person,
        reason=reason,
        account=account,
        calendar=calendar,
    )
    breach_rows = list(
        MetricCycle.objects.filter(
            case__in=chosen.values("pk"),
            state__in=BREACHED_STATES,
            breached_at__isnull=False,
            breached_at__lte=window.end,
        ).values_list("case_id", "breached_at", "metric")
    )
    m = len(breach_rows)
    breaches = eh.BreachArrays(
        case=np.fromiter((r[0] for r in breach_rows), np.int64, m),
        t=np.fromiter((int(r[1].timestamp()) if r[1] else NAT for r in breach_rows), np.int64, m),
        metric=np.fromiter((int(METRIC_CODES[r[2]]) for r in breach_rows), np.int64, m),
    )
    return Loaded(
        events, breaches, clocks, end, account_ids, department_ids, person_ids,
        list(reason_index), unmeasured,
    )  # fmt: skip


def _calendars(
    account_ids: list[int], account: np.ndarray, t: np.ndarray, end: int
) -> tuple[np.ndarray, ClockSet, set[int]]:
    """Each event's calendar index (its account's), the compiled clocks, and the accounts whose
    calendar cannot measure the window (they fall back to 24×7)."""
    lookup = account_calendars()
    start = int(t.min()) if len(t) else end
    tables: list[CompiledTable] = []
    compiled: dict[int, int] = {}
    per_account = np.full(len(account_ids), ALWAYS_ON, np.int64)
    unmeasured: set[int] = set()
    for a, pk in enumerate(account_ids):
        cal = lookup.of_account.get(pk)
        if cal is None or cal not in lookup.calendars:
            continue
        if cal not in compiled:
            try:
                table = compile_calendar(lookup.calendars[cal], start=start, end=end)
            except CalendarError as exc:
                logger.warning("handling: calendar %s cannot measure the window: %s", cal, exc)
                compiled[cal] = ALWAYS_ON
            else:
                if table.t_begin <= start and table.t_end >= end:
                    compiled[cal] = len(tables)
                    tables.append(table)
                else:
                    compiled[cal] = ALWAYS_ON
        per_account[a] = compiled[cal]
        if compiled[cal] == ALWAYS_ON:
            unmeasured.add(pk)
    calendar = per_account[account] if len(account) else np.empty(0, np.int64)
    return calendar, ClockSet(tables), unmeasured


def _subset(events: eh.HandlingEvents, mask: np.ndarray) -> eh.HandlingEvents:
    return eh.HandlingEvents(**{name: getattr(events, name)[mask] for name in events.__slots__})


# Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingRow:
    """One figure of the account beside its tier's norm, with the sentence the review shows."""

    key: str
    kind: str  # "handling" or "outcome" (engine.handling.Figure)
    theme: str
    label: str
    text: str
    department: str
    value: float
    norm: float
    value_text: str
    norm_text: str
    percentile: float
    percentile_text: str
    ratio: float
    peers: int
    is_unusual: bool


@dataclass(frozen=True)
class HolderRow:
    """A department or person: business time held while open, of it waiting on the customer."""

    id: int | None
    name: str
    department: str
    open_seconds: int
    waiting_seconds: int
    share: float
    cases: int
    handoffs_in: int
    returns_in: int
    reply_median_seconds: int | None
    breaches: int
    norm_share: float | None = None
    percentile: float | None = None

    @property
    def open_text(self) -> str:
        return hours_text(self.open_seconds)

    @property
    def waiting_text(self) -> str:
        return hours_text(self.waiting_seconds)

    @property
    def reply_text(self) -> str:
        return "" if self.reply_median_seconds is None else hours_text(self.reply_median_seconds)


@dataclass(frozen=True)
class HandoffRow:
    """Hand-offs from one department to another: how many, how many went back to a department
    the case had left, the median business time to the next public reply."""

    from_department: str
    to_department: str
    count: int
    returns: int
    reply_median_seconds: int | None
    reasons: list[tuple[str, int]]

    @property
    def reply_text(self) -> str:
        return "" if self.reply_median_seconds is None else hours_text(self.reply_median_seconds)


@dataclass(frozen=True)
class VariantRow:
    path: list[str]
    cases: int
    share: float
    resolved: int
    reopened: int
    breached: int
    open_median_seconds: int | None

    @property
    def open_text(self) -> str:
        return "" if self.open_median_seconds is None else hours_text(self.open_median_seconds)


@dataclass(frozen=True)
class CaseRow:
    """A case of the account with its handling, for the list of the most handed-off cases."""

    id: int
    subject: str
    handoffs: int
    department_returns: int
    person_returns: int
    reopens: int
    waits: int
    breaches: int
    open_seconds: int
    first_touch_seconds: int | None
    is_resolved: bool

    @property
    def open_text(self) -> str:
        return hours_text(self.open_seconds)

    @property
    def first_touch_text(self) -> str:
        return "" if self.first_touch_seconds is None else hours_text(self.first_touch_seconds)


@dataclass(frozen=True)
class HandlingReview:
    """The handling review of one account over a window, against its tier."""

    account: Account
    window: Window
    tier: str
    tier_label: str
    tier_accounts: int  # accounts of the tier with cases in the window
    peers: int  # of them, those in the norm (at least engine.handling.MIN_CASES cases)
    cases: int
    resolved: int
    handoffs: int
    department_returns: int
    person_returns: int
    reopens: int
    waits: int
    breaches: int
    open_seconds: int
    waiting_seconds: int
    findings: list[FindingRow]  # every compared figure, most unusual first
    departments: list[HolderRow]
    people: list[HolderRow]
    handoff_routes: list[HandoffRow]
    reasons: list[tuple[str, int]]
    variants: list[VariantRow]
    top_cases: list[CaseRow]
    breaches_by_metric: list[tuple[str, int]]
    measured_around_the_clock: bool

    @property
    def top_findings(self) -> list[FindingRow]:
        """The most unusual figures of how the cases were handled (hand-offs, replies, time
        per department, waits): what the TAM can act on."""
        return [f for f in self.findings if f.is_unusual and f.kind == "handling"][:TOP_FINDINGS]

    @property
    def top_outcomes(self) -> list[FindingRow]:
        """The most unusual outcomes (breaches, reopens, resolution time)."""
        return [f for f in self.findings if f.is_unusual and f.kind == "outcome"][:TOP_FINDINGS]

    @property
    def open_text(self) -> str:
        return hours_text(self.open_seconds)

    @property
    def waiting_text(self) -> str:
        return hours_text(self.waiting_seconds)


# The review -------------------------------------------------------------------------------------


def handling_review(user: User, account: Account, window: Window) -> HandlingReview:
    """The handling review of `account` over `window` for `user`.

    Raises `Account.DoesNotExist` when the user may not read the account (another portfolio:
    pages and the API answer 404) and `PermissionDenied` for an agent: the review shows how
    every department and person handled the account, beyond the agent's own department.
    """
    if not access.can_read_account(user, account):
        raise Account.DoesNotExist(_("No such account."))
    if user.role == User.Role.AGENT:
        raise PermissionDenied(_("The handling review is for account managers and managers."))
    loaded = load(Q(account__tier=account.tier), window)
    n_accounts = len(loaded.account_ids)
    n_departments = len(loaded.department_ids)
    tier_handling = eh.handle_cases(
        loaded.events, loaded.breaches, clocks=loaded.clocks, now=loaded.now, detail=False
    )
    figures = eh.account_figures(tier_handling, n_accounts=n_accounts, n_departments=n_departments)
    names = _Names.load(loaded)
    if account.pk not in loaded.account_ids:
        return _empty_review(account, window, figures)
    a = loaded.account_ids.index(account.pk)
    mine = loaded.events.account == a
    h = eh.handle_cases(
        _subset(loaded.events, mine), loaded.breaches, clocks=loaded.clocks, now=loaded.now
    )
    found = eh.findings(figures, account=a, tier=np.arange(n_accounts, dtype=np.int64))
    rows = [_finding_row(f, names, n_departments) for f in found]
    share_finding = {
        f.department: f for f in found if f.key == "department_share" and f.department >= 0
    }
    return HandlingReview(
        account=account,
        window=window,
        tier=account.tier,
        tier_label=str(Account.Tier(account.tier).label),
        tier_accounts=int((figures.cases > 0).sum()),
        peers=int(((figures.cases >= eh.MIN_CASES) | (np.arange(n_accounts) == a)).sum()),
        cases=len(h),
        resolved=int(h.is_resolved.sum()),
        handoffs=int(h.handoffs.sum()),
        department_returns=int(h.department_returns.sum()),
        person_returns=int(h.person_returns.sum()),
        reopens=int(h.reopens.sum()),
        waits=int(h.waits.sum()),
        breaches=int(h.breaches.sum()),
        open_seconds=int(h.open_s.sum()),
        waiting_seconds=int(h.waiting_s.sum()),
        findings=rows,
        departments=_departments(h, names, share_finding),
        people=_people(h, names),
        handoff_routes=_routes(h, names, loaded.reasons),
        reasons=_reasons(h, loaded.reasons),
        variants=_variants(h, names),
        top_cases=_top_cases(h),
        breaches_by_metric=_breaches_by_metric(h),
        measured_around_the_clock=account.pk in loaded.unmeasured,
    )


def _empty_review(account: Account, window: Window, figures: eh.AccountFigures) -> HandlingReview:
    return HandlingReview(
        account=account, window=window, tier=account.tier,
        tier_label=str(Account.Tier(account.tier).label),
        tier_accounts=int((figures.cases > 0).sum()),
        peers=int((figures.cases >= eh.MIN_CASES).sum()), cases=0, resolved=0, handoffs=0,
        department_returns=0, person_returns=0, reopens=0, waits=0, breaches=0, open_seconds=0,
        waiting_seconds=0, findings=[], departments=[], people=[], handoff_routes=[], reasons=[],
        variants=[], top_cases=[], breaches_by_metric=[], measured_around_the_clock=False,
    )  # fmt: skip


@dataclass(frozen=True)
class _Names:
    departments: list[str]
    people: list[str]
    person_department: list[str]
    person_ids: list[int]

    @classmethod
    def load(cls, loaded: Loaded) -> _Names:
        depts = dict(
            Department.objects.filter(pk__in=loaded.department_ids).values_list("pk", "name")
        )
        people = {
            u.pk: u
            for u in User.objects.filter(pk__in=loaded.person_ids).select_related("department")
        }
        return cls(
            departments=[depts.get(pk, "") for pk in loaded.department_ids],
            people=[
                (people[pk].get_full_name() or people[pk].username) if pk in people else ""
                for pk in loaded.person_ids
            ],
            person_department=[
                str(people[pk].department or "") if pk in people else "" for pk in loaded.person_ids
            ],
            person_ids=loaded.person_ids,
        )

    def department(self, code: int) -> str:
        return self.departments[code] if 0 <= code < len(self.departments) else _("No department")

    def person(self, code: int) -> str:
        return self.people[code] if 0 <= code < len(self.people) else _("Nobody")


def _median(values: np.ndarray) -> int | None:
    ok = values[values != NAT]
    return round(float(np.median(ok))) if len(ok) else None


def ordinal(n: int) -> str:
    """97 as "97th" (English) or "97." (Bokmål)."""
    if (get_language() or "en").startswith(("nb", "no", "nn")):
        return f"{n}."
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def figure_text(unit: str, value: float) -> str:
    if value != value:
        return "–"
    if unit in ("share", "fraction"):
        return _("%(value)s %%") % {"value": round(100 * value)}
    if unit == "seconds":
        return hours_text(round(value))
    return f"{value:.2f}"


def figure_label(key: str, department: str = "") -> str:
    labels = {
        "handoffs_per_case": _("Hand-offs per case"),
        "transfers_per_case": _("Department transfers per case"),
        "ping_pong_share": _("Cases that went back to a department they had left"),
        "first_touch_median_s": _("First touch (median)"),
        "first_reply_median_s": _("First public reply (median)"),
        "handoff_reply_median_s": _("Reply after a hand-off (median)"),
        "open_median_s": _("Business time open until solved (median)"),
        "reopen_share": _("Cases reopened"),
        "waiting_share": _("Open time waiting on the customer"),
        "breaches_per_case": _("SLA breaches per case"),
        "department_share": _("%(department)s: share of the business time"),
        "department_reply_median_s": _("%(department)s: reply after taking a case over (median)"),
        "department_breach_share": _("%(department)s: share of the SLA breaches"),
    }
    return (
        labels[key] % {"department": department} if key.startswith("department_") else labels[key]
    )


def _sentence(key: str) -> str:
    """The sentence a finding reads as; %(value)s, %(norm)s, %(percentile)s, %(department)s."""
    return {
        "handoffs_per_case": _(
            "%(value)s hand-offs per case (tier norm %(norm)s, %(percentile)s percentile)"
        ),
        "transfers_per_case": _(
            "%(value)s transfers between departments per case (tier norm %(norm)s, "
            "%(percentile)s percentile)"
        ),
        "ping_pong_share": _(
            "%(value)s of the cases went back to a department they had left (tier norm "
            "%(norm)s, %(percentile)s percentile)"
        ),
        "first_touch_median_s": _(
            "The first touch took %(value)s of business time (median; tier norm %(norm)s, "
            "%(percentile)s percentile)"
        ),
        "first_reply_median_s": _(
            "The first public reply took %(value)s of business time (median; tier norm "
            "%(norm)s, %(percentile)s percentile)"
        ),
        "handoff_reply_median_s": _(
            "After a hand-off, the next public reply took %(value)s (median; tier norm "
            "%(norm)s, %(percentile)s percentile)"
        ),
        "open_median_s": _(
            "Solved cases were open %(value)s of business time (median; tier norm %(norm)s, "
            "%(percentile)s percentile)"
        ),
        "reopen_share": _(
            "%(value)s of the cases were reopened (tier norm %(norm)s, %(percentile)s percentile)"
        ),
        "waiting_share": _(
            "%(value)s of the open time was spent waiting on the customer (tier norm "
            "%(norm)s, %(percentile)s percentile)"
        ),
        "breaches_per_case": _(
            "%(value)s SLA breaches per case (tier norm %(norm)s, %(percentile)s percentile)"
        ),
        "department_share": _(
            "%(department)s held %(value)s of the business time (tier norm %(norm)s, "
            "%(percentile)s percentile)"
        ),
        "department_reply_median_s": _(
            "%(department)s took %(value)s to reply after taking a case over (median; tier "
            "norm %(norm)s, %(percentile)s percentile)"
        ),
        "department_breach_share": _(
            "%(department)s held the case at %(value)s of the SLA breaches (tier norm "
            "%(norm)s, %(percentile)s percentile)"
        ),
    }[key]


def _finding_row(f: eh.Finding, names: _Names, n_departments: int) -> FindingRow:
    department = names.department(f.department) if f.department >= 0 else ""
    if f.department == n_departments:
        department = _("No department")
    value, norm = figure_text(f.unit, f.value), figure_text(f.unit, f.norm)
    pct = ordinal(min(99, max(1, round(f.percentile))))
    text = _sentence(f.key) % {
        "value": value, "norm": norm, "percentile": pct, "department": department,
    }  # fmt: skip
    return FindingRow(
        key=f.key, kind=f.kind, theme=f.theme, label=figure_label(f.key, department), text=text,
        department=department, value=f.value, norm=f.norm, value_text=value, norm_text=norm,
        percentile=f.percentile, percentile_text=pct, ratio=f.ratio, peers=f.peers,
        is_unusual=f.is_unusual,
    )  # fmt: skip


def _departments(
    h: eh.Handling, names: _Names, share_finding: dict[int, eh.Finding]
) -> list[HolderRow]:
    total = max(int(h.time_open_s.sum()), 1)
    out = []
    for d in sorted(set(h.time_department.tolist()) | set(h.handoff_to_department.tolist())):
        here = h.time_department == d
        into = h.handoff_to_department == d
        finding = share_finding.get(d)
        open_s = int(h.time_open_s[here].sum())
        out.append(
            HolderRow(
                id=d,
                name=names.department(d),
                department="",
                open_seconds=open_s,
                waiting_seconds=int(h.time_waiting_s[here].sum()),
                share=open_s / total,
                cases=len(set(h.time_row[here].tolist())),
                handoffs_in=int(into.sum()),
                returns_in=int((into & h.handoff_department_return).sum()),
                reply_median_seconds=_median(h.handoff_reply_s[into]),
                breaches=int((h.breach_department == d).sum()),
                norm_share=finding.norm if finding else None,
                percentile=finding.percentile if finding else None,
            )  # fmt: skip
        )
    out.sort(key=lambda r: -r.open_seconds)
    return out


def _people(h: eh.Handling, names: _Names) -> list[HolderRow]:
    total = max(int(h.time_open_s.sum()), 1)
    out = []
    for p in sorted(set(h.time_person.tolist()) | set(h.handoff_to_person.tolist())):
        here = h.time_person == p
        into = h.handoff_to_person == p
        open_s = int(h.time_open_s[here].sum())
        out.append(
            HolderRow(
                id=names.person_ids[p] if p >= 0 else None,
                name=names.person(p),
                department=names.person_department[p] if p >= 0 else "",
                open_seconds=open_s,
                waiting_seconds=int(h.time_waiting_s[here].sum()),
                share=open_s / total,
                cases=len(set(h.time_row[here].tolist())),
                handoffs_in=int(into.sum()),
                returns_in=int((into & h.handoff_person_return).sum()),
                reply_median_seconds=_median(h.handoff_reply_s[into]),
                breaches=int((h.breach_person == p).sum()),
            )  # fmt: skip
        )
    out.sort(key=lambda r: -r.open_seconds)
    return out


def _routes(h: eh.Handling, names: _Names, reasons: list[str]) -> list[HandoffRow]:
    pairs: dict[tuple[int, int], list[int]] = {}
    for i, (f, t) in enumerate(
        zip(h.handoff_from_department.tolist(), h.handoff_to_department.tolist(), strict=True)
    ):
        pairs.setdefault((f, t), []).append(i)
    out = []
    for (f, t), idx in pairs.items():
        sel = np.array(idx, np.int64)
        counts: dict[str, int] = {}
        for r in h.handoff_reason[sel].tolist():
            if r >= 0:
                counts[reasons[r]] = counts.get(reasons[r], 0) + 1
        out.append(
            HandoffRow(
                from_department=names.department(f),
                to_department=names.department(t),
                count=len(idx),
                returns=int(h.handoff_department_return[sel].sum()),
                reply_median_seconds=_median(h.handoff_reply_s[sel]),
                reasons=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3],
            )  # fmt: skip
        )
    out.sort(key=lambda r: (-r.count, r.from_department, r.to_department))
    return out


def _reasons(h: eh.Handling, reasons: list[str]) -> list[tuple[str, int]]:
    codes, counts = np.unique(h.handoff_reason[h.handoff_reason >= 0], return_counts=True)
    pairs = [(reasons[c], int(n)) for c, n in zip(codes.tolist(), counts.tolist(), strict=True)]
    return sorted(pairs, key=lambda kv: (-kv[1], kv[0]))[:10]


def _variants(h: eh.Handling, names: _Names) -> list[VariantRow]:
    n = max(len(h), 1)
    return [
        VariantRow(
            path=[names.department(d) for d in v.path],
            cases=v.cases,
            share=v.cases / n,
            resolved=v.resolved,
            reopened=v.reopened,
            breached=v.breached,
            open_median_seconds=None if v.open_median_s == NAT else v.open_median_s,
        )  # fmt: skip
        for v in eh.variants(h, limit=10)
    ]


def _top_cases(h: eh.Handling) -> list[CaseRow]:
    if not len(h):
        return []
    order = np.lexsort((-h.open_s, -h.handoffs, -h.department_returns))[:TOP_CASES]
    order = order[(h.handoffs[order] > 0) | (h.reopens[order] > 0)]
    ids = h.case[order].tolist()
    subjects = dict(Case.objects.filter(pk__in=ids).values_list("pk", "subject"))
    return [
        CaseRow(
            id=int(h.case[i]),
            subject=subjects.get(int(h.case[i]), ""),
            handoffs=int(h.handoffs[i]),
            department_returns=int(h.department_returns[i]),
            person_returns=int(h.person_returns[i]),
            reopens=int(h.reopens[i]),
            waits=int(h.waits[i]),
            breaches=int(h.breaches[i]),
            open_seconds=int(h.open_s[i]),
            first_touch_seconds=None if h.first_touch_s[i] == NAT else int(h.first_touch_s[i]),
            is_resolved=bool(h.is_resolved[i]),
        )  # fmt: skip
        for i in order.tolist()
    ]


def _breaches_by_metric(h: eh.Handling) -> list[tuple[str, int]]:
    codes, counts = np.unique(h.breach_metric, return_counts=True)
    return [
        (str(Metric(METRIC_NAMES[EngineMetric(c)]).label), int(n))
        for c, n in zip(codes.tolist(), counts.tolist(), strict=True)
    ]
