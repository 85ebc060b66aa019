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

from app import money
from app.database import locked, utcnow
from app.extensions import db
from app.orders.models import (
    Order,
    Refund,
    RefundReason,
    ReturnRequest,
    ReturnStatus,
    VendorOrder,
    VendorOrderStatus,
)
from payouts import commission, gateway, ledger
from payouts.ledger import Line
from payouts.models import (
    OPEN_DISPUTE_STATUSES,
    Dispute,
    LedgerAccount,
    LedgerTransaction,
    ReversalAttempt,
    ShopTransfer,
    TransactionKind,
    TransferReversal,
    TransferStatus,
)
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
# A refused reversal still owed this long after the refund is shown to the manager as a receivable.
RECEIVABLE_AFTER = dt.timedelta(days=30)
REVERSAL_METADATA = "transfer_reversal_id"
# A transfer's ``last_error`` while the seller's payouts are withheld for missing DAC7 data.
DAC7_WITHHELD = "withheld: DAC7 seller data missing"


def freeze_commission(part: VendorOrder) -> None:
    """The commission of a shop's part, frozen on it and its lines when the order is placed."""
    commission.freeze(part)


# -- money events from orders ---------------------------------------------------------------------


def record_payment(order: Order) -> None:
    """The shopper paid: the platform's Stripe balance holds every shop's part, less its commission, and
    Stripe's fee on the charge (read from its balance transaction) is paid from it; when shops bear the
    fees, each part is charged its share."""
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
    fee = _charge_fee(order, f"order-{order.id}-stripe-fee")
    if fee and current_app.config.get("STRIPE_FEES_BORNE_BY") == "shops":
        parts = list(order.vendor_orders)
        shares = money.allocate(fee, [part.total_cents for part in parts])
        for part, share in zip(parts, shares, strict=True):
            # The shop's share is a charge on its part: its pending money pays the platform's expense.
            ledger.post(
                f"vendor-order-{part.id}-stripe-fee",
                TransactionKind.COMMISSION,
                [Line(ledger.pending(part.shop_id), share), Line(ledger.STRIPE_FEES, -share)],
                shop_id=part.shop_id,
                vendor_order_id=part.id,
                memo=order.number,
            )


def record_late_payment(order: Order) -> None:
    """Money in for an order that had expired meanwhile: held unallocated until it is refunded; Stripe's
    fee on it is the platform's (the refund does not give it back)."""
    ledger.post(
        f"order-{order.id}-late-payment",
        TransactionKind.SALE,
        [Line(ledger.STRIPE, order.total_cents), Line(ledger.UNALLOCATED, -order.total_cents)],
        stripe_id=order.charge_id,
        memo=order.number,
    )
    _charge_fee(order, f"order-{order.id}-stripe-fee")


def _charge_fee(order: Order, key: str) -> int:
    """Stripe's fee on the order's charge, written to the ledger once under ``key``; 0 when there is none.

    Read at once from the charge's balance transaction. When Stripe cannot tell yet (the balance
    transaction lags, or Stripe does not answer), the payment is recorded gross all the same: the
    reconciliation then shows that charge's fee as a difference, to be looked into.
    """
    existing = db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.key == key))
    if existing is not None:
        return sum(entry.amount_cents for entry in existing.entries if entry.amount_cents > 0)
    if not order.charge_id:
        return 0
    try:
        fee = gateway.charge_fee(order.charge_id)
    except gateway.StripeError as error:
        log.warning("Stripe's fee on %s could not be read: %s", order.charge_id, error)
        return 0
    if fee is None:
        log.warning("Stripe's fee on %s is not known yet: recorded gross", order.charge_id)
        return 0
    ledger.record_stripe_fee(key, TransactionKind.SALE, fee, stripe_id=order.charge_id, memo=order.number)
    return fee


def _transfer_of(part: VendorOrder) -> ShopTransfer | None:
    """The part's transfer, once it was released (the row exists from the release on)."""
    return db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id))


def record_refund(refund: Refund) -> None:
    """Money given back from a shop's part; its commission in proportion; taken back from the shop's
    Stripe account when the part was already transferred (what cannot be taken back is netted later)."""
    part = refund.vendor_order
    key = f"refund-{refund.id}"
    if refund.reason == RefundReason.EXPIRED:
        _post_refund_money(refund, key, ledger.UNALLOCATED, sign=1)
        return
    transfer = _transfer_of(part)
    # Where the part's money is now: still pending, or released to the shop's available balance.
    account = ledger.available(part.shop_id) if transfer else ledger.pending(part.shop_id)
    _post_refund_money(refund, key, account, sign=1)
    refund.commission_cents, refund.commission_vat_cents = commission.refund_share(part, refund)
    _post_refund_commission(refund, key, account, sign=1)
    if transfer is not None and transfer.status == TransferStatus.PAID:
        share = refund.amount_cents - refund.commission_cents - refund.commission_vat_cents
        _reverse(transfer, refund, min(share, transfer.amount_cents - transfer.reversed_cents))


def record_refund_failure(refund: Refund) -> None:
    """A refund Stripe could not make after all: the money is back in the platform's Stripe balance, the
    shop's share and the commission given back with it are restored where the part's money is now."""
    part = refund.vendor_order
    key = f"refund-{refund.id}-failed"
    if refund.reason == RefundReason.EXPIRED:
        _post_refund_money(refund, key, ledger.UNALLOCATED, sign=-1)
        return
    account = ledger.available(part.shop_id) if _transfer_of(part) else ledger.pending(part.shop_id)
    _post_refund_money(refund, key, account, sign=-1)
    _post_refund_commission(refund, key, account, sign=-1)


def _post_refund_money(refund: Refund, key: str, account: str, *, sign: int) -> None:
    """The refunded amount between ``account`` and the Stripe balance: out of Stripe for a refund
    (``sign`` 1), back into it when the refund failed (-1)."""
    part = refund.vendor_order
    ledger.post(
        key,
        TransactionKind.REFUND,
        [Line(account, sign * refund.amount_cents), Line(ledger.STRIPE, -sign * refund.amount_cents)],
        shop_id=None if account == ledger.UNALLOCATED else part.shop_id,
        vendor_order_id=part.id,
        stripe_id=refund.stripe_id,
        memo=part.order.number,
    )


def _post_refund_commission(refund: Refund, key: str, account: str, *, sign: int) -> None:
    """The refund's commission and its VAT given back to the shop (``sign`` 1), or taken again (-1)."""
    part = refund.vendor_order
    ledger.post(
        f"{key}-commission",
        TransactionKind.COMMISSION_REFUND,
        [
            Line(ledger.COMMISSION, sign * refund.commission_cents),
            Line(ledger.COMMISSION_VAT, sign * refund.commission_vat_cents),
            Line(account, -sign * (refund.commission_cents + refund.commission_vat_cents)),
        ],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        memo=part.order.number,
    )


def _reverse(transfer: ShopTransfer, refund: Refund, amount: int) -> None:
    if amount <= 0 or transfer.stripe_transfer_id is None:
        return
    reversal = TransferReversal(transfer_id=transfer.id, refund_id=refund.id, amount_cents=amount)
    db.session.add(reversal)
    db.session.flush()
    try:
        result = gateway.reverse_transfer(
            transfer.stripe_transfer_id,
            amount_cents=amount,
            key=f"refund-{refund.id}-reversal",
            metadata={REVERSAL_METADATA: str(reversal.id)},
        )
    except gateway.StripeError as error:
        # The shop's Stripe balance could not cover it: the ledger keeps it owing, netted by the next
        # transfers, and ``retry_reversals`` tries again on a schedule.
        reversal.error = _stripe_answer(error)
        log.warning("reversal for refund %d failed: %s", refund.id, error)
        return
    _reversed(reversal, transfer, result, amount)


def _reversed(
    reversal: TransferReversal, transfer: ShopTransfer, result: gateway.MoneyMove, amount: int
) -> None:
    """Stripe took ``amount`` back from the shop: the reversal and the ledger say so (once)."""
    reversal.stripe_reversal_id = result.id
    reversal.error = ""
    transfer.reversed_cents += amount
    ledger.post(
        f"refund-{reversal.refund_id}-reversal",
        TransactionKind.TRANSFER_REVERSAL,
        [Line(ledger.STRIPE, amount), Line(ledger.available(transfer.shop_id), -amount)],
        shop_id=transfer.shop_id,
        vendor_order_id=transfer.vendor_order_id,
        stripe_id=result.id,
    )


def _stripe_answer(error: gateway.StripeError) -> str:
    """Stripe's refusal as kept and shown: its code and its message."""
    message = str(getattr(error, "user_message", None) or error)
    code = getattr(error, "code", None)
    return (f"{code}: {message}" if code else message)[:300]


def _lock_shop_balance(shop_id: int) -> None:
    """Serialise what reads the shop's available balance to move money (a transfer netting a debt, a
    reversal retry taking it back) on that balance's ledger account row, so the debt is settled once."""
    found = ledger.account(ledger.available(shop_id))
    db.session.scalars(locked(sa.select(LedgerAccount.id).where(LedgerAccount.id == found.id))).one()


# -- refused reversals ----------------------------------------------------------------------------


def _unsettled() -> sa.Select[TransferReversal]:
    return (
        sa.select(TransferReversal)
        .join(ShopTransfer, ShopTransfer.id == TransferReversal.transfer_id)
        .where(TransferReversal.stripe_reversal_id.is_(None), TransferReversal.settled_at.is_(None))
    )


def owing_shops() -> list[int]:
    """Ids of shops with a refused transfer reversal not settled yet: the reversal job retries them."""
    query = _unsettled().with_only_columns(ShopTransfer.shop_id).distinct().order_by(ShopTransfer.shop_id)
    return list(db.session.scalars(query))


def retry_reversals(shop_id: int, now: dt.datetime | None = None) -> int:
    """Try again to take back from the shop's Stripe account what refused reversals left it owing.

    The ledger's available balance of the shop is the truth: what later transfers already netted is not
    taken back again (a reversal with nothing left owing is settled without calling Stripe). Each attempt
    has its own idempotency key (Stripe keeps a refusal under its key) and is recorded with Stripe's
    answer. Returns the cents taken back.
    """
    now = now or utcnow()
    _lock_shop_balance(shop_id)
    reversals = list(
        db.session.scalars(
            locked(_unsettled().where(ShopTransfer.shop_id == shop_id).order_by(TransferReversal.id))
        )
    )
    owed = max(0, -ledger.balance(ledger.available(shop_id)))
    recovered = 0
    for reversal in reversals:
        transfer = db.session.get(ShopTransfer, reversal.transfer_id)
        assert transfer is not None
        assert transfer.stripe_transfer_id is not None
        amount = min(owed, reversal.amount_cents, transfer.amount_cents - transfer.reversed_cents)
        if amount <= 0:
            reversal.settled_at = now  # later transfers netted it: nothing left to take back
            continue
        # A reversal made by an attempt whose answer was lost is found, not made twice.
        result = gateway.find_reversal(
            transfer.stripe_transfer_id, metadata_key=REVERSAL_METADATA, value=str(reversal.id)
        )
        key = f"transfer-reversal-{reversal.id}-attempt-{len(reversal.attempts) + 1}"
        attempt = ReversalAttempt(
            reversal=reversal, attempted_at=now, amount_cents=amount, idempotency_key=key
        )
        if result is None:
            try:
                result = gateway.reverse_transfer(
                    transfer.stripe_transfer_id,
                    amount_cents=amount,
                    key=key,
                    metadata={REVERSAL_METADATA: str(reversal.id)},
                )
            except gateway.StripeError as error:
                attempt.succeeded = False
                attempt.error = reversal.error = _stripe_answer(error)
                db.session.add(attempt)
                log.warning("reversal %d retried, refused again: %s", reversal.id, error)
                continue
        attempt.succeeded = True
        attempt.amount_cents = result.amount
        attempt.stripe_reversal_id = result.id
        db.session.add(attempt)
        _reversed(reversal, transfer, result, result.amount)
        reversal.recovered_cents = result.amount
        reversal.settled_at = now
        owed -= result.amount
        recovered += result.amount
    db.session.flush()
    return recovered


def record_cancellation(vendor_order: VendorOrder) -> None:
    """A shop's part cancelled before shipping: its refund (recorded by ``record_refund``) says it all."""
    log.info("vendor order %d cancelled", vendor_order.id)


# -- transfers ------------------------------------------------------------------------------------


def hold() -> dt.timedelta:
    return dt.timedelta(days=int(current_app.config.get("PAYOUT_HOLD_DAYS", 14)))


def _returning() -> sa.Select[int]:
    """Ids of parts with a withdrawal open (requested, its refund not made yet): their money waits."""
    return sa.select(ReturnRequest.vendor_order_id).where(ReturnRequest.status != ReturnStatus.REFUNDED)


def return_open(part: VendorOrder) -> bool:
    return (
        db.session.scalar(sa.select(_returning().where(ReturnRequest.vendor_order_id == part.id).exists()))
        or False
    )


def due_parts(now: dt.datetime | None = None) -> list[int]:
    """Ids of the parts to release now: received, past the hold, not released yet, and with no
    withdrawal open (the goods may come back: released once the return is refunded, net of it), nor a
    dispute of the order's charge (released if it is won; lost, the part bears its share)."""
    now = now or utcnow()
    released = sa.select(ShopTransfer.vendor_order_id)
    query = (
        sa.select(VendorOrder.id)
        .where(
            VendorOrder.status.in_(RECEIVED),
            VendorOrder.received_at <= now - hold(),
            VendorOrder.id.not_in(released),
            VendorOrder.id.not_in(_returning()),
            VendorOrder.order_id.not_in(_disputed()),
        )
        .order_by(VendorOrder.id)
    )
    return list(db.session.scalars(query))


def _disputed() -> sa.Select[int | None]:
    """Orders whose charge is disputed and still open: their parts wait for the outcome."""
    return sa.select(Dispute.order_id).where(
        Dispute.status.in_(OPEN_DISPUTE_STATUSES), Dispute.order_id.is_not(None)
    )


def retry_parts(now: dt.datetime | None = None) -> list[int]:
    """Ids of parts whose transfer waits for the shop's account or failed and is due for a retry (those
    with a withdrawal open wait for it to close)."""
    now = now or utcnow()
    query = sa.select(ShopTransfer.vendor_order_id).where(
        sa.or_(
            ShopTransfer.status == TransferStatus.WAITING,
            sa.and_(ShopTransfer.status == TransferStatus.FAILED, ShopTransfer.next_attempt_at <= now),
        ),
        ShopTransfer.vendor_order_id.not_in(_returning()),
        ShopTransfer.vendor_order_id.not_in(
            sa.select(VendorOrder.id).where(VendorOrder.order_id.in_(_disputed()))
        ),
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


def pay_out(vendor_order_id: int) -> ShopTransfer | None:
    """Release a due part and transfer it to the shop, netted of what the shop owes; safe to run twice.
    None when a withdrawal opened on the part meanwhile: nothing is released until it is refunded.

    The row lock on the part keeps two workers from paying it twice; the idempotency key keeps a retry
    after a lost answer from creating a second Stripe transfer.
    """
    part = db.session.scalars(locked(sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id))).one()
    if _transfer_of(part) is None and return_open(part):
        return None  # the shopper withdrew meanwhile: released once the return is refunded
    _lock_shop_balance(part.shop_id)
    transfer = release(part)
    if transfer.status in (TransferStatus.PAID, TransferStatus.NETTED):
        return transfer
    if return_open(part):
        # Released before the shopper withdrew: what the return refunds is netted once it closes.
        transfer.last_error = "withdrawal open"
        return transfer
    shop = db.session.get(Shop, part.shop_id)
    assert shop is not None
    if not shop.payouts_ready:
        transfer.status = TransferStatus.WAITING
        transfer.last_error = "payouts not enabled"
        return transfer
    if shop.payouts_withheld_at is not None:
        # DAC7: the seller's tax data is still missing after two reminders; paid once it is given.
        transfer.status = TransferStatus.WAITING
        transfer.last_error = DAC7_WITHHELD
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
    record_transfer(part, f"vendor-order-{part.id}-transfer", result.id, result.amount)
    return transfer


def record_transfer(part: VendorOrder, key: str, stripe_transfer_id: str, amount_cents: int) -> None:
    """Money sent to the part's shop on Stripe: out of the platform's balance and of what the shop is due."""
    ledger.post(
        key,
        TransactionKind.TRANSFER,
        [Line(ledger.available(part.shop_id), amount_cents), Line(ledger.STRIPE, -amount_cents)],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
        stripe_id=stripe_transfer_id,
        memo=part.order.number,
    )
