"""``expand[]``: ids replaced by their objects in a response, for the properties Stripe lets one expand.

A response is built from a copy: what is stored (and sent in events) keeps ids, as Stripe's objects do.
Paths are dotted (``latest_charge.payment_intent``); a list's items are reached with ``data.``. A hash
without an ``object`` of its own is named by its place (``invoice_payment.payment``); an *includable*
property (an invoice's ``payments``) is absent unless expanded, and then built by its function.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.state import State, StripeObject

# object type → expandable property → the State collection holding what it names
EXPANDABLE: dict[str, dict[str, str]] = {
    "payment_intent": {"latest_charge": "charges", "payment_method": "payment_methods"},
    "charge": {"payment_intent": "payment_intents", "balance_transaction": "balance_transactions"},
    "refund": {
        "charge": "charges",
        "payment_intent": "payment_intents",
        "balance_transaction": "balance_transactions",
    },
    "transfer": {
        "balance_transaction": "balance_transactions",
        "destination": "accounts",
        "source_transaction": "charges",
    },
    "transfer_reversal": {"balance_transaction": "balance_transactions", "transfer": "transfers"},
    # Billing
    "customer": {"test_clock": "test_clocks"},
    "customer.invoice_settings": {"default_payment_method": "payment_methods"},
    "price": {"product": "products"},
    "product": {"default_price": "prices"},
    "subscription": {
        "customer": "customers",
        "default_payment_method": "payment_methods",
        "latest_invoice": "invoices",
        "test_clock": "test_clocks",
    },
    "invoice": {"customer": "customers", "test_clock": "test_clocks"},
    "invoice.parent": {},
    "invoice.parent.subscription_details": {"subscription": "subscriptions"},
    "invoice_payment": {"invoice": "invoices"},
    "invoice_payment.payment": {"payment_intent": "payment_intents", "charge": "charges"},
}
_OBJECT_OF = {
    "charges": "charge",
    "payment_intents": "payment_intent",
    "payment_methods": "payment_method",
    "accounts": "account",
    "balance_transactions": "balance_transaction",
    "transfers": "transfer",
    "customers": "customer",
    "prices": "price",
    "products": "product",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "invoice_payments": "invoice_payment",
    "test_clocks": "test_helpers.test_clock",
}
MAX_DEPTH = 4  # Stripe's limit


@dataclass(frozen=True)
class Includable:
    """A property Stripe leaves out unless expanded: ``build`` makes it from the object it belongs to."""

    build: Callable[[State, StripeObject], Any]
    object_name: str  # what it holds (a list's items when ``is_list``)
    is_list: bool = False


# object type → includable property (registered by the modules that know how to build them)
INCLUDABLE: dict[str, dict[str, Includable]] = {}


def requested(params: p.Params, object_name: str, *, is_list: bool = False) -> list[str]:
    """Take ``expand`` out of the parameters, refusing what Stripe would not expand on this object."""
    value = params.pop("expand", None)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(path, str) for path in value):
        raise ApiError(400, "Invalid array", param="expand")
    for path in value:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise ApiError(400, "You cannot expand more than 4 levels of a property.", param="expand")
        if is_list:
            if parts[0] != "data":
                raise _cannot(parts[0])
            parts = parts[1:]
        name, expect_data = object_name, False
        for part in parts:
            if expect_data:  # inside an included list
                if part != "data":
                    raise _cannot(part)
                expect_data = False
                continue
            collection = EXPANDABLE.get(name, {}).get(part)
            if collection is not None:
                name = _OBJECT_OF[collection]
            elif f"{name}.{part}" in EXPANDABLE:
                name = f"{name}.{part}"
            elif (include := INCLUDABLE.get(name, {}).get(part)) is not None:
                name, expect_data = include.object_name, include.is_list
            else:
                raise _cannot(part)
    return value


def expanded(state: State, obj: StripeObject, paths: list[str]) -> StripeObject:
    """A copy of ``obj`` (an object or a list) with the requested ids replaced by their objects."""
    result = deepcopy(obj)
    for path in paths:
        _expand(state, result, path.split("."))
    return result


def _expand(state: State, node: Any, parts: list[str], place: str = "") -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "data" and node.get("object") == "list":
        for item in node["data"]:
            _expand(state, item, rest)
        return
    name = node.get("object") or place  # a hash of its object's is named by where it is
    value = node.get(head)
    collection = EXPANDABLE.get(name, {}).get(head)
    include = INCLUDABLE.get(name, {}).get(head)
    if isinstance(value, str) and collection is not None:
        items = getattr(state, collection)
        if value in items:
            node[head] = value = deepcopy(items.get(value))
    elif include is not None and head not in node:
        node[head] = value = include.build(state, node)
    _expand(state, value, rest, f"{name}.{head}")


def _cannot(part: str) -> ApiError:
    return ApiError(400, f"This property cannot be expanded ({part}).", param="expand")
