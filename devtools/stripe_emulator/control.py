"""``/_emulator/...``: what tests and developers use to steer the emulator. No auth; 127.0.0.1 only.

These do what Stripe does on its own side (verification, a holder going through onboarding, a cardholder
going through 3-D Secure) so that the app's reactions (its webhook handler above all) can be exercised
without a browser.
"""

from __future__ import annotations

import os
import re

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import localstripe, money_control
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import DASHBOARD, Backend
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.resources import accounts, disputes, payment_intents, payouts
from devtools.stripe_emulator.routing import WebRoute, json_response


def health(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    settings = backend.settings
    return json_response(
        {"status": "ok", "localstripe": {"url": settings.localstripe_url, "pid": settings.localstripe_pid}}
    )


def identity(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    """The token the emulator was started with: its starter compares it with the one it passed."""
    token = backend.settings.identity
    return json_response({"object": "stripe_emulator", "token": token, "pid": os.getpid()})


def list_webhooks(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    with backend.state.lock:
        return json_response({"data": [endpoint.public() for endpoint in backend.endpoints]})


def add_webhook(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    url, secret, events = body.get("url"), body.get("secret"), body.get("events", ["*"])
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise ApiError(400, "url must be an http(s) URL", param="url")
    if not isinstance(secret, str) or not secret:
        raise ApiError(400, "secret is required (whsec_...)", param="secret")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ApiError(400, 'events must be a list of event types, or ["*"]', param="events")
    try:
        endpoint = backend.add_endpoint(url, secret, tuple(events))
    except localstripe.LocalstripeError as error:
        raise ApiError(502, str(error), type="api_error") from None
    return json_response(endpoint.public())


def clear_webhooks(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    try:
        removed = backend.clear_endpoints()
    except localstripe.LocalstripeError as error:
        raise ApiError(502, str(error), type="api_error") from None
    return json_response({"deleted": [endpoint.id for endpoint in removed]})


def complete(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    now = backend.state.now()
    account = accounts.change(
        backend, args["account"], lambda a: accounts.complete_onboarding(a, now), DASHBOARD
    )
    return json_response(account)


def requirements(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    now = backend.state.now()
    account = accounts.change(
        backend, args["account"], lambda a: accounts.set_requirements(a, body, now), DASHBOARD
    )
    return json_response(account)


def authenticate(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    """As if the cardholder went through the 3-D Secure page: ``{"success": true}`` (default) or false."""
    body = p.json_body(request)
    p.check_known(body, ("success",))
    success = p.boolean(body.get("success", True), "success")
    intent = payment_intents.authenticate(backend, args["intent"], success=success, request=DASHBOARD)
    return json_response(intent)


def list_events(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    event_type = request.args.get("type")
    with backend.state.lock:
        data = [
            {"event": event, "deliveries": backend.state.deliveries.get(event["id"], [])}
            for event in reversed(list(backend.state.events))
            if event_type is None or event["type"] == event_type
        ]
        return json_response({"data": data})


ROUTES = [
    WebRoute("GET", "/_emulator/health", health),
    WebRoute("GET", "/_emulator/identity", identity),
    WebRoute("GET", "/_emulator/webhooks", list_webhooks),
    WebRoute("POST", "/_emulator/webhooks", add_webhook),
    WebRoute("DELETE", "/_emulator/webhooks", clear_webhooks),
    WebRoute("POST", "/_emulator/accounts/<account>/complete", complete),
    WebRoute("POST", "/_emulator/accounts/<account>/requirements", requirements),
    WebRoute("POST", "/_emulator/payment_intents/<intent>/authenticate", authenticate),
    WebRoute("GET", "/_emulator/events", list_events),
    *money_control.ROUTES,  # balances, payouts, failing transfers
    *disputes.CONTROL_ROUTES,  # disputes won or lost, their fee
    *payouts.CONTROL_ROUTES,  # payouts the bank returns
]
