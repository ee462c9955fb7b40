"""The People page: administrators list, add and change employees, and hand out set-password
links; nobody else may."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from kontosjef.audit.models import AuditEntry
from kontosjef.people.models import User
from kontosjef.people.services import user_set_active, user_update
from tests.factories import PASSWORD, T0, make_user
from tests.pages import assert_no_inline_script

NEW_PASSWORD = "fjord-blue-harbour-71"


def person_form(**changes: str) -> dict[str, str]:
    data = {
        "username": "tina", "first_name": "Tina", "last_name": "Berg",
        "email": "tina@example.com", "role": "tam", "department": "", "language": "nb",
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    }  # fmt: skip
    return data | changes


def signs_in(username: str, password: str) -> bool:
    return Client().login(username=username, password=password)


def test_it_lists_people_with_role_department_and_state(client, adam, gina, vera, support):
    client.force_login(adam)
    html = client.get(reverse("configuration_people")).content.decode()
    assert "Gina" in html and "Support" in html and "Agent" in html and "Viewer" in html
    assert_no_inline_script(html)
    gina_row = re.search(r"<tr>\s*<th scope=\"row\"><a [^>]*>Gina</a>.*?</tr>", html, re.S)
    assert gina_row and "active" in gina_row.group(0)


def test_it_filters_people_by_role_department_text_and_state(client, adam, gina, erik, vera):
    user_set_active(user=vera, by=adam, now=T0, is_active=False)
    client.force_login(adam)
    url = reverse("configuration_people")

    def names(**params: object) -> list[str]:
        page = client.get(url, params).context["page"]
        return [u.username for u in page.object_list]

    assert names() == ["adam", "erik", "gina"]
    assert names(role="agent") == ["erik", "gina"]
    assert names(department=gina.department_id) == ["gina"]
    assert names(q="eri") == ["erik"]
    assert names(active="inactive") == ["vera"]
    assert names(active="all") == ["adam", "erik", "gina", "vera"]


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_people_in_the_same_number_of_queries_for_3_and_30(
    client, adam, support, n, django_assert_num_queries
):
    for i in range(n):
        make_user(username=f"agent{i:02d}", role="agent", department=support)
    client.force_login(adam)
    # session, user, count, the department filter's choices, page of people with their
    # departments, inbox count in the navigation
    with django_assert_num_queries(6):
        response = client.get(reverse("configuration_people"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == n + 1


def test_it_adds_a_person_with_a_first_password_who_can_then_sign_in(client, adam, support):
    client.force_login(adam)
    response = client.post(
        reverse("configuration_person_new"), person_form(department=str(support.pk))
    )
    tina = User.objects.get(username="tina")
    assert response.status_code == 302
    assert response["Location"] == reverse("configuration_person", args=[tina.pk])
    assert (tina.role, tina.department, tina.language) == ("tam", support, "nb")
    assert not tina.is_staff and not tina.is_superuser
    entry = AuditEntry.objects.get(action="user.create", object_id=str(tina.pk))
    assert entry.actor == adam and entry.after["role"] == "tam"
    assert signs_in("tina", NEW_PASSWORD)


def test_it_gives_a_set_password_link_to_a_person_added_without_a_password(client, adam):
    client.force_login(adam)
    response = client.post(
        reverse("configuration_person_new"), person_form(password1="", password2="")
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the link must not be cached
    html = response.content.decode()
    link = re.search(r'id="password-link"[^>]*value="http://testserver([^"]+)"', html)
    assert link, html
    assert not User.objects.get(username="tina").has_usable_password()
    assert AuditEntry.objects.filter(action="user.password_link").count() == 1

    # Tina opens the link (Django swaps the token for a session-held one), sets a password.
    tina = Client()
    form_page = tina.get(link.group(1), follow=True)
    assert "Choose a password" in form_page.content.decode()
    done = tina.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Password saved" in done.content.decode()
    assert signs_in("tina", NEW_PASSWORD)
    # The link works once.
    again = Client().get(link.group(1), follow=True).content.decode()
    assert "has been used or has expired" in again


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "gina"}, "username", "is taken"),
        ({"username": "tina berg"}, "username", "letters, digits"),
        ({"password2": "something-else-entirely"}, "password2", "differ"),
        ({"password1": "12345678", "password2": "12345678"}, "password1", "too common"),
        ({"email": "not an address"}, "email", "valid email"),
        ({"role": "owner"}, "role", "valid choice"),
    ],
)
def test_it_says_what_is_wrong_with_a_new_person_and_adds_nobody(
    client, adam, gina, changes, field, message
):
    client.force_login(adam)
    before = User.objects.count()
    response = client.post(reverse("configuration_person_new"), person_form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert "Nothing was saved" in response.content.decode()
    assert User.objects.count() == before


def test_it_changes_a_role_and_department_and_audits_it(client, adam, vera, support):
    client.force_login(adam)
    url = reverse("configuration_person", args=[vera.pk])
    data = {"first_name": "Vera", "last_name": "Lund", "email": "vera@example.com",
            "role": "agent", "department": str(support.pk), "language": "en"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    vera.refresh_from_db()
    assert (vera.role, vera.department, vera.last_name) == ("agent", support, "Lund")
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.before["role"] == "viewer" and entry.after["role"] == "agent"
    # Making someone an administrator lets them into the admin; taking it away takes it back.
    assert client.post(url, data | {"role": "admin"}).status_code == 302
    vera.refresh_from_db()
    assert vera.is_staff and vera.is_superuser
    assert client.post(url, data | {"role": "manager"}).status_code == 302
    vera.refresh_from_db()
    assert not vera.is_staff and not vera.is_superuser


def test_it_keeps_the_last_administrator(client, adam):
    client.force_login(adam)
    url = reverse("configuration_person", args=[adam.pk])
    data = {"first_name": "Adam", "last_name": "", "email": "", "role": "viewer",
            "department": "", "language": "en"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200
    assert "only active administrator" in " ".join(response.context["form"].errors["role"])
    adam.refresh_from_db()
    assert adam.role == "admin"
    with pytest.raises(ValidationError, match="cannot deactivate yourself"):
        user_set_active(user=adam, by=adam, now=T0, is_active=False)


def test_it_deactivates_a_person_who_then_cannot_sign_in(client, adam, gina):
    client.force_login(adam)
    assert signs_in("gina", PASSWORD)
    url = reverse("configuration_person_active", args=[gina.pk])
    response = client.post(url, {"active": "0"}, follow=True)
    assert "Gina is deactivated." in response.content.decode()
    assert not signs_in("gina", PASSWORD)
    assert AuditEntry.objects.filter(action="user.deactivate", object_id=str(gina.pk)).exists()
    # Deactivated people are out of the list until asked for, and can be activated again.
    listing = client.get(reverse("configuration_people")).context["page"].object_list
    assert gina not in listing
    client.post(url, {"active": "1"})
    assert signs_in("gina", PASSWORD)


@pytest.mark.parametrize("persona", ["mona", "alice", "vera", "gina"])
def test_it_lets_only_administrators_manage_people(client, request, persona, adam, erik):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    for url in [
        reverse("configuration_people"),
        reverse("configuration_person_new"),
        reverse("configuration_person", args=[erik.pk]),
        reverse("configuration_departments"),
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("configuration_person_new"), person_form()).status_code == 403
    assert (
        client.post(
            reverse("configuration_person_active", args=[erik.pk]), {"active": "0"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("configuration_person_password_link", args=[erik.pk])).status_code
        == 403
    )
    assert not User.objects.filter(username="tina").exists()
    erik.refresh_from_db()
    assert erik.is_active
    with pytest.raises(PermissionDenied):
        user_update(user=erik, by=user, now=T0, first_name="E", last_name="", email="",
                    role="admin", department=None, language="en")  # fmt: skip
