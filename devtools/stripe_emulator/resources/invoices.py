"""Invoices (``/v1/invoices``) of subscriptions, their lines, and their payments (``/v1/invoice_payments``).

Invoices are made by subscriptions only (:mod:`..billing`); this API reads them, pays an open one
(``/pay``, optionally with another ``payment_method`` of the customer's: a decline answers 402 as a
confirmation does, and the invoice stays ``open``), and voids one (``/void``). In this API version an
invoice names its subscription in ``parent.subscription_details.subscription``, its payments are in
``payments`` (included with ``expand[]=payments``: each holds ``payment.payment_intent``) and its line's
price in ``pricing.price_details.price``. Events: ``invoice.created``, ``.finalized``, ``.paid``,
``.payment_succeeded``, ``.payment_failed``, ``.payment_action_required``, ``.voided``,
``invoice_payment.paid``.
"""

from __future__ import annotations

from copy import deepcopy

from devtools.stripe_emulator import billing, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.resources import customers
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import Collection, StripeObject

STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def retrieve(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "invoice")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        if call.args["invoice"] in ("upcoming", "create_preview"):
            raise _not_emulated("Invoice previews")
        return expand.expanded(state, state.invoices.get(call.args["invoice"], param="invoice"), paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "invoice", is_list=True)
    p.check_known(
        params,
        (
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "customer",
            "subscription",
            "status",
            "collection_method",
        ),
    )
    customer, subscription = p.string(params, "customer"), p.string(params, "subscription")
    status = p.choice(params, "status", STATUSES)
    method = p.string(params, "collection_method")
    state = call.backend.state

    def selected(invoice: StripeObject) -> bool:
        sub = (invoice["parent"] or {}).get("subscription_details") or {}
        return (
            (customer is None or invoice["customer"] == customer)
            and (subscription is None or sub.get("subscription") == subscription)
            and (status is None or invoice["status"] == status)
            and (method is None or invoice["collection_method"] == method)
        )

    with state.lock:
        return expand.expanded(state, state.invoices.page(params, where=selected), paths)


def pay(call: ApiCall) -> StripeObject:
    """Attempt the payment now: with ``payment_method`` if given, else the default ones."""
    params = call.params
    paths = expand.requested(params, "invoice")
    p.check_known(
        params, ("payment_method", "off_session", "paid_out_of_band", "forgive", "mandate", "source")
    )
    for name in ("paid_out_of_band", "forgive", "mandate", "source"):
        if name in params:
            raise _not_emulated(f"Paying an invoice with `{name}`")
    if "off_session" in params:
        p.boolean(params["off_session"], "off_session")
    backend = call.backend
    state = backend.state
    with state.lock:
        invoice = state.invoices.get(call.args["invoice"], param="invoice")
        if invoice["status"] == "paid":
            raise ApiError(400, "Invoice is already paid")
        if invoice["status"] in ("void", "uncollectible"):
            raise ApiError(400, f"This invoice is {invoice['status']}: it cannot be paid.")
        customer = customers.get(state, invoice["customer"])
        method = p.string(params, "payment_method")
        with state.frozen_at(billing.clock_time(state, invoice["customer"])):
            if method is not None:
                customers.attached_method(state, customer, method, "payment_method")
            out = billing.Outbox(backend, call.request)
            if invoice["status"] == "draft":
                billing.finalize(backend, invoice, out)
            if invoice["status"] == "open":
                if method is None and billing.default_payment_method(state, invoice) is None:
                    raise ApiError(400, billing.NO_PAYMENT_METHOD)
                error = billing.collect(backend, invoice, out, payment_method=method, automatic=False)
                if error is not None:
                    raise error
                if invoice["status"] == "open":  # waiting for 3-D Secure
                    raise ApiError(
                        402,
                        billing.REQUIRES_ACTION,
                        code="invoice_payment_intent_requires_action",
                        executed=True,
                    )
            return expand.expanded(state, invoice, paths)


def void(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "invoice")
    p.check_known(params, ())
    backend = call.backend
    state = backend.state
    with state.lock:
        invoice = state.invoices.get(call.args["invoice"], param="invoice")
        if invoice["status"] == "draft":
            raise ApiError(400, "You can only void finalized invoices: a draft invoice is deleted instead.")
        if invoice["status"] not in ("open", "uncollectible"):
            raise ApiError(
                400, f"You can only void open or uncollectible invoices; this one is {invoice['status']}."
            )
        with state.frozen_at(billing.clock_time(state, invoice["customer"])):
            billing.void(backend, invoice, billing.Outbox(backend, call.request))
            return expand.expanded(state, invoice, paths)


def lines(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("limit", "starting_after", "ending_before"))
    state = call.backend.state
    with state.lock:
        invoice = state.invoices.get(call.args["invoice"], param="invoice")
        kept = Collection("line item", invoice["lines"]["url"])
        for line in reversed(invoice["lines"]["data"]):  # a list pages newest first: lines keep their order
            kept.add(line)
        return deepcopy(kept.page(params))


def not_emulated(call: ApiCall) -> StripeObject:
    raise _not_emulated("This request")


def retrieve_payment(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "invoice_payment")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        payment = state.invoice_payments.get(call.args["payment"], param="invoice_payment")
        return expand.expanded(state, payment, paths)


def list_payments(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "invoice_payment", is_list=True)
    p.check_known(
        params, ("limit", "starting_after", "ending_before", "invoice", "status", "payment", "created")
    )
    invoice = p.string(params, "invoice")
    status = p.choice(params, "status", ("canceled", "open", "paid"))
    payment = p.mapping(params, "payment") or {}
    p.check_known(payment, ("type", "payment_intent"), "payment")
    intent = p.string(payment, "payment_intent", param="payment[payment_intent]")
    state = call.backend.state
    with state.lock:
        page = state.invoice_payments.page(
            params,
            where=lambda x: (
                (invoice is None or x["invoice"] == invoice)
                and (status is None or x["status"] == status)
                and (intent is None or x["payment"].get("payment_intent") == intent)
            ),
        )
        return expand.expanded(state, page, paths)


def _not_emulated(what: str) -> ApiError:
    return ApiError(
        400,
        f"{what} is not emulated: the Stripe emulator's invoices are those of subscriptions, read, paid "
        "and voided through /v1/invoices.",
    )


ROUTES = [
    ApiRoute("GET", "/v1/invoices", list_all),
    ApiRoute("GET", "/v1/invoices/<invoice>", retrieve),
    ApiRoute("GET", "/v1/invoices/<invoice>/lines", lines),
    ApiRoute("POST", "/v1/invoices/<invoice>/pay", pay),
    ApiRoute("POST", "/v1/invoices/<invoice>/void", void),
    # localstripe's invoices know nothing of the emulator's customers: say so rather than forward these.
    ApiRoute("POST", "/v1/invoices", not_emulated),
    ApiRoute("POST", "/v1/invoices/<invoice>", not_emulated),
    ApiRoute("POST", "/v1/invoices/<invoice>/<action>", not_emulated),
    ApiRoute("GET", "/v1/invoice_payments", list_payments),
    ApiRoute("GET", "/v1/invoice_payments/<payment>", retrieve_payment),
]
