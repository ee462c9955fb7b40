"""Products over the API: everyone reads them, managers add them."""

from __future__ import annotations

import pytest

from kontosjef.accounts.models import Product
from kontosjef.accounts.services import product_create
from tests.factories import T0


@pytest.fixture
def billing(mona):
    return product_create(by=mona, name="Billing", component="Invoices", now=T0)


def test_it_lists_and_filters_products(api_as, gina, mona, billing):
    product_create(by=mona, name="Portal", now=T0)
    client = api_as(gina)
    response = client.get("/products")
    assert [(p["name"], p["component"]) for p in response.json()["items"]] == [
        ("Billing", "Invoices"),
        ("Portal", ""),
    ]
    assert [p["name"] for p in client.get("/products", q="invo").json()["items"]] == ["Billing"]
    assert [p["name"] for p in client.get("/products", name="Portal").json()["items"]] == ["Portal"]
    assert client.get(f"/products/{billing.pk}").json()["component"] == "Invoices"


def test_it_lets_a_manager_add_a_product(api_as, mona):
    response = api_as(mona).post("/products", {"name": "Portal", "component": "Login"})
    assert response.status_code == 201
    assert Product.objects.filter(name="Portal", component="Login").exists()


def test_it_does_not_let_a_tam_add_a_product(api_as, alice):
    assert api_as(alice).post("/products", {"name": "Portal"}).status_code == 403


def test_it_refuses_a_duplicate_product(api_as, mona, billing):
    response = api_as(mona).post("/products", {"name": "Billing", "component": "Invoices"})
    assert response.status_code == 422
    assert Product.objects.filter(name="Billing").count() == 1


@pytest.mark.parametrize("n", [3, 30])
def test_it_lists_products_in_a_constant_number_of_queries(
    api_as, mona, n, django_assert_num_queries
):
    for i in range(n):
        product_create(by=mona, name=f"Product {i:02d}", now=T0)
    client = api_as(mona)
    with django_assert_num_queries(3):
        response = client.get("/products")
    assert len(response.json()["items"]) == n
