"""Balances: ``/v1/balance``, ``/v1/balance_transactions``, and a connected account's payouts.

Without a ``Stripe-Account`` header these are the platform's; with one, that connected account's. Both
are summed from the ledger kept by :mod:`devtools.stripe_emulator.balances`, so they always agree.
``/v1/balance/history`` (Stripe's old name for the balance transactions) is answered the same way.
Payouts are a connected account's (with the header) or the platform's (without it): those of
``POST /v1/payouts`` (see :mod:`.payouts`) and those the control endpoints simulate.
"""

from __future__ import annotations

from copy import deepcopy

from devtools.stripe_emulator import balances
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError, NotHandled
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject

LIST_PARAMS = (
    "created",
    "currency",
    "ending_before",
    "limit",
    "payout",
    "source",
    "starting_after",
    "type",
)
SOURCES = ("charges", "refunds", "transfers", "transfer_reversals", "payouts")  # what a source can be


def retrieve_balance(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        account = balances.acting_account(state, call.account, call.api_key)
        return balances.balance(state, account)


def retrieve_transaction(call: ApiCall) -> StripeObject:
    source = _source_requested(call.params, "source")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        account = balances.acting_account(state, call.account, call.api_key)
        transaction_id = call.args["transaction"]
        if transaction_id not in state.balance_transactions or state.owners[transaction_id] != account:
            raise ApiError(
                404,
                f"No such balance transaction: '{transaction_id}'",
                param="id",
                code="resource_missing",
            )
        transaction = state.balance_transactions.get(transaction_id)
        return _with_source(state, transaction) if source else transaction


def list_transactions(call: ApiCall) -> StripeObject:
    params = call.params
    source = _source_requested(params, "data.source")
    p.check_known(params, LIST_PARAMS)
    filters = {key: p.string(params, key) for key in ("currency", "source", "type")}
    payout_id = p.string(params, "payout")
    state = call.backend.state
    with state.lock:
        account = balances.acting_account(state, call.account, call.api_key)
        if payout_id is not None and (
            payout_id not in state.payouts or state.owners.get(payout_id) != account
        ):
            raise ApiError(400, f"No such payout: '{payout_id}'", param="payout", code="resource_missing")
        mine = balances.owned_by(state, account)

        def selected(transaction: StripeObject) -> bool:
            return (
                mine(transaction)
                and all(value is None or transaction[key] == value for key, value in filters.items())
                and (payout_id is None or state.paid_out.get(transaction["id"]) == payout_id)
            )

        page = state.balance_transactions.page(params, where=selected)
        if source:
            page["data"] = [_with_source(state, transaction) for transaction in page["data"]]
        return page


def retrieve_payout(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        payout_id = call.args["payout"]
        if payout_id not in state.payouts:
            raise NotHandled  # one of localstripe's
        p.expand_list(call.params)
        p.check_known(call.params, ())
        account = balances.acting_account(state, call.account, call.api_key)
        if state.owners.get(payout_id) != account:
            raise ApiError(404, f"No such payout: '{payout_id}'", param="id", code="resource_missing")
        return state.payouts.get(payout_id)


def list_payouts(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("created", "ending_before", "limit", "starting_after", "status"))
    status = p.string(params, "status")
    state = call.backend.state
    with state.lock:
        account = balances.acting_account(state, call.account, call.api_key)
        mine = balances.owned_by(state, account)
        return state.payouts.page(
            params, where=lambda payout: mine(payout) and (status is None or payout["status"] == status)
        )


def _source_requested(params: p.Params, path: str) -> bool:
    """``expand[]=source`` (``data.source`` in a list): the only expandable property of a transaction."""
    value = params.pop("expand", None)
    if value is None:
        return False
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "Invalid array", param="expand")
    for item in value:
        if item != path:
            raise ApiError(400, f"This property cannot be expanded ({item.split('.')[-1]}).", param="expand")
    return bool(value)


def _with_source(state: State, transaction: StripeObject) -> StripeObject:
    """A copy with ``source`` replaced by its object (a connected account's ``py_``/``pyr_`` stay ids)."""
    result = deepcopy(transaction)
    for collection in SOURCES:
        items = getattr(state, collection)
        if result["source"] in items:
            result["source"] = deepcopy(items.get(result["source"]))
            break
    return result


ROUTES = [
    ApiRoute("GET", "/v1/balance", retrieve_balance),
    ApiRoute("GET", "/v1/balance_transactions", list_transactions),
    ApiRoute("GET", "/v1/balance_transactions/<transaction>", retrieve_transaction),
    ApiRoute("GET", "/v1/balance/history", list_transactions),
    ApiRoute("GET", "/v1/balance/history/<transaction>", retrieve_transaction),
    ApiRoute("GET", "/v1/payouts", list_payouts),
    ApiRoute("GET", "/v1/payouts/<payout>", retrieve_payout),
]
