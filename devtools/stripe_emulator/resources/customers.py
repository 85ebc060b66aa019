"""Customers (``/v1/customers``) and the card PaymentMethods attached to them (``/attach``, ``/detach``).

Customers are the emulator's, so that subscriptions can charge the emulator's PaymentMethods and follow a
test clock. A customer made with ``test_clock`` lives at the clock's time. Attaching one of Stripe's test
ids makes a new PaymentMethod (as using it anywhere does) and checks the card as Stripe does: a card that
is declined is refused (402 ``card_declined``), except ``pm_card_chargeCustomerFail``, which attaches and
then fails every charge. Events: ``customer.created``, ``.updated`` (with ``previous_attributes``),
``.deleted``, ``payment_method.attached``, ``.detached``.
"""

from __future__ import annotations

import re
from copy import deepcopy

from devtools.stripe_emulator import billing, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError, NotHandled, no_such
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.resources import payment_methods
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

_FIELDS = ("name", "email", "description", "phone")
UPDATE_PARAMS = (
    *_FIELDS,
    "address",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "preferred_locales",
    "shipping",
    "tax_exempt",
)
CREATE_PARAMS = (*UPDATE_PARAMS, "payment_method", "test_clock")
TAX_EXEMPT = ("exempt", "none", "reverse")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIX = re.compile(r"^[A-Z0-9]{3,12}$")


def get(state: State, customer_id: str, *, param: str = "customer", status: int = 400) -> StripeObject:
    """A live customer, or Stripe's ``resource_missing`` (a deleted customer is missing too)."""
    customer = state.customers.get(customer_id, param=param, status=status)
    if customer.get("deleted"):
        raise no_such("customer", customer_id, param=param, status=status)
    return customer


def create(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "customer")
    p.check_known(params, CREATE_PARAMS)
    state = call.backend.state
    with state.lock:
        clock_id = p.string(params, "test_clock")
        clock = state.test_clocks.get(clock_id, param="test_clock") if clock_id else None
        with state.frozen_at(clock["frozen_time"] if clock else None):
            customer: StripeObject = {
                "id": new_id("cus", 14),
                "object": "customer",
                "address": None,
                "balance": 0,
                "business_name": None,
                "created": state.now(),
                "currency": None,
                "customer_account": None,
                "default_source": None,
                "delinquent": False,
                "description": None,
                "discount": None,
                "email": None,
                "individual_name": None,
                "invoice_prefix": billing.invoice_prefix(),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "livemode": False,
                "metadata": {},
                "name": None,
                "next_invoice_sequence": 1,
                "phone": None,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": clock_id,
            }
            _apply(customer, params)
            name = p.string(params, "payment_method")
            settings = p.mapping(params, "invoice_settings") or {}
            default = p.string(settings, "default_payment_method")
            if default is not None and default != name:
                _attached(state, customer, default)  # a new customer has no other payment method: refused
            method = attachable(state, name, customer, param="payment_method") if name else None
            if method is not None and default is not None:
                customer["invoice_settings"]["default_payment_method"] = method["id"]
            state.customers.add(customer)
            call.backend.emit("customer.created", customer, None, call.request, account=None)
            if method is not None:
                attach_to(call.backend, method, customer, call.request)
            return expand.expanded(state, customer, paths)


def retrieve(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "customer")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        customer = state.customers.get(call.args["customer"], param="customer")
        return deepcopy(customer) if customer.get("deleted") else expand.expanded(state, customer, paths)


def update(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "customer")
    p.check_known(params, UPDATE_PARAMS)
    state = call.backend.state
    with state.lock:
        customer = get(state, call.args["customer"], status=404)
        with state.frozen_at(billing.clock_time(state, customer["id"])):
            before = deepcopy(customer)
            changed = deepcopy(customer)
            _apply(changed, params)
            settings = p.mapping(params, "invoice_settings")
            if settings is not None and "default_payment_method" in settings:
                default = p.string(settings, "default_payment_method")
                changed["invoice_settings"]["default_payment_method"] = (
                    None if default is None else _attached(state, customer, default)
                )
            customer.update(changed)
            previous = previous_attributes(before, customer)
            if previous:
                call.backend.emit("customer.updated", customer, previous, call.request, account=None)
            return expand.expanded(state, customer, paths)


def delete(call: ApiCall) -> StripeObject:
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        customer = get(state, call.args["customer"], status=404)
        backend = call.backend
        with state.frozen_at(billing.clock_time(state, customer["id"])):
            out = billing.Outbox(backend, call.request)
            for sub in state.subscriptions:  # Stripe cancels them at once
                if sub["customer"] == customer["id"] and sub["status"] not in billing.ENDED:
                    billing.end(backend, sub, out)
            gone = deepcopy(customer)
            customer.clear()
            customer.update(id=gone["id"], object="customer", deleted=True)
            backend.emit("customer.deleted", gone, None, call.request, account=None)
        return deepcopy(customer)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "customer", is_list=True)
    p.check_known(params, ("limit", "starting_after", "ending_before", "created", "email", "test_clock"))
    email, clock = p.string(params, "email"), p.string(params, "test_clock")
    state = call.backend.state
    with state.lock:
        page = state.customers.page(
            params,
            where=lambda c: (
                not c.get("deleted")
                and (email is None or c["email"] == email)
                and (clock is None or c["test_clock"] == clock)
            ),
        )
        return expand.expanded(state, page, paths)


def _apply(customer: StripeObject, params: p.Params) -> None:
    for key in _FIELDS:
        if key in params:
            customer[key] = p.string(params, key)
    email = customer["email"]
    if "email" in params and email is not None and not _EMAIL.match(email):
        raise p.invalid_param("email", f"Invalid email address: {email}", code="email_invalid")
    for key in ("address", "shipping"):
        if key in params:
            value = p.mapping(params, key)
            customer[key] = value or None
    if "metadata" in params:
        customer["metadata"] = p.merge_metadata(customer["metadata"], p.mapping(params, "metadata"))
    if "tax_exempt" in params:
        customer["tax_exempt"] = p.choice(params, "tax_exempt", TAX_EXEMPT) or "none"
    if "preferred_locales" in params:
        locales = params["preferred_locales"]
        if locales == "":
            locales = []
        if not isinstance(locales, list) or not all(isinstance(x, str) for x in locales):
            raise p.invalid_param("preferred_locales", "Invalid array")
        customer["preferred_locales"] = locales
    if "invoice_prefix" in params:
        prefix = p.string(params, "invoice_prefix", required=True)
        if prefix is None or not _PREFIX.match(prefix):
            raise p.invalid_param(
                "invoice_prefix",
                "Invoice prefixes must be 3 to 12 uppercase letters or numbers.",
            )
        customer["invoice_prefix"] = prefix
    settings = p.mapping(params, "invoice_settings")
    if settings is not None:
        p.check_known(settings, ("default_payment_method", "footer"), "invoice_settings")
        if "footer" in settings:
            customer["invoice_settings"]["footer"] = p.string(settings, "footer")


def _attached(state: State, customer: StripeObject, payment_method: str) -> str:
    """A PaymentMethod of this customer's, as ``invoice_settings[default_payment_method]`` must name."""
    return attached_method(state, customer, payment_method, "invoice_settings[default_payment_method]")


def attached_method(state: State, customer: StripeObject, payment_method: str, param: str) -> str:
    method = state.payment_methods.get(payment_method) if payment_method in state.payment_methods else None
    if method is None or method["customer"] != customer["id"]:
        raise p.invalid_param(
            param,
            f"The customer does not have a payment method with the ID {payment_method}. The payment "
            "method must be attached to the customer.",
        )
    return payment_method


# --- PaymentMethods on customers -------------------------------------------------------------------------


def attachable(
    state: State, name: str, customer: StripeObject, *, param: str, status: int = 400
) -> StripeObject:
    """The PaymentMethod ``name`` (an id, or a test id making a new one) once its card is checked."""
    if name not in state.payment_methods and name not in payment_methods.TEST_CARDS:
        raise no_such("PaymentMethod", name, param=param, status=status)
    method = payment_methods.resolve(state, name, param=param)
    if method["customer"] in (None, customer["id"]):
        if any(c["payment_method"] == method["id"] and c["customer"] is None for c in state.charges):
            raise p.invalid_param(
                param,
                "This PaymentMethod was previously used without being attached to a Customer or was "
                "detached from a Customer, and may not be used again.",
            )
    else:
        raise p.invalid_param(
            param, "The payment method you provided has already been attached to a customer."
        )
    decline = payment_methods.card_of(state, method).attach_decline()
    if decline is not None:
        raise ApiError(
            402,
            decline.message,
            type="card_error",
            code=decline.code,
            extra={
                "decline_code": decline.decline_code,
                "doc_url": "https://docs.stripe.com/error-codes/" + decline.code.replace("_", "-"),
            },
        )
    return method


def attach_to(backend: Backend, method: StripeObject, customer: StripeObject, request: RequestInfo) -> None:
    if method["customer"] != customer["id"]:
        method["customer"] = customer["id"]
        backend.emit("payment_method.attached", method, None, request, account=None)


def attach(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("customer",))
    state = call.backend.state
    with state.lock:
        customer_id = p.string(params, "customer", required=True)
        assert customer_id is not None
        customer = get(state, customer_id)
        with state.frozen_at(billing.clock_time(state, customer_id)):
            method = attachable(
                state, call.args["payment_method"], customer, param="payment_method", status=404
            )
            attach_to(call.backend, method, customer, call.request)
            return deepcopy(method)


def detach(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        name = call.args["payment_method"]
        if name not in state.payment_methods:
            raise NotHandled  # one made in localstripe
        method = state.payment_methods.get(name, param="payment_method")
        customer_id = method["customer"]
        if customer_id is None:
            raise p.invalid_param(
                "payment_method",
                "The payment method you provided is not attached to a customer so detachment is impossible.",
            )
        backend = call.backend
        with state.frozen_at(billing.clock_time(state, customer_id)):
            method["customer"] = None
            customer = state.customers.get(customer_id)
            if not customer.get("deleted") and customer["invoice_settings"]["default_payment_method"] == name:
                before = deepcopy(customer)
                customer["invoice_settings"]["default_payment_method"] = None
                previous = previous_attributes(before, customer)
                backend.emit("customer.updated", customer, previous, call.request, account=None)
            previous = {"customer": customer_id}
            backend.emit("payment_method.detached", method, previous, call.request, account=None)
            return deepcopy(method)


def list_methods(call: ApiCall) -> StripeObject:
    """``GET /v1/customers/{id}/payment_methods``, and ``GET /v1/payment_methods?customer=``."""
    params = call.params
    paths = expand.requested(params, "payment_method", is_list=True)
    p.check_known(params, ("limit", "starting_after", "ending_before", "customer", "type", "allow_redisplay"))
    state = call.backend.state
    with state.lock:
        customer_id = call.args.get("customer") or p.string(params, "customer")
        if customer_id is None:
            raise NotHandled  # PaymentMethods of no customer: localstripe's, as before
        get(state, customer_id, status=404 if "customer" in call.args else 400)
        kind = p.string(params, "type")
        page = state.payment_methods.page(
            params,
            url=f"/v1/customers/{customer_id}/payment_methods" if "customer" in call.args else None,
            where=lambda m: m["customer"] == customer_id and kind in (None, m["type"]),
        )
        return expand.expanded(state, page, paths)


def _subscriptions(state: State, customer: StripeObject) -> StripeObject:
    data = [
        s
        for s in reversed(list(state.subscriptions))
        if s["customer"] == customer["id"] and s["status"] != "canceled"
    ]
    return {
        "object": "list",
        "data": deepcopy(data),
        "has_more": False,
        "total_count": len(data),
        "url": f"/v1/customers/{customer['id']}/subscriptions",
    }


expand.INCLUDABLE["customer"] = {
    "subscriptions": expand.Includable(_subscriptions, "subscription", is_list=True)
}


ROUTES = [
    ApiRoute("POST", "/v1/customers", create),
    ApiRoute("GET", "/v1/customers", list_all),
    ApiRoute("GET", "/v1/customers/<customer>", retrieve),
    ApiRoute("POST", "/v1/customers/<customer>", update),
    ApiRoute("DELETE", "/v1/customers/<customer>", delete),
    ApiRoute("GET", "/v1/customers/<customer>/payment_methods", list_methods),
    ApiRoute("GET", "/v1/payment_methods", list_methods),
    ApiRoute("POST", "/v1/payment_methods/<payment_method>/attach", attach),
    ApiRoute("POST", "/v1/payment_methods/<payment_method>/detach", detach),
]
