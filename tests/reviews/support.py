"""Orders as they are once the goods reached the buyer, written directly (no payment), and the steps
of reviewing them through HTTP."""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image

from app.accounts.models import User
from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.orders.models import Order, OrderLine, OrderStatus, VendorOrder, VendorOrderStatus
from app.reviews import services
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client

DAY = dt.timedelta(days=1)


@dataclass
class Bought:
    """One shop's part of one order, with the ids a test needs (objects expire after requests)."""

    buyer_id: int
    buyer_email: str
    shop_id: int
    shop_slug: str
    owner_email: str
    vendor_order_id: int
    line_ids: list[int]
    product_ids: list[int]
    token: str  # the e-mail link's

    def part(self) -> VendorOrder:
        found = db.session.get(VendorOrder, self.vendor_order_id)
        assert found is not None
        return found

    def buyer(self) -> User:
        found = db.session.get(User, self.buyer_id)
        assert found is not None
        return found

    def url(self, line: int | None = 0) -> str:
        """The buyer's review page of the part, of its ``line``-th line, or of the shop (None)."""
        base = f"/avis/commande/{self.token}"
        return f"{base}/boutique" if line is None else f"{base}/article/{self.line_ids[line]}"


_numbers = iter(range(1, 10**6))


def place(
    buyer: User,
    products: list[Any],
    status: VendorOrderStatus = VendorOrderStatus.DELIVERED,
    received: dt.datetime | bool | None = True,
) -> VendorOrder:
    """A paid order of one shop's ``products`` (one unit each), in ``status``, received at ``received``."""
    shop = products[0].shop
    now = utcnow()
    received_at = (now - 4 * DAY) if received is True else (None if received is False else received)
    placed_at = (received_at or now) - 2 * DAY
    lines = [
        OrderLine(
            variant_id=product.variants[0].id,
            product_id=product.id,
            title=product.title,
            sku=product.variants[0].sku,
            unit_price_cents=product.variants[0].price_cents,
            quantity=1,
            vat_bps=product.vat_bps,
            total_cents=product.variants[0].price_cents,
        )
        for product in products
    ]
    items = sum(line.total_cents for line in lines)
    part = VendorOrder(
        shop_id=shop.id,
        status=status,
        delivery_method=DeliveryMethod.CLICK_COLLECT,
        delivery_fee_cents=0,
        delivery_vat_bps=2000,
        items_cents=items,
        total_cents=items,
        received_at=received_at,
        lines=lines,
        created_at=placed_at,
    )
    order = Order(
        number=f"M-TEST-{next(_numbers):06d}",
        checkout_token=secrets.token_hex(16),
        user_id=buyer.id,
        status=OrderStatus.PAID,
        items_cents=items,
        delivery_cents=0,
        total_cents=items,
        email=buyer.email,
        full_name=f"{buyer.first_name} {buyer.last_name}",
        reserved_until=placed_at,
        paid_at=placed_at,
        locale=buyer.locale,
        vendor_orders=[part],
        created_at=placed_at,
    )
    db.session.add(order)
    db.session.commit()
    return part


def bought(
    status: VendorOrderStatus = VendorOrderStatus.DELIVERED,
    received: dt.datetime | bool | None = True,
    products: int = 2,
    buyer: User | None = None,
    shop_name: str = "Le Fournil",
    **buyer_fields: Any,
) -> Bought:
    """A shop with its owner, ``products`` products, and a buyer who received (or not) one of each."""
    member = owner_of(ShopFactory(name=shop_name), email=f"owner-{secrets.token_hex(3)}@example.com")
    made = [
        ProductFactory(shop=member.shop, title=title)
        for title in ["Pain au levain", "Tarte aux pommes", "Brioche", "Fougasse"][:products]
    ]
    buyer = buyer or UserFactory(
        **{"first_name": "Camille", "last_name": "Martin", **buyer_fields}  # type: ignore[arg-type]
    )
    part = place(buyer, made, status, received)
    return Bought(
        buyer_id=buyer.id,
        buyer_email=buyer.email,
        shop_id=member.shop.id,
        shop_slug=member.shop.slug,
        owner_email=member.user.email,
        vendor_order_id=part.id,
        line_ids=[line.id for line in part.lines],
        product_ids=[product.id for product in made],
        token=services.review_token(part),
    )


def another_purchase(of: Bought, buyer: User | None = None) -> Bought:
    """Another buyer (or ``buyer``) who received the same products from the same shop."""
    from app.catalog.models import Product

    products = [db.session.get(Product, product_id) for product_id in of.product_ids]
    buyer = buyer or UserFactory()
    part = place(buyer, products)
    return Bought(
        buyer_id=buyer.id,
        buyer_email=buyer.email,
        shop_id=of.shop_id,
        shop_slug=of.shop_slug,
        owner_email=of.owner_email,
        vendor_order_id=part.id,
        line_ids=[line.id for line in part.lines],
        product_ids=of.product_ids,
        token=services.review_token(part),
    )


GOOD = {
    "rating": "5",
    "title": "Un pain comme autrefois",
    "body": "Croûte épaisse, mie alvéolée, il se garde trois jours sans problème. Je reviendrai.",
}


def post_review(client: Client, url: str, form_url: str | None = None, **changes: Any) -> Any:
    """Post the review form (its CSRF token read from ``form_url``, the form itself by default)."""
    return client.submit(url, {**GOOD, **changes}, form_url=form_url or url)


def login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def logout(client: Client) -> None:
    client.submit("/deconnexion", {}, form_url="/")


def png(width: int = 400, height: int = 300, colour: tuple[int, int, int] = (196, 134, 64)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def text_of(page: Any) -> str:
    html = page.get_data(as_text=True) if hasattr(page, "get_data") else str(page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def login_manager(client: Client, email: str = "gestion@example.com") -> int:
    """A manager with a second factor, logged in."""
    import pyotp

    manager = UserFactory(email=email, manager=True, two_factor=True, first_name="Hélène")
    manager_id, secret = manager.id, manager.totp_secret
    client.submit("/connexion", {"email": email, "password": PASSWORD})
    assert client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    return int(manager_id)


def review_now(purchase: Bought, line: int | None = 0, **fields: Any) -> int:
    """A review by the buyer through the service (committed); its id."""
    # Each buyer's own words by default: the same text many times would be held as a copy.
    body = fields.get("body", f"{GOOD['body']} Commande {purchase.vendor_order_id}, article {line}.")
    data = services.ReviewData(int(fields.get("rating", 5)), fields.get("title", GOOD["title"]), body)
    review = services.submit_review(
        purchase.buyer(),
        purchase.vendor_order_id,
        None if line is None else purchase.line_ids[line],
        data,
    )
    db.session.commit()
    return review.id
