"""What every handler works with: the settings, the state, and the emission of events."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.stripe_emulator import localstripe
from devtools.stripe_emulator.events import WebhookDispatcher, WebhookEndpoint, build_event
from devtools.stripe_emulator.state import CardPricing, Clock, State, StripeObject, new_id

log = logging.getLogger(__name__)

# The API version of the stripe library this project pins; events say it unless a request names another.
DEFAULT_API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class Settings:
    """How the emulator is reached (``public_url``, for the links it hands out), where localstripe is,
    and the token its starter recognises it by (``GET /_emulator/identity``); Stripe's fee on card charges."""

    public_url: str
    localstripe_url: str | None = None
    localstripe_pid: int | None = None
    identity: str | None = None
    card_pricing: CardPricing = field(default_factory=CardPricing)


@dataclass(frozen=True)
class RequestInfo:
    """The API request a change came from, as an Event's ``request`` names it (none for browser pages)."""

    id: str | None = None
    idempotency_key: str | None = None
    stripe_version: str | None = None

    @classmethod
    def new(cls, idempotency_key: str | None = None, stripe_version: str | None = None) -> RequestInfo:
        return cls(new_id("req", 14), idempotency_key, stripe_version)


DASHBOARD = RequestInfo()


@dataclass
class Backend:
    settings: Settings
    clock: Clock = time.time
    state: State = field(init=False)
    webhooks: WebhookDispatcher = field(init=False)
    endpoints: list[WebhookEndpoint] = field(default_factory=list)
    api_version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        self.state = State(self.clock, card_pricing=self.settings.card_pricing)
        self.webhooks = WebhookDispatcher(self._record_delivery, self.clock)

    def emit(
        self,
        type: str,
        obj: StripeObject,
        previous: dict[str, Any] | None,
        request: RequestInfo,
        account: str | None,
    ) -> StripeObject:
        """Keep an Event and queue its deliveries; call with the state lock held, right after the change."""
        with self.state.lock:
            if request.stripe_version:
                self.api_version = request.stripe_version
            endpoints = [endpoint for endpoint in self.endpoints if endpoint.accepts(type)]
            event = build_event(
                type=type,
                obj=obj,
                previous=previous,
                created=self.state.now(),
                api_version=self.api_version,
                pending_webhooks=len(endpoints),
                request_id=request.id,
                idempotency_key=request.idempotency_key,
                account=account,
            )
            self.state.events.add(event)
            self.state.deliveries[event["id"]] = []
            self.webhooks.submit(event, endpoints)
            return event

    def _record_delivery(self, event_id: str, attempt: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.deliveries.setdefault(event_id, []).append(attempt)
            if attempt["delivered"] and event_id in self.state.events:
                event = self.state.events.get(event_id)
                event["pending_webhooks"] = max(0, event["pending_webhooks"] - 1)

    def add_endpoint(
        self, url: str, secret: str, enabled_events: tuple[str, ...] = ("*",)
    ) -> WebhookEndpoint:
        """Send the emulator's events to ``url``, and localstripe's too, so one endpoint sees them all."""
        endpoint = WebhookEndpoint(new_id("we", 24), url, secret, enabled_events)
        if self.settings.localstripe_url:
            events = None if "*" in enabled_events else list(enabled_events)
            localstripe.configure_webhook(self.settings.localstripe_url, endpoint.id, url, secret, events)
        with self.state.lock:
            self.endpoints.append(endpoint)
        return endpoint

    def clear_endpoints(self) -> list[WebhookEndpoint]:
        with self.state.lock:
            removed, self.endpoints = self.endpoints, []
        if self.settings.localstripe_url:
            for endpoint in removed:
                localstripe.configure_webhook(
                    self.settings.localstripe_url, endpoint.id, endpoint.url, endpoint.secret, []
                )
        return removed

    def close(self) -> None:
        self.webhooks.close()
