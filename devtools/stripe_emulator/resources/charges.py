"""Charges: made by confirming a PaymentIntent (one per attempt), read with ``/v1/charges``.

A charge copies from its PaymentIntent what Stripe copies (amount, description, metadata, receipt email,
``transfer_group``), so that a platform's transfers can name it. Charges made in localstripe (a direct
``POST /v1/charges``) are still localstripe's: retrieving one goes on to it, but they are not listed here.
"""

from __future__ import annotations

from devtools.stripe_emulator import balances, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import NotHandled
from devtools.stripe_emulator.resources.payment_methods import TestCard
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

_APPROVED = {
    "advice_code": None,
    "network_advice_code": None,
    "network_decline_code": None,
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "risk_score": 20,
    "seller_message": "Payment complete.",
    "type": "authorized",
}


def new(
    state: State, intent: StripeObject, payment_method: StripeObject, card: TestCard, *, authenticated: bool
) -> StripeObject:
    """The charge of one attempt at paying ``intent``: succeeded, or failed as ``card`` is declined."""
    decline = card.decline
    succeeded = decline is None
    details = payment_method["card"]
    charge: StripeObject = {
        "id": new_id("ch", 24),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": payment_method["billing_details"],
        "calculated_statement_descriptor": "STRIPE EMULATOR",
        "captured": succeeded,
        "created": state.now(),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if decline is None else decline.code,
        "failure_message": None if decline is None else decline.message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": dict(_APPROVED)
        if decline is None
        else {
            **_APPROVED,
            "network_status": "declined_by_network",
            "reason": decline.decline_code,
            "seller_message": decline.seller_message,
            "type": decline.outcome_type,
        },
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {
            "card": {
                "amount_authorized": intent["amount"] if succeeded else None,
                "brand": details["brand"],
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": None},
                "country": details["country"],
                "exp_month": details["exp_month"],
                "exp_year": details["exp_year"],
                "fingerprint": details["fingerprint"],
                "funding": details["funding"],
                "installments": None,
                "last4": details["last4"],
                "mandate": None,
                "network": details["brand"],
                "network_token": {"used": False},
                "regulated_status": "unregulated",
                "three_d_secure": _three_d_secure() if authenticated else None,
                "wallet": None,
            },
            "type": "card",
        },
        "radar_options": {},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if succeeded else "failed",
        "transfer_data": None,
        "transfer_group": intent["transfer_group"],
    }
    if succeeded:
        balances.charge_succeeded(state, charge)  # its balance_transaction: +amount on the platform
    return state.charges.add(charge)


def _three_d_secure() -> StripeObject:
    return {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05",
        "exemption_indicator": None,
        "result": "authenticated",
        "result_reason": None,
        "transaction_id": None,
        "version": "2.2.0",
    }


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        if call.args["charge"] not in state.charges:
            raise NotHandled  # one of localstripe's
        paths = expand.requested(call.params, "charge")
        p.check_known(call.params, ())
        return expand.expanded(state, state.charges.get(call.args["charge"]), paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "charge", is_list=True)
    p.check_known(
        params,
        (
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "customer",
            "payment_intent",
            "transfer_group",
        ),
    )
    filters = {key: p.string(params, key) for key in ("customer", "payment_intent", "transfer_group")}
    state = call.backend.state
    with state.lock:
        page = state.charges.page(
            params, where=lambda c: all(value is None or c[key] == value for key, value in filters.items())
        )
        return expand.expanded(state, page, paths)


ROUTES = [
    ApiRoute("GET", "/v1/charges", list_all),
    ApiRoute("GET", "/v1/charges/<charge>", retrieve),
]
