"""Subscriptions (``/v1/subscriptions``): a customer billed each period for its items' prices.

Created, the first invoice is finalized and charged at once to the subscription's ``default_payment_method``
(else the customer's ``invoice_settings.default_payment_method``): paid, the subscription is ``active``;
declined (or waiting for 3-D Secure), it is ``incomplete``, its invoice ``open``. With
``payment_behavior=error_if_incomplete`` a failed first payment answers 402 and no subscription is made;
with ``default_incomplete`` nothing is charged (the invoice's ``confirmation_secret`` is for the payer).
Changing an item's price (``proration_behavior=none``: prorations are not emulated) applies from the
next period's invoice. ``DELETE`` cancels at once; ``cancel_at_period_end`` at the period's end. What
happens over time is in :mod:`..billing`. Events: ``customer.subscription.created`` (sent first, with the
status the first payment gave), ``.updated`` (with ``previous_attributes``), ``.deleted``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from devtools.stripe_emulator import billing, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError, no_such
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.resources import customers
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

UPDATE_PARAMS = (
    "cancel_at_period_end",
    "cancellation_details",
    "collection_method",
    "default_payment_method",
    "description",
    "items",
    "metadata",
    "off_session",
    "payment_behavior",
    "proration_behavior",
)
CREATE_PARAMS = (
    *(k for k in UPDATE_PARAMS if k != "cancellation_details"),
    "billing_mode",
    "customer",
    "payment_settings",
)
NOT_EMULATED = (
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "backdate_start_date",
    "billing_cycle_anchor",
    "billing_cycle_anchor_config",
    "billing_thresholds",
    "cancel_at",
    "coupon",
    "currency",
    "days_until_due",
    "default_source",
    "default_tax_rates",
    "discounts",
    "invoice_settings",
    "on_behalf_of",
    "pause_collection",
    "pending_invoice_item_interval",
    "promotion_code",
    "proration_date",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_period_days",
    "trial_settings",
)
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
FEEDBACK = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)


def create(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "subscription")
    _refuse_not_emulated(params)
    p.check_known(params, CREATE_PARAMS)
    backend = call.backend
    state = backend.state
    with state.lock:
        customer_id = p.string(params, "customer", required=True)
        assert customer_id is not None
        customer = customers.get(state, customer_id)
        behavior = p.choice(params, "payment_behavior", PAYMENT_BEHAVIORS) or "allow_incomplete"
        if behavior == "pending_if_incomplete":
            raise p.invalid_param(
                "payment_behavior", "payment_behavior=pending_if_incomplete is only supported when updating."
            )
        _collection_method(params)
        p.choice(params, "proration_behavior", PRORATION_BEHAVIORS)  # nothing to prorate yet
        mode = _billing_mode(params)
        p.mapping(params, "payment_settings")
        method = p.string(params, "default_payment_method")
        if method is not None:
            customers.attached_method(state, customer, method, "default_payment_method")
        entries = params.get("items")
        if not entries:
            raise p.missing_param("items")
        with state.frozen_at(billing.clock_time(state, customer_id)):
            now = state.now()
            sub_id = new_id("sub", 24)
            items = _new_items(state, sub_id, entries, now, None)
            currency = items[0]["price"]["currency"]
            if customer["currency"] not in (None, currency):
                raise p.invalid_param(
                    "currency",
                    f"You cannot combine currencies on a single customer. This customer has had a "
                    f"subscription or payment in {customer['currency']}, but you are trying to pay in "
                    f"{currency}.",
                )
            sub: StripeObject = {
                "id": sub_id,
                "object": "subscription",
                "application": None,
                "application_fee_percent": None,
                "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
                "billing_cycle_anchor": now,
                "billing_cycle_anchor_config": None,
                "billing_mode": mode,
                "billing_schedules": [],
                "billing_thresholds": None,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "cancellation_details": {"comment": None, "feedback": None, "reason": None},
                "collection_method": "charge_automatically",
                "created": now,
                "currency": currency,
                "customer": customer_id,
                "customer_account": None,
                "days_until_due": None,
                "default_payment_method": method,
                "default_source": None,
                "default_tax_rates": [],
                "description": p.string(params, "description"),
                "discounts": [],
                "ended_at": None,
                "invoice_settings": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": None,
                    "footer": None,
                    "issuer": {"type": "self"},
                },
                "items": {
                    "object": "list",
                    "data": items,
                    "has_more": False,
                    "total_count": len(items),
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "managed_payments": None,
                "metadata": p.merge_metadata({}, p.mapping(params, "metadata")),
                "next_pending_invoice_item_invoice": None,
                "on_behalf_of": None,
                "pause_collection": None,
                "payment_settings": {
                    "payment_method_options": None,
                    "payment_method_types": None,
                    "save_default_payment_method": "off",
                },
                "pending_invoice_item_interval": None,
                "pending_setup_intent": None,
                "pending_update": None,
                "presentment_details": None,
                "schedule": None,
                "start_date": now,
                "status": "incomplete",
                "status_details": None,
                "test_clock": customer["test_clock"],
                "transfer_data": None,
                "trial_end": None,
                "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
                "trial_start": None,
            }
            if "cancel_at_period_end" in params:
                _cancel_at_period_end(
                    sub, p.boolean(params["cancel_at_period_end"], "cancel_at_period_end"), now
                )
            state.subscriptions.add(sub)
            customer["currency"] = currency
            out = billing.Outbox(backend, call.request, hold=True, quiet={sub_id})
            invoice = billing.new_invoice(
                state, sub, reason="subscription_create", period_start=now, period_end=now
            )
            sub["latest_invoice"] = invoice["id"]
            out.emit("invoice.created", invoice)
            billing.finalize(backend, invoice, out)
            error: ApiError | None = None
            chargeable = billing.default_payment_method(state, invoice) is not None
            if invoice["status"] == "open" and behavior != "default_incomplete" and chargeable:
                error = billing.collect(backend, invoice, out)
            if behavior == "error_if_incomplete" and sub["status"] != "active":
                _forget(state, sub, invoice)
                if error is not None:
                    raise error
                if not chargeable:
                    raise ApiError(400, billing.NO_PAYMENT_METHOD, executed=True)
                raise ApiError(
                    402, billing.REQUIRES_ACTION, code="invoice_payment_intent_requires_action", executed=True
                )
            out.release(first=[("customer.subscription.created", deepcopy(sub))])
            return expand.expanded(state, sub, paths)


def retrieve(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "subscription")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.subscriptions.get(call.args["subscription"], param="id"), paths)


def update(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "subscription")
    _refuse_not_emulated(params)
    p.check_known(params, UPDATE_PARAMS)
    backend = call.backend
    state = backend.state
    with state.lock:
        sub = state.subscriptions.get(call.args["subscription"], param="id")
        if sub["status"] in billing.ENDED and set(params) - {"metadata", "cancellation_details"}:
            raise ApiError(
                400, "A canceled subscription can only update its cancellation_details and metadata."
            )
        customer = state.customers.get(sub["customer"])
        p.choice(params, "payment_behavior", PAYMENT_BEHAVIORS)
        _collection_method(params)
        prorations = p.choice(params, "proration_behavior", PRORATION_BEHAVIORS) or "create_prorations"
        with state.frozen_at(billing.clock_time(state, sub["customer"])):
            now = state.now()
            before = deepcopy(sub)
            changed = deepcopy(sub)
            if "items" in params:
                if sub["status"] == "incomplete":
                    raise p.invalid_param(
                        "items",
                        "You cannot update a subscription in `incomplete` status in a way that results in "
                        "new invoices or invoice items. Pay its latest invoice first.",
                    )
                _change_items(state, changed, params["items"], now)
                if changed["items"] != sub["items"] and prorations != "none":
                    raise p.invalid_param(
                        "proration_behavior",
                        f"proration_behavior={prorations} is not emulated: the Stripe emulator changes items "
                        "with proration_behavior=none only (the new price applies from the next period).",
                    )
            if "default_payment_method" in params:
                method = p.string(params, "default_payment_method")
                if method is not None:
                    customers.attached_method(state, customer, method, "default_payment_method")
                changed["default_payment_method"] = method
            if "description" in params:
                changed["description"] = p.string(params, "description")
            if "metadata" in params:
                changed["metadata"] = p.merge_metadata(sub["metadata"], p.mapping(params, "metadata"))
            if "cancel_at_period_end" in params:
                value = p.boolean(params["cancel_at_period_end"], "cancel_at_period_end")
                if value != sub["cancel_at_period_end"]:
                    _cancel_at_period_end(changed, value, now)
            if "cancellation_details" in params:
                changed["cancellation_details"].update(_cancellation_details(params))
            sub.update(changed)
            previous = previous_attributes(before, sub)
            if previous:
                backend.emit("customer.subscription.updated", sub, previous, call.request, account=None)
            return expand.expanded(state, sub, paths)


def cancel(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "subscription")
    p.check_known(params, ("cancellation_details", "invoice_now", "prorate"))
    if "prorate" in params and p.boolean(params["prorate"], "prorate"):
        raise p.invalid_param("prorate", "prorate=true is not emulated: prorations are not emulated.")
    if "invoice_now" in params:
        p.boolean(params["invoice_now"], "invoice_now")  # nothing is pending to invoice here
    backend = call.backend
    state = backend.state
    with state.lock:
        sub = state.subscriptions.get(call.args["subscription"], param="id")
        if sub["status"] in billing.ENDED:
            raise ApiError(
                400,
                f"This subscription is already {sub['status'].replace('_', ' ')}: it cannot be canceled.",
            )
        details = _cancellation_details(params)
        with state.frozen_at(billing.clock_time(state, sub["customer"])):
            sub["cancellation_details"].update(details)
            billing.end(backend, sub, billing.Outbox(backend, call.request))
            return expand.expanded(state, sub, paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "subscription", is_list=True)
    p.check_known(
        params,
        (
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "customer",
            "price",
            "status",
            "test_clock",
            "collection_method",
        ),
    )
    customer, price, clock = (p.string(params, k) for k in ("customer", "price", "test_clock"))
    method = p.string(params, "collection_method")
    status = p.choice(params, "status", STATUSES)

    def selected(sub: StripeObject) -> bool:
        if status is None and sub["status"] == "canceled":
            return False  # Stripe lists canceled subscriptions only when asked
        if status == "ended" and sub["status"] not in billing.ENDED:
            return False
        if status not in (None, "all", "ended") and sub["status"] != status:
            return False
        return (
            (customer is None or sub["customer"] == customer)
            and (clock is None or sub["test_clock"] == clock)
            and (method is None or sub["collection_method"] == method)
            and (price is None or any(i["price"]["id"] == price for i in sub["items"]["data"]))
        )

    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.subscriptions.page(params, where=selected), paths)


def list_items(call: ApiCall) -> StripeObject:
    """``GET /v1/subscription_items?subscription=``: a subscription's items (its ``items.url``)."""
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("subscription", "limit", "starting_after", "ending_before"))
    state = call.backend.state
    with state.lock:
        sub_id = p.string(params, "subscription", required=True)
        assert sub_id is not None
        sub = state.subscriptions.get(sub_id, param="subscription", status=400)
        return deepcopy(sub["items"])


def retrieve_item(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        for sub in state.subscriptions:
            for item in sub["items"]["data"]:
                if item["id"] == call.args["item"]:
                    return deepcopy(item)
        raise no_such("subscription item", call.args["item"], param="item", status=404)


ROUTES = [
    ApiRoute("POST", "/v1/subscriptions", create),
    ApiRoute("GET", "/v1/subscriptions", list_all),
    ApiRoute("GET", "/v1/subscriptions/<subscription>", retrieve),
    ApiRoute("POST", "/v1/subscriptions/<subscription>", update),
    ApiRoute("DELETE", "/v1/subscriptions/<subscription>", cancel),
    ApiRoute("GET", "/v1/subscription_items", list_items),
    ApiRoute("GET", "/v1/subscription_items/<item>", retrieve_item),
]


# --- Items -----------------------------------------------------------------------------------------------


def _new_items(
    state: State, sub_id: str, entries: Any, start: int, current: StripeObject | None
) -> list[StripeObject]:
    """The items of a new subscription (``current`` None) or those added to one, for their period."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise p.invalid_param("items", "Invalid array")
    items = []
    for index, entry in enumerate(entries):
        p.check_known(entry, ("price", "quantity", "metadata"), f"items[{index}]")
        price = _price(state, entry, index, current)
        end = billing.period_end(start, start, price["recurring"])
        items.append(_item(sub_id, price, entry, index, start, end, state.now()))
    _check_items(items, current)
    return items


def _item(
    sub_id: str, price: StripeObject, entry: p.Params, index: int, start: int, end: int, now: int
) -> StripeObject:
    return {
        "id": new_id("si", 14),
        "object": "subscription_item",
        "billed_until": end,
        "billing_thresholds": None,
        "created": now,
        "current_period_end": end,
        "current_period_start": start,
        "current_trial": None,
        "discounts": [],
        "metadata": p.merge_metadata({}, p.mapping(entry, "metadata", param=f"items[{index}][metadata]")),
        "plan": billing.plan_of(price),
        "price": deepcopy(price),
        "quantity": _quantity(entry, index),
        "subscription": sub_id,
        "tax_rates": [],
    }


def _price(state: State, entry: p.Params, index: int, current: StripeObject | None) -> StripeObject:
    param = f"items[{index}][price]"
    price_id = p.string(entry, "price", required=True, param=param)
    assert price_id is not None
    price = state.prices.get(price_id, param=param, status=400)
    if not price["active"]:
        raise p.invalid_param(
            param, "The price specified is inactive. This field only accepts active prices."
        )
    if price["recurring"] is None:
        raise p.invalid_param(
            param,
            "The price specified is set to `type=one_time` but this field only accepts prices with "
            "`type=recurring`.",
        )
    if current is not None:
        ours = current["items"]["data"][0]["price"]
        if price["currency"] != ours["currency"]:
            raise p.invalid_param(param, "All prices on a subscription must have the same currency.")
        if _interval(price) != _interval(ours):
            raise p.invalid_param(
                param,
                "Changing a subscription's billing interval is not emulated: the Stripe emulator keeps "
                "every item on the subscription's current interval.",
            )
    return price


def _interval(price: StripeObject) -> tuple[str, int]:
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def _quantity(entry: p.Params, index: int) -> int:
    quantity = p.integer(entry.get("quantity", "1"), f"items[{index}][quantity]")
    if quantity < 1:
        raise p.invalid_param(f"items[{index}][quantity]", "This value must be greater than or equal to 1.")
    return quantity


def _check_items(items: list[StripeObject], current: StripeObject | None) -> None:
    if not items:
        raise p.invalid_param("items", "A subscription needs at least one item.")
    seen: set[str] = set()
    for item in items:
        if item["price"]["id"] in seen:
            raise p.invalid_param(
                "items", f"Cannot add multiple subscription items with the same price: {item['price']['id']}"
            )
        seen.add(item["price"]["id"])
    first = items[0]["price"]
    for item in items[1:]:
        if item["price"]["currency"] != first["currency"]:
            raise p.invalid_param("items", "All prices on a subscription must have the same currency.")
        if _interval(item["price"]) != _interval(first):
            raise p.invalid_param(
                "items", "Items with different billing intervals are not emulated by the Stripe emulator."
            )


def _change_items(state: State, sub: StripeObject, entries: Any, now: int) -> None:
    """``items[i][id]`` with its new ``price``, ``quantity``, ``metadata`` or ``deleted``; new ``price``s."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise p.invalid_param("items", "Invalid array")
    items: list[StripeObject] = sub["items"]["data"]
    first = items[0]
    for index, entry in enumerate(entries):
        p.check_known(
            entry, ("id", "price", "quantity", "metadata", "deleted", "clear_usage"), f"items[{index}]"
        )
        item_id = p.string(entry, "id", param=f"items[{index}][id]")
        if item_id is None:
            price = _price(state, entry, index, sub)
            items.append(
                _item(
                    sub["id"],
                    price,
                    entry,
                    index,
                    first["current_period_start"],
                    first["current_period_end"],
                    now,
                )
            )
            continue
        item = next((i for i in items if i["id"] == item_id), None)
        if item is None:
            raise no_such("subscription item", item_id, param=f"items[{index}][id]")
        if "deleted" in entry and p.boolean(entry["deleted"], f"items[{index}][deleted]"):
            items.remove(item)
            continue
        if "price" in entry:
            price = _price(state, entry, index, sub)
            item.update(price=deepcopy(price), plan=billing.plan_of(price))
        if "quantity" in entry:
            item["quantity"] = _quantity(entry, index)
        if "metadata" in entry:
            given = p.mapping(entry, "metadata", param=f"items[{index}][metadata]")
            item["metadata"] = p.merge_metadata(item["metadata"], given)
    _check_items(items, sub)
    sub["items"]["total_count"] = len(items)


# --- Parameters ------------------------------------------------------------------------------------------


def _refuse_not_emulated(params: p.Params) -> None:
    for name in NOT_EMULATED:
        if name in params:
            raise p.invalid_param(name, f"The Stripe emulator does not emulate subscriptions' `{name}`.")


def _collection_method(params: p.Params) -> None:
    method = p.choice(params, "collection_method", ("charge_automatically", "send_invoice"))
    if method == "send_invoice":
        raise p.invalid_param(
            "collection_method",
            "collection_method=send_invoice is not emulated: the Stripe emulator charges automatically.",
        )


def _billing_mode(params: p.Params) -> StripeObject:
    given = p.mapping(params, "billing_mode") or {}
    p.check_known(given, ("type", "flexible"), "billing_mode")
    kind = p.string(given, "type", param="billing_mode[type]") or "flexible"  # the default since 2025-09-30
    if kind not in ("classic", "flexible"):
        raise p.invalid_param(
            "billing_mode[type]", "Invalid billing_mode[type]: must be one of classic, flexible"
        )
    flexible = {"proration_discounts": "included"} if kind == "flexible" else None
    return {"flexible": flexible, "type": kind, "updated_at": None}


def _cancel_at_period_end(sub: StripeObject, value: bool, now: int) -> None:
    end = min(item["current_period_end"] for item in sub["items"]["data"])
    sub.update(
        cancel_at_period_end=value, cancel_at=end if value else None, canceled_at=now if value else None
    )


def _cancellation_details(params: p.Params) -> StripeObject:
    details = p.mapping(params, "cancellation_details") or {}
    p.check_known(details, ("comment", "feedback"), "cancellation_details")
    changes: StripeObject = {}
    if "comment" in details:
        changes["comment"] = p.string(details, "comment", param="cancellation_details[comment]")
    if "feedback" in details:
        feedback = details["feedback"] or None
        if feedback is not None and feedback not in FEEDBACK:
            raise p.invalid_param("cancellation_details[feedback]", f"Invalid feedback: {feedback}")
        changes["feedback"] = feedback
    return changes


def _forget(state: State, sub: StripeObject, invoice: StripeObject) -> None:
    """``error_if_incomplete``: the subscription and its invoice are not made (the charge attempt was)."""
    state.subscriptions.delete(sub["id"])
    state.invoices.delete(invoice["id"])
    for payment in [x for x in state.invoice_payments if x["invoice"] == invoice["id"]]:
        state.invoice_payments.delete(payment["id"])
    customer = state.customers.get(sub["customer"])
    if not any(s["customer"] == customer["id"] for s in state.subscriptions):
        customer["currency"] = None
