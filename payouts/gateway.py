"""The Stripe gateway: every call to Stripe goes through here, with the official library.

The client is built from configuration: Stripe itself in production, the local emulator (an HTTP
server on 127.0.0.1 speaking Stripe's API) in development and tests. Every write carries an
idempotency key derived from the business object, so a retry never creates a second thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from flask import current_app

# Stripe's own errors, re-exported so that callers need not import stripe.
StripeError = stripe.StripeError


def client() -> stripe.StripeClient:
    """One client per app and configuration, so HTTP connections to Stripe are pooled and reused."""
    config = current_app.config
    key, base = config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE")
    cache: dict[tuple[str, str | None], tuple[stripe.StripeClient, stripe.HTTPClient]]
    cache = current_app.extensions.setdefault("stripe_clients", {})
    if (key, base) not in cache:
        http_client = stripe.RequestsClient(timeout=20)
        cache[(key, base)] = (
            stripe.StripeClient(
                key,
                base_addresses={"api": base, "connect": base} if base else None,
                max_network_retries=2,
                http_client=http_client,
            ),
            http_client,
        )
    return cache[(key, base)][0]


def close_clients(app: Any) -> None:
    """Close the pooled connections (tests, and a clean shutdown)."""
    for _, http_client in app.extensions.pop("stripe_clients", {}).values():
        http_client.close()


@dataclass(frozen=True)
class ConnectedAccount:
    """What the marketplace keeps of a connected account's state."""

    id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str]
    disabled_reason: str | None

    @classmethod
    def from_stripe(cls, account: Any) -> ConnectedAccount:
        """From an Account (a StripeObject, not a dict since stripe 16) or its dict in a webhook."""
        if hasattr(account, "to_dict"):
            account = account.to_dict()
        requirements = account.get("requirements") or {}
        due = list(requirements.get("currently_due") or []) + [
            item
            for item in requirements.get("past_due") or []
            if item not in (requirements.get("currently_due") or [])
        ]
        return cls(
            id=account["id"],
            charges_enabled=bool(account.get("charges_enabled")),
            payouts_enabled=bool(account.get("payouts_enabled")),
            details_submitted=bool(account.get("details_submitted")),
            requirements=due,
            disabled_reason=requirements.get("disabled_reason"),
        )


def create_express_account(*, shop_id: int, email: str, country: str, business_name: str) -> ConnectedAccount:
    """An Express account for a shop, able to receive transfers. One per shop, whatever the retries."""
    account = client().v1.accounts.create(
        params={
            "type": "express",
            "country": country,
            "email": email,
            "business_type": "company",
            "business_profile": {"name": business_name},
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"shop_id": str(shop_id)},
        },
        options={"idempotency_key": f"shop-{shop_id}-express-account"},
    )
    return ConnectedAccount.from_stripe(account)


def retrieve_account(account_id: str) -> ConnectedAccount:
    return ConnectedAccount.from_stripe(client().v1.accounts.retrieve(account_id))


def onboarding_link(account_id: str, *, refresh_url: str, return_url: str) -> str:
    """A single-use link to Stripe's hosted onboarding (it expires within minutes: make it on demand)."""
    link = client().v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return str(link["url"])


def dashboard_link(account_id: str) -> str:
    """A single-use login link to the shop's Express dashboard."""
    return str(client().v1.accounts.login_links.create(account_id)["url"])


def construct_event(payload: bytes, signature: str) -> Any:
    """Verify a webhook's signature and parse it; raises ValueError or SignatureVerificationError."""
    return stripe.Webhook.construct_event(payload, signature, current_app.config["STRIPE_WEBHOOK_SECRET"])


SignatureVerificationError = stripe.SignatureVerificationError
