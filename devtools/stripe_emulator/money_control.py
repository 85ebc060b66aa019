"""``/_emulator/...`` for money: balances, payouts and failing transfers, as tests need to steer them.

- ``POST /_emulator/balance`` ``{"available": 0, "currency"?: "eur"}``: the platform's available balance
  set by an ``adjustment`` balance transaction (to test ``balance_insufficient``);
- ``POST /_emulator/accounts/{id}/balance`` ``{"available": 0, "currency"?}``: a connected account's,
  lowered by a payout to its bank (raised by an adjustment);
- ``POST /_emulator/accounts/{id}/payout`` ``{"amount"?, "currency"?}``: a payout of the available balance
  (all of it by default, as an automatic payout);
- ``POST /_emulator/fees`` ``{"card_fee_bps": 150, "card_fee_fixed_cents": 25}``: Stripe's fee on the card
  charges made from now on (each key optional; 0 and 0: no fees); answers the pricing in force;
- ``POST /_emulator/accounts/{id}/fail_transfers`` ``{"code": "account_closed", "message"?, "status"?,
  "count"?}``: the next ``count`` (default 1; ``null``: all) transfers to the account fail with that
  error; ``{"code": null}`` clears it.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import balances
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import DASHBOARD, Backend
from devtools.stripe_emulator.resources.transfers import FAILURE_MESSAGES
from devtools.stripe_emulator.routing import WebRoute, json_response
from devtools.stripe_emulator.state import CardPricing, TransferFailureRecord


def platform_balance(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("available", "currency"))
    currency = _currency(body, balances.PLATFORM_CURRENCY)
    target = _available(body)
    return json_response(balances.set_available(backend, None, currency, target, DASHBOARD))


def account_balance(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("available", "currency"))
    state = backend.state
    with state.lock:
        account = state.accounts.get(args["account"], param="account")
        currency = _currency(body, account["default_currency"])
        target = _available(body)
        if target < 0:
            raise p.invalid_param("available", "A connected account's balance is set to 0 or more here.")
        return json_response(balances.set_available(backend, account["id"], currency, target, DASHBOARD))


def payout(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("amount", "currency"))
    state = backend.state
    with state.lock:
        account = state.accounts.get(args["account"], param="account")
        currency = _currency(body, account["default_currency"])
        amount = None if body.get("amount") is None else p.integer(body["amount"], "amount")
        return json_response(balances.pay_out(backend, account["id"], currency, amount, DASHBOARD))


def fees(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("card_fee_bps", "card_fee_fixed_cents"))
    state = backend.state
    with state.lock:
        current = state.card_pricing
        bps = p.integer(body.get("card_fee_bps", current.bps), "card_fee_bps")
        fixed = p.integer(body.get("card_fee_fixed_cents", current.fixed_cents), "card_fee_fixed_cents")
        if not 0 <= bps <= 10_000:
            raise p.invalid_param("card_fee_bps", "card_fee_bps must be between 0 and 10000")
        if fixed < 0:
            raise p.invalid_param("card_fee_fixed_cents", "card_fee_fixed_cents must be 0 or more")
        state.card_pricing = CardPricing(bps, fixed)
        return json_response({"card_fee_bps": bps, "card_fee_fixed_cents": fixed})


def fail_transfers(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("code", "count", "message", "status"))
    state = backend.state
    with state.lock:
        account = state.accounts.get(args["account"], param="account")["id"]
        code = body.get("code")
        if code is None:
            state.transfer_failures.pop(account, None)
            return json_response({"account": account, "code": None})
        if not isinstance(code, str) or not re.fullmatch(r"[a-z_]+", code):
            raise p.invalid_param("code", "code must be one of Stripe's error codes (account_closed...)")
        message = body.get("message") or FAILURE_MESSAGES.get(
            code, f"The transfer to {account} failed ({code})."
        )
        status = p.integer(body.get("status", 400), "status")
        if not 400 <= status <= 599:
            raise p.invalid_param("status", "status must be an HTTP error status (400-599)")
        count = body.get("count", 1)
        if count is not None:
            count = p.integer(count, "count")
        if count is not None and count < 1:
            raise p.invalid_param("count", "count must be 1 or more, or null for every transfer")
        state.transfer_failures[account] = TransferFailureRecord(str(code), str(message), status, count)
        return json_response(
            {"account": account, "code": code, "message": message, "status": status, "remaining": count}
        )


ROUTES = [
    WebRoute("POST", "/_emulator/balance", platform_balance),
    WebRoute("POST", "/_emulator/accounts/<account>/balance", account_balance),
    WebRoute("POST", "/_emulator/accounts/<account>/payout", payout),
    WebRoute("POST", "/_emulator/accounts/<account>/fail_transfers", fail_transfers),
    WebRoute("POST", "/_emulator/fees", fees),
]


def _available(body: dict[str, Any]) -> int:
    if body.get("available") is None:
        raise p.missing_param("available")
    return p.integer(body["available"], "available")


def _currency(body: dict[str, Any], default: str) -> str:
    currency = body.get("currency", default)
    if not isinstance(currency, str) or not re.fullmatch(r"[a-z]{3}", currency):
        raise p.invalid_param("currency", f"Invalid currency: {currency}.")
    return currency
