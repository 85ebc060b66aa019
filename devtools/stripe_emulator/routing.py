"""The route tables' building blocks: a resource module lists its routes, the app dispatches them.

Two kinds of route: API routes speak Stripe's v1 conventions (auth, form parameters, idempotency, JSON
errors), and web routes are everything the emulator serves besides (browser pages, ``/_emulator``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.params import Params
from devtools.stripe_emulator.state import StripeObject


@dataclass(frozen=True)
class ApiCall:
    """One authenticated v1 request, decoded."""

    backend: Backend
    params: Params
    args: dict[str, str]  # from the path, e.g. {"account": "acct_..."}
    request: RequestInfo
    api_key: str
    account: str | None = None  # the Stripe-Account header: acting as that connected account
    # A multipart body's file parts (``POST /v1/files``): field name -> (filename, content).
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)


ApiHandler = Callable[[ApiCall], StripeObject]
WebHandler = Callable[[Backend, Request, dict[str, str]], Response]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # a Werkzeug rule: "/v1/accounts/<account>"
    handler: ApiHandler


@dataclass(frozen=True)
class WebRoute:
    method: str
    path: str
    handler: WebHandler


Route = ApiRoute | WebRoute


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, indent=2) + "\n", status, headers, mimetype="application/json")
