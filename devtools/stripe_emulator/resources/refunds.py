"""Refunds of the emulator's charges: ``/v1/refunds``, whole or in parts, never more than what is left.

A refund names the PaymentIntent (its successful charge is refunded) or the charge; it succeeds at once,
as card refunds do in test mode, and emits ``refund.created`` and ``charge.refunded``. A refund of a
charge paid with ``pm_card_refundFail`` (4000 0000 0000 5126) is answered as succeeded, then fails at
once, as Stripe's does later: the money comes back to the balance (a ``refund_failure`` balance
transaction), the charge is no longer refunded by it, and ``refund.updated`` and ``refund.failed`` are
emitted. Refunds of
localstripe's own charges (``charge=`` one the emulator does not know) go on to localstripe.
"""

from __future__ import annotations

from copy import deepcopy

from devtools.stripe_emulator import balances, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError, NotHandled
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.resources import payment_methods
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

CREATE_PARAMS = ("amount", "charge", "metadata", "payment_intent", "reason")
REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£"}
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "xaf"}
)


def create(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    with state.lock:
        charge_id = p.string(params, "charge")
        if charge_id is not None and charge_id not in state.charges:
            raise NotHandled  # a charge of localstripe's
        paths = expand.requested(params, "refund")
        p.check_known(params, CREATE_PARAMS)
        charge = _refunded_charge(state, p.string(params, "payment_intent"), charge_id)
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise ApiError(
                400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = remaining
        if params.get("amount") not in (None, ""):
            amount = p.integer(params["amount"], "amount")
            if amount < 1:
                raise p.invalid_param("amount", "Invalid positive integer", code="parameter_invalid_integer")
        if amount > remaining:
            currency = charge["currency"]
            raise p.invalid_param(
                "amount",
                f"Refund amount ({_money(amount, currency)}) is greater than unrefunded amount on charge "
                f"({_money(remaining, currency)})",
            )
        refund: StripeObject = {
            "id": new_id("re", 24),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": state.now(),
            "currency": charge["currency"],
            "failure_balance_transaction": None,
            "failure_reason": None,
            "destination_details": {
                "card": {
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": p.merge_metadata({}, p.mapping(params, "metadata")),
            "payment_intent": charge["payment_intent"],
            "reason": p.choice(params, "reason", REASONS),
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        before = deepcopy(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        balances.refunded(state, refund)  # its balance_transaction: -amount on the platform
        state.refunds.add(refund)
        call.backend.emit("refund.created", refund, None, call.request, account=None)
        call.backend.emit(
            "charge.refunded", charge, previous_attributes(before, charge), call.request, account=None
        )
        answer = expand.expanded(state, refund, paths)
        if _refund_fails(state, charge):
            _fail(call, charge, refund)
        return answer


def _refund_fails(state: State, charge: StripeObject) -> bool:
    method = charge.get("payment_method")
    if not method or method not in state.cards:
        return False
    return payment_methods.TEST_CARDS[state.cards[method]].refund_fails


def _fail(call: ApiCall, charge: StripeObject, refund: StripeObject) -> None:
    """The card cannot take the money back: the refund fails and its amount returns to the balance."""
    before = deepcopy(refund)
    refund["status"] = "failed"
    refund["failure_reason"] = "expired_or_canceled_card"
    balances.refund_failed(call.backend.state, refund)
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    previous = previous_attributes(before, refund)
    call.backend.emit("refund.updated", refund, previous, call.request, account=None)
    call.backend.emit("refund.failed", refund, previous, call.request, account=None)


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        if call.args["refund"] not in state.refunds:
            raise NotHandled  # one of localstripe's
        paths = expand.requested(call.params, "refund")
        p.check_known(call.params, ())
        return expand.expanded(state, state.refunds.get(call.args["refund"]), paths)


def update(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        if call.args["refund"] not in state.refunds:
            raise NotHandled
        paths = expand.requested(call.params, "refund")
        p.check_known(call.params, ("metadata",))
        refund = state.refunds.get(call.args["refund"])
        metadata = p.merge_metadata(refund["metadata"], p.mapping(call.params, "metadata"))
        before = deepcopy(refund)
        refund["metadata"] = metadata
        previous = previous_attributes(before, refund)
        if previous:
            call.backend.emit("refund.updated", refund, previous, call.request, account=None)
        return expand.expanded(state, refund, paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    with state.lock:
        charge_id = p.string(params, "charge")
        if charge_id is not None and charge_id not in state.charges:
            raise NotHandled
        paths = expand.requested(params, "refund", is_list=True)
        p.check_known(
            params, ("limit", "starting_after", "ending_before", "created", "charge", "payment_intent")
        )
        intent_id = p.string(params, "payment_intent")
        if intent_id is not None:
            state.payment_intents.get(intent_id, param="payment_intent", status=400)
        page = state.refunds.page(
            params,
            where=lambda r: (
                (charge_id is None or r["charge"] == charge_id)
                and (intent_id is None or r["payment_intent"] == intent_id)
            ),
        )
        return expand.expanded(state, page, paths)


ROUTES = [
    ApiRoute("POST", "/v1/refunds", create),
    ApiRoute("GET", "/v1/refunds", list_all),
    ApiRoute("GET", "/v1/refunds/<refund>", retrieve),
    ApiRoute("POST", "/v1/refunds/<refund>", update),
]


def _refunded_charge(state: State, intent_id: str | None, charge_id: str | None) -> StripeObject:
    if intent_id is None and charge_id is None:
        raise ApiError(
            400,
            "One of the following params should be provided for this request: charge or payment_intent.",
            code="parameter_missing",
        )
    if intent_id is not None:
        intent = state.payment_intents.get(intent_id, param="payment_intent", status=400)
        if intent["status"] != "succeeded" or intent["latest_charge"] is None:
            raise p.invalid_param(
                "payment_intent", "This PaymentIntent does not have a successful charge to refund."
            )
        if charge_id is not None and charge_id != intent["latest_charge"]:
            raise p.invalid_param(
                "charge", f"Charge {charge_id} does not belong to PaymentIntent {intent_id}."
            )
        charge_id = intent["latest_charge"]
    assert charge_id is not None
    charge = state.charges.get(charge_id, param="charge", status=400)
    if charge["status"] != "succeeded":
        raise p.invalid_param("charge", f"Charge {charge_id} cannot be refunded: it did not succeed.")
    return charge


def _money(amount: int, currency: str) -> str:
    """An amount as Stripe's messages write it: ``€12.50``, or ``12.50 CHF`` without a known symbol."""
    figure = f"{amount}" if currency in _ZERO_DECIMAL else f"{amount / 100:.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()}"
