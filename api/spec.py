"""The ``Api`` object: flask-smorest configured for our conventions (problem documents, bearer keys)."""

from __future__ import annotations

import copy
import functools
import http
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_smorest
from flask import Flask, Request, current_app
from flask_smorest import Api
from flask_smorest.utils import deepupdate, prepare_response
from webargs.flaskparser import FlaskParser, is_json_request

from api.problems import problem
from api.schemas import ProblemSchema

F = TypeVar("F", bound=Callable[..., Any])

DESCRIPTION = (
    "The shops' API of the marketplace: catalogue, stock (till sync), public search, the town's figures. "
    "Authenticate with `Authorization: Bearer <key>`; errors are `application/problem+json` (RFC 9457). "
    "See /api/v1/docs."
)


class Parser(FlaskParser):
    """webargs's parser, but a body sent as anything but JSON is refused (415) where an operation reads
    JSON: webargs would read it as no body at all, and a PATCH sent as a form would answer 200 having
    changed nothing. No body at all is still no body (its schema says what is required)."""

    def _raw_load_json(self, req: Request) -> Any:
        # A form's body is read (parsed) by then: its length or its fields tell that there was one.
        if not is_json_request(req) and (
            req.content_length or req.form or req.files or req.get_data(cache=True)
        ):
            raise problem(415)
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose arguments follow their schema's rule for unknown names in the
    query string too (webargs would drop them there): ``?limt=5`` is refused, named, not ignored."""

    ARGUMENTS_PARSER = Parser(unknown=None)


class MarketplaceApi(Api):
    """flask-smorest's Api, leaving errors to ``api.problems`` (its own handler would answer every error
    of the site, pages included, with JSON)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        """Every error response is a problem document (smorest's own are plain JSON)."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, "application/problem+json")
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Error (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def create_api(app: Flask) -> MarketplaceApi:
    api = MarketplaceApi(
        spec_kwargs={
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/", "description": "This site"}],
        }
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        "apiKey",
        {"type": "http", "scheme": "bearer", "description": "An API key: mk_live_… (shown once)"},
    )
    return api


ERROR_RESPONSES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    422: "UNPROCESSABLE_ENTITY",
    428: "PRECONDITION_REQUIRED",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}


IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "The same key and body within 24 h get the first answer again; another body is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def operation(
    blp: Any,
    scope: Any = None,
    *,
    shop: bool = True,
    errors: tuple[int, ...] = (),
    public: bool = False,
    idempotent: bool = False,
) -> Callable[[F], F]:
    """Put right under ``@blp.route``: the key check (``scope`` of the permission table, or ``public``)
    runs before anything reads the request, then ``Idempotency-Key`` (``idempotent``: a POST); the
    operation's security, header and error responses are documented from the same words."""
    from api import auth, idempotency

    def decorate(view: F) -> F:
        inner = idempotency.idempotent(view) if idempotent else view
        checked = auth.public(inner) if public else auth.scoped(scope, shop=shop)(inner)
        codes = {400, 429, *errors} | ({401} if public else {401, 403})
        security: list[dict[str, list[str]]] = [{}, {"apiKey": []}] if public else [{"apiKey": []}]
        access = "Public: no key needed." if public else f"Needs a key with the scope `{scope}`."
        # smorest reads the docstring's first line as the summary and the rest as the description: the
        # description given here replaces that rest, so it is kept, followed by the scope.
        rest = inspect.cleandoc(view.__doc__ or "").partition("\n\n")[2].strip()
        description = f"{rest}\n\n{access}" if rest else access
        return cast(
            F,
            _documented(
                checked,
                parameters=[IDEMPOTENCY_HEADER] if idempotent else None,
                responses=[(code, ERROR_RESPONSES[code]) for code in sorted(codes)],
                security=security,
                description=description,
            ),
        )

    return decorate


def _documented(
    view: Callable[..., Any],
    *,
    parameters: list[dict[str, Any]] | None,
    responses: list[tuple[int, str]],
    security: list[dict[str, list[str]]],
    description: str,
) -> Callable[..., Any]:
    """``view`` with the doc that ``blp.doc(parameters=...)``, then ``blp.alt_response(code, response=...)``
    for each response, then ``blp.doc(security=..., description=...)`` would give it, in one wrapper:
    each of smorest's decorators wraps the view again and keeps its own deep copy of the whole doc (some
    1.5 MB over the API's operations in every worker)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return current_app.ensure_sync(view)(*args, **kwargs)

    doc = copy.deepcopy(getattr(wrapper, "_apidoc", {}))
    if parameters is not None:
        doc["manual_doc"] = deepupdate(doc.get("manual_doc", {}), {"parameters": parameters})
    documented = doc.setdefault("response", {}).setdefault("responses", {})
    for code, response in responses:
        documented.setdefault(code, []).append(response)
    doc["manual_doc"] = deepupdate(
        doc.get("manual_doc", {}), {"security": security, "description": description}
    )
    wrapper._apidoc = doc  # type: ignore[attr-defined] # where smorest's decorators keep a view's doc
    return wrapper
