"""The WSGI application: routes to the emulator's own handlers, everything else to localstripe.

API routes get Stripe's v1 treatment here, once for all resources: the secret key is required, the
form body is decoded, a POST's ``Idempotency-Key`` replays its first response, and errors take Stripe's
shape. State changes are serialized by the state lock, held while a response is built.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import control, pages, resources
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import Backend, RequestInfo, Settings
from devtools.stripe_emulator.errors import ApiError, NotHandled
from devtools.stripe_emulator.proxy import Proxy
from devtools.stripe_emulator.routing import ApiCall, ApiRoute, Route, json_response
from devtools.stripe_emulator.state import Clock, IdempotentResult

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "
    "See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
)


class Emulator:
    """The emulator as a WSGI callable; ``close()`` stops its webhook thread."""

    def __init__(self, settings: Settings, *, clock: Clock = time.time) -> None:
        self.backend = Backend(settings, clock)
        self.proxy = Proxy(settings.localstripe_url)
        routes: list[Route] = [*resources.ROUTES, *pages.ROUTES, *control.ROUTES]
        self._map = Map(
            [Rule(route.path, methods=[route.method], endpoint=route) for route in routes],
            strict_slashes=False,
            merge_slashes=False,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)

    def close(self) -> None:
        self.backend.close()

    def dispatch(self, request: Request) -> Response:
        try:
            route, args = self._map.bind_to_environ(request.environ).match()
        except HTTPException:
            return self.proxy.forward(request)
        if isinstance(route, ApiRoute):
            try:
                return self._api(route, request, dict(args))
            except NotHandled:
                return self.proxy.forward(request)
        try:
            return route.handler(self.backend, request, dict(args))
        except ApiError as error:
            return json_response(error.body(), error.status)

    def _api(self, route: ApiRoute, request: Request, args: dict[str, str]) -> Response:
        info = RequestInfo.new(
            request.headers.get("Idempotency-Key") if request.method == "POST" else None,
            request.headers.get("Stripe-Version"),
        )
        headers = {"Request-Id": str(info.id)}
        try:
            api_key = authenticate(request)
            query = request.query_string.decode("latin-1")
            uploads: dict[str, tuple[str, bytes]] = {}
            if request.mimetype == "multipart/form-data":
                # File uploads: the form's fields are parameters as usual, its files kept aside.
                body = urlencode(list(request.form.items(multi=True)))
                uploads = {name: (part.filename or "", part.read()) for name, part in request.files.items()}
            else:
                body = request.get_data(as_text=True)
            params = p.decode("&".join(part for part in (query, body) if part))
            account = request.headers.get("Stripe-Account") or None
            call = ApiCall(self.backend, params, args, info, api_key, account, uploads)
            state = self.backend.state
            with state.lock:
                key = info.idempotency_key
                scope = (f"{api_key}/{account}" if account else api_key, key) if key else None
                fingerprint = f"{request.method} {request.path} {p.fingerprint(params)}"
                for name, (filename, content) in sorted(uploads.items()):
                    fingerprint += f" {name}={filename}:{hashlib.sha256(content).hexdigest()}"
                if scope and (kept := state.idempotency.get(scope)) is not None:
                    if kept.fingerprint != fingerprint:
                        raise _idempotency_mismatch(str(key))
                    headers["Idempotent-Replayed"] = "true"
                    return Response(kept.body, kept.status, headers, mimetype="application/json")
                try:
                    text, status = json.dumps(route.handler(call), indent=2) + "\n", 200
                except ApiError as error:
                    if not (scope and error.executed):
                        raise
                    text, status = json.dumps(error.body(), indent=2) + "\n", error.status
                if scope:
                    # Stripe keeps no result for a request refused by validation: only those that ran.
                    state.idempotency[scope] = IdempotentResult(fingerprint, status, text)
            return Response(text, status, headers, mimetype="application/json")
        except ApiError as error:
            return json_response(error.body(), error.status, headers)


def authenticate(request: Request) -> str:
    """The secret key, from Bearer or Basic auth (key as user name), as Stripe accepts it; test keys only."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise ApiError(401, NO_KEY)
    if not re.fullmatch(r"(sk|rk)_test_\w+", key):
        raise ApiError(401, f"Invalid API Key provided: {key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}")
    return key


def _idempotency_mismatch(key: str) -> ApiError:
    return ApiError(
        400,
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request.",
        type="idempotency_error",
    )


def create_app(
    public_url: str = "http://127.0.0.1:8420", *, localstripe_url: str | None = None, clock: Clock = time.time
) -> Emulator:
    """An emulator for in-process use (tests with a WSGI client); without localstripe, unrouted paths 404."""
    return Emulator(Settings(public_url=public_url, localstripe_url=localstripe_url), clock=clock)
