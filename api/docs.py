"""The API's documentation page (``/api/v1/docs``), made by the app from its own OpenAPI document with our
own template: no CDN, no third-party script. Operations by tag, with their parameters, bodies, examples,
the scope each needs and the errors each may answer; then the conventions, the problem types and the
changelog."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, render_template

from api import PREFIX
from api.problems import KINDS
from app.extensions import limiter

blueprint = Blueprint("api_docs", __name__, url_prefix=PREFIX)
METHODS = ("get", "post", "put", "patch", "delete")

# The API's versions, newest first; the same list as docs/api.md's changelog.
CHANGELOG = [
    (
        "1.1.0",
        "2026-12",
        "Returns (list, read, confirm receipt: the shopper is refunded as from the back office) and "
        "reviews (list, read, reply, edit the reply); new scopes reviews:read and reviews:write. "
        "Unknown query-string parameters are refused and named (422), as unknown body fields are.",
    ),
    (
        "1.0.0",
        "2026-12",
        "First version: API keys and scopes, the shop, products and variants, stock and the till sync "
        "contract, the shop's orders, public shops and search, the town's shops, orders and figures, "
        "outbound webhooks.",
    ),
]


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """``node`` with its ``$ref`` followed (one level: the page shows nested schemas by name)."""
    if isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {})
        return target
    return node


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(tag, description, operations) in the document's tag order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = None
            if "requestBody" in operation:
                content = operation["requestBody"].get("content", {}).get("application/json", {})
                body = {
                    "schema": _schema_name(content.get("schema")),
                    "example": json.dumps(content["example"], indent=2, ensure_ascii=False)
                    if "example" in content
                    else None,
                }
            responses = []
            for status, response in sorted(operation.get("responses", {}).items()):
                resolved = _resolve(spec, response)
                content = resolved.get("content", {})
                kind = next(iter(content), "")
                responses.append(
                    {
                        "status": status,
                        "description": resolved.get("description", ""),
                        "content_type": kind,
                        "schema": _schema_name(content.get(kind, {}).get("schema")) if kind else "",
                    }
                )
            grouped.setdefault(operation.get("tags", ["api"])[0], []).append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "public": {} in operation.get("security", []),
                    "parameters": [
                        _resolve(spec, parameter) for parameter in operation.get("parameters", [])
                    ],
                    "body": body,
                    "responses": responses,
                }
            )
    described = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    return [(tag, described.get(tag, ""), grouped[tag]) for tag in described if tag in grouped]


def _schema_name(schema: Any) -> str:
    if isinstance(schema, dict) and "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    return ""


def _schemas(spec: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, bool, str]]]]:
    """Each schema's fields: (name, type, required, description)."""
    found = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        fields = []
        for field, detail in schema.get("properties", {}).items():
            kind = detail.get("type", "")
            if isinstance(kind, list):
                kind = " | ".join(kind)
            if "$ref" in detail:
                kind = _schema_name(detail)
            elif kind == "array" and "$ref" in detail.get("items", {}):
                kind = f"array of {_schema_name(detail['items'])}"
            if "enum" in detail:
                kind += " (" + ", ".join(str(value) for value in detail["enum"] if value is not None) + ")"
            fields.append((field, kind, field in required, detail.get("description", "")))
        found.append((name, fields))
    return found


@blueprint.route("/docs")
@limiter.exempt
def page() -> str:
    spec = current_app.extensions["marketplace-api"].spec.to_dict()
    return render_template(
        "api/docs.html",
        spec=spec,
        tags=_operations(spec),
        schemas=_schemas(spec),
        problems=sorted(KINDS.items()),
        changelog=CHANGELOG,
        prefix=PREFIX,
    )
