"""Order use cases: placing, paying, each shop's handling of its part, cancellation, withdrawal, refunds.

Placing is all or nothing: one variant short and the whole transaction is rolled back by the caller,
so no order, no line and no stock movement is left half-written.

Paying: one PaymentIntent per order, created with an idempotency key from the checkout token and
confirmed server-side under the order's row lock, so a double click confirms once. Whatever tells us
about a payment (the confirmation's answer, the shopper's return from 3-D Secure, a webhook) goes
through ``apply_payment``, which reads the PaymentIntent as it is now: events arriving twice or out of
order change nothing.

A shop's part moves through DESIGN.md's states by ``advance``; every refund goes through ``refund``
(an idempotency key per business event, so no money moves twice) and is handed to payouts.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from app import events, mail, money
from app.accounts.models import Address, User
from app.audit import services as audit
from app.audit.models import SentEmail
from app.cart import services as cart_services
from app.cart.models import Cart, DeliveryMethod
from app.catalog.models import StockReason
from app.catalog.services import exclusion_reason, move_stock
from app.database import lock, locked, next_in_series, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.orders import credit_notes
from app.orders.models import (
    CreditNote,
    ExternalRefund,
    ExternalRefundStatus,
    Order,
    OrderCounter,
    OrderLine,
    OrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    VendorOrder,
    VendorOrderStatus,
)
from app.urls import external_url
from payouts import gateway
from payouts import services as payouts
from payouts.models import ShopTransfer, TransferReversal
from vendors import services as vendor_services
from vendors.hours import TOWN_TZ
from vendors.models import Shop

log = logging.getLogger(__name__)

RESERVATION = dt.timedelta(minutes=30)
WITHDRAWAL_DAYS = 14  # the legal minimum; a shop may give more (Shop.return_days)
REFUND_DAYS = 14  # a withdrawal is refunded within 14 days of the request
CHECKOUT_TOKEN_LENGTH = Order.checkout_token.type.length or 64


class OrderError(ServiceError):
    """A refused order use case."""


@dataclass(frozen=True)
class Contact:
    email: str
    full_name: str
    phone: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "FR"
    # A buyer buying for a company (all checked by the form): its documents become Factur-X.
    company: str = ""
    siren: str = ""
    vat_number: str = ""


def next_number(year: int) -> str:
    """M-2026-000123: the year's next number, taken under the counter row's lock (no gaps, no twins)."""
    counter = next_in_series(OrderCounter, year=year)
    return f"M-{year}-{counter:06d}"


def _reserve(actor: User, variant_id: int, quantity: int, title: str) -> None:
    """Take ``quantity`` from the stock, or refuse (the caller rolls the whole order back)."""
    if move_stock(actor, variant_id, -quantity, StockReason.SALE) is None:
        raise OrderError(_l("« %(title)s » vient d’être épuisé : revoyez votre panier.", title=title))


def place_order(
    shopper: User, cart: Cart, contact: Contact, checkout_token: str, terms_version: str = ""
) -> Order:
    """An order awaiting payment from a ready cart; the stock is reserved and the cart emptied.

    The same ``checkout_token`` twice (a double click, a replayed request, the same form posted several
    times at once) returns the first order: checkouts of one cart wait for each other on the cart's row
    lock, and the one that waited finds the order by its token rather than an emptied cart.
    """
    if not 0 < len(checkout_token) <= CHECKOUT_TOKEN_LENGTH:  # the form's token, not something forged
        raise OrderError(_l("Ce formulaire de commande n’est plus valable : rechargez la page."))
    existing, locked_cart = placed_or_locked(shopper, cart, checkout_token)
    if existing is not None:
        return existing
    assert locked_cart is not None  # a cart given is a cart locked
    cart = locked_cart
    summary = cart_services.summary(cart)
    if not summary.ready:
        raise OrderError(summary.problems[0] if summary.problems else _l("Votre panier est vide."))
    if needs_address(part.chosen.method for part in summary.parts if part.chosen) and not (
        contact.street and contact.postcode and contact.city
    ):
        raise OrderError(_l("Indiquez l’adresse de livraison."))
    for part in summary.parts:
        local = part.chosen is not None and part.chosen.method == DeliveryMethod.LOCAL_DELIVERY
        if local and contact.postcode not in part.shop.postcode_zone:
            raise OrderError(
                _l(
                    "%(shop)s ne livre pas au %(postcode)s : choisissez un autre mode de livraison "
                    "dans le panier.",
                    shop=part.shop.name,
                    postcode=contact.postcode,
                ),
                "postcode",
            )
    try:
        with db.session.begin_nested():
            return _place(shopper, cart, summary, contact, checkout_token, terms_version)
    except IntegrityError:
        # The token committed meanwhile by a placing that did not wait on this cart (the unique index
        # waited for it instead): everything this one did is undone, and that order is the answer.
        existing = checkout_order(shopper, checkout_token)
        if existing is None:
            raise
        return existing


def placed_or_locked(
    shopper: User, cart: Cart | None, checkout_token: str
) -> tuple[Order | None, Cart | None]:
    """The order this checkout form placed already; else the shopper's cart locked until the
    transaction ends and read afresh, with the form's order looked for again under the lock: a checkout
    of this cart that committed while this one waited (the same form posted twice) has placed it, and
    one of another form has emptied the cart, which the fresh read shows."""
    existing = checkout_order(shopper, checkout_token)
    if existing is not None or cart is None:
        return existing, cart
    if cart.user_id != shopper.id:
        raise OrderError(_l("Ce panier n’est pas le vôtre."))
    cart = cart_services.lock_cart(cart)
    return checkout_order(shopper, checkout_token), cart


def checkout_order(shopper: User, checkout_token: str) -> Order | None:
    """The order already placed with this checkout form, if any; another shopper's is refused."""
    if not checkout_token:
        return None
    existing = db.session.scalar(sa.select(Order).where(Order.checkout_token == checkout_token))
    if existing is not None and existing.user_id != shopper.id:
        raise OrderError(_l("Ce formulaire de commande a déjà servi."))
    return existing


def _place(
    shopper: User,
    cart: Cart,
    summary: cart_services.CartSummary,
    contact: Contact,
    checkout_token: str,
    terms_version: str,
) -> Order:
    now = utcnow()
    order = Order(
        number=next_number(now.year),
        checkout_token=checkout_token,
        user_id=shopper.id,
        status=OrderStatus.PENDING_PAYMENT,
        items_cents=summary.items_cents,
        delivery_cents=summary.delivery_cents,
        total_cents=summary.total_cents,
        email=contact.email,
        phone=contact.phone,
        full_name=contact.full_name,
        street=contact.street,
        postcode=contact.postcode,
        city=contact.city,
        country=contact.country,
        buyer_company=contact.company,
        buyer_siren=contact.siren,
        buyer_vat_number=contact.vat_number,
        reserved_until=now + RESERVATION,
        terms_version=terms_version,
        locale=shopper.locale,
    )
    # Lock and take stock in primary-key order, so concurrent checkouts never deadlock.
    lines = sorted((line for part in summary.parts for line in part.lines), key=lambda line: line.variant.id)
    for line in lines:
        _reserve(shopper, line.variant.id, line.item.quantity, line.product.title)
    for part in summary.parts:
        assert part.chosen is not None  # a ready cart has a delivery for every shop
        order.vendor_orders.append(
            VendorOrder(
                shop_id=part.shop.id,
                status=VendorOrderStatus.PENDING_PAYMENT,
                delivery_method=part.chosen.method,
                relay_point_id=part.relay_point_id,
                pickup_slot=part.pickup_slot,
                delivery_fee_cents=part.delivery_cents,
                delivery_vat_bps=part.delivery_vat_bps,
                items_cents=part.items_cents,
                total_cents=part.total_cents,
                lines=[
                    OrderLine(
                        variant_id=line.variant.id,
                        product_id=line.product.id,
                        title=line.product.title,
                        variant_label=line.variant.label,
                        sku=line.variant.sku,
                        unit_price_cents=line.unit_cents,
                        quantity=line.item.quantity,
                        vat_bps=line.product.vat_bps,
                        total_cents=line.total_cents,
                        withdrawal_exclusion=line.product.withdrawal_exclusion_now,
                    )
                    for line in part.lines
                ],
            )
        )
    for part in order.vendor_orders:
        payouts.freeze_commission(part)
    db.session.add(order)
    cart.items.clear()
    cart.deliveries.clear()
    db.session.flush()  # inside the caller's savepoint: a token taken meanwhile fails here
    return order


def needs_address(methods: Iterable[str]) -> bool:
    """Local and carrier delivery go to the shopper's door; click & collect and relay points do not."""
    return any(method in (DeliveryMethod.LOCAL_DELIVERY, DeliveryMethod.HOME_DELIVERY) for method in methods)


def remember_address(shopper: User, contact: Contact) -> Address:
    """Save the checkout's address in the shopper's book (once: the same address is reused)."""
    for address in db.session.scalars(sa.select(Address).where(Address.user_id == shopper.id)):
        if (address.street, address.postcode, address.city) == (
            contact.street,
            contact.postcode,
            contact.city,
        ):
            break
    else:
        address = Address(user_id=shopper.id, street=contact.street, postcode=contact.postcode)
        db.session.add(address)
    address.full_name, address.city = contact.full_name, contact.city
    address.country, address.phone = contact.country, contact.phone
    address.last_used_at = utcnow()
    return address


def saved_addresses(shopper: User) -> list[Address]:
    return list(
        db.session.scalars(
            sa.select(Address)
            .where(Address.user_id == shopper.id)
            .order_by(Address.last_used_at.desc().nulls_last(), Address.id.desc())
        )
    )


def forget_address(shopper: User, address_id: int) -> None:
    """Delete one of the shopper's saved addresses; another's, or one already gone, is "not found".

    One conditional DELETE: two clicks racing delete it once and the second is told it is gone.
    Past orders keep their own copy of the address.
    """
    deleted = db.session.execute(
        sa.delete(Address)
        .where(Address.id == address_id, Address.user_id == shopper.id)
        .returning(Address.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    if deleted is None:
        raise OrderError(_l("Adresse introuvable."))


# -- finding orders -------------------------------------------------------------------------------


def shopper_order(shopper: User, number: str, lock: bool = False) -> Order:
    """The shopper's own order by number (another's is "not found", never "forbidden").

    With ``lock``, locked and read afresh: what a request that held the lock before has changed."""
    query = sa.select(Order).where(Order.number == number, Order.user_id == shopper.id)
    order = db.session.scalar(locked(query) if lock else query)
    if order is None:
        raise OrderError(_l("Commande introuvable."))
    return order


def shopper_orders(shopper: User) -> list[Order]:
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.user_id == shopper.id, Order.status != OrderStatus.EXPIRED)
            .options(orm.selectinload(Order.vendor_orders).selectinload(VendorOrder.shop))
            .order_by(Order.id.desc())
        )
    )


def shopper_part(shopper: User, number: str, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    order = shopper_order(shopper, number)
    query = sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id, VendorOrder.order_id == order.id)
    part = db.session.scalar(locked(query) if lock else query)
    if part is None:
        raise OrderError(_l("Commande introuvable."))
    return part


def part_credit_note(part: VendorOrder, credit_note_id: int) -> CreditNote | None:
    """One of the part's credit notes (the caller found the part as its shopper or its shop); another
    part's is None, so that asking for it by id is a 404."""
    return db.session.scalar(
        sa.select(CreditNote).where(CreditNote.id == credit_note_id, CreditNote.vendor_order_id == part.id)
    )


OPEN_FOR_SHOP = (VendorOrderStatus.PAID, VendorOrderStatus.RETURN_REQUESTED)


def shop_orders(shop: Shop, status: VendorOrderStatus | None = None) -> list[VendorOrder]:
    """The shop's paid orders (those awaiting payment are not the shop's business yet), newest first."""
    query = (
        sa.select(VendorOrder)
        .where(VendorOrder.shop_id == shop.id, VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT)
        .options(orm.selectinload(VendorOrder.order), orm.selectinload(VendorOrder.lines))
        .order_by(VendorOrder.id.desc())
        .limit(200)
    )
    if status is not None:
        query = query.where(VendorOrder.status == status)
    return list(db.session.scalars(query))


def awaiting_count(shop: Shop) -> int:
    """The badge of the back office: new orders to accept and returns to check."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(VendorOrder)
            .where(VendorOrder.shop_id == shop.id, VendorOrder.status.in_(OPEN_FOR_SHOP))
        )
        or 0
    )


def shop_part(shop: Shop, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    query = sa.select(VendorOrder).where(
        VendorOrder.id == vendor_order_id,
        VendorOrder.shop_id == shop.id,
        VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT,
    )
    part = db.session.scalar(locked(query) if lock else query)
    if part is None:
        raise OrderError(_l("Commande introuvable."))
    return part


# -- paying ---------------------------------------------------------------------------------------


def start_payment(order: Order) -> None:
    """The order's PaymentIntent, created once (a retry after a network error finds the same one).

    Under the order's lock, read afresh: a request that created it meanwhile is seen, not repeated."""
    lock(Order, order.id)
    if order.payment_intent_id or order.status != OrderStatus.PENDING_PAYMENT:
        return
    payment = gateway.create_payment(
        key=f"checkout-{order.checkout_token}-payment",
        amount_cents=order.total_cents,
        currency=order.currency,
        transfer_group=order.number,
        email=order.email,
        metadata={"order_id": str(order.id), "order_number": order.number},
    )
    order.payment_intent_id = payment.id
    order.payment_status = payment.status


@dataclass(frozen=True)
class PaymentOutcome:
    order: Order
    redirect_url: str | None = None  # the bank's authentication page, to send the shopper to
    error: Any = None  # a refused attempt, said to the shopper


def pay(shopper: User, number: str, payment_method: str, return_url: str, attempt: str) -> PaymentOutcome:
    """Confirm the order's payment with a payment method, once per ``attempt`` (the payment form's token).

    Runs under the order's row lock, read afresh: a second click waits, then finds the order paid (and
    answers as the first click did) or the attempt made. A tab that lost the race to another is told
    where the payment stands, never that the bank refused it.
    """
    order = shopper_order(shopper, number, lock=True)
    if order.status == OrderStatus.PAID:
        return PaymentOutcome(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise OrderError(_l("Cette commande n’est plus en attente de paiement."))
    if order.reserved_until < utcnow():
        raise OrderError(_l("Le délai de paiement est dépassé : les articles ont été remis en vente."))
    if not payment_method:
        raise OrderError(_l("Choisissez un moyen de paiement."))
    start_payment(order)
    assert order.payment_intent_id is not None
    try:
        payment = gateway.confirm_payment(
            order.payment_intent_id,
            payment_method=payment_method,
            return_url=return_url,
            key=f"{order.payment_intent_id}-confirm-{attempt}",
        )
    except gateway.StripeError as error:
        payment = _payment_under_way(order, error)
    apply_payment(order, payment)
    if payment.status == "requires_action" and payment.redirect_url:
        return PaymentOutcome(order, redirect_url=payment.redirect_url)
    if payment.status == "requires_payment_method":
        return PaymentOutcome(order, error=payment_error_message(order.payment_error))
    return PaymentOutcome(order)


def _payment_under_way(order: Order, error: gateway.StripeError) -> gateway.Payment:
    """Stripe would not confirm: most often because the PaymentIntent no longer waits for a payment
    method (paid, or being paid, from another tab or by an attempt whose answer was lost). Its state
    now is the answer; only one still waiting for a payment method means this attempt failed."""
    assert order.payment_intent_id is not None
    try:
        payment = gateway.retrieve_payment(order.payment_intent_id)
    except gateway.StripeError:
        payment = None
    if payment is None or payment.status not in ("succeeded", "processing", "requires_action"):
        log.warning("confirming %s failed: %s", order.number, error)
        raise OrderError(_l("Le paiement n’a pas pu être envoyé à la banque. Réessayez.")) from error
    log.info("confirming %s refused, its payment is %s already", order.number, payment.status)
    return payment


def refresh_payment(order: Order) -> None:
    """Read the PaymentIntent as it is now and apply it (the shopper's return from authentication)."""
    if order.payment_intent_id:
        apply_payment(order, gateway.retrieve_payment(order.payment_intent_id))


def apply_payment(order: Order, payment: gateway.Payment) -> None:
    """Bring the order in line with its PaymentIntent. Safe to call any number of times, in any order."""
    if payment.id != order.payment_intent_id or payment.amount != order.total_cents:
        log.error("payment %s does not match order %s", payment.id, order.number)
        return
    if order.status == OrderStatus.PAID:
        return
    order.payment_status = payment.status
    if payment.status == "requires_payment_method":
        order.payment_error = payment.error or "declined"
    if payment.status != "succeeded":
        return
    order.charge_id = payment.charge_id
    if order.status == OrderStatus.PENDING_PAYMENT or _reserve_again(order):
        _mark_paid(order)
    else:
        # Paid after the reservation lapsed and the stock was sold meanwhile: the money goes back.
        payouts.record_late_payment(order)
        for part in order.vendor_orders:
            refund(part, part.total_cents, RefundReason.EXPIRED, key=f"vendor-order-{part.id}-late-payment")
        _send_to_shopper(order, "orders/late_payment", _l("Votre paiement a été remboursé"))


def _reserve_again(order: Order) -> bool:
    """An expired order paid late takes its stock again if it is still there (all or nothing)."""
    savepoint = db.session.begin_nested()
    lines = sorted(
        (line for part in order.vendor_orders for line in part.lines), key=lambda line: line.variant_id or 0
    )
    for line in lines:
        if (
            line.variant_id is None
            or move_stock(None, line.variant_id, -line.quantity, StockReason.SALE) is None
        ):
            savepoint.rollback()
            return False
    savepoint.commit()
    return True


def _mark_paid(order: Order) -> None:
    """Once: the callers hold the order's lock and have read it afresh (``paid_at`` is never rewritten)."""
    if order.status == OrderStatus.PAID:
        return
    order.status = OrderStatus.PAID
    order.paid_at = utcnow()
    order.payment_error = ""
    for part in order.vendor_orders:
        part.status = VendorOrderStatus.PAID
    payouts.record_payment(order)
    send_confirmation(order)
    for part in order.vendor_orders:
        _send_to_shop(part, "orders/new_order", _l("Nouvelle commande %(number)s", number=order.number))
        _announce(events.ORDER_PAID, part)


def order_for_payment(payment_intent_id: str) -> Order | None:
    """The order of a PaymentIntent, locked and read afresh (a webhook racing the shopper's return)."""
    return db.session.scalar(locked(sa.select(Order).where(Order.payment_intent_id == payment_intent_id)))


def release(order: Order) -> None:
    """An unpaid order expires: its stock goes back, each line with its movement."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return
    _restock(line for part in order.vendor_orders for line in part.lines)
    for vendor_order in order.vendor_orders:
        vendor_order.status = VendorOrderStatus.CANCELLED
    order.status = OrderStatus.EXPIRED


def expire(order: Order) -> None:
    """Past its reservation: cancel the PaymentIntent first (a payment made meanwhile wins), then release."""
    if order.payment_intent_id:
        payment = gateway.cancel_payment(order.payment_intent_id)
        if payment.status in ("succeeded", "processing"):
            apply_payment(order, payment)
            return
        order.payment_status = payment.status
    release(order)


def expired_order_ids(now: dt.datetime | None = None) -> list[int]:
    """Orders still awaiting payment past their reservation, oldest first; each is locked on its own by
    ``lock_for_expiry`` (a lock taken here would end with the first order's commit)."""
    return list(
        db.session.scalars(
            sa.select(Order.id)
            .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.reserved_until < (now or utcnow()))
            .order_by(Order.id)
        )
    )


def lock_for_expiry(order_id: int, now: dt.datetime | None = None) -> Order | None:
    """The order, locked and read afresh, if it still awaits payment past its reservation; None if it was
    paid or released meanwhile, or if a payment holds it right now (the next run looks again)."""
    order = lock(Order, order_id, skip_locked=True)
    if (
        order is None
        or order.status != OrderStatus.PENDING_PAYMENT
        or order.reserved_until >= (now or utcnow())
    ):
        return None
    return order


def _restock(lines: Iterable[OrderLine], quantities: Mapping[int, int] | None = None) -> None:
    """Put lines (or ``quantities`` of them, by line id) back in stock, in variant order (no deadlocks)."""
    reason = StockReason.RETURN if quantities is not None else StockReason.RELEASE
    for line in sorted(lines, key=lambda line: line.variant_id or 0):
        quantity = line.quantity if quantities is None else quantities.get(line.id, 0)
        if line.variant_id is not None and quantity:  # a deleted product has no stock to go back to
            move_stock(None, line.variant_id, quantity, reason, line.vendor_order.order.number)


# -- a shop's part through its states -----------------------------------------------------------

S = VendorOrderStatus
# What each step may follow: anything else is refused with a message, never half-done.
STEPS: dict[str, tuple[tuple[VendorOrderStatus, ...], VendorOrderStatus]] = {
    "accept": ((S.PAID,), S.ACCEPTED),
    "refuse": ((S.PAID,), S.CANCELLED),
    "ship": ((S.ACCEPTED,), S.SHIPPED),
    "ready": ((S.ACCEPTED,), S.READY_FOR_PICKUP),
    "deliver": ((S.SHIPPED,), S.DELIVERED),
    "collect": ((S.READY_FOR_PICKUP,), S.COLLECTED),
    "cancel": ((S.PAID, S.ACCEPTED), S.CANCELLED),
    "shop_cancel": ((S.ACCEPTED, S.READY_FOR_PICKUP), S.CANCELLED),
    "request_return": ((S.DELIVERED, S.COLLECTED, S.REFUNDED), S.RETURN_REQUESTED),
    "receive_return": ((S.RETURN_REQUESTED,), S.RETURNED),
    "refund_return": ((S.RETURNED,), S.REFUNDED),
    "complete": ((S.DELIVERED, S.COLLECTED, S.REFUNDED), S.COMPLETED),
}
SHIPPED_METHODS = (DeliveryMethod.LOCAL_DELIVERY, DeliveryMethod.HOME_DELIVERY, DeliveryMethod.RELAY)


def _step(part: VendorOrder, step: str) -> None:
    allowed, target = STEPS[step]
    if part.status not in allowed:
        raise OrderError(
            _l("Impossible : cette commande est « %(status)s ».", status=status_label(part.status))
        )
    part.status = target


def accept(part: VendorOrder) -> None:
    _step(part, "accept")
    from app.orders import documents  # fpdf, loaded when an invoice is issued, not by every worker

    part.accepted_at = utcnow()
    documents.issue_invoice(part)


def refuse(part: VendorOrder, reason: str) -> None:
    """The shop cannot fulfil the order: its share is refunded at once and the stock goes back."""
    if not reason.strip():
        raise OrderError(_l("Dites au client pourquoi vous refusez la commande."))
    _step(part, "refuse")
    _cancel(part, reason.strip(), RefundReason.REFUSED)


def cancel_by_shopper(part: VendorOrder) -> None:
    """Before shipping, the shopper cancels a shop's part: refunded at once."""
    _step(part, "cancel")
    _cancel(part, str(_l("Annulée par le client.")), RefundReason.CANCELLED)


def cancel_by_shop(part: VendorOrder, reason: str) -> None:
    """After accepting, before the goods leave, the shop cannot fulfil the order after all: the
    shopper is refunded at once (and told why), the stock goes back."""
    if not reason.strip():
        raise OrderError(_l("Dites au client pourquoi vous annulez la commande."))
    _step(part, "shop_cancel")
    _cancel(part, reason.strip(), RefundReason.CANCELLED)


def _cancel(part: VendorOrder, reason: str, why: RefundReason) -> None:
    part.cancelled_at = utcnow()
    part.cancel_reason = reason[:500]
    _restock(part.lines)
    payouts.record_cancellation(part)
    if refundable_cents(part):
        refund(
            part,
            part.remaining_cents,
            why,
            key=f"vendor-order-{part.id}-cancel",
            delivery=part.delivery_fee_cents,
            items={line.id: line.quantity - line.returned_quantity for line in part.lines},
        )
    _announce(events.ORDER_CANCELLED, part, cancelled_at=events.iso(part.cancelled_at))


def ship(part: VendorOrder, carrier: str, tracking_number: str) -> None:
    if part.delivery_method not in SHIPPED_METHODS:
        raise OrderError(_l("Cette commande est à retirer en boutique : marquez-la prête."))
    carrier, tracking_number = carrier.strip()[:60], tracking_number.strip()[:60]
    if part.delivery_method == DeliveryMethod.HOME_DELIVERY and not tracking_number:
        raise OrderError(_l("Indiquez le numéro de suivi du colis."))
    _step(part, "ship")
    part.carrier, part.tracking_number = carrier, tracking_number
    part.shipped_at = utcnow()
    send_shipped(part)


def ready_for_pickup(part: VendorOrder) -> None:
    if part.delivery_method != DeliveryMethod.CLICK_COLLECT:
        raise OrderError(_l("Cette commande est à livrer : indiquez son expédition."))
    _step(part, "ready")
    part.ready_at = utcnow()
    part.pickup_code = f"{secrets.randbelow(10**6):06d}"
    send_ready(part)


def mark_delivered(part: VendorOrder) -> None:
    _step(part, "deliver")
    _received(part)


def mark_collected(part: VendorOrder, code: str) -> None:
    """The shopper shows the pickup code at the counter; the wrong code hands nothing over (any text:
    compared as UTF-8 bytes, which ``compare_digest`` takes whatever the characters)."""
    if part.status == S.READY_FOR_PICKUP and not secrets.compare_digest(
        code.strip().replace(" ", "").encode(), (part.pickup_code or "").encode()
    ):
        raise OrderError(_l("Ce code de retrait ne correspond pas à la commande."))
    _step(part, "collect")
    _received(part)


def _received(part: VendorOrder) -> None:
    part.received_at = utcnow()
    send_received(part)


def advance_completed(now: dt.datetime | None = None) -> int:
    """Parts whose withdrawal window has closed, with no return open, become completed."""
    now = now or utcnow()
    done = 0
    query = sa.select(VendorOrder).where(
        VendorOrder.status.in_((S.DELIVERED, S.COLLECTED, S.REFUNDED)), VendorOrder.received_at.is_not(None)
    )
    for part in db.session.scalars(locked(query, skip_locked=True)):
        deadline = withdrawal_deadline(part)
        if deadline is not None and deadline < now.astimezone(TOWN_TZ).date():
            _step(part, "complete")
            part.completed_at = now
            done += 1
    return done


# -- withdrawal -----------------------------------------------------------------------------------


def withdrawal_deadline(part: VendorOrder) -> dt.date | None:
    """The last day to withdraw: 14 days (or the shop's longer period) from the day after receipt."""
    if part.received_at is None:
        return None
    days = max(WITHDRAWAL_DAYS, part.shop.return_days)
    return part.received_at.astimezone(TOWN_TZ).date() + dt.timedelta(days=days)


def returnable(part: VendorOrder) -> dict[int, int]:
    """Per line id, how many units may still be withdrawn (never a line the law excludes, L221-28)."""
    pending: dict[int, int] = {}
    for request in part.returns:
        if request.status == ReturnStatus.REQUESTED:
            for item in request.lines:
                pending[item.order_line_id] = pending.get(item.order_line_id, 0) + item.quantity
    left = {
        line.id: line.quantity - line.returned_quantity - pending.get(line.id, 0)
        for line in part.lines
        if line.withdrawable
    }
    return {line_id: count for line_id, count in left.items() if count > 0}


def can_withdraw(part: VendorOrder, today: dt.date | None = None) -> bool:
    deadline = withdrawal_deadline(part)
    today = today or utcnow().astimezone(TOWN_TZ).date()
    return (
        part.status in STEPS["request_return"][0]
        and deadline is not None
        and today <= deadline
        and bool(returnable(part))
    )


def request_withdrawal(part: VendorOrder, quantities: Mapping[int, Any], reason: str = "") -> ReturnRequest:
    """The shopper withdraws from some units of some lines; the shop is told and the refund is due."""
    deadline = withdrawal_deadline(part)
    if deadline is None or part.status not in STEPS["request_return"][0]:
        raise OrderError(_l("Le droit de rétractation s’ouvre à la réception de la commande."))
    today = utcnow().astimezone(TOWN_TZ).date()
    if today > deadline:
        raise OrderError(
            _l("Le délai de rétractation a pris fin le %(date)s.", date=deadline.strftime("%d/%m/%Y"))
        )
    left = returnable(part)
    chosen: dict[int, int] = {}
    for line in part.lines:
        raw = quantities.get(line.id, 0)
        try:
            count = int(raw or 0)
        except (TypeError, ValueError):
            raise OrderError(_l("Quantité invalide pour « %(title)s ».", title=line.title)) from None
        if count > 0 and not line.withdrawable:
            raise OrderError(
                _l(
                    "« %(title)s » ne peut pas faire l’objet d’une rétractation : %(reason)s.",
                    title=line.title,
                    reason=exclusion_reason(line.withdrawal_exclusion),
                )
            )
        if count < 0 or count > left.get(line.id, 0):
            raise OrderError(
                _l(
                    "« %(title)s » : vous pouvez en retourner %(count)d au plus.",
                    title=line.title,
                    count=left.get(line.id, 0),
                )
            )
        if count:
            chosen[line.id] = count
    if not chosen:
        raise OrderError(_l("Choisissez au moins un article à retourner."))
    _step(part, "request_return")
    request = ReturnRequest(
        vendor_order=part,
        reason=reason.strip()[:500],
        refund_due_on=today + dt.timedelta(days=REFUND_DAYS),
        lines=[ReturnLine(order_line_id=line_id, quantity=count) for line_id, count in chosen.items()],
    )
    db.session.add(request)
    db.session.flush()
    _send_to_shop(
        part,
        "orders/return_requested",
        _l("Rétractation sur la commande %(number)s", number=part.order.number),
        request=request,
    )
    _announce(events.RETURN_REQUESTED, part, **{"return": _return_payload(request)})
    return request


def _announce(event_type: str, part: VendorOrder, **extra: Any) -> None:
    """Tell the shop's own systems (``app.events``): the part's numbers, states and amounts, never who
    the shopper is."""
    order = part.order
    payload = {
        "order_number": order.number,
        "vendor_order_id": part.id,
        "status": part.status.value,
        "delivery_method": part.delivery_method.value,
        "currency": order.currency,
        "items_cents": part.items_cents,
        "delivery_fee_cents": part.delivery_fee_cents,
        "total_cents": part.total_cents,
        "refunded_cents": part.refunded_cents,
        "ordered_at": events.iso(order.created_at),
        "paid_at": events.iso(order.paid_at),
        "lines": [
            {
                "line_id": line.id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "total_cents": line.total_cents,
            }
            for line in part.lines
        ],
    }
    events.record(event_type, part.shop_id, {**payload, **extra})


def _return_payload(request: ReturnRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "status": request.status.value,
        "requested_at": events.iso(request.created_at),
        "received_at": events.iso(request.received_at),
        "refund_due_on": events.iso(request.refund_due_on),
        "refunded_cents": request.refund.amount_cents if request.refund is not None else 0,
        "lines": [{"line_id": item.order_line_id, "quantity": item.quantity} for item in request.lines],
    }


def open_return(part: VendorOrder) -> ReturnRequest | None:
    return next((r for r in part.returns if r.status == ReturnStatus.REQUESTED), None)


def receive_return(part: VendorOrder) -> Refund | None:
    """The shop has the goods back: they go back to stock and the shopper is refunded.

    Withdrawing from everything left refunds the delivery fee too (the law's standard delivery cost);
    a partial withdrawal refunds the goods only. An order made without a payment (``refundable_cents``
    is 0) has nothing to give back: the return is closed all the same, the shopper is told, and no
    refund is made (None).
    """
    request = open_return(part)
    if request is None:
        raise OrderError(_l("Aucun retour en attente sur cette commande."))
    _step(part, "receive_return")
    request.status = ReturnStatus.RECEIVED
    request.received_at = utcnow()
    by_line = {item.order_line_id: item.quantity for item in request.lines}
    lines = {line.id: line for line in part.lines}
    for line_id, count in by_line.items():
        lines[line_id].returned_quantity += count
    _restock(part.lines, by_line)
    amount = sum(lines[line_id].unit_price_cents * count for line_id, count in by_line.items())
    everything = all(line.returned_quantity == line.quantity for line in part.lines)
    delivery = part.delivery_fee_cents if everything else 0
    refundable = refundable_cents(part)
    done = None
    if refundable:
        done = refund(
            part,
            min(amount + delivery, refundable),
            RefundReason.WITHDRAWAL,
            key=f"return-{request.id}-refund",
            delivery=delivery,
            items=by_line,
        )
    request.refund = done
    request.status = ReturnStatus.REFUNDED
    _step(part, "refund_return")
    _announce(events.RETURN_REFUNDED, part, **{"return": _return_payload(request)})
    if done is None:
        _send_to_shopper(
            part.order,
            "orders/return_closed",
            _l("Retour reçu sur la commande %(number)s", number=part.order.number),
            part=part,
            request=request,
        )
    return done


def refundable_cents(part: VendorOrder) -> int:
    """What can still be given back to the shopper through the order's payment.

    Nothing for an order made without a payment (the demo town's orders, ``M-DEMO-…``, have no
    PaymentIntent): its cancellations and returns close without a refund and without calling Stripe.
    """
    return part.remaining_cents if part.order.payment_intent_id else 0


# -- refunds --------------------------------------------------------------------------------------


def refund(
    part: VendorOrder,
    amount_cents: int,
    reason: RefundReason,
    *,
    key: str,
    delivery: int = 0,
    note: str = "",
    items: Mapping[int, int] | None = None,
    credit: bool = True,
) -> Refund:
    """Give ``amount_cents`` of a shop's share back to the shopper, through Stripe, once per ``key``.

    Stripe refuses, and the whole change is rolled back by the caller: nothing recorded, no money moved.
    An invoiced part gets its credit note with the refund (``items``: the units given back, by line id);
    ``credit`` is False only for a failed refund offered again, whose first credit note stands.
    """
    existing = db.session.scalar(sa.select(Refund).where(Refund.key == key))
    if existing is not None:
        return existing
    if amount_cents <= 0 or amount_cents > part.remaining_cents:
        raise OrderError(
            _l(
                "Le remboursement dépasse ce qui reste à rembourser (%(left)s).",
                left=money.format_money(part.remaining_cents),
            )
        )
    order = part.order
    if order.payment_intent_id is None:
        raise OrderError(_l("Cette commande n’a pas été payée."))
    done = Refund(
        vendor_order=part,
        amount_cents=amount_cents,
        delivery_cents=min(delivery, amount_cents),
        reason=reason,
        key=key,
        note=note[:500],
    )
    db.session.add(done)
    try:
        result = gateway.refund_payment(
            order.payment_intent_id,
            amount_cents=amount_cents,
            key=key,
            metadata={"order_number": order.number, "vendor_order_id": str(part.id), "reason": reason.value},
        )
    except gateway.StripeError as error:
        log.warning("refund %s failed: %s", key, error)
        raise OrderError(
            _l("Le remboursement a été refusé par le prestataire de paiement : réessayez plus tard.")
        ) from error
    done.stripe_refund_id = result.id
    done.status = RefundStatus.SUCCEEDED if result.status == "succeeded" else RefundStatus.PENDING
    part.refunded_cents += amount_cents
    db.session.flush()
    if credit:
        credit_notes.issue_for_refund(done, items)
    payouts.record_refund(done)
    send_refunded(done)
    return done


# -- partial and goodwill refunds -----------------------------------------------------------------

REFUND_TOKEN = re.compile(r"[0-9a-f]{16,40}")


def new_refund_token() -> str:
    """The one-time token of a refund form: the same form posted twice refunds once."""
    return secrets.token_hex(16)


def _refund_key(part: VendorOrder, kind: str, token: str) -> str:
    if not REFUND_TOKEN.fullmatch(token or ""):
        raise OrderError(_l("Ce formulaire a expiré : rechargez la page."))
    return f"vendor-order-{part.id}-{kind}-{token}"


def lines_amount(part: VendorOrder, quantities: Mapping[int, Any]) -> int:
    """What the chosen units of the part's lines cost, each line never more than what was bought (less
    what came back through a withdrawal)."""
    units = chosen_units(part, quantities)
    return sum(line.unit_price_cents * units.get(line.id, 0) for line in part.lines)


def chosen_units(part: VendorOrder, quantities: Mapping[int, Any]) -> dict[int, int]:
    """The units chosen of each of the part's lines, by line id, each checked against what is left."""
    chosen: dict[int, int] = {}
    for line in part.lines:
        raw = quantities.get(line.id, 0)
        try:
            count = int(raw or 0)
        except (TypeError, ValueError):
            raise OrderError(_l("Quantité invalide pour « %(title)s ».", title=line.title)) from None
        left = line.quantity - line.returned_quantity
        if count < 0 or count > left:
            raise OrderError(_l("« %(title)s » : %(count)d au plus.", title=line.title, count=max(left, 0)))
        if count:
            chosen[line.id] = count
    return chosen


def refund_partial(
    part: VendorOrder,
    *,
    token: str,
    note: str,
    amount_cents: int | None = None,
    quantities: Mapping[int, Any] | None = None,
) -> Refund:
    """The shop gives back part of its own part: an amount, or some units of some lines, with a reason,
    never more than what is left to refund. ``token`` comes from the form: a double click refunds once."""
    return _refund_some(part, RefundReason.PARTIAL, "partial", token, note, amount_cents, quantities)


def refund_goodwill(
    manager: User, part: VendorOrder, *, token: str, note: str, amount_cents: int | None
) -> Refund:
    """The manager gives back part of any shop's part, as a gesture; the shop bears it as any refund.
    Recorded in the audit log with the manager and the reason, once per form (a double click)."""
    existing = db.session.scalar(sa.select(Refund).where(Refund.key == _refund_key(part, "goodwill", token)))
    if existing is not None:
        return existing
    log.info("goodwill refund on vendor order %d by user %d", part.id, manager.id)
    done = _refund_some(part, RefundReason.GOODWILL, "goodwill", token, note, amount_cents, None)
    audit.record(
        manager,
        PART_SUBJECT,
        part.id,
        "order.goodwill_refund",
        reason=note.strip(),
        order_id=part.order_id,
        refund_id=done.id,
        amount_cents=done.amount_cents,
    )
    return done


def _refund_some(
    part: VendorOrder,
    reason: RefundReason,
    kind: str,
    token: str,
    note: str,
    amount_cents: int | None,
    quantities: Mapping[int, Any] | None,
) -> Refund:
    key = _refund_key(part, kind, token)
    existing = db.session.scalar(sa.select(Refund).where(Refund.key == key))
    if existing is not None:
        return existing
    if not note.strip():
        raise OrderError(_l("Indiquez le motif du remboursement."))
    if part.status in (S.PENDING_PAYMENT, S.CANCELLED):
        raise OrderError(
            _l("Impossible : cette commande est « %(status)s ».", status=status_label(part.status))
        )
    units = chosen_units(part, quantities) if quantities else {}
    amount = lines_amount(part, units) if quantities else (amount_cents or 0)
    if amount <= 0:
        raise OrderError(_l("Indiquez un montant ou des articles à rembourser."))
    if amount > refundable_cents(part):
        raise OrderError(
            _l(
                "Le remboursement dépasse ce qui reste à rembourser (%(left)s).",
                left=money.format_money(refundable_cents(part)),
            )
        )
    return refund(part, amount, reason, key=key, note=note.strip(), items=units)


# -- refunds that fail ----------------------------------------------------------------------------


def refund_failed(done: Refund, error: str) -> None:
    """Stripe could not give the money back (the card was closed...): the part owes it again, the
    ledger takes it back (Stripe's balance holds it again, the shop's share and the commission are
    restored), and the refund is shown failed to the shop and the manager, to be offered again."""
    if done.status == RefundStatus.FAILED:
        return
    part = db.session.scalars(
        locked(sa.select(VendorOrder).where(VendorOrder.id == done.vendor_order_id))
    ).one()
    done.status = RefundStatus.FAILED
    done.error = (error or "failed")[:300]
    part.refunded_cents -= done.amount_cents
    db.session.flush()
    payouts.record_refund_failure(done)
    log.warning("refund %s failed: %s", done.key, error)


def failed_refunds(part: VendorOrder) -> list[Refund]:
    """The part's failed refunds not offered again yet."""
    return [
        done for done in part.refunds if done.status == RefundStatus.FAILED and done.retried_by_id is None
    ]


def retry_refund(manager: User, failed: Refund) -> Refund:
    """Offer a failed refund again, once per failure (a second failure is offered again on its own)."""
    if failed.status != RefundStatus.FAILED:
        raise OrderError(_l("Ce remboursement n’a pas échoué."))
    if failed.retried_by_id is not None:
        again = db.session.get(Refund, failed.retried_by_id)
        assert again is not None
        return again
    log.info("refund %d offered again by user %d", failed.id, manager.id)
    again = refund(
        failed.vendor_order,
        failed.amount_cents,
        failed.reason,
        key=f"refund-{failed.id}-retry",
        delivery=failed.delivery_cents,
        note=failed.note,
        credit=False,  # the failed refund's credit note stands: the money it promised goes out now
    )
    failed.retried_by_id = again.id
    audit.record(
        manager,
        PART_SUBJECT,
        failed.vendor_order_id,
        "order.refund_retried",
        order_id=failed.vendor_order.order_id,
        failed_refund_id=failed.id,
        refund_id=again.id,
        amount_cents=again.amount_cents,
    )
    return again


# -- refunds made outside the marketplace ---------------------------------------------------------


def stripe_refund_changed(found: Mapping[str, Any]) -> None:
    """A Stripe refund as it is now (read afresh by the webhook handler): the marketplace's own refund
    failing, or a refund made on Stripe's dashboard to record. Replays change nothing."""
    stripe_id = str(found["id"])
    status = str(found.get("status") or "")
    error = str(found.get("failure_reason") or status)
    own = db.session.scalar(locked(sa.select(Refund).where(Refund.stripe_refund_id == stripe_id)))
    if own is not None:
        if status in ("failed", "canceled"):
            refund_failed(own, error)
        elif status == "succeeded" and own.status == RefundStatus.PENDING:
            own.status = RefundStatus.SUCCEEDED
        return
    outside = db.session.scalar(
        locked(sa.select(ExternalRefund).where(ExternalRefund.stripe_refund_id == stripe_id))
    )
    if outside is not None:
        if status in ("failed", "canceled"):
            _external_failed(outside, error)
        return
    if (found.get("metadata") or {}).get("vendor_order_id"):
        if status in ("failed", "canceled"):
            # The marketplace's own refund, failing before the request that made it has committed: the
            # webhook answers an error and Stripe sends it again, when the refund is there to mark.
            raise RuntimeError(f"refund {stripe_id} failed before it was recorded: retry")
        return  # the marketplace's own, whose row is being written by the request that made it
    if status in ("failed", "canceled"):
        return  # no money moved
    order = order_for_payment(str(found.get("payment_intent") or ""))
    if order is None or not order.payment_intent_id:
        return  # not an order's payment
    outside = ExternalRefund(order=order, stripe_refund_id=stripe_id, amount_cents=int(found["amount"]))
    try:
        with db.session.begin_nested():
            db.session.add(outside)
    except IntegrityError:
        return  # the same refund, told twice at once: the other event records it
    # An order paid after it had expired holds its money unallocated: the manager decides.
    part = _obvious_part(order, outside.amount_cents) if order.status == OrderStatus.PAID else None
    if part is not None:
        _allocate(outside, {part.id: outside.amount_cents})
    log.info("refund %s made outside the marketplace on %s", stripe_id, order.number)


def _obvious_part(order: Order, amount: int) -> VendorOrder | None:
    """The one part an outside refund can only have come from: the order's only part that can still be
    refunded, or the only one with exactly that much left to refund."""
    open_parts = [part for part in order.vendor_orders if part.remaining_cents > 0]
    if len(open_parts) == 1 and amount <= open_parts[0].remaining_cents:
        return open_parts[0]
    exact = [part for part in open_parts if part.remaining_cents == amount]
    return exact[0] if len(exact) == 1 else None


def _allocate(outside: ExternalRefund, amounts: Mapping[int, int], manager: User | None = None) -> None:
    parts = {part.id: part for part in outside.order.vendor_orders}
    for part_id, cents in amounts.items():
        if cents <= 0:
            continue
        part = parts[part_id]
        done = Refund(
            vendor_order=part,
            amount_cents=cents,
            reason=RefundReason.EXTERNAL,
            status=RefundStatus.SUCCEEDED,
            key=f"external-{outside.id}-part-{part.id}",
            external_refund=outside,
            note=str(_l("Remboursement fait sur Stripe.")),
        )
        db.session.add(done)
        part.refunded_cents += cents
        db.session.flush()
        credit_notes.issue_for_refund(done)
        payouts.record_refund(done)
    outside.status = ExternalRefundStatus.ALLOCATED
    outside.allocated_at = utcnow()
    outside.allocated_by_id = manager.id if manager else None


def allocate_external(manager: User, outside_id: int, amounts: Mapping[int, Any]) -> ExternalRefund:
    """The manager says which shop parts an outside refund came from: the amounts add up to it, each
    within what is left to refund of its part."""
    outside = db.session.scalar(locked(sa.select(ExternalRefund).where(ExternalRefund.id == outside_id)))
    if outside is None:
        raise OrderError(_l("Ce remboursement est introuvable."))
    if outside.status != ExternalRefundStatus.TO_ALLOCATE:
        return outside  # already done (a double click): nothing twice
    parts = {
        part.id: part
        for part in db.session.scalars(
            locked(
                sa.select(VendorOrder)
                .where(VendorOrder.order_id == outside.order_id)
                .order_by(VendorOrder.id)
            )
        )
    }
    chosen: dict[int, int] = {}
    for part_id, part in parts.items():
        raw = amounts.get(part_id)
        try:
            cents = raw if isinstance(raw, int) else money.parse_amount(str(raw or "0"))
        except money.MoneyError:
            cents = -1
        if cents < 0:
            raise OrderError(_l("Montant invalide pour %(shop)s.", shop=part.shop.name))
        if cents > part.remaining_cents:
            raise OrderError(
                _l(
                    "%(shop)s : %(left)s au plus.",
                    shop=part.shop.name,
                    left=money.format_money(part.remaining_cents),
                )
            )
        chosen[part_id] = cents
    if sum(chosen.values()) != outside.amount_cents:
        raise OrderError(
            _l(
                "Les montants doivent faire %(amount)s en tout.",
                amount=money.format_money(outside.amount_cents),
            )
        )
    _allocate(outside, chosen, manager)
    audit.record(
        manager,
        ORDER_SUBJECT,
        outside.order_id,
        "order.external_refund_allocated",
        external_refund_id=outside.id,
        stripe_refund_id=outside.stripe_refund_id,
        amounts={str(part_id): cents for part_id, cents in chosen.items() if cents},
    )
    return outside


def _external_failed(outside: ExternalRefund, error: str) -> None:
    if outside.status == ExternalRefundStatus.TO_ALLOCATE:
        outside.status = ExternalRefundStatus.FAILED
        return
    for done in outside.parts:
        refund_failed(done, error)


def external_queue(limit: int = 50) -> list[ExternalRefund]:
    """Outside refunds waiting for the manager to allocate them, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ExternalRefund)
            .where(ExternalRefund.status == ExternalRefundStatus.TO_ALLOCATE)
            .options(orm.selectinload(ExternalRefund.order).selectinload(Order.vendor_orders))
            .order_by(ExternalRefund.id)
            .limit(limit)
        )
    )


def failed_refund_list(limit: int = 50) -> list[Refund]:
    """Failed refunds not offered again, for the manager."""
    return list(
        db.session.scalars(
            sa.select(Refund)
            .where(Refund.status == RefundStatus.FAILED, Refund.retried_by_id.is_(None))
            .options(orm.selectinload(Refund.vendor_order).selectinload(VendorOrder.order))
            .order_by(Refund.id)
            .limit(limit)
        )
    )


# -- the manager's orders console -----------------------------------------------------------------

ORDER_SUBJECT = "order"  # the audit log's subject types
PART_SUBJECT = "vendor_order"
EXPIRED_STATE = "expired"  # an order's own state (never paid in time); the others are its parts' states
CONSOLE_PER_PAGE = 25


def order_states() -> list[tuple[str, Any]]:
    """The states the console filters on: each shop part's, and an order left unpaid."""
    return [(status.value, label) for status, label in STATUS_LABELS.items()] + [
        (EXPIRED_STATE, _l("expirée (jamais payée)"))
    ]


@dataclass(frozen=True)
class OrderSearch:
    """The console's criteria, each already checked (the view drops what it cannot use): ``text`` is an
    order number, part of a shopper's name or e-mail; ``created_to`` is included."""

    text: str = ""
    shop_id: int | None = None
    state: str | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None


def _town_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TOWN_TZ).astimezone(dt.UTC)


def find_orders(search: OrderSearch, page: int) -> Any:
    """Orders matching every criterion given, newest first, a page at a time, with their shop parts and
    shops loaded (the list shows them); no criterion lists the latest orders."""
    query = sa.select(Order)
    text = search.text.strip()
    if text:
        lowered = text.lower()
        query = query.where(
            sa.or_(
                Order.number == text.upper(),
                sa.func.lower(Order.number).contains(lowered, autoescape=True),
                sa.func.lower(Order.email).contains(lowered, autoescape=True),
                sa.func.lower(Order.full_name).contains(lowered, autoescape=True),
            )
        )
    if search.state == EXPIRED_STATE:
        query = query.where(Order.status == OrderStatus.EXPIRED)
    part_matches = []
    if search.shop_id is not None:
        part_matches.append(VendorOrder.shop_id == search.shop_id)
    if search.state is not None and search.state != EXPIRED_STATE:
        part_matches.append(VendorOrder.status == VendorOrderStatus(search.state))
    if part_matches:  # the same part is of that shop and in that state
        query = query.where(Order.vendor_orders.any(sa.and_(*part_matches)))
    if search.created_from is not None:
        query = query.where(Order.created_at >= _town_midnight(search.created_from))
    if search.created_to is not None:
        query = query.where(Order.created_at < _town_midnight(search.created_to + dt.timedelta(days=1)))
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).options(
        orm.selectinload(Order.vendor_orders).selectinload(VendorOrder.shop)
    )
    return db.paginate(query, page=page, per_page=CONSOLE_PER_PAGE, error_out=False)


def console_shops() -> list[Shop]:
    """Every shop, by name, for the console's shop filter."""
    return list(db.session.scalars(sa.select(Shop).order_by(Shop.name, Shop.id)))


def console_order(number: str) -> Order | None:
    """An order with all the console shows of it loaded at once."""
    parts = orm.selectinload(Order.vendor_orders)
    return db.session.scalar(
        sa.select(Order)
        .where(Order.number == number)
        .options(
            parts.selectinload(VendorOrder.shop),
            parts.selectinload(VendorOrder.relay_point),
            parts.selectinload(VendorOrder.lines),
            parts.selectinload(VendorOrder.refunds).selectinload(Refund.external_refund),
            parts.selectinload(VendorOrder.returns).selectinload(ReturnRequest.lines),
        )
    )


@dataclass(frozen=True)
class OrderFile:
    """What the console shows around an order: its parts' transfers (by part id) and their reversals (by
    refund id), the refunds made on Stripe's dashboard, the e-mails sent, the audit trail (oldest first)."""

    transfers: dict[int, ShopTransfer]
    reversals: dict[int, TransferReversal]
    outside: list[ExternalRefund]
    emails: list[SentEmail]
    trail: list[Any]


def order_file(order: Order) -> OrderFile:
    part_ids = [part.id for part in order.vendor_orders]
    refund_ids = [done.id for part in order.vendor_orders for done in part.refunds]
    transfers = db.session.scalars(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id.in_(part_ids)))
    reversals = db.session.scalars(
        sa.select(TransferReversal).where(TransferReversal.refund_id.in_(refund_ids))
    )
    return OrderFile(
        transfers={transfer.vendor_order_id: transfer for transfer in transfers},
        reversals={reversal.refund_id: reversal for reversal in reversals},
        outside=list(
            db.session.scalars(
                sa.select(ExternalRefund)
                .where(ExternalRefund.order_id == order.id)
                .order_by(ExternalRefund.id)
            )
        ),
        emails=audit.emails_about(order.id),
        trail=audit.trail([(ORDER_SUBJECT, order.id), *((PART_SUBJECT, part_id) for part_id in part_ids)]),
    )


# The shopper's e-mails the console sends again, each through the function that sent it first.
RESENDABLE = {
    "orders/confirmation": _l("Confirmation de commande"),
    "orders/shipped": _l("Commande expédiée"),
    "orders/ready": _l("Commande prête à retirer"),
    "orders/received": _l("Commande reçue, droit de rétractation"),
    "orders/refunded": _l("Remboursement"),
}


def _send_again(order: Order, sent: SentEmail) -> SentEmail:
    parts = {part.id: part for part in order.vendor_orders}
    part = parts.get(sent.vendor_order_id or 0)
    if sent.template == "orders/confirmation":
        return send_confirmation(order)
    if sent.template == "orders/shipped" and part is not None:
        return send_shipped(part)
    if sent.template == "orders/ready" and part is not None:
        return send_ready(part)
    if sent.template == "orders/received" and part is not None:
        return send_received(part)
    done = db.session.get(Refund, sent.refund_id) if sent.refund_id else None
    if sent.template == "orders/refunded" and done is not None and done.vendor_order_id in parts:
        return send_refunded(done)
    raise OrderError(_l("Cet e-mail ne peut pas être renvoyé."))


def resend_email(manager: User, order: Order, sent_id: int, token: str) -> SentEmail:
    """Send one of the shopper's e-mails about ``order`` again, to the order's address, rendered from the
    order as it is now (nothing of the first message is kept but what it was about). ``token`` comes from
    the form: the same form posted twice sends once. Recorded in the audit log."""
    if not REFUND_TOKEN.fullmatch(token or ""):
        raise OrderError(_l("Ce formulaire a expiré : rechargez la page."))
    # Locked: a second click waits for the first to commit, then finds its message by the key.
    sent = db.session.scalar(
        locked(sa.select(SentEmail).where(SentEmail.id == sent_id, SentEmail.order_id == order.id))
    )
    if sent is None:
        raise OrderError(_l("Cet e-mail est introuvable."))
    key = f"resend-{sent.id}-{token}"
    again = db.session.scalar(sa.select(SentEmail).where(SentEmail.key == key))
    if again is not None:
        return again
    if sent.template not in RESENDABLE:
        raise OrderError(_l("Cet e-mail ne peut pas être renvoyé."))
    again = _send_again(order, sent)
    again.key = key
    db.session.flush()
    audit.record(
        manager,
        ORDER_SUBJECT,
        order.id,
        "order.email_resent",
        template=sent.template,
        first_email_id=sent.id,
        email_id=again.id,
        recipient=again.recipient,
    )
    return again


def cancellable_for_shop(part: VendorOrder) -> bool:
    """Whether the shop itself could refuse or cancel its part now (so the manager may, for it)."""
    return part.status in STEPS["refuse"][0] or part.status in STEPS["shop_cancel"][0]


def cancel_for_shop(manager: User, vendor_order_id: int, reason: str) -> VendorOrder:
    """The manager cancels a shop's part on the shop's behalf (the shop cannot, and the shopper is on the
    phone), in the states where the shop could: as the shop would, through ``refuse`` before acceptance
    and ``cancel_by_shop`` after, so the stock goes back and the shopper is refunded and told ``reason``.
    The shop is told too; the audit log records the manager and the reason. A part already cancelled (a
    second click) is left as it is."""
    part = db.session.scalar(locked(sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id)))
    if part is None:
        raise OrderError(_l("Cette commande est introuvable."))
    if part.status == S.CANCELLED:
        return part
    reason = reason.strip()
    if not reason:
        raise OrderError(_l("Dites au client pourquoi la commande est annulée."), field="reason")
    previous = part.status
    if part.status in STEPS["refuse"][0]:
        refuse(part, reason)
    else:
        cancel_by_shop(part, reason)  # refused with a message in any other state
    audit.record(
        manager,
        PART_SUBJECT,
        part.id,
        "order.cancelled_for_shop",
        reason=part.cancel_reason,
        order_id=part.order_id,
        shop_id=part.shop_id,
        from_status=previous.value,
    )
    _send_to_shop(
        part,
        "orders/cancelled_for_shop",
        _l("Commande %(number)s annulée par la gestion du marché", number=part.order.number),
        reason=part.cancel_reason,
    )
    return part


# -- reorder --------------------------------------------------------------------------------------


def reorder(order: Order, cart: Cart) -> list[Any]:
    """Put the order's lines back in the cart, those still sold; say what could not be added."""
    skipped: list[Any] = []
    for part in order.vendor_orders:
        for line in part.lines:
            if line.variant_id is None:
                skipped.append(_l("« %(title)s » n’est plus en vente.", title=line.title))
                continue
            try:
                with db.session.begin_nested():
                    cart_services.add(cart, line.variant_id, line.quantity)
            except cart_services.CartError as error:
                skipped.append(error.message)
    return skipped


# -- words and messages ---------------------------------------------------------------------------

STATUS_LABELS = {
    S.PENDING_PAYMENT: _l("en attente de paiement"),
    S.PAID: _l("payée, à accepter"),
    S.ACCEPTED: _l("acceptée, en préparation"),
    S.SHIPPED: _l("expédiée"),
    S.DELIVERED: _l("livrée"),
    S.READY_FOR_PICKUP: _l("prête à retirer"),
    S.COLLECTED: _l("retirée"),
    S.COMPLETED: _l("terminée"),
    S.CANCELLED: _l("annulée"),
    S.RETURN_REQUESTED: _l("retour demandé"),
    S.RETURNED: _l("retour reçu"),
    S.REFUNDED: _l("remboursée"),
}


# Stripe's decline and error codes, said to the shopper (the others are "refused by the bank").
PAYMENT_ERRORS = {
    "insufficient_funds": _l("Paiement refusé : provision insuffisante."),
    "expired_card": _l("Paiement refusé : la carte a expiré."),
    "incorrect_cvc": _l("Paiement refusé : le cryptogramme est incorrect."),
    "incorrect_number": _l("Paiement refusé : le numéro de carte est incorrect."),
    "lost_card": _l("Paiement refusé par la banque."),
    "stolen_card": _l("Paiement refusé par la banque."),
    "processing_error": _l("La banque n’a pas pu traiter le paiement : réessayez."),
    "payment_intent_authentication_failure": _l(
        "L’authentification a échoué : le paiement n’a pas été fait. Réessayez."
    ),
}


def payment_error_message(code: str) -> Any:
    return PAYMENT_ERRORS.get(code, _l("Paiement refusé par la banque : essayez une autre carte."))


def status_label(status: VendorOrderStatus) -> Any:
    return STATUS_LABELS[status]


def _send_to_shopper(order: Order, template: str, subject: Any, **context: Any) -> SentEmail:
    part, done = context.get("part"), context.get("refund")
    return mail.send(
        order.email,
        subject,
        template,
        locale=order.locale,
        about=mail.About(
            order_id=order.id,
            vendor_order_id=part.id if isinstance(part, VendorOrder) else None,
            refund_id=done.id if isinstance(done, Refund) else None,
        ),
        order=order,
        order_url=external_url("orders.detail", number=order.number),
        **context,
    )


# -- the shopper's e-mails about an order, each rendered from the order as it is now --------------
# (the manager's console sends them again through the same functions)


def send_confirmation(order: Order) -> SentEmail:
    return _send_to_shopper(
        order, "orders/confirmation", _l("Commande %(number)s confirmée", number=order.number)
    )


def send_shipped(part: VendorOrder) -> SentEmail:
    return _send_to_shopper(part.order, "orders/shipped", _l("Votre commande est en route"), part=part)


def send_ready(part: VendorOrder) -> SentEmail:
    return _send_to_shopper(part.order, "orders/ready", _l("Votre commande vous attend"), part=part)


def send_received(part: VendorOrder) -> SentEmail:
    return _send_to_shopper(
        part.order, "orders/received", _l("Commande reçue : votre droit de rétractation"), part=part
    )


def send_refunded(done: Refund) -> SentEmail:
    return _send_to_shopper(
        done.vendor_order.order,
        "orders/refunded",
        _l("Remboursement de %(amount)s", amount=money.format_money(done.amount_cents)),
        part=done.vendor_order,
        refund=done,
    )


def _send_to_shop(part: VendorOrder, template: str, subject: Any, **context: Any) -> None:
    """To the shop's address, and to each owner in their language."""
    shop = part.shop
    people = [(shop.email, "fr")] if shop.email else []
    people += [
        (owner.email, owner.locale) for owner in vendor_services.owners(shop) if owner.email != shop.email
    ]
    url = external_url("orders_backoffice.detail", slug=shop.slug, vendor_order_id=part.id)
    for address, locale in people:
        mail.send(
            address,
            subject,
            template,
            locale=locale,
            about=mail.About(order_id=part.order_id, vendor_order_id=part.id),
            part=part,
            order=part.order,
            shop=shop,
            part_url=url,
            **context,
        )
