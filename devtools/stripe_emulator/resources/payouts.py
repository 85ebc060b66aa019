"""Payouts to a bank: ``POST /v1/payouts``, and a test control to make one fail.

``GET /v1/payouts`` and ``GET /v1/payouts/{id}`` are answered by :mod:`.balance`. With a ``Stripe-Account``
header these are a connected account's payouts; without one, the platform's own (Stripe pays the
platform's balance out to the platform's bank the same way).

- ``POST /v1/payouts`` (``amount``, ``currency``, ``description``, ``metadata``, ``method``,
  ``statement_descriptor``): a manual payout (``automatic: false``) of the account's (or the platform's)
  available balance to its default bank account; more than the available balance is refused with
  ``balance_insufficient``, as Stripe does. Money is paid at once (``status: "paid"``, ``payout.created``
  then ``payout.paid``; the platform's events carry no ``account``), as the emulator has no pending
  period. A connected account's automatic payouts (Stripe's daily schedule) are simulated on demand by
  ``POST /_emulator/accounts/{id}/payout``.
- ``POST /_emulator/payouts/{id}/fail`` ``{"code"?: "account_closed", "message"?}``: the bank returned the
  payout: ``status: "failed"`` with Stripe's ``failure_code`` and ``failure_message``, the amount back on the
  balance it left (a ``payout_failure`` balance transaction, ``failure_balance_transaction``), and
  ``payout.failed``.
"""

from __future__ import annotations

import re
from copy import deepcopy

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import balances
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import DASHBOARD, Backend
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.routing import ApiCall, ApiRoute, WebRoute, json_response
from devtools.stripe_emulator.state import StripeObject

CREATE_PARAMS = ("amount", "currency", "description", "metadata", "method", "statement_descriptor")
# Stripe's payout failure codes and the messages it gives with them.
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the number, of "
    "payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account could be "
    "located with those details.",
}


def create(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, CREATE_PARAMS)
    if params.get("amount") in (None, ""):
        raise p.missing_param("amount")
    amount = p.integer(params["amount"], "amount")
    if amount < 1:
        raise p.invalid_param("amount", "Invalid positive integer", code="parameter_invalid_integer")
    currency = (p.string(params, "currency", required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise p.invalid_param("currency", f"Invalid currency: {currency}.")
    if p.choice(params, "method", ("standard", "instant")) == "instant":
        raise p.invalid_param(
            "method", "The emulator pays out with the standard method only: instant payouts are not emulated."
        )
    descriptor = p.string(params, "statement_descriptor")
    if descriptor is not None and len(descriptor) > 22:
        raise p.invalid_param("statement_descriptor", "The statement descriptor is 22 characters at most.")
    description = p.string(params, "description")
    metadata = p.merge_metadata({}, p.mapping(params, "metadata"))
    state = call.backend.state
    with state.lock:
        account = balances.acting_account(state, call.account, call.api_key)
        return balances.pay_out(
            call.backend,
            account,
            currency,
            amount,
            call.request,
            description=description,
            metadata=metadata,
            statement_descriptor=descriptor,
        )


def fail(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = request.get_json(force=True, silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object")
    p.check_known(body, ("code", "message"))
    code = body.get("code") or "account_closed"
    if not isinstance(code, str) or not re.fullmatch(r"[a-z_]+", code):
        raise p.invalid_param("code", "code must be one of Stripe's payout failure codes (account_closed...)")
    message = body.get("message") or FAILURE_MESSAGES.get(code, f"The payout failed ({code}).")
    if not isinstance(message, str):
        raise p.invalid_param("message", "message must be a string")
    state = backend.state
    with state.lock:
        payout = state.payouts.get(args["payout"], param="payout")
        account = state.owners.get(payout["id"])
        if payout["status"] == "failed":
            return json_response(payout)
        before = deepcopy(payout)
        returned = balances.record(
            state,
            account,
            amount=payout["amount"],
            currency=payout["currency"],
            type="payout_failure",
            reporting_category="payout_reversal",
            source=payout["id"],
            description="STRIPE PAYOUT FAILURE",
        )
        payout.update(
            status="failed",
            failure_code=code,
            failure_message=message,
            failure_balance_transaction=returned["id"],
        )
        backend.emit("payout.failed", payout, previous_attributes(before, payout), DASHBOARD, account=account)
        return json_response(payout)


ROUTES = [ApiRoute("POST", "/v1/payouts", create)]
CONTROL_ROUTES = [WebRoute("POST", "/_emulator/payouts/<payout>/fail", fail)]
