"""Users and departments, read only: the directory every employee may look up."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from kontosjef.api.auth import user_of
from kontosjef.api.pagination import Order, paginate
from kontosjef.api.schemas import READ_ERRORS, ErrorOut, FilterIn, Id, PageIn, Search
from kontosjef.people.models import Department, User

router = Router(tags=["people"])


class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    description: str


class DepartmentPage(Schema):
    items: list[DepartmentOut]
    next_cursor: str | None


class UserOut(Schema):
    id: int
    username: str
    name: str
    first_name: str
    last_name: str
    email: str
    role: User.Role
    department: int | None = Field(None, alias="department_id")
    language: str
    is_active: bool

    @staticmethod
    def resolve_name(obj: User) -> str:
        return obj.get_full_name() or obj.username


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


class UserFilter(FilterIn):
    role: User.Role | None = None
    department: Id | None = None
    is_active: bool | None = None
    q: Search | None = Field(None, description="Part of the name or user name.")


@router.get("/users", response={200: UserPage, READ_ERRORS: ErrorOut})
def user_list(
    request: HttpRequest, filters: Query[UserFilter], page: Query[PageIn]
) -> dict[str, object]:
    """Employees, by user name."""
    users = User.objects.all()
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.department:
        users = users.filter(department_id=filters.department)
    if filters.is_active is not None:
        users = users.filter(is_active=filters.is_active)
    if filters.q:
        users = users.filter(
            Q(username__icontains=filters.q)
            | Q(first_name__icontains=filters.q)
            | Q(last_name__icontains=filters.q)
        )
    return paginate(users, page, Order("username"))


@router.get("/users/me", response={200: UserOut, READ_ERRORS: ErrorOut})
def user_me(request: HttpRequest) -> User:
    """The caller: the token's owner, or the signed-in user."""
    return user_of(request)


@router.get("/users/{user_id}", response={200: UserOut, READ_ERRORS: ErrorOut})
def user_detail(request: HttpRequest, user_id: Id) -> User:
    return get_object_or_404(User, pk=user_id)


@router.get("/departments", response={200: DepartmentPage, READ_ERRORS: ErrorOut})
def department_list(request: HttpRequest, page: Query[PageIn]) -> dict[str, object]:
    """Departments, by name."""
    return paginate(Department.objects.all(), page, Order("name"))


@router.get("/departments/{department_id}", response={200: DepartmentOut, READ_ERRORS: ErrorOut})
def department_detail(request: HttpRequest, department_id: Id) -> Department:
    return get_object_or_404(Department, pk=department_id)
