"""``POST /v1/account_links``: single-use links to the emulator's onboarding page, valid five minutes."""

from __future__ import annotations

import secrets

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import AccountLinkRecord, StripeObject

LIFETIME = 300  # seconds, as Stripe's
LINK_TYPES = ("account_onboarding", "account_update")


def create(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("account", "type", "refresh_url", "return_url", "collect", "collection_options"))
    account_id = p.string(params, "account", required=True)
    link_type = p.choice(params, "type", LINK_TYPES, required=True)
    refresh_url = p.url(params, "refresh_url", required=True)
    return_url = p.url(params, "return_url", required=True)
    p.choice(params, "collect", ("currently_due", "eventually_due"))
    p.mapping(params, "collection_options")
    assert account_id
    assert link_type
    assert refresh_url
    assert return_url
    state = call.backend.state
    with state.lock:
        account = state.accounts.get(account_id, param="account", status=400)
        if link_type == "account_update" and account["controller"]["requirement_collection"] == "stripe":
            # Documented: account_update links exist only where the platform collects requirements (Custom).
            raise p.invalid_param(
                "type",
                "You cannot create `account_update` type Account Links for accounts where Stripe collects "
                "requirements (Standard and Express accounts). Use `account_onboarding` instead.",
            )
        now = state.now()
        token = secrets.token_urlsafe(24)
        state.account_links[token] = AccountLinkRecord(
            token, account_id, link_type, refresh_url, return_url, expires_at=now + LIFETIME
        )
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + LIFETIME,
        "url": f"{call.backend.settings.public_url}/connect/onboarding/{token}",
    }


ROUTES = [ApiRoute("POST", "/v1/account_links", create)]
