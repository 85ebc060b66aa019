"""``Idempotency-Key`` on POSTs: the same key and body get the first answer again, for 24 hours.

The key is claimed before the view runs (a row under a unique index: a concurrent request with the same
key waits for the first to commit, then replays its answer). Only answers below 500 are kept; a refused
request (4xx raised by the view) leaves nothing, so it may be retried as is once corrected… with another
key if its body changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from api import services
from api.auth import caller
from api.problems import problem
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
KEPT_HEADERS = ("ETag", "Location", "Content-Type")
MAX_KEY_LENGTH = 255


def request_fingerprint() -> str:
    """SHA-256 of the method, path, query and body; a JSON body is read and written back with its keys
    sorted, so the same object sent with its keys in another order is the same request."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        body = raw
    head = f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def _key() -> str | None:
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not 0 < len(value) <= MAX_KEY_LENGTH or not value.isprintable():
        raise problem(
            400,
            _l("L’en-tête Idempotency-Key fait de 1 à 255 caractères imprimables."),
            errors=[{"field": HEADER, "in": "header", "message": str(_l("Valeur non valable."))}],
        )
    return value


def _replay(record: Any) -> Any:
    response = current_app.response_class(record.response_body or "", status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key`` on this POST view (placed under the auth decorator)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        api_key = caller().key
        fingerprint = request_fingerprint()
        record = services.idempotency_record(api_key, key)
        if record is None:
            record = services.start_idempotent(api_key, key, fingerprint)
            if record is None:  # claimed meanwhile by a request that has now committed
                record = services.idempotency_record(api_key, key)
                if record is None:
                    raise problem(
                        409, _l("Cette clé d’idempotence vient de servir : réessayez."), kind="idempotency"
                    )
            else:
                return _run(record, view, args, kwargs)
        if record.request_hash != fingerprint:
            raise problem(
                409,
                _l("Cette clé d’idempotence a déjà servi pour une autre requête : utilisez-en une nouvelle."),
                kind="idempotency",
            )
        if record.status_code is None:
            raise problem(
                409, _l("La première requête avec cette clé est encore en cours."), kind="idempotency"
            )
        return _replay(record)

    return cast(F, wrapped)


def _run(record: Any, view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except HTTPException:
        db.session.rollback()  # the claim goes with the refused request: nothing was done
        raise
    if response.status_code >= 500:
        db.session.rollback()
        return response
    record = db.session.merge(record)
    services.finish_idempotent(
        record,
        response.status_code,
        response.get_data(as_text=True),
        {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
    )
    db.session.commit()
    return response
