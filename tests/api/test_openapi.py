"""The OpenAPI document validates, and the documentation page is made from it, with nothing fetched
from another site."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_openapi_document_validates(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) >= 12
    for path, method, operation in operations:
        assert operation.get("security"), f"{method} {path} says how to authenticate"
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}
        if method == "post":
            headers = {
                parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"
            }
            assert "Idempotency-Key" in headers, f"POST {path} takes an Idempotency-Key"
        if method == "patch":
            assert any(parameter["name"] == "If-Match" for parameter in operation["parameters"]), path
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert list(unauthorized["content"]) == ["application/problem+json"]
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_documentation_page_is_our_own(app: Flask, client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").json
    for path in spec["paths"]:
        assert f"{path}</code>" in html, path
    for anchor in (
        "authentication",
        "conventions",
        "errors",
        "schemas",
        "changelog",
        "problem-stock-conflict",
    ):
        assert f'id="{anchor}"' in html
    assert "Idempotency-Key" in html
    assert "curl -X POST" in html, "example requests"
    external = re.findall(r'(?:src|href)="(https?:)?//', html)
    assert not external, "no asset from another site"
