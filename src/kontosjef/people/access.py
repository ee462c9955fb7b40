"""Who may see and change what. Every service and list query goes through these rules.

- Admins and managers see and act on everything.
- A TAM reads and acts on the accounts in their portfolio (current assignments) and their cases;
  another portfolio's accounts are not theirs to open.
- An agent reads and acts on the cases of their department (and reads those cases' accounts).
- A viewer reads everything and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from kontosjef.people.models import Department, User

if TYPE_CHECKING:
    from kontosjef.accounts.models import Account, AccountQuerySet, TamAssignment
    from kontosjef.cases.models import Case, CaseQuerySet

Role = User.Role


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def readable_accounts(user: User) -> AccountQuerySet:
    from kontosjef.accounts.models import Account
    from kontosjef.cases.models import Case

    if not _active(user):
        return Account.objects.none()
    if user.role == Role.AGENT:
        if user.department_id is None:
            return Account.objects.none()
        return Account.objects.filter(
            Exists(Case.objects.filter(account=OuterRef("pk"), department_id=user.department_id))
        )
    if user.role == Role.TAM:
        return Account.objects.in_portfolio_of(user)
    return Account.objects.all()


def actionable_accounts(user: User) -> AccountQuerySet:
    from kontosjef.accounts.models import Account

    if not _active(user):
        return Account.objects.none()
    if user.role in (Role.ADMIN, Role.MANAGER):
        return Account.objects.all()
    if user.role == Role.TAM:
        return Account.objects.in_portfolio_of(user)
    return Account.objects.none()


def case_intake_accounts(user: User) -> AccountQuerySet:
    """The accounts a user may name when opening a case: any account for an agent (they take in
    cases for accounts their department has not served yet), else the readable ones, so another
    portfolio's account stays unknown to a TAM. `can_open_case` still decides."""
    from kontosjef.accounts.models import Account

    if _active(user) and user.role == Role.AGENT:
        return Account.objects.all()
    return readable_accounts(user)


def readable_cases(user: User) -> CaseQuerySet:
    from kontosjef.cases.models import Case

    if not _active(user):
        return Case.objects.none()
    if user.role == Role.AGENT:
        if user.department_id is None:
            return Case.objects.none()
        return Case.objects.filter(department_id=user.department_id)
    if user.role == Role.TAM:
        # IN over the portfolio's account ids, not a correlated EXISTS per case: SQLite then
        # reads only the portfolio's cases through the account index instead of scanning all.
        return Case.objects.filter(account__in=_current_tam(user).values("account_id"))
    return Case.objects.all()


def _current_tam(user: User) -> QuerySet[TamAssignment]:
    """The user's current TAM assignments: their portfolio."""
    from kontosjef.accounts.models import TamAssignment

    return TamAssignment.objects.filter(tam=user, ended_at=None)


def can_read_account(user: User, account: Account) -> bool:
    return readable_accounts(user).filter(pk=account.pk).exists()


def can_act_on_account(user: User, account: Account) -> bool:
    if not _active(user):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    if user.role == Role.TAM:
        return account.tam_assignments.filter(tam=user, ended_at=None).exists()
    return False


def can_read_case(user: User, case: Case) -> bool:
    if not _active(user):
        return False
    if user.role == Role.AGENT:
        return user.department_id is not None and case.department_id == user.department_id
    if user.role == Role.TAM:
        return _current_tam(user).filter(account_id=case.account_id).exists()
    return True


def can_act_on_case(user: User, case: Case) -> bool:
    if not _active(user):
        return False
    if user.role == Role.AGENT:
        return user.department_id is not None and case.department_id == user.department_id
    return can_act_on_account(user, case.account)


def may_open_cases(user: User) -> bool:
    """Whether the user's role opens cases at all (for some account): not a viewer's."""
    return _active(user) and user.role != Role.VIEWER


def can_open_case(user: User, account: Account, department: Department | None) -> bool:
    if not _active(user):
        return False
    if user.role == Role.AGENT:
        # An agent takes a case in for their own department.
        return department is not None and department.pk == user.department_id
    return can_act_on_account(user, account)


def require_manager(user: User) -> None:
    if not (_active(user) and user.role in (Role.ADMIN, Role.MANAGER)):
        raise PermissionDenied(_("Only managers and administrators may do this."))


def require_act_on_account(user: User, account: Account) -> None:
    if not can_act_on_account(user, account):
        raise PermissionDenied(
            _("You may not change account %(account)s: it is not in your portfolio.")
            % {"account": account}
        )


def require_read_case(user: User, case: Case) -> None:
    if not can_read_case(user, case):
        raise PermissionDenied(_("You may not see case %(case)s.") % {"case": case.pk})


def require_act_on_case(user: User, case: Case) -> None:
    if not can_act_on_case(user, case):
        raise PermissionDenied(_("You may not change case %(case)s.") % {"case": case.pk})


def require_admin(user: User) -> None:
    if not (_active(user) and user.role == Role.ADMIN):
        raise PermissionDenied(_("Only administrators may do this."))
