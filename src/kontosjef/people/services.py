"""Every write to departments and users."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.text import slugify

from kontosjef.audit.services import audit_record, snapshot
from kontosjef.people import access
from kontosjef.people.models import Department, User

USER_FIELDS = ["username", "first_name", "last_name", "email", "role", "department", "language"]


def department_create(*, by: User, name: str, now: datetime, code: str = "") -> Department:
    access.require_manager(by)
    department = Department(name=name.strip(), code=code or slugify(name))
    department.full_clean()
    with transaction.atomic():
        department.save()
        audit_record(
            at=now,
            actor=by,
            action="department.create",
            obj=department,
            after=snapshot(department, ["name", "code"]),
        )
    return department


def user_create(
    *,
    by: User | None,
    username: str,
    password: str | None,
    role: str,
    now: datetime,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    department: Department | None = None,
    language: str = "en",
) -> User:
    """Create an employee. `by=None` only for bootstrap commands (the first admin, the demo)."""
    if by is not None:
        access.require_manager(by)
        if role == User.Role.ADMIN and by.role != User.Role.ADMIN:
            access.require_admin(by)
    user = User(
        username=username.strip(),
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        department=department,
        language=language,
        is_staff=role == User.Role.ADMIN,
        is_superuser=role == User.Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    with transaction.atomic():
        user.save()
        audit_record(
            at=now, actor=by, action="user.create", obj=user, after=snapshot(user, USER_FIELDS)
        )
    return user
