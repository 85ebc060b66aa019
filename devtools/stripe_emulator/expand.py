"""``expand[]``: ids replaced by their objects in a response, for the properties Stripe lets one expand.

A response is built from a copy: what is stored (and sent in events) keeps ids, as Stripe's objects do.
Paths are dotted (``latest_charge.payment_intent``); a list's items are reached with ``data.``.
"""

from __future__ import annotations

from copy import deepcopy
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
}
_OBJECT_OF = {
    "charges": "charge",
    "payment_intents": "payment_intent",
    "payment_methods": "payment_method",
    "accounts": "account",
    "balance_transactions": "balance_transaction",
    "transfers": "transfer",
}
MAX_DEPTH = 4  # Stripe's limit


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
        name = object_name
        for part in parts:
            collection = EXPANDABLE.get(name, {}).get(part)
            if collection is None:
                raise _cannot(part)
            name = _OBJECT_OF[collection]
    return value


def expanded(state: State, obj: StripeObject, paths: list[str]) -> StripeObject:
    """A copy of ``obj`` (an object or a list) with the requested ids replaced by their objects."""
    result = deepcopy(obj)
    for path in paths:
        _expand(state, result, path.split("."))
    return result


def _expand(state: State, node: Any, parts: list[str]) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "data" and node.get("object") == "list":
        for item in node["data"]:
            _expand(state, item, rest)
        return
    value = node.get(head)
    collection = EXPANDABLE.get(node.get("object", ""), {}).get(head)
    if isinstance(value, str) and collection is not None:
        items = getattr(state, collection)
        if value in items:
            node[head] = value = deepcopy(items.get(value))
    _expand(state, value, rest)


def _cannot(part: str) -> ApiError:
    return ApiError(400, f"This property cannot be expanded ({part}).", param="expand")
