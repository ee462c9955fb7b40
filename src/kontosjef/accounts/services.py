"""Every write to accounts, contacts, products and TAM assignments."""

from __future__ import annotations

import math
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kontosjef.accounts.models import Account, Contact, Expectation, Product, TamAssignment
from kontosjef.audit.services import audit_record, snapshot
from kontosjef.people import access
from kontosjef.people.models import User

ACCOUNT_FIELDS = ["name", "tier", "country", "time_zone", "status"]
CONTACT_FIELDS = ["name", "email", "language"]


def account_create(
    *,
    by: User,
    name: str,
    country: str,
    now: datetime,
    tier: str = Account.Tier.STANDARD,
    time_zone: str = "Europe/Oslo",
    status: str = Account.Status.ACTIVE,
    external_source: str = "",
    external_id: str = "",
) -> Account:
    access.require_manager(by)
    account = Account(
        name=name.strip(),
        tier=tier,
        country=country.upper(),
        time_zone=time_zone,
        status=status,
        external_source=external_source,
        external_id=external_id,
        created_at=now,
    )
    account.full_clean()
    with transaction.atomic():
        account.save()
        audit_record(
            at=now,
            actor=by,
            action="account.create",
            obj=account,
            after=snapshot(account, ACCOUNT_FIELDS),
        )
    return account


def account_update(*, account: Account, by: User, now: datetime, **changes: str) -> Account:
    """Change an account's name, tier, country, time zone or status."""
    access.require_act_on_account(by, account)
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    before = snapshot(account, ACCOUNT_FIELDS)
    for field, value in changes.items():
        setattr(account, field, value)
    try:
        account.full_clean()
    except ValidationError:
        account.refresh_from_db()
        raise
    with transaction.atomic():
        account.save(update_fields=list(changes))
        audit_record(
            at=now,
            actor=by,
            action="account.update",
            obj=account,
            before=before,
            after=snapshot(account, ACCOUNT_FIELDS),
        )
    return account


def contact_create(
    *,
    account: Account,
    by: User,
    name: str,
    now: datetime,
    email: str = "",
    language: str = "en",
    external_source: str = "",
    external_id: str = "",
) -> Contact:
    access.require_act_on_account(by, account)
    contact = Contact(
        account=account,
        name=name.strip(),
        email=email.strip(),
        language=language,
        external_source=external_source,
        external_id=external_id,
    )
    contact.full_clean()
    with transaction.atomic():
        contact.save()
        audit_record(
            at=now,
            actor=by,
            action="contact.create",
            obj=contact,
            after=snapshot(contact, ["account", "name", "email", "language"]),
        )
    return contact


def contact_update(*, contact: Contact, by: User, now: datetime, **changes: str) -> Contact:
    """Change a contact's name, e-mail or preferred language."""
    access.require_act_on_account(by, contact.account)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    before = snapshot(contact, CONTACT_FIELDS)
    for field, value in changes.items():
        setattr(contact, field, value.strip())
    try:
        contact.full_clean()
    except ValidationError:
        contact.refresh_from_db()
        raise
    with transaction.atomic():
        contact.save(update_fields=list(changes))
        audit_record(
            at=now,
            actor=by,
            action="contact.update",
            obj=contact,
            before=before,
            after=snapshot(contact, CONTACT_FIELDS),
        )
    return contact


def product_create(*, by: User, name: str, now: datetime, component: str = "") -> Product:
    access.require_manager(by)
    product = Product(name=name.strip(), component=component.strip())
    product.full_clean()
    with transaction.atomic():
        product.save()
        audit_record(
            at=now,
            actor=by,
            action="product.create",
            obj=product,
            after=snapshot(product, ["name", "component"]),
        )
    return product


def account_assign_tam(
    *, account: Account, tam: User, by: User, reason: str, now: datetime
) -> TamAssignment:
    """Make `tam` the account's TAM from `now`, ending the current assignment. Managers only."""
    access.require_manager(by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this TAM is assigned.")})
    if tam.role != User.Role.TAM or not tam.is_active:
        raise ValidationError({"tam": _("%(user)s is not an active TAM.") % {"user": tam}})
    with transaction.atomic():
        # Lock the account row so two managers assigning at once queue up; the partial unique
        # index (one open assignment per account) is the last line of defence.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        current = TamAssignment.objects.filter(account=account, ended_at=None).first()
        if current is not None and current.tam_id == tam.pk:
            raise ValidationError({"tam": _("%(user)s is already the TAM.") % {"user": tam}})
        before = {"tam": current.tam_id if current else None}
        if current is not None:
            if now < current.started_at:
                raise ValidationError(_("The new assignment cannot start before the current one."))
            current.ended_at = now
            current.end_reason = reason
            current.save(update_fields=["ended_at", "end_reason"])
        assignment = TamAssignment(
            account=account, tam=tam, started_at=now, reason=reason, assigned_by=by
        )
        assignment.full_clean(validate_constraints=False)
        assignment.save()
        audit_record(
            at=now,
            actor=by,
            action="account.assign_tam",
            obj=account,
            before=before,
            after={"tam": tam.pk, "reason": reason},
        )
    return assignment


def account_unassign_tam(*, account: Account, by: User, reason: str, now: datetime) -> None:
    """End the account's current TAM assignment, leaving it to the managers' queue."""
    access.require_manager(by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the TAM is removed.")})
    with transaction.atomic():
        current = (
            TamAssignment.objects.select_for_update().filter(account=account, ended_at=None).first()
        )
        if current is None:
            raise ValidationError(_("The account has no TAM."))
        current.ended_at = now
        current.end_reason = reason
        current.save(update_fields=["ended_at", "end_reason"])
        audit_record(
            at=now,
            actor=by,
            action="account.unassign_tam",
            obj=account,
            before={"tam": current.tam_id},
            after={"tam": None, "reason": reason},
        )


def expectation_seed_defaults() -> int:
    """Create the built-in tier expectations that are missing (the first migration does this
    too); returns how many were created. Existing rows, changed or switched off, stay as they
    are."""
    from kontosjef.accounts.expectations import DEFAULT_NAMES
    from kontosjef.accounts.models import Expectation
    from kontosjef.engine.health import DEFAULT_EXPECTATIONS

    have = set(Expectation.objects.filter(tier__isnull=False).values_list("code", "tier"))
    rows = [
        Expectation(
            code=e.id,
            name=DEFAULT_NAMES.get(e.id, e.id),
            kpi=e.kpi,
            comparator=e.comparator,
            threshold=e.threshold,
            window_days=e.window_days,
            severity=e.severity,
            weight=e.weight,
            scale=e.scale,
            tier=tier,
        )  # fmt: skip
        for tier, expectations in DEFAULT_EXPECTATIONS.items()
        for e in expectations
        if (e.id, tier) not in have
    ]
    Expectation.objects.bulk_create(rows)
    return len(rows)


# Each tier's expectation is its own rule; an account's override changes only the threshold (and
# whether it is on) of its tier's rule (`accounts.health` gives each tier's rule its own column).
EXPECTATION_FIELDS = ["threshold", "window_days", "severity", "weight", "is_active"]
SHARE_KPIS = {
    "frt_attainment", "nrt_attainment", "pu_attainment", "pau_attainment", "awt_attainment",
    "rwt_attainment", "trt_attainment", "fres_attainment", "reopen_rate",
}  # fmt: skip


def _threshold_error(kpi: str, threshold: float) -> str:
    """Why `threshold` cannot be a threshold of `kpi` (in the KPI's unit), or ""."""
    if not math.isfinite(threshold):
        return _("Enter a number.")
    if kpi in SHARE_KPIS and not 0 <= threshold <= 1:
        return _("A share must be between 0 and 100 percent.")
    if kpi == "csat" and not 1 <= threshold <= 5:
        return _("CSAT is a rating between 1 and 5.")
    if kpi == "nps" and not -100 <= threshold <= 100:
        return _("NPS is between −100 and 100.")
    if kpi not in SHARE_KPIS | {"csat", "nps"} and threshold < 0:
        return _("This figure cannot be negative.")
    return ""


def expectation_update(
    *,
    expectation: Expectation,
    by: User,
    now: datetime,
    threshold: float,
    window_days: int,
    severity: str,
    weight: float,
    is_active: bool,
) -> Expectation:
    """Change an expectation's threshold (in its KPI's unit), whether it is on, and its window,
    severity and weight: this tier's (or account's) row only, never another tier's. Managers
    only. Takes effect at the next health refresh.

    Changing nothing writes nothing.
    """
    from kontosjef.accounts.health import WINDOWS

    access.require_manager(by)
    error = _threshold_error(expectation.kpi, threshold)
    if error:
        raise ValidationError({"threshold": error})
    if window_days not in WINDOWS:
        raise ValidationError(
            {"window_days": _("Choose a window of %(days)s days.")
             % {"days": ", ".join(str(d) for d in WINDOWS)}}
        )  # fmt: skip
    if not math.isfinite(weight) or weight < 0:
        raise ValidationError({"weight": _("The weight must be zero or more.")})
    before = snapshot(expectation, EXPECTATION_FIELDS)
    changes = {"threshold": threshold, "window_days": window_days, "severity": severity,
               "weight": weight, "is_active": is_active}  # fmt: skip
    if changes == before:
        return expectation
    for field, value in changes.items():
        setattr(expectation, field, value)
    try:
        expectation.full_clean()
    except ValidationError:
        expectation.refresh_from_db()
        raise
    with transaction.atomic():
        expectation.save(update_fields=EXPECTATION_FIELDS)
        audit_record(
            at=now,
            actor=by,
            action="expectation.update",
            obj=expectation,
            before=before,
            after=snapshot(expectation, EXPECTATION_FIELDS),
        )
    return expectation
