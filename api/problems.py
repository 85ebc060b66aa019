"""Errors as ``application/problem+json`` (RFC 9457), in the caller's language.

Every error of ``/api/`` goes through here: those the views raise (``problem``), the request
validation of flask-smorest/webargs (each invalid field named in ``errors``), the rate limiter's
429, routing's 404/405, and an unexpected 500 (no detail given out). Pages outside the API keep the
site's HTML error pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, json, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.routing import RefusedRequest

PROBLEM_MIMETYPE = "application/problem+json"
DOCS_PATH = "/api/v1/docs"

# A problem type for each status the API answers with (its anchor in the documentation page).
KINDS: Mapping[int, tuple[str, Any]] = {
    400: ("bad-request", _l("Requête illisible")),
    401: ("unauthorized", _l("Clé d’API absente ou non valable")),
    403: ("forbidden", _l("Autorisation manquante")),
    404: ("not-found", _l("Introuvable")),
    405: ("method-not-allowed", _l("Méthode non permise")),
    409: ("conflict", _l("Conflit")),
    412: ("precondition-failed", _l("La ressource a changé")),
    413: ("too-large", _l("Requête trop volumineuse")),
    415: ("unsupported-media-type", _l("Type de contenu non pris en charge")),
    422: ("validation", _l("Données non valables")),
    428: ("precondition-required", _l("En-tête If-Match requis")),
    429: ("rate-limited", _l("Trop de requêtes")),
    500: ("server-error", _l("Erreur interne")),
    503: ("unavailable", _l("Service momentanément indisponible")),
}

DETAILS: Mapping[int, Any] = {
    400: _l("La requête n’a pas pu être lue (JSON mal formé ?)."),
    401: _l("Envoyez une clé d’API valable dans l’en-tête Authorization: Bearer <clé>."),
    403: _l("Cette clé n’a pas l’autorisation nécessaire pour cette opération."),
    404: _l("Cette ressource n’existe pas, ou n’est pas à la boutique de cette clé."),
    405: _l("Cette méthode n’est pas permise sur cette adresse."),
    413: _l("La requête dépasse la taille permise."),
    415: _l("Envoyez du JSON (Content-Type: application/json)."),
    422: _l("Certains champs ne sont pas valables : voyez « errors »."),
    429: _l("Trop de requêtes pour cette clé : patientez avant de réessayer."),
    500: _l("Une erreur est survenue de notre côté. Réessayez dans un instant."),
}

# marshmallow's and webargs's messages, in the caller's language (the field's name says which).
FIELD_MESSAGES: Mapping[str, Any] = {
    "Unknown field.": _l("Champ inconnu."),
    "Missing data for required field.": _l("Champ obligatoire."),
    "Field may not be null.": _l("Ce champ ne peut pas être nul."),
    "Not a valid integer.": _l("Nombre entier attendu."),
    "Not a valid string.": _l("Texte attendu."),
    "Not a valid boolean.": _l("Booléen attendu (true ou false)."),
    "Not a valid list.": _l("Liste attendue."),
    "Not a valid mapping type.": _l("Objet attendu."),
    "Not a valid datetime.": _l("Date et heure ISO 8601 attendues."),
    "Not a valid date.": _l("Date ISO 8601 attendue."),
    "Invalid input type.": _l("Type de valeur non valable."),
    "Invalid value.": _l("Valeur non valable."),
    "Invalid JSON body.": _l("JSON mal formé."),
    "Not a valid URL.": _l("Adresse web non valable."),
    "Send on_hand or delta (one of them).": _l("Envoyez on_hand ou delta (l’un des deux)."),
    "Must not be zero.": _l("Ne doit pas valoir zéro."),
    "Must not be before start.": _l("Ne doit pas précéder start."),
    "One year at most.": _l("Un an au plus."),
}
# marshmallow's validators' messages, with their bounds.
FIELD_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (
        re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\."),
        _l("Doit être entre %(min)s et %(max)s."),
    ),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."), _l("Doit valoir au moins %(min)s.")),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."), _l("Doit valoir au plus %(max)s.")),
    (
        re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."),
        _l("Longueur entre %(min)s et %(max)s."),
    ),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."), _l("Longueur de %(max)s au plus.")),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."), _l("Longueur d’au moins %(min)s.")),
    (re.compile(r"Must be one of: (?P<choices>.*)\."), _l("Valeurs permises : %(choices)s.")),
)


class Problem(HTTPException):
    """An API error with its RFC 9457 members; ``extra`` adds members of its own (``held``...)."""

    def __init__(
        self,
        status: int,
        detail: Any = None,
        errors: list[dict[str, Any]] | None = None,
        kind: str | None = None,
        title: Any = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description=str(detail) if detail is not None else None)
        self.code = status
        self.detail = detail
        self.errors = errors or []
        self.kind = kind
        self.title = title
        self.extra_headers = dict(headers or {})
        self.extra = extra


def problem(status: int, detail: Any = None, **members: Any) -> Problem:
    """Raise it: ``raise problem(404)``."""
    return Problem(status, detail, **members)


def field_errors(messages: Any, location: str | None = None, prefix: str = "") -> list[dict[str, Any]]:
    """webargs's nested ``{"json": {"variants": {"0": {"sku": ["..."]}}}}`` as a flat list naming each
    field by its dotted path ("variants.0.sku"), messages translated."""
    found: list[dict[str, Any]] = []
    if isinstance(messages, Mapping):
        for name, value in messages.items():
            if location is None and prefix == "":
                found += field_errors(value, str(name), "")
                continue
            path = prefix if str(name) == "_schema" else f"{prefix}.{name}" if prefix else str(name)
            found += field_errors(value, location, path)
    elif isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            for text in messages:
                found.append(_error(location, prefix, text))
        else:
            for item in messages:
                found += field_errors(item, location, prefix)
    elif messages is not None:
        found.append(_error(location, prefix, str(messages)))
    return found


def translated(text: str) -> str:
    """A marshmallow message in the caller's language (as is when it is not one we know)."""
    if text in FIELD_MESSAGES:
        return str(FIELD_MESSAGES[text])
    for pattern, message in FIELD_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return str(message) % found.groupdict()
    return text


def _error(location: str | None, field: str, text: str) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field or (location or ""), "message": translated(text)}
    if location:
        error["in"] = "body" if location == "json" else location
    return error


def render(error: HTTPException) -> Response:
    """The problem document of any HTTP error raised while serving the API."""
    status = error.code or 500
    kind, title = KINDS.get(status, ("about:blank", error.name))
    body: dict[str, Any] = {"type": f"{DOCS_PATH}#problem-{kind}", "title": "", "status": status}
    headers: dict[str, str] = {}
    if isinstance(error, Problem):
        kind = error.kind or kind
        body["type"] = f"{DOCS_PATH}#problem-{kind}"
        title = error.title or title
        detail = error.detail if error.detail is not None else DETAILS.get(status, title)
        body["detail"] = str(detail)
        if error.errors:
            body["errors"] = error.errors
        body.update(error.extra)
        headers.update(error.extra_headers)
    else:
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        # A request refused at the edge (app/routing.py) says why; other errors have their status's words.
        body["detail"] = str(
            error.description if isinstance(error, RefusedRequest) else DETAILS.get(status, title)
        )
        if messages:
            body["errors"] = field_errors(messages)
            if status == 400:  # webargs: a body that is not JSON
                body["detail"] = str(DETAILS[400])
        headers.update(data.get("headers") or {})
        allowed = getattr(error, "valid_methods", None)
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(allowed)
        retry = getattr(error, "retry_after", None)
        if status == 429 and retry:
            headers["Retry-After"] = str(retry)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    body["title"] = str(title)
    body.setdefault("detail", str(title))
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIMETYPE
    )
    for name, value in headers.items():
        response.headers[name] = value
    response.headers["Content-Language"] = str(get_locale() or "fr")
    response.headers["Cache-Control"] = "no-store"
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def install(app: Flask) -> None:
    """Answer errors under ``/api/`` with problem documents, leaving the site's own pages to the
    handlers already registered (wrapped, so that they still serve every other path)."""
    handlers = app.error_handler_spec.setdefault(None, {})
    site_http: Callable[[Any], Any] | None = handlers.get(None, {}).get(HTTPException)
    site_500: Callable[[Any], Any] | None = handlers.get(500, {}).get(InternalServerError)

    def http_error(error: HTTPException) -> Any:
        if is_api_request() and (error.code or 500) >= 400:
            if (error.code or 500) >= 500:
                db.session.rollback()
            return render(error)
        return site_http(error) if site_http is not None else error

    def server_error(error: InternalServerError) -> Any:
        if is_api_request():
            db.session.rollback()
            return render(error)
        return site_500(error) if site_500 is not None else error

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, server_error)
