"""Departments: administrators list, add and rename them; the code that imports know stays."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.people.models import Department
from kontosjef.people.services import department_create, department_rename
from tests.factories import T0, make_user
from tests.pages import assert_no_inline_script


def test_it_lists_departments_with_their_active_members(client, adam, gina, support, engineering):
    make_user(username="olga", role="agent", department=support)
    client.force_login(adam)
    response = client.get(reverse("configuration_departments"))
    rows = {d.name: d.member_count for d in response.context["page"].object_list}
    assert rows == {"Engineering": 0, "Support": 2}
    assert_no_inline_script(response.content.decode())


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_departments_in_the_same_number_of_queries_for_3_and_30(
    client, adam, n, django_assert_num_queries
):
    for i in range(n):
        department = department_create(by=adam, name=f"Team {i:02d}", now=T0)
        make_user(username=f"agent{i:02d}", role="agent", department=department)
    client.force_login(adam)
    # session, user, count, page of departments with member counts, inbox count
    with django_assert_num_queries(5):
        response = client.get(reverse("configuration_departments"))
    assert len(response.context["page"].object_list) == n


def test_it_adds_a_department_with_a_code_from_its_name(client, adam):
    client.force_login(adam)
    response = client.post(reverse("configuration_departments"), {"name": "Second line"})
    assert response.status_code == 302
    department = Department.objects.get(name="Second line")
    assert department.code == "second-line"
    entry = AuditEntry.objects.get(action="department.create")
    assert entry.actor == adam and entry.after["code"] == "second-line"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "support"}, "name", "already a department called"),
        ({"name": "Helpdesk", "code": "support"}, "code", "is taken"),
        ({"name": "Helpdesk", "code": "help desk"}, "code", "valid “slug”"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_it_says_what_is_wrong_with_a_new_department(client, adam, support, data, field, message):
    client.force_login(adam)
    response = client.post(reverse("configuration_departments"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert Department.objects.count() == 1


def test_it_renames_a_department_and_keeps_its_code(client, adam, support):
    client.force_login(adam)
    url = reverse("configuration_department", args=[support.pk])
    response = client.post(url, {"name": "Customer support", "description": "First line"})
    assert response.status_code == 302
    support.refresh_from_db()
    assert (support.name, support.code, support.description) == (
        "Customer support", "support", "First line",
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="department.rename")
    assert entry.before["name"] == "Support" and entry.after["name"] == "Customer support"


def test_it_lets_only_administrators_change_departments(client, mona, support):
    with pytest.raises(PermissionDenied):
        department_create(by=mona, name="Billing", now=T0)
    with pytest.raises(PermissionDenied):
        department_rename(department=support, by=mona, now=T0, name="X", description="")
    client.force_login(mona)
    url = reverse("configuration_department", args=[support.pk])
    assert client.post(url, {"name": "X"}).status_code == 403
    support.refresh_from_db()
    assert support.name == "Support"
