"""Everything the emulator does not answer goes to localstripe as it came, and comes back as it went."""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import outgoing
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.routing import json_response

# Headers about one hop of the connection, not the request; the length is recomputed by urllib.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
    }
)
_NOT_RELAYED = _HOP_BY_HOP | {"server", "date", "content-encoding"}


class Proxy:
    def __init__(self, base_url: str | None, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._opener = outgoing.opener()

    def forward(self, request: Request) -> Response:
        if self.base_url is None:
            return _unrecognized(request)
        url = self.base_url + quote(request.path, safe="/:@!$&'()*+,;=-._~")
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        body = request.get_data()
        upstream = urllib.request.Request(  # noqa: S310 - base_url is the http://127.0.0.1 localstripe
            url,
            data=body if body or request.method in ("POST", "PUT", "PATCH") else None,
            method=request.method,
            headers={k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP},
        )
        try:
            with self._opener.open(upstream, timeout=self.timeout) as answer:
                status, headers, content = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            with error:
                status, headers, content = error.code, error.headers, error.read()
        except OSError as error:
            message = f"The Stripe emulator could not reach localstripe at {self.base_url}: {error}"
            return json_response(ApiError(502, message, type="api_error").body(), 502)
        if status == 404 and "json" not in (headers.get("Content-Type") or ""):
            # localstripe's router answers unknown paths with a text 404; Stripe says so in its error shape.
            return _unrecognized(request)
        return Response(content, status, _relayed(headers))


def _relayed(headers: Message) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in _NOT_RELAYED]


def _unrecognized(request: Request) -> Response:
    message = (
        f"Unrecognized request URL ({request.method}: {request.path}). "
        "Neither the Stripe emulator nor localstripe implements it."
    )
    return json_response(ApiError(404, message).body(), 404)
