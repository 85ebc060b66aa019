"""``POST /v1/accounts/{id}/login_links``: the Express dashboard, once the account has been onboarded."""

from __future__ import annotations

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import StripeObject


def create(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        account = state.accounts.get(call.args["account"], param="account")
        if account["controller"]["stripe_dashboard"]["type"] != "express":
            raise p.invalid_param(
                "account", "Login links can only be created for accounts that use the Express Dashboard."
            )
        if not account["details_submitted"]:
            raise p.invalid_param(
                "account", "Cannot create a login link for an account that has not completed onboarding."
            )
        return {
            "object": "login_link",
            "created": state.now(),
            "url": f"{call.backend.settings.public_url}/connect/express/{account['id']}",
        }


ROUTES = [ApiRoute("POST", "/v1/accounts/<account>/login_links", create)]
