"""Stripe webhook handlers of the orders domain.

Payment and refund events say only that something happened to a PaymentIntent or a refund; the
handler reads the object as it is now and applies that, so a replayed, late or out-of-order event (a
failure arriving after the success of a second attempt) can never move an order backwards.
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


@handles("refund.created")
@handles("refund.updated")
@handles("refund.failed")
@handles("charge.refund.updated")
def refund_changed(found: dict[str, Any], created: dt.datetime) -> None:
    """A refund made (the marketplace's, or one made on Stripe's dashboard) or failing: read as it is now."""
    services.stripe_refund_changed(gateway.client().v1.refunds.retrieve(str(found["id"])).to_dict())


@handles("charge.refunded")
def charge_refunded(charge: dict[str, Any], created: dt.datetime) -> None:
    """A charge refunded: each of its refunds, read as they are now (one unknown here came from outside)."""
    if not charge.get("payment_intent") or services.order_for_payment(str(charge["payment_intent"])) is None:
        return
    refunds = gateway.client().v1.refunds.list(params={"charge": str(charge["id"]), "limit": 100})
    for found in refunds.auto_paging_iter():
        services.stripe_refund_changed(found.to_dict())
