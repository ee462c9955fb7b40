"""The OpenAPI document and the interactive docs page, served from this site under its
Content-Security-Policy."""

from __future__ import annotations

import re

import pytest


def test_it_serves_the_openapi_document(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Kontosjef API"
    assert "/api/v1/cases/{case_id}/events" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_it_documents_every_error_with_the_envelope(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {code for code in operation["responses"] if code.startswith("4")}
            assert {"401", "422"} <= errors, (method, path)
            for code in errors:
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"]["$ref"].endswith("/ErrorOut"), (method, path, code)


def test_it_points_to_the_docs_from_the_api_root(client, db):
    response = client.get("/api/v1/")
    assert response.json()["docs"] == "/api/v1/docs"


def test_it_serves_the_docs_page_with_local_assets_only(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert "cdn" not in page.lower()
    # The only inline <script> is a JSON data block, which the browser does not execute.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' type="application/json" id="swagger-settings"']
    assert '"validatorUrl": null' in page
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize(
    "asset", ["ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"]
)
def test_it_serves_the_docs_assets_itself(client, db, asset):
    response = client.get(f"/static/{asset}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"//cdn" not in body[:2000]
