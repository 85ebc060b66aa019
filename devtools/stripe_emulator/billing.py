"""Stripe Billing's machinery: subscription periods, their invoices, paying those, and test clocks' time.

A subscription bills in advance, one invoice per period:
- its first invoice (``billing_reason: subscription_create``) is made, finalized and charged when the
  subscription is created; paid, the subscription is ``active``; not paid, it is ``incomplete`` and
  becomes ``incomplete_expired`` (the invoice voided) 23 hours later;
- at each ``current_period_end`` (on the subscription items in this API version) the next period starts
  and a draft invoice is made (``subscription_cycle``); an hour later it is finalized and charged, as
  Stripe's automatic collection does. Not paid, the subscription is ``past_due``; paying its latest
  invoice (``POST /v1/invoices/{id}/pay``) makes it ``active`` again. There are no automatic retries.

Charging an invoice is confirming its PaymentIntent with the subscription's (else the customer's) default
payment method through the emulator's own payments (:mod:`.resources.payment_intents`), so each attempt
is a charge with its events and balance transaction. Whatever settles that PaymentIntent (this module,
the 3-D Secure page, a direct confirmation) is reported back through ``payment_intents.SETTLED``.

Time only moves for customers on a test clock: everything done for them happens at the clock's
``frozen_time`` (objects' ``created``, events' ``created``), and advancing the clock runs what falls due
on the way, in order, each at its own time.
"""

from __future__ import annotations

import calendar
import datetime as dt
import secrets
import string
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from devtools.stripe_emulator import expand
from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.resources import payment_intents
from devtools.stripe_emulator.routing import ApiCall
from devtools.stripe_emulator.state import State, StripeObject, new_id

FINALIZE_AFTER = 3600  # a renewal's draft invoice is finalized (and charged) an hour after it is made
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
PLATFORM_COUNTRY = "FR"
PLATFORM_NAME = "Stripe emulator"
ENDED = ("canceled", "incomplete_expired")
_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£"}
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider adding a "
    "default payment method."
)
REQUIRES_ACTION = (
    "This payment requires additional user action before it can be completed successfully. Payment can be "
    "completed using the PaymentIntent associated with the invoice."
)


# --- Events ----------------------------------------------------------------------------------------------


@dataclass
class Outbox:
    """The billing events of one operation: sent at once, or held (``hold``) and sent by ``release``.

    Creating a subscription holds them, so that ``customer.subscription.created`` goes first and carries
    the status the first payment gave it, as Stripe's does; ``quiet`` names the subscriptions whose
    changes that event will carry (no ``customer.subscription.updated`` for them meanwhile).
    """

    backend: Backend
    request: RequestInfo
    hold: bool = False
    quiet: set[str] = field(default_factory=set)
    held: list[tuple[str, StripeObject, dict[str, Any] | None]] = field(default_factory=list)

    def emit(self, type: str, obj: StripeObject, previous: dict[str, Any] | None = None) -> None:
        if self.hold:
            self.held.append((type, deepcopy(obj), previous))
        else:
            self.backend.emit(type, obj, previous, self.request, account=None)

    def release(self, first: list[tuple[str, StripeObject]] | None = None) -> None:
        pending = [(type, obj, None) for type, obj in first or []] + self.held
        self.hold, self.held, self.quiet = False, [], set()
        for type, obj, previous in pending:
            self.backend.emit(type, obj, previous, self.request, account=None)


# --- Time ------------------------------------------------------------------------------------------------


def clock_time(state: State, customer_id: str | None) -> int | None:
    """The frozen time of the customer's test clock, or ``None`` (real time) for a customer without one."""
    if customer_id is None or customer_id not in state.customers:
        return None
    clock_id = state.customers.get(customer_id).get("test_clock")
    if clock_id is None or clock_id not in state.test_clocks:
        return None
    return int(state.test_clocks.get(clock_id)["frozen_time"])


def add_interval(moment: int, interval: str, count: int) -> int:
    """``moment`` plus ``count`` intervals, months ending early as Stripe's do (31 Jan → 28 Feb, 31 Mar)."""
    if interval == "day":
        return moment + 86_400 * count
    if interval == "week":
        return moment + 7 * 86_400 * count
    start = dt.datetime.fromtimestamp(moment, dt.UTC)
    months = start.month - 1 + count * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def period_end(anchor: int, start: int, recurring: StripeObject) -> int:
    """The end of the period beginning at ``start`` in a cycle anchored at ``anchor``."""
    n = 1
    while (end := add_interval(anchor, recurring["interval"], recurring["interval_count"] * n)) <= start:
        n += 1
    return end


# --- Objects ---------------------------------------------------------------------------------------------


def money(amount: int, currency: str) -> str:
    figure = f"{amount / 100:.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()}"


def invoice_prefix() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


def plan_of(price: StripeObject) -> StripeObject:
    """The ``plan`` Stripe still shows beside a subscription item's ``price``: the same price, as a plan."""
    recurring = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": None,
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring["usage_type"],
    }


def subscription_of(state: State, invoice: StripeObject) -> StripeObject | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    sub_id = details.get("subscription")
    return state.subscriptions.get(str(sub_id)) if sub_id in state.subscriptions else None


def new_invoice(
    state: State, sub: StripeObject, *, reason: str, period_start: int, period_end: int
) -> StripeObject:
    """A draft invoice of the subscription's items for their current period (kept, not announced)."""
    customer = state.customers.get(sub["customer"])
    invoice_id = new_id("in", 24)
    lines = [_line(state, invoice_id, sub, item) for item in sub["items"]["data"]]
    total = sum(line["amount"] for line in lines)
    invoice: StripeObject = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": PLATFORM_COUNTRY,
        "account_name": PLATFORM_NAME,
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": sub["collection_method"],
        "created": state.now(),
        "currency": sub["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(sub["metadata"]),
                "subscription": sub["id"],
                "subscription_proration_date": None,
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": customer["test_clock"],
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }
    return state.invoices.add(invoice)


def _line(state: State, invoice_id: str, sub: StripeObject, item: StripeObject) -> StripeObject:
    price, quantity = item["price"], item["quantity"]
    amount = price["unit_amount"] * quantity
    recurring = price["recurring"]
    every = recurring["interval"]
    if recurring["interval_count"] != 1:
        every = f"every {recurring['interval_count']} {every}s"
    product = state.products.get(price["product"]) if price["product"] in state.products else None
    name = product["name"] if product else price["product"]
    return {
        "id": new_id("il", 24),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": f"{quantity} × {name} (at {money(price['unit_amount'], price['currency'])} / {every})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(sub["metadata"]),
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": item["current_period_end"], "start": item["current_period_start"]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        "quantity": quantity,
        "subscription": sub["id"],
        "subtotal": amount,
        "taxes": [],
    }


# --- An invoice's life -----------------------------------------------------------------------------------


def finalize(backend: Backend, invoice: StripeObject, out: Outbox) -> None:
    """Draft → open: numbered, a hosted page, and the PaymentIntent that will pay it (if it is chargeable)."""
    state = backend.state
    now = state.now()
    customer = state.customers.get(invoice["customer"])
    token = secrets.token_urlsafe(24)
    state.billing.hosted_invoices[token] = invoice["id"]
    invoice.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}",
        effective_at=now,
        ending_balance=0,
        automatically_finalizes_at=None,
        hosted_invoice_url=f"{backend.settings.public_url}/invoice/{token}",
        webhooks_delivered_at=now,
    )
    customer["next_invoice_sequence"] += 1
    invoice["status_transitions"]["finalized_at"] = now
    chargeable = invoice["amount_due"] >= payment_intents.MINIMUM_AMOUNT.get(invoice["currency"], 1)
    if chargeable:
        first = invoice["billing_reason"] == "subscription_create"
        answer = payment_intents.create(
            ApiCall(
                backend,
                {
                    "amount": invoice["amount_due"],
                    "currency": invoice["currency"],
                    "customer": invoice["customer"],
                    "description": "Subscription creation" if first else "Subscription update",
                    "payment_method_types": ["card"],
                },
                {},
                out.request,
                "",
            )
        )
        state.billing.invoice_of_payment_intent[answer["id"]] = invoice["id"]
        state.invoice_payments.add(
            {
                "id": new_id("inpay", 24),
                "object": "invoice_payment",
                "amount_paid": None,
                "amount_requested": invoice["amount_due"],
                "created": now,
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"payment_intent": answer["id"], "type": "payment_intent"},
                "status": "open",
                "status_transitions": {"canceled_at": None, "paid_at": None},
            }
        )
    out.emit("invoice.finalized", invoice)
    if not chargeable:
        # Stripe marks an invoice under its minimum charge paid (carrying the amount to the customer's
        # balance, which the emulator does not track).
        _paid(backend, invoice, None, out)


def payment_of(state: State, invoice: StripeObject) -> StripeObject | None:
    """The invoice's (default) InvoicePayment."""
    return next(
        (p for p in state.invoice_payments if p["invoice"] == invoice["id"] and p["is_default"]), None
    )


def intent_of(state: State, invoice: StripeObject) -> StripeObject | None:
    payment = payment_of(state, invoice)
    if payment is None:
        return None
    return state.payment_intents.get(payment["payment"]["payment_intent"])


def default_payment_method(state: State, invoice: StripeObject) -> str | None:
    """What Stripe charges: the subscription's default payment method, else the customer's."""
    customer = state.customers.get(invoice["customer"])
    sub = subscription_of(state, invoice)
    candidates: list[str | None] = [
        sub["default_payment_method"] if sub else None,
        (customer.get("invoice_settings") or {}).get("default_payment_method"),
    ]
    for candidate in candidates:
        method = (
            state.payment_methods.get(candidate) if candidate and candidate in state.payment_methods else None
        )
        if method is not None and method["customer"] == customer["id"]:
            return str(method["id"])
    return None


def collect(
    backend: Backend,
    invoice: StripeObject,
    out: Outbox,
    *,
    payment_method: str | None = None,
    automatic: bool = True,
) -> ApiError | None:
    """Charge an open invoice: returns the card's decline (the 402 Stripe answers), settled either way."""
    state = backend.state
    intent = intent_of(state, invoice)
    assert intent is not None
    if intent["status"] == "canceled":
        raise ApiError(400, f"This invoice's PaymentIntent {intent['id']} was canceled: it cannot be paid.")
    method = payment_method or default_payment_method(state, invoice)
    if method is None:
        _unpaid(backend, invoice, "invoice.payment_failed", out, automatic=automatic)
        return None
    intent.update(payment_method=method, status="requires_confirmation")
    state.billing.settling.add(intent["id"])
    try:
        error = payment_intents.attempt(backend, intent, out.request)
    finally:
        state.billing.settling.discard(intent["id"])
    settle(backend, invoice, intent, out, automatic=automatic)
    return error


def settle(
    backend: Backend, invoice: StripeObject, intent: StripeObject, out: Outbox, *, automatic: bool
) -> None:
    """Apply the outcome of an attempt at the invoice's PaymentIntent to the invoice and its subscription."""
    if invoice["status"] != "open":
        return
    status = intent["status"]
    if status == "succeeded":
        _paid(backend, invoice, intent, out)
    elif status == "requires_action":
        _unpaid(backend, invoice, "invoice.payment_action_required", out, automatic=automatic)
    elif status == "requires_payment_method":
        _unpaid(backend, invoice, "invoice.payment_failed", out, automatic=automatic)


def _attempted(invoice: StripeObject) -> None:
    # Any attempt is the first; after it only automatic retries count (and the emulator makes none).
    invoice.update(attempted=True, attempt_count=max(1, invoice["attempt_count"]), next_payment_attempt=None)


def _paid(backend: Backend, invoice: StripeObject, intent: StripeObject | None, out: Outbox) -> None:
    state = backend.state
    now = state.now()
    if intent is not None:
        _attempted(invoice)
    invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, auto_advance=False)
    invoice["status_transitions"]["paid_at"] = now
    state.customers.get(invoice["customer"])["delinquent"] = False
    out.emit("invoice.paid", invoice)
    out.emit("invoice.payment_succeeded", invoice)
    payment = payment_of(state, invoice)
    if payment is not None:
        payment.update(status="paid", amount_paid=invoice["amount_due"])
        payment["status_transitions"]["paid_at"] = now
        out.emit("invoice_payment.paid", payment)
    sub = subscription_of(state, invoice)
    if (
        sub is not None
        and sub["latest_invoice"] == invoice["id"]
        and sub["status"] in ("incomplete", "past_due")
    ):
        set_status(sub, "active", out)


def _unpaid(backend: Backend, invoice: StripeObject, event: str, out: Outbox, *, automatic: bool) -> None:
    state = backend.state
    _attempted(invoice)
    if automatic:
        state.customers.get(invoice["customer"])["delinquent"] = True
    out.emit(event, invoice)
    sub = subscription_of(state, invoice)
    if sub is not None and sub["latest_invoice"] == invoice["id"] and sub["status"] == "active":
        set_status(sub, "past_due", out)


def void(backend: Backend, invoice: StripeObject, out: Outbox) -> None:
    """Open → void: its PaymentIntent canceled; nothing is owed any more."""
    state = backend.state
    now = state.now()
    invoice.update(status="void", auto_advance=False, next_payment_attempt=None)
    invoice["status_transitions"]["voided_at"] = now
    payment = payment_of(state, invoice)
    intent = intent_of(state, invoice)
    if payment is not None:
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = now
    if intent is not None and intent["status"] not in ("succeeded", "canceled"):
        intent.update(
            status="canceled", canceled_at=now, cancellation_reason="void_invoice", next_action=None
        )
        for record in state.authentications.values():
            if record.payment_intent == intent["id"]:
                record.finished = True
        backend.emit("payment_intent.canceled", intent, None, out.request, account=None)
    out.emit("invoice.voided", invoice)


# --- A subscription's life -------------------------------------------------------------------------------


def set_status(sub: StripeObject, status: str, out: Outbox, **changes: Any) -> None:
    before = deepcopy(sub)
    sub.update(status=status, **changes)
    if sub["id"] not in out.quiet:
        out.emit("customer.subscription.updated", sub, previous_attributes(before, sub))


def renew(backend: Backend, sub: StripeObject, out: Outbox) -> None:
    """At the end of the period: the next one starts, with a draft invoice charged an hour later."""
    state = backend.state
    now = state.now()
    if sub["cancel_at_period_end"] or (sub["cancel_at"] is not None and sub["cancel_at"] <= now):
        end(backend, sub, out)
        return
    before = deepcopy(sub)
    first = sub["items"]["data"][0]
    previous_start, previous_end = first["current_period_start"], first["current_period_end"]
    for item in sub["items"]["data"]:
        start = item["current_period_end"]
        item["current_period_start"] = start
        item["current_period_end"] = period_end(
            sub["billing_cycle_anchor"], start, item["price"]["recurring"]
        )
        item["billed_until"] = item["current_period_end"]
    invoice = new_invoice(
        state, sub, reason="subscription_cycle", period_start=previous_start, period_end=previous_end
    )
    invoice.update(automatically_finalizes_at=now + FINALIZE_AFTER, next_payment_attempt=now + FINALIZE_AFTER)
    sub["latest_invoice"] = invoice["id"]
    out.emit("customer.subscription.updated", sub, previous_attributes(before, sub))
    out.emit("invoice.created", invoice)


def advance_invoice(backend: Backend, invoice: StripeObject, out: Outbox) -> None:
    """A draft's automatic collection: finalized, then charged."""
    finalize(backend, invoice, out)
    if invoice["status"] == "open" and invoice["collection_method"] == "charge_automatically":
        collect(backend, invoice, out)


def end(backend: Backend, sub: StripeObject, out: Outbox, *, reason: str = "cancellation_requested") -> None:
    """The subscription is canceled now: no more invoices, and its unpaid ones are no longer collected."""
    state = backend.state
    now = state.now()
    sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
    sub["cancellation_details"]["reason"] = reason
    for invoice in state.invoices:
        if subscription_of(state, invoice) is sub and invoice["status"] in ("draft", "open"):
            invoice.update(auto_advance=False, next_payment_attempt=None, automatically_finalizes_at=None)
    out.emit("customer.subscription.deleted", sub)


def expire(backend: Backend, sub: StripeObject, out: Outbox) -> None:
    """An incomplete subscription whose first invoice was not paid in 23 hours: its invoice is voided."""
    state = backend.state
    invoice = state.invoices.get(sub["latest_invoice"]) if sub["latest_invoice"] in state.invoices else None
    now = state.now()
    set_status(sub, "incomplete_expired", out, ended_at=now, canceled_at=now)
    if invoice is not None and invoice["status"] == "open":
        void(backend, invoice, out)


# --- Test clocks -----------------------------------------------------------------------------------------


def next_due(state: State, clock_id: str, until: int) -> tuple[int, int, str, StripeObject] | None:
    """What falls due first on the clock's customers by ``until``: (time, order, what, object)."""
    customers = {c["id"] for c in state.customers if c.get("test_clock") == clock_id}
    due: list[tuple[int, int, str, StripeObject]] = []
    for sub in state.subscriptions:
        if sub["customer"] not in customers:
            continue
        if sub["status"] in ("active", "past_due", "unpaid", "trialing"):
            at = min(item["current_period_end"] for item in sub["items"]["data"])
            due.append((at, 1, "renew", sub))
        elif sub["status"] == "incomplete":
            due.append((sub["created"] + INCOMPLETE_EXPIRES_AFTER, 0, "expire", sub))
    for invoice in state.invoices:
        finalizes = invoice["automatically_finalizes_at"]
        if invoice["customer"] in customers and invoice["status"] == "draft" and finalizes is not None:
            due.append((finalizes, 2, "finalize", invoice))
    due = [entry for entry in due if entry[0] <= until]
    return min(due, key=lambda entry: entry[:2]) if due else None


def advance(backend: Backend, clock: StripeObject, until: int, request: RequestInfo) -> None:
    """Move the clock to ``until``, running what falls due on the way, each at its own time."""
    state = backend.state
    out = Outbox(backend, request)
    while (due := next_due(state, clock["id"], until)) is not None:
        at, _, what, obj = due
        clock["frozen_time"] = max(clock["frozen_time"], at)
        with state.frozen_at(clock["frozen_time"]):
            if what == "renew":
                renew(backend, obj, out)
            elif what == "expire":
                expire(backend, obj, out)
            else:
                advance_invoice(backend, obj, out)
    clock["frozen_time"] = until


def shortest_interval_end(state: State, clock: StripeObject) -> int:
    """How far the clock may go: two intervals of its shortest subscription, else two years."""
    customers = {c["id"] for c in state.customers if c.get("test_clock") == clock["id"]}
    limits = [
        add_interval(clock["frozen_time"], r["interval"], 2 * r["interval_count"])
        for sub in state.subscriptions
        if sub["customer"] in customers and sub["status"] not in ENDED
        for r in (item["price"]["recurring"] for item in sub["items"]["data"])
    ]
    return min(limits, default=add_interval(clock["frozen_time"], "year", 2))


# --- Settlements reported by the payments ----------------------------------------------------------------


def _on_settled(backend: Backend, intent: StripeObject, request: RequestInfo) -> None:
    """A PaymentIntent of an invoice was paid or failed elsewhere (3-D Secure page, direct confirmation)."""
    state = backend.state
    invoice_id = state.billing.invoice_of_payment_intent.get(intent["id"])
    if invoice_id is None or intent["id"] in state.billing.settling or invoice_id not in state.invoices:
        return
    invoice = state.invoices.get(invoice_id)
    with state.frozen_at(clock_time(state, invoice["customer"])):
        settle(backend, invoice, intent, Outbox(backend, request), automatic=False)


payment_intents.SETTLED.append(_on_settled)


# --- Includable properties -------------------------------------------------------------------------------


def _payments(state: State, invoice: StripeObject) -> StripeObject:
    data = [p for p in reversed(list(state.invoice_payments)) if p["invoice"] == invoice["id"]]
    return {
        "object": "list",
        "data": deepcopy(data),
        "has_more": False,
        "url": f"/v1/invoice_payments?invoice={invoice['id']}",
    }


def _confirmation_secret(state: State, invoice: StripeObject) -> StripeObject | None:
    intent = intent_of(state, invoice) if invoice["id"] in state.invoices else None
    if intent is None:
        return None
    return {"client_secret": intent["client_secret"], "type": "payment_intent"}


expand.INCLUDABLE["invoice"] = {
    "payments": expand.Includable(_payments, "invoice_payment", is_list=True),
    "confirmation_secret": expand.Includable(_confirmation_secret, "invoice.confirmation_secret"),
}
