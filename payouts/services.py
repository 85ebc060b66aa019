"""Payouts use cases: the money events orders hand over, transfers to shops and their reversals.

Orders call one function per money event (``record_payment``, ``record_refund``,
``record_cancellation``) and ``freeze_commission`` when placing; each writes its ledger transaction
under a business key, so the same event twice is written once. Transfers run as a job: a shop's part
delivered (or collected) and past the payout hold is released to the shop's available balance and
transferred to its Stripe account, netted of what refunds after earlier transfers left it owing.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import current_app

from app.database import locked, utcnow
from app.extensions import db
from app.orders.models import Order, Refund, RefundReason, VendorOrder, VendorOrderStatus
from payouts import commission, gateway, ledger
from payouts.ledger import Line
from payouts.models import ShopTransfer, TransactionKind, TransferReversal, TransferStatus
from vendors.models import Shop

log = logging.getLogger(__name__)

RETRY_AFTER = (dt.timedelta(minutes=15), dt.timedelta(hours=2), dt.timedelta(hours=12))
# Parts whose goods reached the shopper: their money can go to the shop once the hold has passed.
RECEIVED = (
    VendorOrderStatus.DELIVERED,
    VendorOrderStatus.COLLECTED,
    VendorOrderStatus.COMPLETED,
    VendorOrderStatus.RETURN_REQUESTED,
    VendorOrderStatus.RETURNED,
    VendorOrderStatus.REFUNDED,
)


def freeze_commission(part: VendorOrder) -> None:
    """The commission of a shop's part, frozen on it and its lines when the order is placed."""
    commission.freeze(part)


# -- money events from orders ---------------------------------------------------------------------


def record_payment(order: Order) -> None:
    """The shopper paid: the platform's Stripe balance holds every shop's part, less its commission."""
    for part in order.vendor_orders:
        # One transaction per shop's part (one charge for all): each part's money is followed on its own.
        ledger.post(
            f"vendor-order-{part.id}-payment",
            TransactionKind.SALE,
            [Line(ledger.STRIPE, part.total_cents), Line(ledger.pending(part.shop_id), -part.total_cents)],
            shop_id=part.shop_id,
            vendor_order_id=part.id,
            stripe_id=order.charge_id,
            memo=order.number,
        )
    for part in order.vendor_orders:
        ledger.post(
            f"vendor-order-{part.id}-commission",
            TransactionKind.COMMISSION,
            [
                Line(ledger.pending(part.shop_id), part.commission_cents + part.commission_vat_cents),
                Line(ledger.COMMISSION, -part.commission_cents),
                Line(ledger.COMMISSION_VAT, -part.commission_vat_cents),
            ],
            shop_id=part.shop_id,
            vendor_order_id=part.id,
            memo=order.number,
        )


def record_late_payment(order: Order) -> None:
    """Money in for an order that had expired meanwhile: held unallocated until it is refunded."""
    ledger.post(
        f"order-{order.id}-late-payment",
        TransactionKind.SALE,
        [Line(ledger.STRIPE, order.total_cents), Line(ledger.UNALLOCATED, -order.total_cents)],
        stripe_id=order.charge_id,
        memo=order.number,
    )


def _transfer_of(part: VendorOrder) -> ShopTransfer | None:
    """The part's transfer, once it was released (the row exists from the release on)."""
    return db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id))


def record_refund(refund: Refund) -> None:
    """Money given back from a shop's part; its commission in proportion; taken back from the shop's
    Stripe account when the part was already transferred (what cannot be taken back is netted later)."""
    part = refund.vendor_order
    key = f"refund-{refund.id}"
    if refund.reason == RefundReason.EXPIRED:
        ledger.post(
            key,
            TransactionKind.REFUND,
            [Line(ledger.UNALLOCATED, refund.amount_cents), Line(ledger.STRIPE, -refund.amount_cents)],
            vendor_order_id=part.id,
            stripe_id=refund.stripe_refund_id,
            memo=part.order.number,
        )
        return
    transfer = _transfer_of(part)
    # Where the part's money is now: still pending, or released to the shop's available balance.
    account = ledger.available(part.shop_id) if transfer else ledger.pending(part.shop_id)
    ledger.post(
        key,
        TransactionKind.REFUND,
        [Line(account, refund.amount_cents), Line(ledger.STRIPE, -refund.amount_cents)],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        stripe_id=refund.stripe_refund_id,
        memo=part.order.number,
    )
    refund.commission_cents, refund.commission_vat_cents = commission.refund_share(part, refund)
    ledger.post(
        f"{key}-commission",
        TransactionKind.COMMISSION_REFUND,
        [
            Line(ledger.COMMISSION, refund.commission_cents),
            Line(ledger.COMMISSION_VAT, refund.commission_vat_cents),
            Line(account, -(refund.commission_cents + refund.commission_vat_cents)),
        ],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        memo=part.order.number,
    )
    if transfer is not None and transfer.status == TransferStatus.PAID:
        share = refund.amount_cents - refund.commission_cents - refund.commission_vat_cents
        _reverse(transfer, refund, min(share, transfer.amount_cents - transfer.reversed_cents))


def _reverse(transfer: ShopTransfer, refund: Refund, amount: int) -> None:
    if amount <= 0 or transfer.stripe_transfer_id is None:
        return
    reversal = TransferReversal(transfer_id=transfer.id, refund_id=refund.id, amount_cents=amount)
    db.session.add(reversal)
    try:
        result = gateway.reverse_transfer(
            transfer.stripe_transfer_id, amount_cents=amount, key=f"refund-{refund.id}-reversal"
        )
    except gateway.StripeError as error:
        # The shop's Stripe balance could not cover it: the ledger keeps it owing, netted next time.
        reversal.error = str(getattr(error, "user_message", None) or error)[:300]
        log.warning("reversal for refund %d failed: %s", refund.id, error)
        return
    reversal.stripe_reversal_id = result.id
    transfer.reversed_cents += amount
    ledger.post(
        f"refund-{refund.id}-reversal",
        TransactionKind.TRANSFER_REVERSAL,
        [Line(ledger.STRIPE, amount), Line(ledger.available(transfer.shop_id), -amount)],
        shop_id=transfer.shop_id,
        vendor_order_id=transfer.vendor_order_id,
        stripe_id=result.id,
    )


def record_cancellation(vendor_order: VendorOrder) -> None:
    """A shop's part cancelled before shipping: its refund (recorded by ``record_refund``) says it all."""
    log.info("vendor order %d cancelled", vendor_order.id)


# -- transfers ------------------------------------------------------------------------------------


def hold() -> dt.timedelta:
    return dt.timedelta(days=int(current_app.config.get("PAYOUT_HOLD_DAYS", 14)))


def due_parts(now: dt.datetime | None = None) -> list[int]:
    """Ids of the parts to release now: received, past the hold, not released yet."""
    now = now or utcnow()
    released = sa.select(ShopTransfer.vendor_order_id)
    query = (
        sa.select(VendorOrder.id)
        .where(
            VendorOrder.status.in_(RECEIVED),
            VendorOrder.received_at <= now - hold(),
            VendorOrder.id.not_in(released),
        )
        .order_by(VendorOrder.id)
    )
    return list(db.session.scalars(query))


def retry_parts(now: dt.datetime | None = None) -> list[int]:
    """Ids of parts whose transfer waits for the shop's account or failed and is due for a retry."""
    now = now or utcnow()
    query = sa.select(ShopTransfer.vendor_order_id).where(
        sa.or_(
            ShopTransfer.status == TransferStatus.WAITING,
            sa.and_(ShopTransfer.status == TransferStatus.FAILED, ShopTransfer.next_attempt_at <= now),
        )
    )
    return list(db.session.scalars(query.order_by(ShopTransfer.id)))


def release(part: VendorOrder) -> ShopTransfer:
    """Move the part's pending money to the shop's available balance (once), with its transfer to make."""
    existing = _transfer_of(part)
    if existing is not None:
        return existing
    held = ledger.balance(ledger.pending(part.shop_id), vendor_order_id=part.id)
    ledger.post(
        f"vendor-order-{part.id}-release",
        TransactionKind.RELEASE,
        [Line(ledger.pending(part.shop_id), held), Line(ledger.available(part.shop_id), -held)],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        memo=part.order.number,
    )
    transfer = ShopTransfer(
        vendor_order_id=part.id, shop_id=part.shop_id, status=TransferStatus.WAITING, amount_cents=0
    )
    db.session.add(transfer)
    db.session.flush()
    return transfer


def pay_out(vendor_order_id: int) -> ShopTransfer:
    """Release a due part and transfer it to the shop, netted of what the shop owes; safe to run twice.

    The row lock on the part keeps two workers from paying it twice; the idempotency key keeps a retry
    after a lost answer from creating a second Stripe transfer.
    """
    part = db.session.scalars(locked(sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id))).one()
    transfer = release(part)
    if transfer.status in (TransferStatus.PAID, TransferStatus.NETTED):
        return transfer
    shop = db.session.get(Shop, part.shop_id)
    assert shop is not None
    if not shop.payouts_ready:
        transfer.status = TransferStatus.WAITING
        transfer.last_error = "payouts not enabled"
        return transfer
    # What the shop can be sent: this part, less anything refunds after earlier transfers left owing.
    amount = min(
        ledger.balance(ledger.available(part.shop_id)),
        ledger.balance(ledger.available(part.shop_id), vendor_order_id=part.id),
    )
    if amount <= 0:
        transfer.status = TransferStatus.NETTED
        transfer.transferred_at = utcnow()
        return transfer
    transfer.attempts += 1
    try:
        result = gateway.create_transfer(
            amount_cents=amount,
            currency=part.order.currency,
            destination=shop.stripe_account_id or "",
            source_transaction=part.order.charge_id,
            transfer_group=part.order.number,
            key=f"vendor-order-{part.id}-transfer",
            metadata={"vendor_order_id": str(part.id), "order_number": part.order.number},
        )
    except gateway.StripeError as error:
        transfer.status = TransferStatus.FAILED
        transfer.last_error = str(getattr(error, "user_message", None) or error)[:300]
        transfer.next_attempt_at = utcnow() + RETRY_AFTER[min(transfer.attempts, len(RETRY_AFTER)) - 1]
        log.warning("transfer for vendor order %d failed: %s", part.id, error)
        return transfer
    transfer.status = TransferStatus.PAID
    transfer.amount_cents = result.amount
    transfer.stripe_transfer_id = result.id
    transfer.transferred_at = utcnow()
    transfer.last_error = ""
    ledger.post(
        f"vendor-order-{part.id}-transfer",
        TransactionKind.TRANSFER,
        [Line(ledger.available(part.shop_id), result.amount), Line(ledger.STRIPE, -result.amount)],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        stripe_id=result.id,
        memo=part.order.number,
    )
    return transfer
