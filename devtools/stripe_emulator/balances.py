"""The emulator's ledger: one balance transaction per movement of money, and balances summed from them.

Every movement on the platform or on a connected account is a ``balance_transaction`` (``txn_...``) owned
by one of them (``state.owners``: the account's id, or ``None`` for the platform). A balance is the sum of
its owner's transactions' ``net``, so ``GET /v1/balance`` and ``GET /v1/balance_transactions`` always
agree. A card charge carries Stripe's fee (``state.card_pricing``: 1.5 % + €0.25 by default, as for EEA
cards) in ``fee`` and ``fee_details`` (``net = amount - fee``); a refund gives no fee back, and nothing
else has a fee. There is no pending period: money is available at once (``status: "available"``,
``available_on == created``).

Resources that move money call these hooks with the state lock held, before they emit their events (so
the events carry the ``balance_transaction``):

- :func:`charge_succeeded` for a charge that succeeded (``+amount``, ``type: "charge"``);
- :func:`refunded` for a refund (``-amount``, ``type: "refund"``);
- :func:`refund_failed` for a refund that failed (``+amount``, ``type: "refund_failure"``);
- :func:`record` for anything else (transfers, reversals, payouts and adjustments use it).
"""

from __future__ import annotations

from collections.abc import Callable

from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.state import State, StripeObject, new_id

PLATFORM_CURRENCY = "eur"  # the platform is French (see accounts.PLATFORM_COUNTRY)
_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£"}
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "xaf"}
)


def record(
    state: State,
    account: str | None,
    *,
    amount: int,
    currency: str,
    type: str,
    reporting_category: str,
    source: str | None,
    description: str | None = None,
    fee: int = 0,
) -> StripeObject:
    """Add a balance transaction to ``account``'s ledger (``None``: the platform's) and return it;
    ``fee`` is Stripe's, taken from it (``net = amount - fee``)."""
    now = state.now()
    transaction: StripeObject = {
        "id": new_id("txn", 24),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "available",
        "type": type,
    }
    state.balance_transactions.add(transaction)
    state.owners[transaction["id"]] = account
    return transaction


def charge_succeeded(state: State, charge: StripeObject, account: str | None = None) -> StripeObject:
    """A succeeded charge adds what it captured, less Stripe's fee on it, to the balance; fills
    ``charge["balance_transaction"]``."""
    transaction = record(
        state,
        account,
        amount=charge["amount_captured"],
        currency=charge["currency"],
        type="charge",
        reporting_category="charge",
        source=charge["id"],
        description=charge.get("description"),
        fee=state.card_pricing.fee(charge["amount_captured"]),
    )
    charge["balance_transaction"] = transaction["id"]
    return transaction


def refunded(state: State, refund: StripeObject, account: str | None = None) -> StripeObject:
    """A refund takes its amount from the balance (Stripe keeps the charge's fee); fills
    ``refund["balance_transaction"]``."""
    transaction = record(
        state,
        account,
        amount=-refund["amount"],
        currency=refund["currency"],
        type="refund",
        reporting_category="refund",
        source=refund["id"],
        description=f"REFUND FOR CHARGE ({refund['charge']})" if refund.get("charge") else None,
    )
    refund["balance_transaction"] = transaction["id"]
    return transaction


def refund_failed(state: State, refund: StripeObject, account: str | None = None) -> StripeObject:
    """A failed refund gives its amount back to the balance (``+amount``, ``type: "refund_failure"``);
    fills ``refund["failure_balance_transaction"]``."""
    transaction = record(
        state,
        account,
        amount=refund["amount"],
        currency=refund["currency"],
        type="refund_failure",
        reporting_category="refund_failure",
        source=refund["id"],
        description="REFUND FAILURE",
    )
    refund["failure_balance_transaction"] = transaction["id"]
    return transaction


# --- Reading balances -----------------------------------------------------------------------------------


def owned_by(state: State, account: str | None) -> Callable[[StripeObject], bool]:
    return lambda obj: obj["id"] in state.owners and state.owners[obj["id"]] == account


def available(state: State, account: str | None, currency: str) -> int:
    mine = owned_by(state, account)
    return sum(t["net"] for t in state.balance_transactions if t["currency"] == currency and mine(t))


def default_currency(state: State, account: str | None) -> str:
    if account is not None and account in state.accounts:
        return str(state.accounts.get(account)["default_currency"])
    return PLATFORM_CURRENCY


def balance(state: State, account: str | None) -> StripeObject:
    """The ``balance`` object: one entry per currency the owner has moved money in (its default first)."""
    mine = owned_by(state, account)
    totals: dict[str, int] = {default_currency(state, account): 0}
    for transaction in state.balance_transactions:
        if mine(transaction):
            currency = transaction["currency"]
            totals[currency] = totals.get(currency, 0) + transaction["net"]
    result: StripeObject = {
        "object": "balance",
        "available": [
            {"amount": amount, "currency": currency, "source_types": {"card": amount}}
            for currency, amount in totals.items()
        ],
        "livemode": False,
        "pending": [{"amount": 0, "currency": currency, "source_types": {"card": 0}} for currency in totals],
    }
    if account is None:
        result["connect_reserved"] = [{"amount": 0, "currency": currency} for currency in totals]
    return result


def acting_account(state: State, account: str | None, api_key: str) -> str | None:
    """The ``Stripe-Account`` header's account, refused as Stripe refuses an account the key cannot reach."""
    if account is not None and account not in state.accounts:
        redacted = f"{api_key[:8]}{'*' * max(0, len(api_key) - 12)}{api_key[-4:]}"
        raise ApiError(
            403,
            f"The provided key '{redacted}' does not have access to account '{account}' (or that account "
            "does not exist). Application access may have been revoked.",
            code="account_invalid",
        )
    return account


# --- What the control endpoints do ----------------------------------------------------------------------


def pay_out(
    backend: Backend,
    account: str | None,
    currency: str,
    amount: int | None,
    request: RequestInfo,
    *,
    description: str | None = "STRIPE PAYOUT",
    metadata: dict[str, str] | None = None,
    statement_descriptor: str | None = None,
) -> StripeObject:
    """A payout of a connected account's (``None``: the platform's) available balance to its bank, as
    Stripe's payout schedule makes.

    Without ``amount``, the whole available balance is paid out, as an automatic payout: the transactions it
    takes are then listed with ``GET /v1/balance_transactions?payout=po_...``. With it, a manual payout
    (``POST /v1/payouts``, its ``description``, ``metadata`` and ``statement_descriptor``).
    """
    state = backend.state
    with state.lock:
        left = available(state, account, currency)
        automatic = amount is None
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise ApiError(
                400,
                f"Cannot pay out {money(amount, currency)}: the account's available balance is "
                f"{money(left, currency)}.",
                param="amount",
                code="balance_insufficient",
            )
        now = state.now()
        payout_id = new_id("po", 24)
        transaction = record(
            state,
            account,
            amount=-amount,
            currency=currency,
            type="payout",
            reporting_category="payout",
            source=payout_id,
            description=description,
        )
        payout: StripeObject = {
            "id": payout_id,
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": now,
            "automatic": automatic,
            "balance_transaction": transaction["id"],
            "created": now,
            "currency": currency,
            "description": description,
            "destination": None,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "method": "standard",
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "completed",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": statement_descriptor,
            "status": "paid",
            "trace_id": {"status": "supported", "value": None},
            "type": "bank_account",
        }
        state.payouts.add(payout)
        state.owners[payout_id] = account
        if automatic:
            mine = owned_by(state, account)
            for taken in state.balance_transactions:
                if mine(taken) and taken["currency"] == currency and taken["id"] not in state.paid_out:
                    state.paid_out[taken["id"]] = payout_id
        backend.emit("payout.created", payout, None, request, account=account)
        backend.emit("payout.paid", payout, None, request, account=account)
        return payout


def set_available(
    backend: Backend, account: str | None, currency: str, target: int, request: RequestInfo
) -> StripeObject:
    """Bring an available balance to ``target``: a payout of the difference (connected accounts) or an
    adjustment (up, or the platform), so that the balance still is the sum of its transactions."""
    state = backend.state
    with state.lock:
        difference = target - available(state, account, currency)
        if difference < 0 and account is not None:
            pay_out(backend, account, currency, -difference, request)
        elif difference != 0:
            record(
                state,
                account,
                amount=difference,
                currency=currency,
                type="adjustment",
                reporting_category="other_adjustment",
                source=None,
                description="Stripe emulator: balance set by POST /_emulator/.../balance",
            )
        return balance(state, account)


def money(amount: int, currency: str) -> str:
    """An amount as Stripe's messages write it: ``€12.50``, or ``12.50 CHF`` without a known symbol."""
    figure = f"{amount}" if currency in _ZERO_DECIMAL else f"{amount / 100:.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()}"
