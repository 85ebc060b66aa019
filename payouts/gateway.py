"""The Stripe gateway: every call to Stripe goes through here, with the official library.

The client is built from configuration: Stripe itself in production, the local emulator (an HTTP
server on 127.0.0.1 speaking Stripe's API) in development and tests. Every write carries an
idempotency key derived from the business object, so a retry never creates a second thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from app import logs

# The stripe library (and requests under it) is imported at the first call, not by every page's worker.
if TYPE_CHECKING:
    import stripe
    from stripe.params import BalanceTransactionListParams, BalanceTransactionListParamsCreated

    # Stripe's own errors, re-exported so that callers need not import stripe.
    StripeError = stripe.StripeError
    SignatureVerificationError = stripe.SignatureVerificationError
else:  # hidden from type checkers, which see the two names above and nothing else

    def __getattr__(name: str) -> Any:
        """``StripeError`` and ``SignatureVerificationError``, read from stripe when first asked for."""
        if name in {"StripeError", "SignatureVerificationError"}:
            import stripe

            return getattr(stripe, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def client() -> stripe.StripeClient:
    """One client per app and configuration, so HTTP connections to Stripe are pooled and reused."""
    import stripe

    config = current_app.config
    key, base = config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE")
    cache: dict[tuple[str, str | None], tuple[stripe.StripeClient, stripe.HTTPClient]]
    cache = current_app.extensions.setdefault("stripe_clients", {})
    if (key, base) not in cache:
        http_client = logs.stripe_http_client(timeout=20)  # sends the request id along
        cache[(key, base)] = (
            stripe.StripeClient(
                key,
                base_addresses={"api": base, "connect": base, "files": base} if base else None,
                max_network_retries=2,
                http_client=http_client,
            ),
            http_client,
        )
    return cache[(key, base)][0]


def emulated() -> bool:
    """The app talks to the local Stripe emulator (a base URL is set), not to Stripe: pages offer
    Stripe's documented test cards instead of the Payment Element."""
    return bool(current_app.config.get("STRIPE_API_BASE"))


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
    # The payout bank account, masked ("FR •••• 2606"); None when the answer did not say (an event
    # without ``external_accounts``), "" when the account has none.
    payout_account: str | None = None

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
            payout_account=_masked_payout_account(account.get("external_accounts")),
        )


def _masked_payout_account(external_accounts: Any) -> str | None:
    """The default bank account of an Account's ``external_accounts`` list, as Stripe lets the platform
    see it: its country and last four digits (Stripe never gives the full IBAN back)."""
    if not isinstance(external_accounts, dict):
        return None
    banks = [item for item in external_accounts.get("data") or [] if item.get("object") == "bank_account"]
    if not banks:
        return ""
    bank = next((item for item in banks if item.get("default_for_currency")), banks[0])
    return f"{(bank.get('country') or '').upper()} •••• {bank.get('last4') or ''}".strip()


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


# -- payments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """What the marketplace reads of a PaymentIntent."""

    id: str
    status: str  # requires_payment_method, requires_action, processing, succeeded, canceled...
    amount: int
    currency: str
    charge_id: str | None
    error: str  # why the last attempt failed: Stripe's decline or error code ("" when it did not)
    redirect_url: str | None  # where the shopper authenticates (3-D Secure), when status is requires_action

    @classmethod
    def from_stripe(cls, intent: Any) -> Payment:
        if hasattr(intent, "to_dict"):
            intent = intent.to_dict()
        charge = intent.get("latest_charge")
        if isinstance(charge, dict):
            charge = charge.get("id")
        error = intent.get("last_payment_error") or {}
        action = intent.get("next_action") or {}
        redirect = (action.get("redirect_to_url") or {}).get("url") if action else None
        return cls(
            id=intent["id"],
            status=intent["status"],
            amount=int(intent["amount"]),
            currency=str(intent["currency"]).upper(),
            charge_id=charge,
            error=str(error.get("decline_code") or error.get("code") or ("declined" if error else "")),
            redirect_url=redirect,
        )


def create_payment(
    *, key: str, amount_cents: int, currency: str, transfer_group: str, email: str, metadata: dict[str, str]
) -> Payment:
    """One PaymentIntent for a whole order, charged on the platform (separate charges and transfers)."""
    intent = client().v1.payment_intents.create(
        params={
            "amount": amount_cents,
            "currency": currency.lower(),
            "transfer_group": transfer_group,
            "description": transfer_group,
            "receipt_email": email,
            "metadata": metadata,
        },
        options={"idempotency_key": key},
    )
    return Payment.from_stripe(intent)


def confirm_payment(intent_id: str, *, payment_method: str, return_url: str, key: str) -> Payment:
    """Confirm with a payment method; a declined card comes back as the PaymentIntent, not an error."""
    import stripe

    try:
        intent = client().v1.payment_intents.confirm(
            intent_id,
            params={"payment_method": payment_method, "return_url": return_url},
            options={"idempotency_key": key},
        )
    except stripe.CardError:
        # Stripe answers a decline with a 402 whose error carries the PaymentIntent: read it afresh.
        return retrieve_payment(intent_id)
    return Payment.from_stripe(intent)


def retrieve_payment(intent_id: str) -> Payment:
    return Payment.from_stripe(client().v1.payment_intents.retrieve(intent_id))


def charge_fee(charge_id: str) -> int | None:
    """Stripe's fee on a charge, read from its balance transaction (``fee``, in the charge's currency);
    None while Stripe has not made the balance transaction yet (it can lag behind the payment)."""
    charge = client().v1.charges.retrieve(charge_id, params={"expand": ["balance_transaction"]}).to_dict()
    transaction = charge.get("balance_transaction")
    if not isinstance(transaction, dict):
        return None
    return int(transaction.get("fee") or 0)


def invoice_charge(invoice: dict[str, Any]) -> str | None:
    """The charge that paid an invoice: ``invoice.charge`` in older API versions, the latest charge of the
    PaymentIntent of its invoice payment in newer ones."""
    charge = invoice.get("charge")
    if charge:
        return str(charge["id"] if isinstance(charge, dict) else charge)
    payments = client().v1.invoice_payments.list(params={"invoice": str(invoice["id"]), "status": "paid"})
    for payment in payments.data:
        intent = (payment.to_dict().get("payment") or {}).get("payment_intent")
        if intent:
            latest = Payment.from_stripe(client().v1.payment_intents.retrieve(str(intent))).charge_id
            if latest:
                return latest
    return None


def cancel_payment(intent_id: str) -> Payment:
    """Cancel a PaymentIntent nobody will pay; one that succeeded meanwhile is returned as it is."""
    import stripe

    try:
        intent = client().v1.payment_intents.cancel(intent_id)
    except stripe.InvalidRequestError:
        return retrieve_payment(intent_id)
    return Payment.from_stripe(intent)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # succeeded, pending, failed, canceled
    amount: int


def refund_payment(intent_id: str, *, amount_cents: int, key: str, metadata: dict[str, str]) -> RefundResult:
    """Give back part of a payment. The same ``key`` twice refunds once."""
    refund = client().v1.refunds.create(
        params={
            "payment_intent": intent_id,
            "amount": amount_cents,
            "reason": "requested_by_customer",
            "metadata": metadata,
        },
        options={"idempotency_key": key},
    )
    return RefundResult(id=refund["id"], status=refund["status"], amount=int(refund["amount"]))


# -- transfers to shops ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyMove:
    """A transfer or a transfer reversal, as the marketplace records it."""

    id: str
    amount: int


def create_transfer(
    *,
    amount_cents: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str,
    key: str,
    metadata: dict[str, str],
) -> MoneyMove:
    """Send a shop its part (separate charges and transfers), drawn on the order's charge."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency.lower(),
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    if source_transaction:
        params["source_transaction"] = source_transaction
    transfer = client().v1.transfers.create(params=params, options={"idempotency_key": key})  # type: ignore[arg-type]
    return MoneyMove(transfer["id"], int(transfer["amount"]))


def reverse_transfer(
    transfer_id: str, *, amount_cents: int, key: str, metadata: dict[str, str] | None = None
) -> MoneyMove:
    """Take back part of a transfer from the shop's Stripe account (a refund after the transfer)."""
    params: dict[str, Any] = {"amount": amount_cents}
    if metadata:
        params["metadata"] = metadata
    reversal = client().v1.transfers.reversals.create(
        transfer_id,
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": key},
    )
    return MoneyMove(reversal["id"], int(reversal["amount"]))


def find_reversal(transfer_id: str, *, metadata_key: str, value: str) -> MoneyMove | None:
    """A reversal of the transfer already made for this business object (its metadata says so): a retry
    whose answer was lost finds it rather than taking the money back twice."""
    reversals = client().v1.transfers.reversals.list(transfer_id, params={"limit": 100}).auto_paging_iter()
    for reversal in reversals:
        found = reversal.to_dict()
        if (found.get("metadata") or {}).get(metadata_key) == value:
            return MoneyMove(found["id"], int(found["amount"]))
    return None


@dataclass(frozen=True)
class BankPayout:
    """A payout from a shop's Stripe account to its bank, as Stripe reports it."""

    id: str
    amount_cents: int
    currency: str
    arrival_date: dt.datetime
    status: str  # paid, pending, in_transit, canceled, failed
    failure_message: str


def bank_payouts(account_id: str, *, limit: int = 20) -> list[BankPayout]:
    """The latest payouts of a connected account to its bank (newest first)."""
    page = client().v1.payouts.list(params={"limit": limit}, options={"stripe_account": account_id})
    return [
        BankPayout(
            id=payout["id"],
            amount_cents=int(payout["amount"]),
            currency=str(payout["currency"]),
            arrival_date=dt.datetime.fromtimestamp(int(payout["arrival_date"]), tz=dt.UTC),
            status=str(payout["status"]),
            failure_message=str(payout.get("failure_message") or ""),
        )
        for payout in (item.to_dict() for item in page.data)
    ]


# -- billing: shops' monthly plans ----------------------------------------------------------------


def create_plan_price(
    *, plan_id: int, product_id: str | None, name: str, amount_cents: int
) -> tuple[str, str]:
    """The plan's Product (once) and a monthly Price of this amount, tax included: (product, price) ids."""
    if product_id is None:
        product = client().v1.products.create(
            params={"name": name, "metadata": {"plan_id": str(plan_id)}},
            options={"idempotency_key": f"plan-{plan_id}-product"},
        )
        product_id = str(product["id"])
    price = client().v1.prices.create(
        params={
            "product": product_id,
            "unit_amount": amount_cents,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "tax_behavior": "inclusive",
            "metadata": {"plan_id": str(plan_id)},
        },
        options={"idempotency_key": f"plan-{plan_id}-price-{amount_cents}"},
    )
    return product_id, str(price["id"])


@dataclass(frozen=True)
class Subscription:
    id: str
    status: str  # incomplete, active, past_due, canceled, unpaid...
    item_id: str | None
    current_period_end: int | None

    @classmethod
    def from_stripe(cls, subscription: Any) -> Subscription:
        if hasattr(subscription, "to_dict"):
            subscription = subscription.to_dict()
        items = (subscription.get("items") or {}).get("data") or []
        item = items[0] if items else {}
        end = item.get("current_period_end") or subscription.get("current_period_end")
        return cls(
            id=subscription["id"],
            status=subscription["status"],
            item_id=item.get("id"),
            current_period_end=int(end) if end else None,
        )


def create_customer(*, shop_id: int, name: str, email: str, payment_method: str) -> str:
    """The shop as a Customer of the platform, with its card as the default for invoices."""
    customer = client().v1.customers.create(
        params={"name": name, "email": email, "metadata": {"shop_id": str(shop_id)}},
        options={"idempotency_key": f"shop-{shop_id}-customer"},
    )
    set_default_payment_method(str(customer["id"]), payment_method)
    return str(customer["id"])


def set_default_payment_method(customer_id: str, payment_method: str) -> None:
    attached = client().v1.payment_methods.attach(payment_method, params={"customer": customer_id})
    client().v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": str(attached["id"])}}
    )


def create_subscription(*, customer_id: str, price_id: str, shop_id: int, key: str) -> Subscription:
    subscription = client().v1.subscriptions.create(
        params={
            "customer": customer_id,
            "items": [{"price": price_id}],
            "metadata": {"shop_id": str(shop_id)},
            "payment_behavior": "allow_incomplete",
        },
        options={"idempotency_key": key},
    )
    return Subscription.from_stripe(subscription)


def change_subscription_price(subscription_id: str, *, item_id: str, price_id: str) -> Subscription:
    """The new plan's price from the next invoice on (no proration)."""
    subscription = client().v1.subscriptions.update(
        subscription_id,
        params={"items": [{"id": item_id, "price": price_id}], "proration_behavior": "none"},
    )
    return Subscription.from_stripe(subscription)


def cancel_subscription(subscription_id: str) -> Subscription:
    return Subscription.from_stripe(client().v1.subscriptions.cancel(subscription_id))


def retrieve_subscription(subscription_id: str) -> Subscription:
    return Subscription.from_stripe(client().v1.subscriptions.retrieve(subscription_id))


def pay_invoice(invoice_id: str) -> Any:
    return client().v1.invoices.pay(invoice_id)


def open_invoices(customer_id: str) -> list[Any]:
    return list(client().v1.invoices.list(params={"customer": customer_id, "status": "open"}).data)


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    """The subscription of an invoice, where this API version or an older one puts it."""
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    found = parent.get("subscription") or invoice.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return str(found) if found else None


# -- reading Stripe's books (reconciliation) ------------------------------------------------------


def balance_transactions(
    limit: int = 100, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every balance transaction of the platform, oldest first (all pages); only those created in
    ``[since, until)`` when given (Stripe's ``created`` filter, to the second)."""
    params: BalanceTransactionListParams = {"limit": limit}
    created: BalanceTransactionListParamsCreated = {}
    if since is not None:
        created["gte"] = int(since.timestamp())
    if until is not None:
        created["lt"] = int(until.timestamp())
    if created:
        params["created"] = created
    listed = client().v1.balance_transactions.list(params=params)
    return [item.to_dict() for item in listed.auto_paging_iter()][::-1]


def transfers(limit: int = 100) -> list[dict[str, Any]]:
    return [
        item.to_dict() for item in client().v1.transfers.list(params={"limit": limit}).auto_paging_iter()
    ][::-1]


def invoice_of_charge(charge_id: str) -> str | None:
    """The invoice a charge paid (a shop's subscription), if any: ``charge.invoice`` in older API
    versions, the invoice payment of its PaymentIntent in newer ones."""
    if not charge_id.startswith("ch_"):
        return None
    charge = client().v1.charges.retrieve(charge_id).to_dict()
    if charge.get("invoice"):
        invoice = charge["invoice"]
        return str(invoice["id"] if isinstance(invoice, dict) else invoice)
    intent = charge.get("payment_intent")
    if not intent:
        return None
    payments = client().v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": str(intent)}}
    )
    for payment in payments.data:
        return str(payment["invoice"])
    return None


def platform_payouts(*, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """The platform's own payouts to its bank created in ``[since, until)`` (all pages, oldest first);
    without a ``Stripe-Account``, so never a shop's."""
    params: Any = {"limit": 100, "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())}}
    listed = client().v1.payouts.list(params=params)
    return [item.to_dict() for item in listed.auto_paging_iter()][::-1]


def platform_payout_returns(
    *, since: dt.datetime, until: dt.datetime
) -> list[tuple[dict[str, Any], dt.datetime]]:
    """The platform's payouts whose money came back to its balance in ``[since, until)`` (the bank returned
    them: ``payout_failure``; or cancelled: ``payout_cancel``), each with when it came back; the payout
    may have been created days before."""
    returned: list[tuple[dict[str, Any], dt.datetime]] = []
    for kind in ("payout_failure", "payout_cancel"):
        params: Any = {
            "limit": 100,
            "type": kind,
            "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())},
        }
        for transaction in client().v1.balance_transactions.list(params=params).auto_paging_iter():
            payout = client().v1.payouts.retrieve(str(transaction["source"])).to_dict()
            returned.append((payout, dt.datetime.fromtimestamp(int(transaction["created"]), tz=dt.UTC)))
    return returned


def balance_transaction_created(transaction_id: str) -> dt.datetime:
    """When one of the platform's balance transactions moved its balance (a payout's failure)."""
    found = client().v1.balance_transactions.retrieve(transaction_id)
    return dt.datetime.fromtimestamp(int(found["created"]), tz=dt.UTC)


def platform_balance() -> int:
    """The platform's available + pending EUR balance on Stripe, in cents."""
    balance = client().v1.balance.retrieve().to_dict()
    return sum(
        int(part["amount"])
        for key in ("available", "pending")
        for part in balance.get(key, [])
        if part.get("currency") == "eur"
    )


def construct_event(payload: bytes, signature: str) -> Any:
    """Verify a webhook's signature, then parse it: SignatureVerificationError when the signature is
    wrong, ValueError when a signed body is not a JSON object (Stripe's library would fail on it with
    an AttributeError)."""
    import stripe

    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (AttributeError, TypeError) as error:  # raised only once the signature was found good
        raise ValueError("the event is not a JSON object") from error
