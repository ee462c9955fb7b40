"""Write a planned demo company to the database with bulk inserts, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction

from kontosjef.accounts.models import Account, Contact, Product, TamAssignment
from kontosjef.attention.services import health_backfill
from kontosjef.audit.services import audit_record
from kontosjef.cases.models import Case, CaseEvent
from kontosjef.cases.services import (
    calendar_create,
    case_apply_event,
    sla_policy_create,
    tier_sla_set,
)
from kontosjef.cases.sla import sla_recompute
from kontosjef.demo.simulate import (
    AROUND_THE_CLOCK,
    DEMO_PASSWORD,
    DEMO_SOURCE,
    DEMO_TARGETS,
    DEPARTMENTS,
    EMPLOYEES,
    HOUR,
    PRODUCTS,
    CompanyPlan,
)
from kontosjef.people.models import Department, User

BATCH = 2000
# The simulated history (simulate.Simulation.start is this long before now).
HISTORY = timedelta(days=730)


@dataclass(frozen=True)
class LoadSummary:
    departments: int
    users: int
    accounts: int
    contacts: int
    products: int
    cases: int
    events: int


def configure_sla(now: datetime) -> None:
    """Office hours in Oslo with Norwegian public holidays, and one SLA policy per tier."""
    calendar = calendar_create(
        by=None, name="Oslo office hours", time_zone="Europe/Oslo", now=now,
        holiday_country="NO", holiday_years=(now.year - 3, now.year + 1),
        description="Monday to Friday 08:00-16:00, Norwegian public holidays.",
    )  # fmt: skip
    for tier, metrics in DEMO_TARGETS.items():
        policy = sla_policy_create(
            by=None, name=f"{tier.capitalize()} SLA", now=now,
            metrics={
                metric: {
                    "targets": {f"p{i + 1}": int(h * HOUR) for i, h in enumerate(hours)},
                    "warn_at_fraction": 0.75,
                }
                for metric, hours in metrics.items()
            },
            options={"around_the_clock": list(AROUND_THE_CLOCK)},
            description="P1 clocks run around the clock; the others in office hours.",
        )  # fmt: skip
        tier_sla_set(by=None, tier=tier, policy=policy, calendar=calendar, now=now)


def demo_loaded() -> bool:
    return Account.objects.filter(external_source=DEMO_SOURCE).exists()


def load_company(
    plan: CompanyPlan, *, progress: Callable[[int], object] | None = None
) -> LoadSummary:
    """Insert the plan. The caller checks that the database holds no demo company yet."""
    with transaction.atomic():
        departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
        Department.objects.bulk_create(departments.values())
        # One hash for every demo login: hashing 25 times would take seconds for nothing.
        password = make_password(DEMO_PASSWORD)
        users = {
            username: User(
                username=username,
                first_name=first,
                last_name=last,
                role=role,
                department=departments[dept],
                password=password,
                email=f"{username}@fjordlys.example",
                is_staff=role == "admin",
                is_superuser=role == "admin",
                language="nb" if username in {"bjorn", "guro"} else "en",
                date_joined=plan.now,
            )
            for username, first, last, role, dept in EMPLOYEES
        }
        User.objects.bulk_create(users.values())
        products = [Product(name=name, component=comp) for name, comp in PRODUCTS]
        Product.objects.bulk_create(products)

        accounts = [
            Account(
                name=a.name,
                tier=a.tier,
                country=a.country,
                time_zone=a.time_zone,
                external_source=DEMO_SOURCE,
                external_id=f"ACC-{i + 1:04d}",
                created_at=a.created_at,
            )
            for i, a in enumerate(plan.accounts)
        ]
        Account.objects.bulk_create(accounts)
        Account.products.through.objects.bulk_create(
            Account.products.through(account_id=accounts[i].pk, product_id=products[p].pk)
            for i, a in enumerate(plan.accounts)
            for p in a.products
        )
        contacts: list[list[Contact]] = []
        for i, a in enumerate(plan.accounts):
            contacts.append(
                [
                    Contact(
                        account=accounts[i],
                        name=name,
                        email=email,
                        language=lang,
                        external_source=DEMO_SOURCE,
                        external_id=f"ACC-{i + 1:04d}-C{j + 1}",
                    )
                    for j, (name, email, lang) in enumerate(a.contacts)
                ]
            )
        Contact.objects.bulk_create([c for group in contacts for c in group], batch_size=BATCH)

        assignments: list[TamAssignment] = []
        manager = users["mona"]
        for i, a in enumerate(plan.accounts):
            for k, (tam, start, reason) in enumerate(a.tams):
                ended = a.tams[k + 1][1] if k + 1 < len(a.tams) else None
                assignments.append(
                    TamAssignment(
                        account=accounts[i],
                        tam=users[tam],
                        started_at=start,
                        ended_at=ended,
                        reason=reason,
                        end_reason=a.tams[k + 1][2] if ended else "",
                        assigned_by=manager,
                    )
                )
        TamAssignment.objects.bulk_create(assignments)

        n_events = 0
        for offset in range(0, len(plan.cases), BATCH):
            chunk = plan.cases[offset : offset + BATCH]
            cases: list[Case] = []
            events: list[list[CaseEvent]] = []
            for pc in chunk:
                case = Case(
                    account=accounts[pc.account],
                    requester=contacts[pc.account][pc.requester],
                    subject=pc.subject,
                    description=pc.description,
                    priority=pc.priority,
                    status="new",
                    channel=pc.channel,
                    product=products[pc.product],
                    external_source=DEMO_SOURCE,
                    external_id=pc.external_id,
                    opened_at=pc.events[0].at,
                    last_event_at=pc.events[0].at,
                )
                case_events = []
                for seq, pe in enumerate(pc.events, start=1):
                    event = CaseEvent(
                        at=pe.at,
                        seq=seq,
                        kind=pe.kind,
                        actor_kind=pe.actor_kind,
                        actor_user=users[pe.actor_user] if pe.actor_user else None,
                        actor_contact=(
                            contacts[pc.account][pe.actor_contact]
                            if pe.actor_contact is not None
                            else None
                        ),
                        is_public=pe.is_public,
                        from_value=pe.from_value,
                        to_value=pe.to_value,
                        department=departments[pe.department] if pe.department else None,
                        assignee=users[pe.assignee] if pe.assignee else None,
                        body=pe.body,
                    )
                    if seq == 1 and pe.department:
                        event.department = departments[pe.department]
                    case_apply_event(case, event)
                    case_events.append(event)
                cases.append(case)
                events.append(case_events)
            Case.objects.bulk_create(cases)
            flat = []
            for case, case_events in zip(cases, events, strict=True):
                for event in case_events:
                    event.case = case
                    flat.append(event)
            CaseEvent.objects.bulk_create(flat, batch_size=BATCH)
            n_events += len(flat)
            if progress:
                progress(len(chunk))

        configure_sla(plan.now)
        sla_recompute(now=plan.now, cases=None)
        # Daily health history over the whole two years, so trends, charts and attention items
        # have their dates.
        health_backfill(since=(plan.now - HISTORY).date(), now=plan.now, as_of=plan.now)

        summary = LoadSummary(
            departments=len(departments),
            users=len(users),
            accounts=len(accounts),
            contacts=sum(len(c) for c in contacts),
            products=len(products),
            cases=len(plan.cases),
            events=n_events,
        )
        audit_record(
            at=plan.now,
            actor=None,
            action="demo.load",
            obj=accounts[0],
            after={"seed": plan.seed, "now": plan.now.isoformat(), **summary.__dict__},
        )
    return summary
