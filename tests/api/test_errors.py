"""Every error has the same JSON body, and no bad request becomes a server error."""

from __future__ import annotations

from tests.api.conftest import error_code


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["fields"], dict)
    return error


def test_it_answers_malformed_json_with_400(api_as, mona):
    response = api_as(mona).post("/products", raw=b'{"name": ')
    assert_envelope(response, 400, "bad_request")


def test_it_answers_a_json_array_with_422(api_as, mona):
    assert_envelope(api_as(mona).post("/products", ["Billing"]), 422, "invalid")


def test_it_answers_an_unknown_url_with_a_json_404(api_as, mona):
    assert_envelope(api_as(mona).get("/nowhere"), 404, "not_found")
    assert_envelope(api_as(None).get("/nowhere/at/all/"), 404, "not_found")


def test_it_answers_a_wrong_method_with_a_json_405(api_as, mona):
    response = api_as(mona).client.delete("/api/v1/cases")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_it_refuses_nul_characters(api_as, mona):
    error = assert_envelope(api_as(mona).post("/products", {"name": "Bil\x00ling"}), 422, "invalid")
    assert "name" in error["fields"]
    assert api_as(mona).get("/accounts", q="a\x00b").status_code == 422


def test_it_refuses_an_id_too_large_for_the_database(api_as, mona):
    assert_envelope(api_as(mona).get(f"/cases/{2**64}"), 422, "invalid")
    assert_envelope(api_as(mona).get("/cases", account=2**64), 422, "invalid")


def test_it_refuses_a_time_out_of_range(api_as, mona):
    response = api_as(mona).get("/cases", opened_after="0001-01-01T00:00:00+01:00")
    assert_envelope(response, 422, "invalid")


def test_it_names_the_fields_of_a_domain_validation_error(api_as, mona):
    error = assert_envelope(
        api_as(mona).post("/accounts", {"name": "X", "tier": "enterprise", "time_zone": "Nowhere"}),
        422,
        "invalid",
    )
    assert list(error["fields"]) == ["time_zone"]


def test_it_answers_401_403_404_409_in_the_same_shape(api_as, vera, alice, acme_case, mona):
    assert_envelope(api_as(None).get("/cases"), 401, "unauthenticated")
    response = api_as(vera).post(
        f"/cases/{acme_case.pk}/events", {"kind": "note", "body": "x", "expected_version": 1}
    )
    assert_envelope(response, 403, "forbidden")
    assert_envelope(api_as(alice).get("/cases/99999"), 404, "not_found")
    stale = api_as(alice).post(
        f"/cases/{acme_case.pk}/events", {"kind": "note", "body": "x", "expected_version": 5}
    )
    assert error_code(stale) == "conflict"


def test_it_translates_messages(api_as, mona):
    client = api_as(None)
    response = client.client.get("/api/v1/cases", headers={"accept-language": "nb"})
    assert response.status_code == 401
    assert "Autentisering" in response.json()["error"]["message"]
