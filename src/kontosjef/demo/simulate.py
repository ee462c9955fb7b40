"""A seeded, deterministic simulator of a fictional Norwegian software company.

Everything here is invented: the company Fjordlys Programvare AS, its employees, its customers
and their contacts (e-mail addresses under the reserved `.example` domain). The same seed and the
same `now` give the same data, row for row.

The simulator plans a company in memory (`plan_company`), then `load_company` writes it with bulk
inserts. Case state is derived from the events by `cases.services.case_apply_event`, the same
projection every native write uses. See docs/demo.md for the planted effects.
"""

from __future__ import annotations

import random
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
OPEN_HOUR, CLOSE_HOUR = 8, 16
DEMO_SOURCE = "demo"
DEMO_PASSWORD = "kontosjef-demo"  # noqa: S105  (printed demo credential, documented)

DEPARTMENTS = [
    ("first-line", "First-line support"),
    ("second-line", "Second-line support"),
    ("engineering", "Engineering"),
    ("billing", "Billing"),
    ("operations", "Operations"),
    ("customer-success", "Customer success"),
]

# (username, first, last, role, department code)
EMPLOYEES = [
    ("admin", "Ada", "Administrator", "admin", "operations"),
    ("mona", "Mona", "Haugland", "manager", "customer-success"),
    ("petter", "Petter", "Solberg", "manager", "second-line"),
    ("alice", "Alice", "Nordvik", "tam", "customer-success"),
    ("bjorn", "Bjørn", "Eide", "tam", "customer-success"),
    ("camilla", "Camilla", "Lie", "tam", "customer-success"),
    ("dag", "Dag", "Fosse", "tam", "customer-success"),
    ("eva", "Eva", "Strand", "tam", "customer-success"),
    ("frode", "Frode", "Bakke", "tam", "customer-success"),
    ("guro", "Guro", "Moen", "agent", "first-line"),
    ("henrik", "Henrik", "Dahl", "agent", "first-line"),
    ("ingrid", "Ingrid", "Berg", "agent", "first-line"),
    ("jonas", "Jonas", "Lund", "agent", "first-line"),
    ("kari", "Kari", "Vik", "agent", "first-line"),
    ("lars", "Lars", "Holm", "agent", "second-line"),
    ("marte", "Marte", "Aas", "agent", "second-line"),
    ("nils", "Nils", "Ruud", "agent", "second-line"),
    ("oda", "Oda", "Lien", "agent", "engineering"),
    ("pal", "Pål", "Nygaard", "agent", "engineering"),
    ("rune", "Rune", "Tangen", "agent", "engineering"),
    ("siri", "Siri", "Myhre", "agent", "billing"),
    ("tor", "Tor", "Sætre", "agent", "billing"),
    ("ulla", "Ulla", "Hagen", "agent", "operations"),
    ("vera", "Vera", "Kvam", "viewer", "customer-success"),
    ("william", "William", "Ness", "viewer", "engineering"),
]

PRODUCTS = [
    ("Lønn", "Payroll run"),
    ("Lønn", "Tax reports"),
    ("Faktura", "Invoicing"),
    ("Faktura", "E-invoice (EHF)"),
    ("Lager", "Stock levels"),
    ("Lager", "Barcode scanning"),
    ("Portal", "Sign-in"),
    ("Portal", "Dashboards"),
    ("Integrasjon", "REST API"),
    ("Integrasjon", "Bank files"),
]

PLACES = [
    "Nordkyst",
    "Fjellheim",
    "Havbris",
    "Solvang",
    "Granli",
    "Bjørkely",
    "Elvebakken",
    "Steinbu",
    "Lysaker",
    "Furuheim",
    "Tindved",
    "Vestvind",
    "Sjøbu",
    "Bølgen",
    "Myrvang",
    "Åsen",
    "Lyngen",
    "Kvitfjell",
    "Strandkanten",
    "Skogly",
    "Breivik",
    "Eikeli",
    "Holmen",
    "Nesodden",
    "Rosendal",
]
TRADES = [
    "Logistikk",
    "Energi",
    "Bygg",
    "Helse",
    "Eiendom",
    "Transport",
    "Fisk",
    "Reiseliv",
    "Handel",
    "Regnskap",
    "Maskin",
    "Media",
    "Kraft",
    "Næringsmiddel",
    "Skipsfart",
    "Utdanning",
]
SUFFIXES = ["AS", "AS", "AS", "ASA", "SA"]
COUNTRIES = [
    ("NO", "Europe/Oslo", 0.72),
    ("SE", "Europe/Stockholm", 0.1),
    ("DK", "Europe/Copenhagen", 0.07),
    ("DE", "Europe/Berlin", 0.05),
    ("GB", "Europe/London", 0.04),
    ("US", "America/New_York", 0.02),
]
FIRST_NAMES = [
    "Anne",
    "Ole",
    "Kristin",
    "Per",
    "Hilde",
    "Jan",
    "Silje",
    "Magnus",
    "Ida",
    "Erik",
    "Nora",
    "Sander",
    "Tone",
    "Håkon",
    "Linn",
    "Aksel",
    "Marit",
    "Even",
    "Sofie",
    "Tobias",
    "Emma",
    "Knut",
]
LAST_NAMES = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Jacobsen",
]
SUBJECTS = [
    ("Lønn", "Payroll run stops at step {n}"),
    ("Lønn", "A-melding rejected by the tax authority"),
    ("Lønn", "Holiday pay calculated wrongly for {n} employees"),
    ("Faktura", "Invoices not sent since {weekday}"),
    ("Faktura", "EHF invoice rejected: missing buyer reference"),
    ("Faktura", "Credit note shows the wrong VAT"),
    ("Lager", "Stock count differs by {n} units"),
    ("Lager", "Scanner app freezes during picking"),
    ("Portal", "Users cannot sign in after password reset"),
    ("Portal", "Dashboard shows yesterday's figures"),
    ("Integrasjon", "API returns 502 for order export"),
    ("Integrasjon", "Bank file import fails with format error"),
    ("Portal", "Request: new user for {first}"),
    ("Faktura", "Question about the last invoice"),
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

TIER_COUNTS = {"strategic": 15, "enterprise": 45, "standard": 90}
# Cases per account per 30 days, by tier.
TIER_RATE = {"strategic": 7.0, "enterprise": 3.2, "standard": 1.0}
PRIORITY_WEIGHTS = {"p1": 0.04, "p2": 0.16, "p3": 0.55, "p4": 0.25}
HOUR = 3600
# What Fjordlys promises, in business hours per priority (P1..P4), by tier; warnings at 75 %.
DEMO_TARGETS: dict[str, dict[str, tuple[float, ...]]] = {
    "strategic": {"first_reply": (0.5, 1, 2, 4), "next_reply": (1, 2, 4, 8),
                  "total_resolution": (8, 16, 40, 80)},
    "enterprise": {"first_reply": (1, 2, 4, 8), "next_reply": (2, 4, 8, 16),
                   "total_resolution": (16, 24, 56, 120)},
    "standard": {"first_reply": (2, 4, 8, 16), "next_reply": (4, 8, 16, 24),
                 "total_resolution": (24, 40, 80, 160)},
}  # fmt: skip
# Priorities whose SLA clocks run on a 24×7 calendar (the policies' `around_the_clock`), as real
# support contracts promise for urgent cases; an on-call rota answers them at any hour.
AROUND_THE_CLOCK = ("p1",)
# A healthy team answers in about a quarter of the target (sigma 0.6: about 1 % late).
HEALTHY_SHARE = 0.25
REPLY_SIGMA = 0.6


@dataclass(frozen=True)
class Effects:
    """The planted effects, as offsets from `now` (see docs/demo.md)."""

    degrading_account: str = "Havbris Energi ASA"
    degrading_from_days: int = 120
    slow_department: str = "second-line"
    slow_from_days: int = 270
    procedure_change_days: int = 400
    procedure_name: str = "Reply templates and triage checklist for first-line support"


@dataclass
class PlannedEvent:
    at: datetime
    kind: str
    actor_kind: str
    actor_user: str | None = None  # username
    actor_contact: int | None = None  # index into the account's contacts
    is_public: bool = False
    from_value: str = ""
    to_value: str = ""
    department: str | None = None
    assignee: str | None = None
    body: str = ""


@dataclass
class PlannedCase:
    account: int
    requester: int
    subject: str
    description: str
    priority: str
    channel: str
    product: int
    external_id: str
    events: list[PlannedEvent] = field(default_factory=list)


@dataclass
class PlannedAccount:
    name: str
    tier: str
    country: str
    time_zone: str
    created_at: datetime
    products: list[int]
    contacts: list[tuple[str, str, str]]  # name, e-mail, language
    tams: list[tuple[str, datetime, str]]  # username, from, reason (later entries replace)


@dataclass
class CompanyPlan:
    now: datetime
    seed: int
    effects: Effects
    accounts: list[PlannedAccount]
    cases: list[PlannedCase]


def in_business_hours(t: datetime) -> bool:
    local = t.astimezone(OSLO)
    return local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR


def next_business_instant(t: datetime) -> datetime:
    """`t` if it is inside Oslo office hours, else the next opening (weekends skipped)."""
    local = t.astimezone(OSLO)
    if local.weekday() < 5 and OPEN_HOUR <= local.hour < CLOSE_HOUR:
        return t
    day = local.date()
    if local.weekday() < 5 and local.hour < OPEN_HOUR:
        return datetime.combine(day, time(OPEN_HOUR), OSLO).astimezone(UTC)
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(OPEN_HOUR), OSLO).astimezone(UTC)


def add_business_minutes(t: datetime, minutes: float) -> datetime:
    """Walk forward through Oslo office hours (08-16, Mon-Fri). Demo-only helper; the product's
    business time comes from the SLA engine."""
    t = next_business_instant(t)
    remaining = timedelta(minutes=minutes)
    while True:
        local = t.astimezone(OSLO)
        close = datetime.combine(local.date(), time(CLOSE_HOUR), OSLO).astimezone(UTC)
        if t + remaining <= close:
            return t + remaining
        remaining -= close - t
        t = next_business_instant(close)


class _Sim:
    def __init__(self, *, seed: int, now: datetime, effects: Effects) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.effects = effects
        self.start = now - timedelta(days=730)
        self.agents: dict[str, list[str]] = {}
        for username, _first, _last, role, dept in EMPLOYEES:
            if role == "agent":
                self.agents.setdefault(dept, []).append(username)

    def pick_agent(self, dept: str) -> str:
        return self.rng.choice(self.agents[dept])

    def lognormal_minutes(self, median: float, sigma: float = 0.8) -> float:
        return median * self.rng.lognormvariate(0.0, sigma)

    def company_name(self, used: set[str]) -> str:
        while True:
            name = (
                f"{self.rng.choice(PLACES)} {self.rng.choice(TRADES)} {self.rng.choice(SUFFIXES)}"
            )
            if name not in used and name != self.effects.degrading_account:
                used.add(name)
                return name

    def accounts(self) -> list[PlannedAccount]:
        rng = self.rng
        tams = [u for u, _f, _l, role, _d in EMPLOYEES if role == "tam"]
        used: set[str] = set()
        out: list[PlannedAccount] = []
        for tier, count in TIER_COUNTS.items():
            for i in range(count):
                name = (
                    self.effects.degrading_account
                    if tier == "strategic" and i == 0
                    else self.company_name(used)
                )
                country, tz = "NO", "Europe/Oslo"
                roll, acc = rng.random(), 0.0
                for c, z, w in COUNTRIES:
                    acc += w
                    if roll < acc:
                        country, tz = c, z
                        break
                if name == self.effects.degrading_account:
                    country, tz = "NO", "Europe/Oslo"
                created = self.start - timedelta(days=rng.randint(30, 2000))
                products = sorted(rng.sample(range(len(PRODUCTS)), rng.randint(2, 5)))
                domain = "".join(ch for ch in name.split()[0].lower() if ch.isascii()) or "kunde"
                contacts = []
                for _ in range(rng.randint(2, 6) + (3 if tier == "strategic" else 0)):
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    email = f"{first.lower()}.{last.lower()}@{domain}{len(out)}.example"
                    lang = "nb" if country == "NO" and rng.random() < 0.7 else "en"
                    contacts.append((f"{first} {last}", email, lang))
                assignments: list[tuple[str, datetime, str]] = []
                has_tam = tier != "standard" or rng.random() < 0.3
                if has_tam:
                    first_tam = tams[len(out) % len(tams)]
                    assignments.append((first_tam, self.start, "Initial portfolio split"))
                    if rng.random() < 0.15:
                        other = rng.choice([t for t in tams if t != first_tam])
                        when = self.start + timedelta(days=rng.randint(60, 600))
                        assignments.append((other, when, "Portfolio rebalancing"))
                out.append(
                    PlannedAccount(
                        name, tier, country, tz, created, products, contacts, assignments
                    )
                )
        return out

    def cases(self, accounts: list[PlannedAccount]) -> list[PlannedCase]:
        out: list[PlannedCase] = []
        for index, account in enumerate(accounts):
            rate = TIER_RATE[account.tier] / (30 * 86400)
            t = self.start + timedelta(seconds=self.rng.expovariate(rate))
            while t < self.now - timedelta(hours=1):
                out.append(self.case(index, account, t, len(out)))
                t += timedelta(seconds=self.rng.expovariate(rate))
        out.sort(key=lambda c: (c.events[0].at, c.external_id))
        return out

    def case(self, index: int, account: PlannedAccount, opened: datetime, n: int) -> PlannedCase:
        rng, fx, now = self.rng, self.effects, self.now
        degrading = account.name == fx.degrading_account and opened >= now - timedelta(
            days=fx.degrading_from_days
        )
        priority = rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0]
        if degrading and rng.random() < 0.25:
            priority = "p2"
        product = rng.choice(account.products)
        product_name = PRODUCTS[product][0]
        templates = [s for p, s in SUBJECTS if p == product_name] or [s for _p, s in SUBJECTS]
        subject = rng.choice(templates).format(
            n=rng.randint(2, 40), weekday=rng.choice(WEEKDAYS), first=rng.choice(FIRST_NAMES)
        )
        requester = rng.randrange(len(account.contacts))
        channel = rng.choices(["email", "web", "phone", "chat"], weights=[5, 3, 1, 1])[0]
        description = f"{subject}. Reported by {account.contacts[requester][0]}."
        case = PlannedCase(
            account=index,
            requester=requester,
            subject=subject,
            description=description,
            priority=priority,
            channel=channel,
            product=product,
            external_id=f"DEMO-{n + 1:06d}",
        )
        self.play(case, account, opened, degrading)
        return case

    def play(
        self, case: PlannedCase, account: PlannedAccount, t: datetime, degrading: bool
    ) -> None:
        rng, fx, now = self.rng, self.effects, self.now
        ev = case.events
        dept = (
            "billing"
            if case.subject.startswith("Question about the last invoice")
            else "first-line"
        )
        by_phone = case.channel == "phone"
        creator = self.pick_agent("first-line") if by_phone else None
        ev.append(
            PlannedEvent(
                at=t,
                kind="created",
                actor_kind="employee" if by_phone else "contact",
                actor_user=creator,
                actor_contact=None if by_phone else case.requester,
                is_public=True,
                to_value=case.priority,
                department=dept,
                assignee=creator,
                body=case.description,
            )
        )
        assignee = creator

        # P1 clocks run around the clock (AROUND_THE_CLOCK), and so does the on-call rota.
        priority_now = [case.priority]

        def emit(delay_minutes: float, business: bool = True, **fields: object) -> bool:
            nonlocal t
            t = (
                add_business_minutes(t, delay_minutes)
                if business and priority_now[0] not in AROUND_THE_CLOCK
                else t + timedelta(minutes=delay_minutes)
            )
            if t >= now:
                return False
            ev.append(PlannedEvent(at=t, **fields))  # type: ignore[arg-type]
            return True

        # First reply: slower in the slow department after its date, faster in first line after
        # the procedure change, much slower on the degrading account.
        targets = DEMO_TARGETS[account.tier]
        p_index = int(case.priority[1]) - 1
        median = targets["first_reply"][p_index] * 60 * HEALTHY_SHARE
        next_median = targets["next_reply"][p_index] * 60 * HEALTHY_SHARE
        if dept == "first-line" and t < now - timedelta(days=fx.procedure_change_days):
            median /= 0.6  # before the procedure change, first line was slower
        if degrading:
            median *= 4.0
        agent = assignee or self.pick_agent(dept)
        if not emit(
            self.lognormal_minutes(median, REPLY_SIGMA),
            kind="status",
            actor_kind="employee",
            actor_user=agent,
            from_value="new",
            to_value="open",
        ):
            return
        if assignee is None:
            assignee = agent
        if not emit(
            rng.uniform(1, 10),
            kind="reply",
            actor_kind="employee",
            actor_user=agent,
            is_public=True,
            body="Thank you, we are looking into it.",
        ):
            return
        status = "open"
        if case.priority != "p1" and rng.random() < 0.06:
            higher = {"p2": "p1", "p3": "p2", "p4": "p3"}[case.priority]
            if not emit(
                self.lognormal_minutes(45),
                kind="priority",
                actor_kind="employee",
                actor_user=agent,
                from_value=case.priority,
                to_value=higher,
                body="The customer reports that more users are affected.",
            ):
                return
            priority_now[0] = higher
        handoffs = 0
        handoff_p = 0.28 + (0.35 if degrading else 0.0)
        while handoffs < 3 and rng.random() < handoff_p:
            target = {
                "first-line": "second-line",
                "second-line": "engineering",
                "billing": "second-line",
                "engineering": "second-line",
            }[dept]
            who = self.pick_agent(target)
            if not emit(
                self.lognormal_minutes(90),
                kind="note",
                actor_kind="employee",
                actor_user=agent,
                body="Reproduced; needs the next line.",
            ):
                return
            if not emit(
                rng.uniform(1, 20),
                kind="handoff",
                actor_kind="employee",
                actor_user=agent,
                from_value=dept,
                to_value=f"{target} / {who}",
                department=target,
                assignee=who,
                body=f"Handing over to {target.replace('-', ' ')} for analysis.",
            ):
                return
            dept, agent, assignee = target, who, who
            handoffs += 1
            handoff_p *= 0.55
            reply_median = 120.0
            if dept == fx.slow_department and t >= now - timedelta(days=fx.slow_from_days):
                reply_median *= 2.5
            if degrading:
                reply_median *= 3.0
            if not emit(
                self.lognormal_minutes(reply_median),
                kind="reply",
                actor_kind="employee",
                actor_user=agent,
                is_public=True,
                body="We have taken over your case and will update you shortly.",
            ):
                return
        if rng.random() < 0.3:
            if not emit(
                self.lognormal_minutes(60),
                kind="reply",
                actor_kind="employee",
                actor_user=agent,
                is_public=True,
                body="Could you send us a screenshot and the time it happened?",
            ):
                return
            if not emit(
                0.5,
                kind="status",
                actor_kind="employee",
                actor_user=agent,
                from_value=status,
                to_value="waiting_on_customer",
            ):
                return
            # The customer answers after calendar time, any hour; the reply resumes the case.
            if not emit(
                self.lognormal_minutes(300, 0.8),
                business=False,
                kind="reply",
                actor_kind="contact",
                actor_contact=case.requester,
                is_public=True,
                body="Here is the screenshot.",
            ):
                return
            if not emit(
                self.lognormal_minutes(next_median * (4.0 if degrading else 1.0), REPLY_SIGMA),
                kind="reply",
                actor_kind="employee",
                actor_user=agent,
                is_public=True,
                body="Thank you, that helps. We are on it.",
            ):
                return
        work_median = targets["total_resolution"][p_index] * 60 * 0.12
        work = self.lognormal_minutes(work_median * (3.0 if degrading else 1.0), 0.8)
        if not emit(
            work,
            kind="reply",
            actor_kind="employee",
            actor_user=agent,
            is_public=True,
            body="The fix is in place. Please confirm it works for you.",
        ):
            return
        if not emit(
            0.5,
            kind="status",
            actor_kind="employee",
            actor_user=agent,
            from_value=status,
            to_value="solved",
        ):
            return
        reopen_p = 0.02 + (0.2 if degrading else 0.0)
        if rng.random() < reopen_p:
            if not emit(
                self.lognormal_minutes(1500, 0.7),
                business=False,
                kind="reply",
                actor_kind="contact",
                actor_contact=case.requester,
                is_public=True,
                body="It happened again this morning.",
            ):
                return
            if not emit(
                self.lognormal_minutes(next_median * (4.0 if degrading else 1.0), REPLY_SIGMA),
                kind="reply",
                actor_kind="employee",
                actor_user=agent,
                is_public=True,
                body="Sorry about that; fixed again.",
            ):
                return
            if not emit(
                0.5,
                kind="status",
                actor_kind="employee",
                actor_user=agent,
                from_value="open",
                to_value="solved",
            ):
                return
        emit(
            rng.uniform(3, 7) * 1440,
            business=False,
            kind="status",
            actor_kind="system",
            from_value="solved",
            to_value="closed",
            body="Closed automatically after solve.",
        )


def plan_company(*, seed: int, now: datetime, effects: Effects | None = None) -> CompanyPlan:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    sim = _Sim(seed=seed, now=now, effects=effects or Effects())
    accounts = sim.accounts()
    return CompanyPlan(
        now=now, seed=seed, effects=sim.effects, accounts=accounts, cases=sim.cases(accounts)
    )


def planted_dates(plan: CompanyPlan) -> Iterator[tuple[str, date]]:
    fx, now = plan.effects, plan.now
    yield "degrading account", (now - timedelta(days=fx.degrading_from_days)).date()
    yield "slow department", (now - timedelta(days=fx.slow_from_days)).date()
    yield "procedure change", (now - timedelta(days=fx.procedure_change_days)).date()
