"""Stripe Event objects and their signed webhook deliveries.

Deliveries run on one background thread, in order, after the change that caused them has been answered:
Stripe delivers asynchronously, and an app whose webhook handler shares a single worker with the request
that triggered the event must not deadlock on the emulator. Failures are recorded, never raised; there
are no retries (Stripe retries for three days).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from devtools.stripe_emulator import outgoing
from devtools.stripe_emulator.state import StripeObject, new_id

log = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def previous_attributes(before: StripeObject, after: StripeObject) -> dict[str, Any]:
    """What changed, with its old values, nested like Stripe's ``data.previous_attributes``."""
    changed: dict[str, Any] = {}
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = deepcopy(old)
    return changed


def build_event(
    *,
    type: str,
    obj: StripeObject,
    previous: dict[str, Any] | None,
    created: int,
    api_version: str,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
    account: str | None,
) -> StripeObject:
    """An Event as documented: a snapshot of the object, and for Connect events the account it concerns."""
    data: dict[str, Any] = {"object": deepcopy(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    event: StripeObject = {"id": new_id("evt", 24), "object": "event"}
    if account is not None:
        event["account"] = account
    event.update(
        {
            "api_version": api_version,
            "created": created,
            "data": data,
            "livemode": False,
            "pending_webhooks": pending_webhooks,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type,
        }
    )
    return event


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """``Stripe-Signature`` exactly as Stripe computes it: HMAC-SHA256 of ``"{t}.{payload}"``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where events are sent, signed with ``secret``; ``enabled_events`` may be ``["*"]``."""

    id: str
    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)

    def accepts(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "enabled_events": list(self.enabled_events)}


Recorder = Callable[[str, dict[str, Any]], None]


@dataclass
class WebhookDispatcher:
    """Posts events to their endpoints from one background thread and reports each attempt to ``record``."""

    record: Recorder
    clock: Callable[[], float]
    timeout: float = 10.0
    _queue: queue.Queue[tuple[StripeObject, tuple[WebhookEndpoint, ...]] | None] = field(
        default_factory=queue.Queue
    )
    _thread: threading.Thread | None = None
    _opener: urllib.request.OpenerDirector = field(default_factory=outgoing.opener)

    def submit(self, event: StripeObject, endpoints: Collection[WebhookEndpoint]) -> None:
        if not endpoints:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
            self._thread.start()
        self._queue.put((deepcopy(event), tuple(endpoints)))

    def wait_idle(self) -> None:
        """Block until every submitted event has been attempted (for tests driving the app in-process)."""
        self._queue.join()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                event, endpoints = item
                payload = json.dumps(event, indent=2)
                for endpoint in endpoints:
                    self.record(event["id"], self._deliver(event, payload, endpoint))
            finally:
                self._queue.task_done()

    def _deliver(self, event: StripeObject, payload: str, endpoint: WebhookEndpoint) -> dict[str, Any]:
        timestamp = int(self.clock())
        request = urllib.request.Request(  # noqa: S310 - endpoint URLs are checked to be http(s)
            endpoint.url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": signature_header(payload, endpoint.secret, timestamp),
            },
        )
        attempt: dict[str, Any] = {"endpoint": endpoint.id, "url": endpoint.url, "attempted_at": timestamp}
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                attempt.update(status=response.status, delivered=200 <= response.status < 300, error=None)
        except urllib.error.HTTPError as error:
            with error:
                attempt.update(status=error.code, delivered=False, error=f"HTTP {error.code}")
        except (OSError, ValueError) as error:
            attempt.update(status=None, delivered=False, error=str(error))
        log.info(
            "webhook %s %s to %s: %s", event["type"], event["id"], endpoint.url, attempt["error"] or "ok"
        )
        return attempt
