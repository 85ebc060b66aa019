"""Transfers to connected accounts and their reversals: ``/v1/transfers``, ``/v1/transfers/{id}/reversals``.

Separate charges and transfers as Stripe runs them (no fees, money available at once):
- the destination must exist and have the ``transfers`` capability ``active`` (an Express account whose
  onboarding is complete), else 400 ``insufficient_capabilities_for_transfer``;
- with ``source_transaction``, the charge must have succeeded, be in the transfer's currency
  (``transfer_source_balance_parameters_mismatch``) and still hold the amount: what it captured, less its
  refunds and what its transfers still carry (a reversal gives it back), else ``amount_too_large``;
- without it, the platform's available balance must cover the amount (``balance_insufficient``).
A transfer takes its amount from the platform (balance transaction ``transfer``) and pays it into the
destination account as a payment ``py_...`` (``payment``, on that account). A reversal does the opposite
(``transfer_refund`` on the platform, ``payment_refund`` ``pyr_...`` on the account), and is refused when
the account's available balance cannot cover it: its money may already be paid out to its bank.
Refusals are not kept under an ``Idempotency-Key``: the same key tried again runs again.
Events: ``transfer.created``, ``transfer.reversed`` (every reversal, partial ones too), ``transfer.updated``.
"""

from __future__ import annotations

import re
from copy import deepcopy

from devtools.stripe_emulator import balances, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

CREATE_PARAMS = (
    "amount",
    "currency",
    "description",
    "destination",
    "metadata",
    "source_transaction",
    "source_type",
    "transfer_group",
)
LIST_PARAMS = ("created", "destination", "ending_before", "limit", "starting_after", "transfer_group")
REVERSAL_PARAMS = ("amount", "description", "metadata", "refund_application_fee")
EMBEDDED_REVERSALS = 10  # Stripe embeds a transfer's 10 most recent reversals
TRANSFER_CAPABILITIES = ("transfers", "crypto_transfers", "legacy_payments")
# Messages for the codes a test may make transfers fail with (POST /_emulator/accounts/{id}/fail_transfers)
FAILURE_MESSAGES = {
    "account_closed": "The destination account has been closed.",
    "account_invalid": "The destination account is invalid.",
    "balance_insufficient": "You have insufficient funds in your Stripe account for this transfer.",
    "insufficient_capabilities_for_transfer": (
        "Your destination account needs to have at least one of the following capabilities enabled: "
        "transfers, crypto_transfers, legacy_payments"
    ),
    "transfers_not_allowed": (
        "The requested transfer cannot be created. Contact us if you are receiving this error."
    ),
}
_PLATFORM_ONLY = (
    "The Stripe emulator emulates transfers from the platform only: send this request without the "
    "Stripe-Account header."
)


# --- Transfers -----------------------------------------------------------------------------------------


def create(call: ApiCall) -> StripeObject:
    params = call.params
    _platform_only(call)
    paths = expand.requested(params, "transfer")
    p.check_known(params, CREATE_PARAMS)
    amount = _positive_amount(params, required=True)
    assert amount is not None
    currency = (p.string(params, "currency", required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise p.invalid_param("currency", f"Invalid currency: {currency}.")
    destination_id = p.string(params, "destination", required=True)
    assert destination_id is not None
    source_type = p.choice(params, "source_type", ("bank_account", "card", "fpx")) or "card"
    if source_type != "card":
        raise p.invalid_param(
            "source_type", "The emulator's balances hold card funds only: source_type must be card."
        )
    source_id = p.string(params, "source_transaction")
    description = p.string(params, "description")
    transfer_group = p.string(params, "transfer_group")
    metadata = p.merge_metadata({}, p.mapping(params, "metadata"))
    state = call.backend.state
    with state.lock:
        if destination_id not in state.accounts:
            raise ApiError(
                400,
                f"No such destination: '{destination_id}'",
                param="destination",
                code="resource_missing",
            )
        destination = state.accounts.get(destination_id)
        _forced_failure(state, destination_id)
        capabilities = destination["capabilities"]
        if not any(capabilities.get(name) == "active" for name in TRANSFER_CAPABILITIES):
            raise ApiError(
                400,
                FAILURE_MESSAGES["insufficient_capabilities_for_transfer"],
                param="destination",
                code="insufficient_capabilities_for_transfer",
            )
        if source_id is not None:
            _check_source(state, source_id, amount, currency)
        else:
            left = balances.available(state, None, currency)
            if amount > left:
                raise ApiError(
                    400,
                    "You have insufficient available funds in your Stripe account: the transfer "
                    f"({balances.money(amount, currency)}) is more than your available balance "
                    f"({balances.money(left, currency)}). Name the charge it is paid from with "
                    "source_transaction, or see /v1/balance.",
                    code="balance_insufficient",
                )
        transfer_id = new_id("tr", 24)
        payment_id = new_id("py", 24)
        sent = balances.record(
            state,
            None,
            amount=-amount,
            currency=currency,
            type="transfer",
            reporting_category="transfer",
            source=transfer_id,
            description=description,
        )
        balances.record(
            state,
            destination_id,
            amount=amount,
            currency=currency,
            type="payment",
            reporting_category="charge",
            source=payment_id,
        )
        transfer: StripeObject = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": sent["id"],
            "created": state.now(),
            "currency": currency,
            "description": description,
            "destination": destination_id,
            "destination_payment": payment_id,
            "livemode": False,
            "metadata": metadata,
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/transfers/{transfer_id}/reversals",
            },
            "reversed": False,
            "source_transaction": source_id,
            "source_type": source_type,
            "transfer_group": transfer_group,
        }
        state.transfers.add(transfer)
        call.backend.emit("transfer.created", transfer, None, call.request, account=None)
        return expand.expanded(state, transfer, paths)


def retrieve(call: ApiCall) -> StripeObject:
    _platform_only(call)
    paths = expand.requested(call.params, "transfer")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.transfers.get(call.args["transfer"], param="id"), paths)


def update(call: ApiCall) -> StripeObject:
    _platform_only(call)
    params = call.params
    paths = expand.requested(params, "transfer")
    p.check_known(params, ("description", "metadata"))
    state = call.backend.state
    with state.lock:
        transfer = state.transfers.get(call.args["transfer"], param="id")
        metadata = p.merge_metadata(transfer["metadata"], p.mapping(params, "metadata"))
        before = deepcopy(transfer)
        if "description" in params:
            transfer["description"] = p.string(params, "description")
        transfer["metadata"] = metadata
        previous = previous_attributes(before, transfer)
        if previous:
            call.backend.emit("transfer.updated", transfer, previous, call.request, account=None)
        return expand.expanded(state, transfer, paths)


def list_all(call: ApiCall) -> StripeObject:
    _platform_only(call)
    params = call.params
    paths = expand.requested(params, "transfer", is_list=True)
    p.check_known(params, LIST_PARAMS)
    filters = {key: p.string(params, key) for key in ("destination", "transfer_group")}
    state = call.backend.state
    with state.lock:
        page = state.transfers.page(
            params, where=lambda t: all(value is None or t[key] == value for key, value in filters.items())
        )
        return expand.expanded(state, page, paths)


# --- Reversals -----------------------------------------------------------------------------------------


def create_reversal(call: ApiCall) -> StripeObject:
    _platform_only(call)
    params = call.params
    paths = expand.requested(params, "transfer_reversal")
    p.check_known(params, REVERSAL_PARAMS)
    requested = _positive_amount(params, required=False)
    if "refund_application_fee" in params:
        p.boolean(params["refund_application_fee"], "refund_application_fee")  # no fees here: nothing to do
    p.string(params, "description")
    metadata = p.merge_metadata({}, p.mapping(params, "metadata"))
    state = call.backend.state
    with state.lock:
        transfer = state.transfers.get(call.args["transfer"], param="id")
        currency = transfer["currency"]
        left = transfer["amount"] - transfer["amount_reversed"]
        if left == 0:
            raise ApiError(
                400,
                f"Transfer {transfer['id']} has already been reversed in full.",
                param="amount",
                code="amount_too_large",
            )
        amount = left if requested is None else requested
        if amount > left:
            raise ApiError(
                400,
                f"The reversal amount ({balances.money(amount, currency)}) is greater than what is left of "
                f"transfer {transfer['id']} to reverse ({balances.money(left, currency)}).",
                param="amount",
                code="amount_too_large",
            )
        account = transfer["destination"]
        funds = balances.available(state, account, currency)
        if amount > funds:
            raise ApiError(
                400,
                f"Insufficient funds in the connected account {account} to reverse this transfer: its "
                f"available balance is {balances.money(funds, currency)}, the reversal "
                f"{balances.money(amount, currency)}.",
                param="amount",
                code="balance_insufficient",
            )
        reversal_id = new_id("trr", 24)
        refund_id = new_id("pyr", 24)
        returned = balances.record(
            state,
            None,
            amount=amount,
            currency=currency,
            type="transfer_refund",
            reporting_category="transfer_reversal",
            source=reversal_id,
        )
        balances.record(
            state,
            account,
            amount=-amount,
            currency=currency,
            type="payment_refund",
            reporting_category="refund",
            source=refund_id,
        )
        reversal: StripeObject = {
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": returned["id"],
            "created": state.now(),
            "currency": currency,
            "destination_payment_refund": refund_id,
            "metadata": metadata,
            "source_refund": None,
            "transfer": transfer["id"],
        }
        state.transfer_reversals.add(reversal)
        before = deepcopy(transfer)
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        _embed_reversals(state, transfer)
        previous = previous_attributes(before, transfer)
        call.backend.emit("transfer.reversed", transfer, previous, call.request, account=None)
        return expand.expanded(state, reversal, paths)


def retrieve_reversal(call: ApiCall) -> StripeObject:
    _platform_only(call)
    paths = expand.requested(call.params, "transfer_reversal")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, _reversal(state, call), paths)


def update_reversal(call: ApiCall) -> StripeObject:
    _platform_only(call)
    paths = expand.requested(call.params, "transfer_reversal")
    p.check_known(call.params, ("metadata",))
    state = call.backend.state
    with state.lock:
        reversal = _reversal(state, call)
        reversal["metadata"] = p.merge_metadata(reversal["metadata"], p.mapping(call.params, "metadata"))
        _embed_reversals(state, state.transfers.get(reversal["transfer"]))
        return expand.expanded(state, reversal, paths)


def list_reversals(call: ApiCall) -> StripeObject:
    _platform_only(call)
    params = call.params
    paths = expand.requested(params, "transfer_reversal", is_list=True)
    p.check_known(params, ("ending_before", "limit", "starting_after"))
    state = call.backend.state
    with state.lock:
        transfer = state.transfers.get(call.args["transfer"], param="id")
        page = state.transfer_reversals.page(
            params,
            url=f"/v1/transfers/{transfer['id']}/reversals",
            where=lambda r: r["transfer"] == transfer["id"],
        )
        return expand.expanded(state, page, paths)


ROUTES = [
    ApiRoute("POST", "/v1/transfers", create),
    ApiRoute("GET", "/v1/transfers", list_all),
    ApiRoute("GET", "/v1/transfers/<transfer>", retrieve),
    ApiRoute("POST", "/v1/transfers/<transfer>", update),
    ApiRoute("POST", "/v1/transfers/<transfer>/reversals", create_reversal),
    ApiRoute("GET", "/v1/transfers/<transfer>/reversals", list_reversals),
    ApiRoute("GET", "/v1/transfers/<transfer>/reversals/<reversal>", retrieve_reversal),
    ApiRoute("POST", "/v1/transfers/<transfer>/reversals/<reversal>", update_reversal),
]


# --- Rules ---------------------------------------------------------------------------------------------


def transferable(state: State, charge: StripeObject) -> int:
    """What is left of a charge to transfer: captured, less refunds and what its transfers still carry."""
    carried = sum(
        t["amount"] - t["amount_reversed"] for t in state.transfers if t["source_transaction"] == charge["id"]
    )
    return int(charge["amount_captured"] - charge["amount_refunded"] - carried)


def _check_source(state: State, source_id: str, amount: int, currency: str) -> None:
    if source_id not in state.charges:
        raise ApiError(
            400,
            f"No such charge: '{source_id}'",
            param="source_transaction",
            code="resource_missing",
        )
    charge = state.charges.get(source_id)
    if charge["status"] != "succeeded":
        raise p.invalid_param(
            "source_transaction",
            f"The source_transaction {source_id} cannot fund a transfer: the charge did not succeed.",
        )
    if charge["currency"] != currency:
        raise ApiError(
            400,
            f"The currency of source_transaction {source_id} ({charge['currency']}) does not match the "
            f"transfer's currency ({currency}).",
            param="currency",
            code="transfer_source_balance_parameters_mismatch",
        )
    left = transferable(state, charge)
    if amount > left:
        raise ApiError(
            400,
            f"The transfer amount ({balances.money(amount, currency)}) is greater than what is left of "
            f"source_transaction {source_id} to transfer ({balances.money(max(left, 0), currency)}).",
            param="amount",
            code="amount_too_large",
        )


def _forced_failure(state: State, account: str) -> None:
    """The failure a test asked for with ``POST /_emulator/accounts/{id}/fail_transfers``, if any."""
    failure = state.transfer_failures.get(account)
    if failure is None:
        return
    if failure.remaining is not None:
        failure.remaining -= 1
        if failure.remaining <= 0:
            del state.transfer_failures[account]
    raise ApiError(
        failure.status,
        failure.message,
        type="api_error" if failure.status >= 500 else "invalid_request_error",
        param=None if failure.status >= 500 else "destination",
        code=failure.code,
    )


def _embed_reversals(state: State, transfer: StripeObject) -> None:
    mine = [r for r in reversed(list(state.transfer_reversals)) if r["transfer"] == transfer["id"]]
    transfer["reversals"].update(
        data=deepcopy(mine[:EMBEDDED_REVERSALS]),
        has_more=len(mine) > EMBEDDED_REVERSALS,
        total_count=len(mine),
    )


def _reversal(state: State, call: ApiCall) -> StripeObject:
    transfer = state.transfers.get(call.args["transfer"], param="id")
    reversal = state.transfer_reversals.get(call.args["reversal"], param="id")
    if reversal["transfer"] != transfer["id"]:
        raise ApiError(
            404,
            f"No such transfer_reversal: '{reversal['id']}'",
            param="id",
            code="resource_missing",
        )
    return reversal


def _positive_amount(params: p.Params, *, required: bool) -> int | None:
    if params.get("amount") in (None, ""):
        if required:
            raise p.missing_param("amount")
        return None
    amount = p.integer(params["amount"], "amount")
    if amount < 1:
        raise p.invalid_param("amount", "Invalid positive integer", code="parameter_invalid_integer")
    return amount


def _platform_only(call: ApiCall) -> None:
    if call.account is not None:
        raise ApiError(400, _PLATFORM_ONLY)
