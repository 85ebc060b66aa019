"""Shop subscriptions through the emulator's Billing, as the app makes them with the official stripe library.

A monthly plan as a Product and a Price, a customer per shop with a card attached, the subscription paid
at once (a charge, a balance transaction, the events), a card that fails (``incomplete``, then
``past_due``), test clocks renewing it month after month, paying an open invoice with a new card, a plan
change from the next invoice, cancellation. One emulator serves the module; each test makes its own shop.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import stripe

from tests.devtools.support import Receiver, http
from tests.plugins.stripe import Running

API_KEY = "sk_test_local_emulator"
WEBHOOK_SECRET = "whsec_emulator_billing_tests"
_shops = itertools.count(1)

JAN_31 = int(dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC).timestamp())
FEB_28 = int(dt.datetime(2026, 2, 28, 10, 0, tzinfo=dt.UTC).timestamp())
MAR_31 = int(dt.datetime(2026, 3, 31, 10, 0, tzinfo=dt.UTC).timestamp())
APR_30 = int(dt.datetime(2026, 4, 30, 10, 0, tzinfo=dt.UTC).timestamp())
HOUR = 3600


@pytest.fixture(scope="module")
def api(client: stripe.StripeClient) -> Any:
    """``client.v1``, untyped: the tests read Stripe's optional fields without narrowing each one."""
    return client.v1


# --- Helpers ---------------------------------------------------------------------------------------------


def _plan(api: Any, amount: int = 1900, name: str = "Commerçant") -> tuple[Any, Any]:
    number = next(_shops)
    product = api.products.create(params={"name": name, "metadata": {"plan": f"plan-{number}"}})
    price = api.prices.create(
        params={
            "product": product.id,
            "unit_amount": amount,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "tax_behavior": "inclusive",
            "metadata": {"plan": f"plan-{number}"},
            "lookup_key": f"plan-{number}-{amount}",
        }
    )
    return product, price


def _shop(api: Any, card: str | None = "pm_card_visa", clock: str | None = None) -> Any:
    """A shop's customer with ``card`` attached as its default payment method."""
    number = next(_shops)
    params: Any = {
        "name": f"Boutique {number}",
        "email": f"boutique{number}@example.fr",
        "metadata": {"shop_id": str(number)},
    }
    if clock is not None:
        params["test_clock"] = clock
    customer = api.customers.create(params=params)
    if card is not None:
        _use_card(api, customer.id, card)
    return api.customers.retrieve(customer.id)


def _use_card(api: Any, customer: str, card: str) -> Any:
    method = api.payment_methods.attach(card, params={"customer": customer})
    api.customers.update(customer, params={"invoice_settings": {"default_payment_method": method.id}})
    return method


def _subscribe(api: Any, customer: Any, price: Any, **extra: Any) -> Any:
    params: Any = {
        "customer": customer.id,
        "items": [{"price": price.id}],
        "default_payment_method": customer.invoice_settings.default_payment_method,
        "metadata": {"shop_id": customer.metadata["shop_id"]},
        "collection_method": "charge_automatically",
        "expand": ["latest_invoice"],
        **extra,
    }
    return api.subscriptions.create(params=params)


def _clock(api: Any, frozen_time: int = JAN_31) -> Any:
    return api.test_helpers.test_clocks.create(params={"frozen_time": frozen_time, "name": "billing"})


def _advance(api: Any, clock: Any, frozen_time: int) -> Any:
    answer = api.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": frozen_time})
    assert answer.status == "advancing"
    assert answer.status_details.advancing.target_frozen_time == frozen_time
    ready = api.test_helpers.test_clocks.retrieve(clock.id)
    assert (ready.status, ready.frozen_time) == ("ready", frozen_time)
    return ready


def _invoices(api: Any, subscription: str, **filters: str) -> list[Any]:
    params: Any = {"subscription": subscription, **filters}
    return list(api.invoices.list(params=params).data)


def _event(
    receiver: Receiver, event_type: str, object_id: str, also: Callable[[dict[str, Any]], bool] | None = None
) -> Any:
    delivery = receiver.wait_for(
        lambda e: (
            e["type"] == event_type and e["data"]["object"]["id"] == object_id and (also is None or also(e))
        )
    )
    return stripe.Webhook.construct_event(
        delivery.payload, delivery.headers["Stripe-Signature"], WEBHOOK_SECRET
    )


def _status_was(status: str) -> Callable[[dict[str, Any]], bool]:
    """An event whose ``previous_attributes`` say the object's status was ``status``."""
    return lambda e: e["data"].get("previous_attributes", {}).get("status") == status


def _types_for(receiver: Receiver, object_ids: set[str]) -> list[str]:
    """The types of the events received so far about these objects, in the order they were sent."""
    return [d.event["type"] for d in receiver.deliveries if d.event["data"]["object"]["id"] in object_ids]


def _subscription_of(invoice: Any) -> str:
    return str(invoice.parent.subscription_details.subscription)


def _intent(api: Any, invoice_id: str) -> Any:
    invoice = api.invoices.retrieve(invoice_id, params={"expand": ["payments.data.payment.payment_intent"]})
    (payment,) = invoice.payments.data
    return payment.payment.payment_intent


# --- Products and prices ---------------------------------------------------------------------------------


def test_a_plan_is_a_product_and_a_monthly_price(api: Any, receiver: Receiver) -> None:
    product, price = _plan(api)

    assert product.id.startswith("prod_")
    assert (product.object, product.name, product.active, product.type) == (
        "product",
        "Commerçant",
        True,
        "service",
    )
    assert price.id.startswith("price_")
    assert price.object == "price"
    assert (price.product, price.unit_amount, price.unit_amount_decimal) == (product.id, 1900, Decimal(1900))
    assert (price.currency, price.type, price.tax_behavior, price.active) == (
        "eur",
        "recurring",
        "inclusive",
        True,
    )
    assert price.recurring.to_dict() == {
        "interval": "month",
        "interval_count": 1,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
    assert price.metadata.to_dict() == product.metadata.to_dict()
    _event(receiver, "product.created", product.id)
    _event(receiver, "price.created", price.id)

    by_key = api.prices.list(params={"lookup_keys": [price.lookup_key], "expand": ["data.product"]})
    assert [p.id for p in by_key.data] == [price.id]
    assert by_key.data[0].product.name == "Commerçant"

    # A new amount is a new Price; the old one is retired, not changed.
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.update(price.id, params={"unit_amount": 2100})
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "unit_amount")
    newer = api.prices.create(
        params={
            "product": product.id,
            "unit_amount": 2100,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "tax_behavior": "inclusive",
            "lookup_key": price.lookup_key,
            "transfer_lookup_key": True,
        }
    )
    retired = api.prices.update(price.id, params={"active": False})
    assert (retired.active, retired.lookup_key) == (False, None)
    updated = _event(
        receiver, "price.updated", price.id, lambda e: "active" in e["data"]["previous_attributes"]
    )
    assert updated.data.previous_attributes.active is True
    listed = api.prices.list(params={"product": product.id, "active": True})
    assert [p.id for p in listed.data] == [newer.id]
    assert [p.id for p in api.prices.list(params={"product": product.id}).data] == [newer.id, price.id]

    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1,
                "currency": "eur",
                "lookup_key": newer.lookup_key,
            }
        )
    assert raised.value.param == "lookup_key"
    assert "already uses that lookup key" in str(raised.value.user_message)


def test_price_errors_are_stripes(api: Any) -> None:
    product, _ = _plan(api)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.create(params={"product": product.id, "unit_amount": 1900})
    assert (raised.value.code, raised.value.param) == ("parameter_missing", "currency")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.create(params={"product": "prod_missing", "unit_amount": 1900, "currency": "eur"})
    assert (raised.value.code, raised.value.param, raised.value.http_status) == (
        "resource_missing",
        "product",
        400,
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.retrieve("price_missing")
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1900,
                "currency": "eur",
                "recurring": {"interval": "fortnight"},
            }
        )
    assert raised.value.param == "recurring[interval]"


# --- Customers and their cards ---------------------------------------------------------------------------


def test_a_shop_is_a_customer_with_a_default_card(api: Any, receiver: Receiver) -> None:
    customer = api.customers.create(
        params={"name": "Fromagerie Camille", "email": "camille@example.fr", "metadata": {"shop_id": "7"}}
    )
    assert customer.id.startswith("cus_")
    assert (customer.name, customer.email, customer.metadata.to_dict()) == (
        "Fromagerie Camille",
        "camille@example.fr",
        {"shop_id": "7"},
    )
    assert customer.invoice_settings.default_payment_method is None
    assert customer.test_clock is None
    assert re.fullmatch(r"[A-Z0-9]{8}", customer.invoice_prefix)
    _event(receiver, "customer.created", customer.id)

    # Stripe's test id makes a new PaymentMethod, attached to the customer.
    method = api.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert method.id.startswith("pm_")
    assert method.id != "pm_card_visa"
    assert (method.customer, method.card.last4, method.card.brand) == (customer.id, "4242", "visa")
    _event(receiver, "payment_method.attached", method.id)

    updated = api.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    assert updated.invoice_settings.default_payment_method == method.id
    event = _event(receiver, "customer.updated", customer.id)
    assert event.data.previous_attributes.invoice_settings.default_payment_method is None
    listed = api.customers.payment_methods.list(customer.id)
    assert [m.id for m in listed.data] == [method.id]
    expanded = api.customers.retrieve(
        customer.id, params={"expand": ["invoice_settings.default_payment_method"]}
    )
    assert expanded.invoice_settings.default_payment_method.card.last4 == "4242"


def test_a_declined_card_is_refused_but_charge_customer_fail_attaches(api: Any) -> None:
    customer = _shop(api, card=None)
    with pytest.raises(stripe.CardError) as raised:
        api.payment_methods.attach("pm_card_visa_chargeDeclined", params={"customer": customer.id})
    assert (raised.value.code, raised.value.http_status) == ("card_declined", 402)
    assert raised.value.error is not None
    assert raised.value.error.decline_code == "generic_decline"

    failing = api.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    assert (failing.customer, failing.card.last4) == (customer.id, "0341")


def test_a_card_given_at_creation_is_attached_and_detaching_it_clears_the_default(
    api: Any, receiver: Receiver
) -> None:
    customer = api.customers.create(
        params={
            "email": "epicerie@example.fr",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    method = customer.invoice_settings.default_payment_method
    assert method.startswith("pm_")
    assert method != "pm_card_visa"
    assert api.payment_methods.retrieve(method).customer == customer.id

    detached = api.payment_methods.detach(method)
    assert detached.customer is None
    assert api.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    event = _event(receiver, "payment_method.detached", method)
    assert event.data.previous_attributes.customer == customer.id

    with pytest.raises(stripe.CardError):
        api.customers.create(
            params={"email": "refusee@example.fr", "payment_method": "pm_card_visa_chargeDeclined"}
        )
    assert api.customers.list(params={"email": "refusee@example.fr"}).data == []


def test_a_default_payment_method_must_be_the_customers(api: Any) -> None:
    customer, other = _shop(api, card=None), _shop(api)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.customers.update(
            customer.id,
            params={
                "invoice_settings": {"default_payment_method": other.invoice_settings.default_payment_method}
            },
        )
    assert raised.value.param == "invoice_settings[default_payment_method]"
    assert "must be attached to the customer" in str(raised.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.payment_methods.attach("pm_card_visa", params={"customer": "cus_missing"})
    assert (raised.value.code, raised.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.customers.retrieve("cus_missing")
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)


# --- Subscribing -----------------------------------------------------------------------------------------


def test_a_subscription_is_paid_at_once(api: Any, receiver: Receiver) -> None:
    _, price = _plan(api)
    customer = _shop(api)
    balance_before = api.balance.retrieve().available[0].amount

    sub = _subscribe(api, customer, price)

    assert sub.id.startswith("sub_")
    assert (sub.object, sub.status, sub.customer, sub.currency) == (
        "subscription",
        "active",
        customer.id,
        "eur",
    )
    assert sub.default_payment_method == customer.invoice_settings.default_payment_method
    assert sub.metadata.to_dict() == {"shop_id": customer.metadata["shop_id"]}
    assert (sub.collection_method, sub.cancel_at_period_end, sub.canceled_at) == (
        "charge_automatically",
        False,
        None,
    )
    assert sub.billing_cycle_anchor == sub.start_date == sub.created
    (item,) = sub["items"].data
    assert item.id.startswith("si_")
    assert (item.price.id, item.price.unit_amount, item.quantity, item.subscription) == (
        price.id,
        1900,
        1,
        sub.id,
    )
    assert item.current_period_start == sub.created
    start = dt.datetime.fromtimestamp(item.current_period_start, dt.UTC)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    day = min(start.day, calendar.monthrange(year, month)[1])
    assert item.current_period_end == int(start.replace(year=year, month=month, day=day).timestamp())

    invoice = sub.latest_invoice
    assert invoice.id.startswith("in_")
    assert (invoice.status, invoice.billing_reason, invoice.customer) == (
        "paid",
        "subscription_create",
        customer.id,
    )
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining, invoice.total) == (
        1900,
        1900,
        0,
        1900,
    )
    assert (invoice.currency, invoice.attempt_count, invoice.attempted) == ("eur", 1, True)
    assert invoice.number == f"{customer.invoice_prefix}-0001"
    assert _subscription_of(invoice) == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"shop_id": customer.metadata["shop_id"]}
    assert invoice.status_transitions.paid_at == invoice.status_transitions.finalized_at == sub.created
    # An invoice's period is the one before it (the service period is the line's): none for the first.
    assert invoice.period_start == invoice.period_end == sub.created
    (line,) = invoice.lines.data
    assert (line.amount, line.quantity, line.description) == (1900, 1, "1 × Commerçant (at €19.00 / month)")
    assert line.pricing.price_details.price == price.id
    assert line.parent.subscription_item_details.subscription_item == item.id
    assert (line.period.start, line.period.end) == (item.current_period_start, item.current_period_end)
    # This API version has no top-level subscription, charge, payment_intent or paid on an invoice.
    assert not {"subscription", "charge", "payment_intent", "paid"} & set(invoice.to_dict())

    page = http("GET", invoice.hosted_invoice_url)
    assert page.status == 200
    assert invoice.number in page.text
    assert "€19.00" in page.text

    intent = _intent(api, invoice.id)
    assert (intent.status, intent.amount, intent.customer, intent.description) == (
        "succeeded",
        1900,
        customer.id,
        "Subscription creation",
    )
    (charge,) = api.charges.list(params={"customer": customer.id}).data
    assert (charge.id, charge.status, charge.amount, charge.payment_method) == (
        intent.latest_charge,
        "succeeded",
        1900,
        sub.default_payment_method,
    )
    assert charge.balance_transaction is not None
    # Less Stripe's fee, as on any card charge: 1.5 % of 19.00 € (28.5, rounded up) + 0.25 €.
    assert api.balance.retrieve().available[0].amount == balance_before + 1900 - 54

    created = _event(receiver, "customer.subscription.created", sub.id)
    assert created.data.object.status == "active"
    assert created.data.object.latest_invoice == invoice.id
    assert _event(receiver, "invoice.paid", invoice.id).data.object.amount_paid == 1900
    _event(receiver, "invoice.payment_succeeded", invoice.id)
    paid = receiver.wait_for(
        lambda e: e["type"] == "invoice_payment.paid" and e["data"]["object"]["invoice"] == invoice.id
    ).event["data"]["object"]
    assert (paid["status"], paid["amount_paid"], paid["payment"]["payment_intent"]) == (
        "paid",
        1900,
        intent.id,
    )
    _event(receiver, "charge.succeeded", charge.id)
    types = _types_for(receiver, {sub.id, invoice.id})
    assert types == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


def test_a_subscription_names_what_is_missing(api: Any) -> None:
    _, price = _plan(api)
    customer, other = _shop(api), _shop(api)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.create(params={"customer": customer.id})
    assert (raised.value.code, raised.value.param) == ("parameter_missing", "items")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.create(params={"customer": customer.id, "items": [{"price": "price_missing"}]})
    assert (raised.value.code, raised.value.param) == ("resource_missing", "items[0][price]")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.create(params={"customer": "cus_missing", "items": [{"price": price.id}]})
    assert (raised.value.code, raised.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price.id}],
                "default_payment_method": other.invoice_settings.default_payment_method,
            }
        )
    assert raised.value.param == "default_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14}
        )
    assert raised.value.param == "trial_period_days"
    assert "does not emulate" in str(raised.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.retrieve("sub_missing")
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)
    assert api.subscriptions.list(params={"customer": customer.id}).data == []


def test_a_failing_card_leaves_the_first_invoice_open_then_a_new_card_pays_it(
    api: Any, receiver: Receiver
) -> None:
    _, price = _plan(api)
    customer = _shop(api, card="pm_card_chargeCustomerFail")

    sub = _subscribe(api, customer, price)

    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert (invoice.status, invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (
        "open",
        1900,
        0,
        1900,
    )
    assert (invoice.attempt_count, invoice.attempted, invoice.next_payment_attempt) == (1, True, None)
    intent = _intent(api, invoice.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "generic_decline"
    (charge,) = api.charges.list(params={"customer": customer.id}).data
    assert (charge.status, charge.failure_code) == ("failed", "card_declined")

    failed = _event(receiver, "invoice.payment_failed", invoice.id)
    assert (failed.data.object.attempt_count, failed.data.object.next_payment_attempt) == (1, None)
    assert _event(receiver, "customer.subscription.created", sub.id).data.object.status == "incomplete"
    assert api.customers.retrieve(customer.id).delinquent is True

    # The shop gives another card and pays the open invoice with it.
    card = api.payment_methods.attach("pm_card_mastercard", params={"customer": customer.id})
    paid = api.invoices.pay(invoice.id, params={"payment_method": card.id})
    assert (paid.status, paid.amount_paid, paid.amount_remaining, paid.attempt_count) == ("paid", 1900, 0, 1)
    assert api.subscriptions.retrieve(sub.id).status == "active"
    activated = _event(receiver, "customer.subscription.updated", sub.id, _status_was("incomplete"))
    assert activated.data.previous_attributes.status == "incomplete"
    _event(receiver, "invoice.paid", invoice.id)
    assert api.customers.retrieve(customer.id).delinquent is False
    assert _intent(api, invoice.id).status == "succeeded"

    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.invoices.pay(invoice.id)
    assert "already paid" in str(raised.value.user_message)


def test_error_if_incomplete_makes_no_subscription(api: Any) -> None:
    _, price = _plan(api)
    customer = _shop(api, card="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as raised:
        _subscribe(api, customer, price, payment_behavior="error_if_incomplete")
    assert raised.value.code == "card_declined"
    assert api.subscriptions.list(params={"customer": customer.id, "status": "all"}).data == []
    assert api.invoices.list(params={"customer": customer.id}).data == []


def test_a_card_asking_for_3d_secure_pays_once_authenticated(
    api: Any, emulator: Running, receiver: Receiver
) -> None:
    _, price = _plan(api)
    customer = _shop(api, card="pm_card_authenticationRequired")

    sub = _subscribe(api, customer, price)

    assert (sub.status, sub.latest_invoice.status) == ("incomplete", "open")
    _event(receiver, "invoice.payment_action_required", sub.latest_invoice.id)
    intent = _intent(api, sub.latest_invoice.id)
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"

    answer = http("POST", f"{emulator.url}/_emulator/payment_intents/{intent.id}/authenticate", json_body={})
    assert answer.status == 200, answer.text
    assert api.invoices.retrieve(sub.latest_invoice.id).status == "paid"
    assert api.subscriptions.retrieve(sub.id).status == "active"
    _event(receiver, "invoice.paid", sub.latest_invoice.id)


def test_default_incomplete_is_paid_by_confirming_the_invoices_payment_intent(api: Any) -> None:
    _, price = _plan(api)
    customer = _shop(api)

    sub = _subscribe(
        api,
        customer,
        price,
        payment_behavior="default_incomplete",
        expand=["latest_invoice.confirmation_secret"],
    )

    assert (sub.status, sub.latest_invoice.status, sub.latest_invoice.attempt_count) == (
        "incomplete",
        "open",
        0,
    )
    secret = sub.latest_invoice.confirmation_secret
    assert secret.type == "payment_intent"
    intent = _intent(api, sub.latest_invoice.id)
    assert secret.client_secret == intent.client_secret
    assert api.charges.list(params={"customer": customer.id}).data == []

    # What Stripe.js would do with the secret: confirm the PaymentIntent with the shop's card.
    api.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert api.invoices.retrieve(sub.latest_invoice.id).status == "paid"
    assert api.subscriptions.retrieve(sub.id).status == "active"


# --- Time: test clocks -----------------------------------------------------------------------------------


def test_a_test_clock_renews_each_month_and_a_failing_card_makes_it_past_due(
    api: Any, receiver: Receiver
) -> None:
    _, price = _plan(api)
    clock = _clock(api)
    assert clock.id.startswith("clock_")
    assert (clock.object, clock.status, clock.frozen_time) == ("test_helpers.test_clock", "ready", JAN_31)
    customer = _shop(api, clock=clock.id)
    assert (customer.test_clock, customer.created) == (clock.id, JAN_31)

    sub = _subscribe(api, customer, price)
    assert (sub.status, sub.created, sub.test_clock) == ("active", JAN_31, clock.id)
    assert sub["items"].data[0].current_period_end == FEB_28  # 31 January + a month
    assert _event(receiver, "customer.subscription.created", sub.id).created == JAN_31

    # Exactly at the period's end the renewal's invoice is a draft; it is charged an hour later.
    _advance(api, clock, FEB_28)
    renewed = api.subscriptions.retrieve(sub.id)
    assert (renewed.status, renewed["items"].data[0].current_period_start) == ("active", FEB_28)
    assert renewed["items"].data[0].current_period_end == MAR_31  # anchored on the 31st
    draft = api.invoices.retrieve(renewed.latest_invoice)
    assert (draft.status, draft.billing_reason, draft.created, draft.number) == (
        "draft",
        "subscription_cycle",
        FEB_28,
        None,
    )
    assert (draft.automatically_finalizes_at, draft.next_payment_attempt) == (FEB_28 + HOUR, FEB_28 + HOUR)
    updated = _event(receiver, "customer.subscription.updated", sub.id, lambda e: e["created"] == FEB_28)
    assert updated.data.previous_attributes.latest_invoice == sub.latest_invoice.id
    assert _event(receiver, "invoice.created", draft.id).created == FEB_28

    _advance(api, clock, FEB_28 + 2 * HOUR)
    second, first = _invoices(api, sub.id)
    assert (first.id, second.id) == (sub.latest_invoice.id, draft.id)
    assert (second.status, second.amount_paid, second.number) == (
        "paid",
        1900,
        f"{customer.invoice_prefix}-0002",
    )
    assert (second.period_start, second.period_end) == (JAN_31, FEB_28)  # looks back on the period billed
    assert (second.lines.data[0].period.start, second.lines.data[0].period.end) == (FEB_28, MAR_31)
    assert second.status_transitions.paid_at == FEB_28 + HOUR
    assert _event(receiver, "invoice.paid", second.id).created == FEB_28 + HOUR
    charges = api.charges.list(params={"customer": customer.id}).data
    assert [(c.status, c.amount, c.created) for c in charges] == [
        ("succeeded", 1900, FEB_28 + HOUR),
        ("succeeded", 1900, JAN_31),
    ]
    assert _intent(api, second.id).description == "Subscription update"
    _event(receiver, "test_helpers.test_clock.ready", clock.id, lambda e: e["created"] == FEB_28 + 2 * HOUR)

    # The shop's card now fails: next month's renewal is not paid.
    failing = api.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    api.subscriptions.update(sub.id, params={"default_payment_method": failing.id})
    _advance(api, clock, MAR_31 + 2 * HOUR)
    past_due = api.subscriptions.retrieve(sub.id)
    assert past_due.status == "past_due"
    (third,) = _invoices(api, sub.id, status="open")
    assert third.id == past_due.latest_invoice
    assert (third.amount_remaining, third.attempt_count, third.attempted, third.next_payment_attempt) == (
        1900,
        1,
        True,
        None,
    )
    failed = _event(receiver, "invoice.payment_failed", third.id)
    assert (failed.created, failed.data.object.attempt_count) == (MAR_31 + HOUR, 1)
    went = _event(
        receiver,
        "customer.subscription.updated",
        sub.id,
        _status_was("active"),
    )
    assert (went.created, went.data.previous_attributes.status) == (MAR_31 + HOUR, "active")

    # Paying again charges the subscription's default payment method: still the failing card.
    with pytest.raises(stripe.CardError):
        api.invoices.pay(third.id)
    assert api.invoices.retrieve(third.id).status == "open"

    # A new card, as the customer's and the subscription's default: paying it makes the subscription active.
    card = _use_card(api, customer.id, "pm_card_visa")
    api.subscriptions.update(sub.id, params={"default_payment_method": card.id})
    paid = api.invoices.pay(third.id)
    assert (paid.status, paid.amount_paid, paid.status_transitions.paid_at) == (
        "paid",
        1900,
        MAR_31 + 2 * HOUR,
    )
    back = _event(receiver, "customer.subscription.updated", sub.id, _status_was("past_due"))
    assert (back.created, back.data.previous_attributes.status) == (MAR_31 + 2 * HOUR, "past_due")
    assert api.subscriptions.retrieve(sub.id).status == "active"

    # A clock moves forward only, and at most two periods of its shortest subscription at a time.
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN_31})
    assert raised.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": MAR_31 + 100 * 86_400})
    assert raised.value.param == "frozen_time"


def test_a_plan_change_applies_from_the_next_invoice(api: Any, receiver: Receiver) -> None:
    product, price = _plan(api)
    dearer = api.prices.create(
        params={
            "product": product.id,
            "unit_amount": 2900,
            "currency": "eur",
            "recurring": {"interval": "month"},
        }
    )
    clock = _clock(api)
    sub = _subscribe(api, _shop(api, clock=clock.id), price)
    item = sub["items"].data[0]

    with pytest.raises(stripe.InvalidRequestError) as raised:  # prorations are not emulated
        api.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": dearer.id}]})
    assert raised.value.param == "proration_behavior"

    changed = api.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "price": dearer.id}], "proration_behavior": "none"}
    )
    (new_item,) = changed["items"].data
    assert (new_item.id, new_item.price.id, new_item.plan.amount) == (item.id, dearer.id, 2900)
    assert (new_item.current_period_start, new_item.current_period_end) == (JAN_31, FEB_28)  # the same period
    event = _event(
        receiver,
        "customer.subscription.updated",
        sub.id,
        lambda e: "items" in e["data"]["previous_attributes"],
    )
    assert event.data.previous_attributes["items"].data[0].price.id == price.id
    assert [i.id for i in _invoices(api, sub.id)] == [sub.latest_invoice.id]  # nothing billed now

    _advance(api, clock, FEB_28 + 2 * HOUR)
    renewal, first = _invoices(api, sub.id)
    assert (first.amount_paid, renewal.amount_paid, renewal.status) == (1900, 2900, "paid")
    assert renewal.lines.data[0].pricing.price_details.price == dearer.id

    retired = api.prices.update(price.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.subscriptions.update(
            sub.id, params={"items": [{"id": item.id, "price": retired.id}], "proration_behavior": "none"}
        )
    assert (raised.value.param, "inactive" in str(raised.value.user_message)) == ("items[0][price]", True)


def test_canceling_ends_the_subscription_and_its_invoices(api: Any, receiver: Receiver) -> None:
    _, price = _plan(api)
    clock = _clock(api)
    now_sub = _subscribe(api, _shop(api, clock=clock.id), price)
    later_sub = _subscribe(api, _shop(api, clock=clock.id), price)

    canceled = api.subscriptions.cancel(now_sub.id, params={"cancellation_details": {"comment": "fermeture"}})
    assert (canceled.status, canceled.canceled_at, canceled.ended_at) == ("canceled", JAN_31, JAN_31)
    assert canceled.cancellation_details.to_dict() == {
        "comment": "fermeture",
        "feedback": None,
        "reason": "cancellation_requested",
    }
    assert _event(receiver, "customer.subscription.deleted", now_sub.id).data.object.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        api.subscriptions.cancel(now_sub.id)

    at_end = api.subscriptions.update(later_sub.id, params={"cancel_at_period_end": True})
    assert (at_end.status, at_end.cancel_at_period_end, at_end.cancel_at) == ("active", True, FEB_28)

    _advance(api, clock, FEB_28 + 2 * HOUR)
    ended = api.subscriptions.retrieve(later_sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", FEB_28)
    assert _event(receiver, "customer.subscription.deleted", later_sub.id).created == FEB_28
    assert len(_invoices(api, now_sub.id)) == len(_invoices(api, later_sub.id)) == 1  # no renewal

    listed = api.subscriptions.list(params={"test_clock": clock.id})
    assert listed.data == []  # canceled ones are listed only when asked for
    canceled_ones = api.subscriptions.list(params={"test_clock": clock.id, "status": "canceled"})
    assert {s.id for s in canceled_ones.data} == {now_sub.id, later_sub.id}


def test_an_unpaid_first_invoice_expires_after_23_hours(api: Any, receiver: Receiver) -> None:
    _, price = _plan(api)
    clock = _clock(api)
    sub = _subscribe(api, _shop(api, card="pm_card_chargeCustomerFail", clock=clock.id), price)
    assert sub.status == "incomplete"

    _advance(api, clock, JAN_31 + 22 * HOUR)
    assert api.subscriptions.retrieve(sub.id).status == "incomplete"
    _advance(api, clock, JAN_31 + 24 * HOUR)
    expired = api.subscriptions.retrieve(sub.id)
    assert (expired.status, expired.ended_at) == ("incomplete_expired", JAN_31 + 23 * HOUR)
    invoice = api.invoices.retrieve(sub.latest_invoice.id)
    assert (invoice.status, invoice.status_transitions.voided_at) == ("void", JAN_31 + 23 * HOUR)
    assert _event(receiver, "invoice.voided", invoice.id).created == JAN_31 + 23 * HOUR
    event = _event(receiver, "customer.subscription.updated", sub.id)
    assert (event.data.object.status, event.data.previous_attributes.status) == (
        "incomplete_expired",
        "incomplete",
    )
    with pytest.raises(stripe.InvalidRequestError):
        api.invoices.pay(invoice.id)


def test_invoices_are_listed_voided_and_refused_as_stripe_does(api: Any) -> None:
    _, price = _plan(api)
    customer = _shop(api, card="pm_card_chargeCustomerFail")
    sub = _subscribe(api, customer, price)
    invoice = sub.latest_invoice

    assert [i.id for i in api.invoices.list(params={"customer": customer.id, "status": "open"}).data] == [
        invoice.id
    ]
    assert api.invoices.list(params={"customer": customer.id, "status": "paid"}).data == []
    voided = api.invoices.void_invoice(invoice.id)
    assert (voided.status, voided.amount_remaining) == ("void", 1900)
    assert _intent(api, invoice.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        api.invoices.void_invoice(invoice.id)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.invoices.retrieve("in_missing")
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.invoices.pay("in_missing")
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.invoices.list(params={"status": "late"})
    assert raised.value.param == "status"

    lines = api.invoices.line_items.list(invoice.id)
    assert [line.pricing.price_details.price for line in lines.data] == [price.id]
    expanded = api.invoices.retrieve(
        invoice.id, params={"expand": ["parent.subscription_details.subscription", "customer"]}
    )
    assert expanded.parent.subscription_details.subscription.id == sub.id
    assert expanded.customer.email == customer.email
    items = api.subscription_items.list(params={"subscription": sub.id})
    assert [i.price.id for i in items.data] == [price.id]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.invoices.retrieve(invoice.id, params={"expand": ["lines.data.price"]})
    assert raised.value.param == "expand"


def test_deleting_a_clock_deletes_its_customers(api: Any, receiver: Receiver) -> None:
    _, price = _plan(api)
    clock = _clock(api)
    customer = _shop(api, clock=clock.id)
    sub = _subscribe(api, customer, price)

    deleted = api.test_helpers.test_clocks.delete(clock.id)
    assert (deleted.id, deleted.deleted) == (clock.id, True)
    _event(receiver, "test_helpers.test_clock.deleted", clock.id)
    assert api.customers.retrieve(customer.id).to_dict() == {
        "id": customer.id,
        "object": "customer",
        "deleted": True,
    }
    with pytest.raises(stripe.InvalidRequestError):
        api.subscriptions.retrieve(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        api.test_helpers.test_clocks.retrieve(clock.id)
    assert (raised.value.code, raised.value.http_status) == ("resource_missing", 404)
