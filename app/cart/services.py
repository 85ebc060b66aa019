"""Cart use cases: add, change, remove, choose each shop's delivery, merge a guest's cart at log-in,
and the summary the cart page and the checkout show (lines by shop, delivery fees, VAT by rate).

Prices are read afresh at every summary: the cart keeps the price seen when adding only to say that
it changed. Nothing here reserves stock; the checkout does, atomically.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import money
from app.accounts.models import User
from app.cart.models import MAX_QUANTITY, Cart, CartDelivery, CartItem, DeliveryMethod
from app.cart.slots import DAYS_AHEAD, Slot, parse_start, pickup_slots
from app.catalog.models import Category, Product, ProductStatus, Variant
from app.database import locked, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.routing import parse_id
from app.templating import de_shop
from vendors import services as shop_services
from vendors.models import RelayPoint, Shop, VatRegime

POSTCODE = {"FR": re.compile(r"^\d{5}$"), "BE": re.compile(r"^\d{4}$")}
# VAT on a delivery fee: the standard rate of the shop's country (none under the franchise).
STANDARD_VAT_BPS = {"FR": 2000, "BE": 2100}


class CartError(ServiceError):
    """A refused cart change."""


# -- finding the cart -----------------------------------------------------------------------------


def _line_loading(loading: Callable[..., Any]) -> Any:
    """What the cart page and the checkout read of each line: its variant, product, shop (with its
    relay points, an option; its hours and closures, which make its pickup slots, are read by
    ``summary``) and category (with its parent: whether the goods can be withdrawn, L221-28). The
    lines and the relay points read by ``loading`` (``selectinload`` or ``joinedload``)."""
    return (
        loading(Cart.items)
        .joinedload(CartItem.variant)
        .joinedload(Variant.product)
        .options(
            joinedload(Product.shop).options(loading(Shop.relay_points)),
            joinedload(Product.category).joinedload(Category.parent),
        )
    )


# Built once: loader options cost to build. For the checkout, which locks the cart's row: the lines
# apart, as FOR UPDATE may not reach the nullable side of an outer join.
LINE_LOADING = _line_loading(selectinload)
# For a page, which locks nothing: the cart's row and its lines in one statement, each line's shop with
# its relay points (a line is then at most a few rows), and the deliveries apart (joined beside the
# lines, they would multiply the rows by the number of shops). Two statements where LINE_LOADING takes
# three.
PAGE_LOADING = _line_loading(joinedload)


# The cart of the account or of the guest's token bound, with its lines, and its deliveries, for a
# page: built once, as loader options cost to build. The deliveries by a plain statement rather than
# ``selectinload``, which builds its statement at every load and cost more than twice as much
# (0.5 ms of a 2 ms read of a three-shop cart).
ACCOUNT_CART = sa.select(Cart).where(Cart.user_id == sa.bindparam("user_id")).options(PAGE_LOADING)
GUEST_CART = (
    sa.select(Cart).where(Cart.token == sa.bindparam("token"), Cart.user_id.is_(None)).options(PAGE_LOADING)
)
CART_DELIVERIES = (
    sa.select(CartDelivery)
    .where(CartDelivery.cart_id == sa.bindparam("cart_id"))
    .order_by(CartDelivery.shop_id)
)


def find_cart(user: User | None, token: str | None) -> Cart | None:
    """The account's cart, or the guest's by the token kept in their session."""
    if user is not None:
        cart = db.session.scalars(ACCOUNT_CART, {"user_id": user.id}).unique().first()
    elif token:
        cart = db.session.scalars(GUEST_CART, {"token": token}).unique().first()
    else:
        return None
    # As a loader does: a collection this session has loaded already (perhaps changed) is kept.
    if cart is not None and "deliveries" not in sa.inspect(cart).dict:
        deliveries = db.session.scalars(CART_DELIVERIES, {"cart_id": cart.id}).all()
        set_committed_value(cart, "deliveries", deliveries)
    return cart


def lock_cart(cart: Cart) -> Cart:
    """The cart locked until the transaction ends, read afresh with its lines and deliveries: a checkout
    of the same cart that committed while this one waited has emptied it, and this one must see that."""
    # The deliveries apart: FOR UPDATE may not reach the nullable side of an outer join.
    query = locked(sa.select(Cart).where(Cart.id == cart.id)).options(
        LINE_LOADING, selectinload(Cart.deliveries)
    )
    fresh = db.session.scalars(query).unique().first()
    assert fresh is not None  # a cart is never deleted, only emptied
    return fresh


def open_cart(user: User | None, token: str | None) -> Cart:
    """The cart to add to, created when there is none (a guest's gets a new random token)."""
    cart = find_cart(user, token)
    if cart is None:
        cart = Cart(user_id=user.id if user else None, token=None if user else secrets.token_urlsafe(32))
        db.session.add(cart)
        db.session.flush()
    return cart


def item_count(user: User | None, token: str | None) -> int:
    """How many articles the cart holds (the header's badge); nothing to read for a visitor with none."""
    if user is None and not token:
        return 0
    query = sa.select(sa.func.coalesce(sa.func.sum(CartItem.quantity), 0)).join(
        Cart, Cart.id == CartItem.cart_id
    )
    if user is not None:
        query = query.where(Cart.user_id == user.id)
    else:
        query = query.where(Cart.token == token, Cart.user_id.is_(None))
    return int(db.session.scalar(query) or 0)


# -- changing it ----------------------------------------------------------------------------------


def _quantity(raw: Any, allow_zero: bool = False) -> int:
    try:
        quantity = int(str(raw).strip())
    except (TypeError, ValueError):
        raise CartError(_l("Indiquez une quantité en chiffres."), "quantity") from None
    if quantity < (0 if allow_zero else 1):
        raise CartError(_l("La quantité doit être d’au moins 1."), "quantity")
    if quantity > MAX_QUANTITY:
        raise CartError(_l("Au plus %(max)d par article.", max=MAX_QUANTITY), "quantity")
    return quantity


def _buyable(variant_id: Any) -> Variant:
    try:
        wanted = parse_id(str(variant_id))
    except ValueError:
        raise CartError(_l("Choisissez un article.")) from None
    variant = db.session.scalar(
        sa.select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Variant.id == wanted, Product.status == ProductStatus.ACTIVE, Shop.is_public)
    )
    if variant is None:
        raise CartError(_l("Cet article n’est plus en vente."))
    return variant


def _check_stock(variant: Variant, quantity: int) -> None:
    if variant.stock <= 0:
        raise CartError(_l("Cet article est épuisé."), "quantity")
    if quantity > variant.stock:
        left = variant.stock
        raise CartError(
            _l("Il n’en reste que %(stock)d : choisissez une quantité plus petite.", stock=left), "quantity"
        )


def add(cart: Cart, variant_id: Any, quantity: Any = 1) -> CartItem:
    """Put an article in the cart, or more of it; never more than the shop has."""
    variant = _buyable(variant_id)
    wanted = _quantity(quantity)
    item = next((line for line in cart.items if line.variant_id == variant.id), None)
    total = wanted + (item.quantity if item else 0)
    if total > MAX_QUANTITY:
        raise CartError(_l("Au plus %(max)d par article.", max=MAX_QUANTITY), "quantity")
    _check_stock(variant, total)
    if item is None:
        item = CartItem(variant=variant, quantity=total, price_seen_cents=variant.price_cents)
        cart.items.append(item)
    else:
        item.quantity = total
        item.price_seen_cents = variant.price_cents
    cart.updated_at = utcnow()
    return item


def _item(cart: Cart, item_id: Any) -> CartItem:
    item = next((line for line in cart.items if str(line.id) == str(item_id)), None)
    if item is None:
        raise CartError(_l("Cet article n’est plus dans votre panier."))
    return item


def set_quantity(cart: Cart, item_id: Any, quantity: Any) -> CartItem | None:
    """A new quantity for a line; 0 removes it. Returns the line, or None once removed."""
    item = _item(cart, item_id)
    wanted = _quantity(quantity, allow_zero=True)
    if wanted == 0:
        cart.items.remove(item)
        return None
    _check_stock(item.variant, wanted)
    item.quantity = wanted
    item.price_seen_cents = item.variant.price_cents  # the shopper sees the price as it is now
    return item


def remove(cart: Cart, item_id: Any) -> None:
    cart.items.remove(_item(cart, item_id))


def set_postcode(cart: Cart, postcode: str, country: str = "FR") -> None:
    """Where to deliver, for the shops' local delivery zones."""
    postcode = postcode.strip().replace(" ", "")
    if postcode and not any(pattern.match(postcode) for pattern in POSTCODE.values()):
        raise CartError(_l("Un code postal a 5 chiffres en France, 4 en Belgique."), "postcode")
    cart.postcode = postcode


def _pickup_slot(raw: Any) -> dt.datetime | None:
    """The slot start a form posted (ISO 8601) or a caller passed, in UTC; None when not given."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        start = raw.astimezone(dt.UTC) if raw.tzinfo is not None else None
    else:
        start = parse_start(str(raw))
    if start is None:
        raise CartError(_l("Choisissez un des créneaux de retrait proposés."), "pickup_slot")
    return start


def choose_delivery(
    cart: Cart, shop_id: Any, method: str, relay_point_id: Any = None, pickup_slot: Any = None
) -> CartDelivery:
    """How one shop's part reaches the shopper: one of the options that shop offers.

    Click & collect takes the pickup slot (its start, a datetime or the form's ISO string), which
    must be one of the shop's slots now; without one the method is kept and the cart asks for a slot.
    Other methods clear any slot chosen before.
    """
    part = next((part for part in summary(cart).parts if str(part.shop.id) == str(shop_id)), None)
    if part is None:
        raise CartError(_l("Cette boutique n’est pas dans votre panier."))
    option = next((option for option in part.options if option.method == method), None)
    if option is None:
        raise CartError(_l("Cette boutique ne propose pas ce mode de livraison."), "method")
    if not option.available:
        raise CartError(option.reason or _l("Ce mode de livraison n’est pas possible."), "method")
    relay: RelayPoint | None = None
    if method == DeliveryMethod.RELAY:
        relay = next(
            (point for point in part.shop.relay_points if str(point.id) == str(relay_point_id)), None
        )
        if relay is None:
            raise CartError(_l("Choisissez un des points relais de la boutique."), "relay_point")
    slot: dt.datetime | None = None
    if method == DeliveryMethod.CLICK_COLLECT:
        slot = _pickup_slot(pickup_slot)
        if slot is not None and all(offered.start != slot for offered in part.slots):
            raise CartError(
                _l("Ce créneau de retrait n’est plus disponible : choisissez-en un autre."), "pickup_slot"
            )
    delivery = next((d for d in cart.deliveries if d.shop_id == part.shop.id), None)
    if delivery is None:
        delivery = CartDelivery(shop_id=part.shop.id, method=DeliveryMethod(method))
        cart.deliveries.append(delivery)
    delivery.method = DeliveryMethod(method)
    delivery.relay_point_id = relay.id if relay else None
    delivery.pickup_slot = slot
    return delivery


def merge(guest: Cart, into: Cart) -> list[str]:
    """A guest's cart joins the account's at log-in; quantities add up to what the shop has.
    Returns the titles whose quantity had to be lowered."""
    lowered: list[str] = []
    for line in list(guest.items):
        existing = next((item for item in into.items if item.variant_id == line.variant_id), None)
        wanted = line.quantity + (existing.quantity if existing else 0)
        allowed = min(wanted, MAX_QUANTITY, max(line.variant.stock, 0))
        if allowed < wanted:
            lowered.append(line.variant.product.title)
        if allowed <= 0:
            if existing is not None:
                into.items.remove(existing)
            continue
        if existing is None:
            into.items.append(
                CartItem(variant_id=line.variant_id, quantity=allowed, price_seen_cents=line.price_seen_cents)
            )
        else:
            existing.quantity = allowed
    chosen = {delivery.shop_id for delivery in into.deliveries}
    for delivery in guest.deliveries:
        if delivery.shop_id not in chosen:
            into.deliveries.append(
                CartDelivery(
                    shop_id=delivery.shop_id,
                    method=delivery.method,
                    relay_point_id=delivery.relay_point_id,
                    pickup_slot=delivery.pickup_slot,  # still checked against the slots at every summary
                )
            )
    into.postcode = into.postcode or guest.postcode
    db.session.delete(guest)
    return lowered


# -- the summary ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    item: CartItem
    product: Product
    variant: Variant
    unit_cents: int
    total_cents: int
    price_was_cents: int | None  # the price seen when adding, when it changed since
    problem: Any = None  # why it cannot be bought as it is (sold out, fewer left, no longer sold)


@dataclass(frozen=True)
class DeliveryOption:
    method: str
    fee_cents: int
    available: bool = True
    reason: Any = None
    free_over_cents: int | None = None  # local delivery: free from this amount of the shop's items
    missing_for_free_cents: int = 0  # "add 7,50 € more from this shop for free delivery"


@dataclass
class ShopPart:
    shop: Shop
    lines: list[Line]
    options: list[DeliveryOption]
    chosen: DeliveryOption | None
    relay_point_id: int | None
    items_cents: int
    delivery_vat_bps: int
    # Click & collect: the chosen slot's start while it is still one of ``slots``, else None.
    pickup_slot: dt.datetime | None = None
    # The shop's pickup slots as of now (when it offers click & collect; empty otherwise).
    slots: list[Slot] = field(default_factory=list)

    @property
    def chosen_slot(self) -> Slot | None:
        return next((slot for slot in self.slots if slot.start == self.pickup_slot), None)

    @property
    def needs_pickup_slot(self) -> bool:
        return (
            self.chosen is not None
            and self.chosen.method == DeliveryMethod.CLICK_COLLECT
            and self.pickup_slot is None
        )

    @property
    def delivery_cents(self) -> int:
        return self.chosen.fee_cents if self.chosen else 0

    @property
    def total_cents(self) -> int:
        return self.items_cents + self.delivery_cents


@dataclass
class CartSummary:
    cart: Cart | None
    parts: list[ShopPart] = field(default_factory=list)

    @property
    def items_cents(self) -> int:
        return sum(part.items_cents for part in self.parts)

    @property
    def delivery_cents(self) -> int:
        return sum(part.delivery_cents for part in self.parts)

    @property
    def total_cents(self) -> int:
        return self.items_cents + self.delivery_cents

    @property
    def article_count(self) -> int:
        return sum(line.item.quantity for part in self.parts for line in part.lines)

    @property
    def vat(self) -> dict[int, tuple[int, int]]:
        """Per rate, (amount tax included, VAT in it), items and delivery fees alike."""
        lines = [(line.total_cents, line.product.vat_bps) for part in self.parts for line in part.lines]
        lines += [(part.delivery_cents, part.delivery_vat_bps) for part in self.parts if part.delivery_cents]
        return money.vat_breakdown(lines)

    @property
    def problems(self) -> list[Any]:
        found: list[Any] = [line.problem for part in self.parts for line in part.lines if line.problem]
        found += [
            _l("Choisissez comment recevoir la commande %(de_shop)s.", de_shop=de_shop(part.shop.name))
            for part in self.parts
            if part.chosen is None
        ]
        found += [
            _l("Choisissez le point relais %(de_shop)s.", de_shop=de_shop(part.shop.name))
            for part in self.parts
            if part.chosen is not None
            and part.chosen.method == DeliveryMethod.RELAY
            and not part.relay_point_id
        ]
        found += [
            _l("Choisissez un créneau de retrait chez %(shop)s.", shop=part.shop.name)
            for part in self.parts
            if part.needs_pickup_slot
        ]
        return found

    @property
    def ready(self) -> bool:
        """Everything can be bought as it stands and every shop has a delivery choice (with a pickup
        slot still open for click & collect)."""
        return bool(self.parts) and not self.problems


def _line(item: CartItem) -> Line:
    variant, product = item.variant, item.variant.product
    problem = None
    if product.status != ProductStatus.ACTIVE or not product.shop.is_public:
        problem = _l("« %(title)s » n’est plus en vente : retirez-le du panier.", title=product.title)
    elif variant.stock <= 0:
        problem = _l("« %(title)s » est épuisé : retirez-le du panier.", title=product.title)
    elif item.quantity > variant.stock:
        problem = _l(
            "« %(title)s » : il n’en reste que %(stock)d, baissez la quantité.",
            title=product.title,
            stock=variant.stock,
        )
    return Line(
        item=item,
        product=product,
        variant=variant,
        unit_cents=variant.price_cents,
        total_cents=variant.price_cents * item.quantity,
        price_was_cents=item.price_seen_cents if item.price_seen_cents != variant.price_cents else None,
        problem=problem,
    )


def delivery_options(
    shop: Shop, items_cents: int, postcode: str, slots: list[Slot] | None = None
) -> list[DeliveryOption]:
    """What the shop offers for this much of its items, to this postcode (when known).
    Click & collect needs a pickup slot: without any in ``slots`` (when given) it is not possible."""
    options = []
    if shop.click_collect:
        no_slot = slots is not None and not slots
        options.append(
            DeliveryOption(
                DeliveryMethod.CLICK_COLLECT,
                0,
                available=not no_slot,
                reason=_l("Aucun créneau de retrait dans les %(days)d prochains jours.", days=DAYS_AHEAD)
                if no_slot
                else None,
            )
        )
    if shop.local_delivery:
        free_over = shop.local_delivery_free_over_cents
        free = free_over is not None and items_cents >= free_over
        outside = bool(postcode) and postcode not in shop.postcode_zone
        options.append(
            DeliveryOption(
                DeliveryMethod.LOCAL_DELIVERY,
                0 if free else shop.local_delivery_fee_cents,
                available=not outside,
                reason=_l("%(postcode)s est hors de la zone de livraison de la boutique.", postcode=postcode)
                if outside
                else None,
                free_over_cents=free_over,
                missing_for_free_cents=0 if free or free_over is None else free_over - items_cents,
            )
        )
    if shop.home_delivery:
        options.append(DeliveryOption(DeliveryMethod.HOME_DELIVERY, shop.home_delivery_fee_cents))
    if shop.relay and shop.relay_points:
        # The shop drops its parcels at the town's relay points itself: no carrier fee.
        options.append(DeliveryOption(DeliveryMethod.RELAY, 0))
    return options


def summary(cart: Cart | None, fresh: bool = True) -> CartSummary:
    """The cart by shop, with fees, totals and pickup slots as they are now. ``fresh=False`` (a page
    that only shows the cart) lets the pickup slots come from the shops' hours and closures as this
    process keeps them (``vendors.services.shop_schedules``); a change of the cart or an order reads
    them afresh."""
    if cart is None:
        return CartSummary(None)
    now = utcnow()
    by_shop: dict[int, list[Line]] = {}
    shops: dict[int, Shop] = {}
    for item in cart.items:
        line = _line(item)
        shops[line.product.shop_id] = line.product.shop
        by_shop.setdefault(line.product.shop_id, []).append(line)
    chosen = {delivery.shop_id: delivery for delivery in cart.deliveries}
    collecting = [shop_id for shop_id, shop in shops.items() if shop.click_collect]
    schedules = shop_services.shop_schedules(collecting, now, fresh=fresh)
    parts = []
    for shop_id, lines in sorted(by_shop.items(), key=lambda entry: shops[entry[0]].name):
        shop = shops[shop_id]
        items_cents = sum(line.total_cents for line in lines if not line.problem)
        slots = pickup_slots(shop, now, schedule=schedules[shop_id]) if shop.click_collect else []
        options = delivery_options(shop, items_cents, cart.postcode, slots)
        available = [option for option in options if option.available]
        delivery = chosen.get(shop_id)
        pick = next((option for option in available if delivery and option.method == delivery.method), None)
        if pick is None and len(available) == 1:
            pick = available[0]  # the only way: nothing to choose
        wanted = (
            delivery.pickup_slot
            if delivery and pick and pick.method == DeliveryMethod.CLICK_COLLECT
            else None
        )
        # A slot that has passed, or is now too soon to prepare for, must be chosen again.
        pickup_slot = next((slot.start for slot in slots if slot.start == wanted), None)
        parts.append(
            ShopPart(
                shop=shop,
                lines=lines,
                options=options,
                chosen=pick,
                relay_point_id=delivery.relay_point_id if delivery and pick else None,
                items_cents=items_cents,
                delivery_vat_bps=0
                if shop.vat_regime == VatRegime.FRANCHISE
                else STANDARD_VAT_BPS.get(shop.country, 2000),
                pickup_slot=pickup_slot,
                slots=slots,
            )
        )
    return CartSummary(cart, parts)
