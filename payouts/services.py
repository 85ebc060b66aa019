"""Money events, recorded by payouts: the orders domain calls one function for each.

These are the ledger's doors. Today they log the event; the double-entry ledger (commission, shops'
payable balances, transfers) is written behind them, without the orders domain changing.
"""

from __future__ import annotations

import logging

from app.orders.models import Order, Refund, VendorOrder

log = logging.getLogger(__name__)


def record_payment(order: Order) -> None:
    """The shopper's payment for a whole order succeeded (every shop's part is now paid)."""
    log.info("payment of %s: %d %s", order.number, order.total_cents, order.currency)


def record_refund(refund: Refund) -> None:
    """Part of a shop's share was given back to the shopper."""
    log.info("refund %s on vendor order %d: %d", refund.key, refund.vendor_order_id, refund.amount_cents)


def record_cancellation(vendor_order: VendorOrder) -> None:
    """A shop's part was cancelled before shipping (its refund is recorded by ``record_refund``)."""
    log.info("vendor order %d cancelled", vendor_order.id)
