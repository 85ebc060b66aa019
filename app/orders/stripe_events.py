"""Stripe webhook handlers of the orders domain.

A payment event says only that something happened to a PaymentIntent; the handler reads the
PaymentIntent as it is now and applies that, so a replayed, late or out-of-order event (a failure
arriving after the success of a second attempt) can never move an order backwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.orders import services
from payouts import gateway
from payouts.webhooks import handles


@handles("payment_intent.succeeded")
@handles("payment_intent.payment_failed")
@handles("payment_intent.canceled")
def payment_intent_changed(intent: dict[str, Any], created: dt.datetime) -> None:
    order = services.order_for_payment(str(intent["id"]))
    if order is None:
        return  # not an order's payment (a shop's subscription, or another platform's test)
    services.apply_payment(order, gateway.retrieve_payment(order.payment_intent_id or intent["id"]))
