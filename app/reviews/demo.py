"""Demo town: a few orders the demo shopper (and two neighbours) received, and their reviews.

The orders are demo data written straight into the database, marked as such (numbers ``M-DEMO-…``,
checkout tokens ``demo-reviews-…``, payment status ``demo``): no payment was ever made and no
Stripe call happens. Their money is in the ledger as the demo history writes its own
(``app.orders.demo_history``): the sale and its commission when paid, and, for a part received longer
than the payout hold ago, its release and transfer, so that the shops' statements account for them.
They are delivered, with their receipt dated some days back, so their reviews went through the same
use cases as real ones (the checks, the rating summaries, the shops' replies).
The last of Camille's orders has no review yet: the hourly request job invites her to write one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.cart.models import DeliveryMethod
from app.catalog.models import Product
from app.database import utcnow
from app.demo import SHOPPER_EMAIL, DemoContext
from app.extensions import db
from app.orders import demo_history
from app.orders.models import Order, OrderLine, OrderStatus, VendorOrder, VendorOrderStatus
from app.reviews import services
from app.reviews.models import Review
from payouts import commission
from payouts import services as payouts
from vendors.hours import TOWN_TZ
from vendors.models import Shop

NEIGHBOURS = (
    ("lucas.bernard@example.com", "Lucas", "Bernard"),
    ("ines.moreau@example.com", "Inès", "Moreau"),
)
ADDRESS = {"street": "8 quai des Tanneurs", "postcode": "37000", "city": "Bellerive-sur-Loire"}


@dataclass(frozen=True)
class DemoReview:
    product: str | None  # a product title of the order, or None for the shop
    rating: int
    title: str
    body: str
    reply: str = ""


@dataclass(frozen=True)
class DemoOrder:
    key: str
    buyer: str
    shop: str
    items: tuple[tuple[str, int], ...]  # (product title, quantity)
    received_days_ago: int
    reviews: tuple[DemoReview, ...] = field(default=())


ORDERS = (
    DemoOrder(
        "0001",
        SHOPPER_EMAIL,
        "fournil-saint-martin",
        (("Baguette tradition", 2), ("Brioche tressée", 1)),
        40,
        (
            DemoReview(
                "Baguette tradition",
                5,
                "La vraie baguette du quartier",
                "Croûte bien dorée qui chante, mie crème et alvéolée. Elle tient jusqu’au lendemain, "
                "ce qui est rare. Retirée à 7 h 30, encore tiède.",
            ),
            DemoReview(
                "Brioche tressée",
                4,
                "Moelleuse, un peu trop sucrée pour moi",
                "Très belle brioche filante, parfaite au petit déjeuner. Je la préférerais un peu "
                "moins sucrée, mais toute la famille a adoré.",
                reply="Merci Camille ! Nous faisons aussi une brioche nature le samedi, moins sucrée : "
                "demandez-la au comptoir.",
            ),
            DemoReview(
                None,
                5,
                "Accueil adorable, commande prête à l’heure",
                "Commande prête au créneau choisi, emballée avec soin, et un sourire en prime. Le retrait en "
                "boutique est vraiment pratique avant le travail.",
                reply="Merci pour ce mot, à très bientôt au fournil !",
            ),
        ),
    ),
    DemoOrder(
        "0002",
        SHOPPER_EMAIL,
        "fromagerie-des-halles",
        (("Crottin de Chavignol", 2), ("Camembert de Normandie", 1)),
        18,
        (
            DemoReview(
                "Crottin de Chavignol",
                5,
                "Affinage parfait",
                "Un crottin sec comme je l’aime, goût de noisette en fin de bouche. Très bon conseil du "
                "fromager pour le vin qui va avec.",
            ),
            DemoReview(
                "Camembert de Normandie",
                2,
                "Trop fait à la livraison",
                "Le camembert était déjà très coulant et l’odeur forte en ouvrant le paquet, il a fallu le "
                "manger le jour même. Dommage, le goût était là.",
                reply="Désolés, Camille : il a dû trop attendre au chaud. Passez en boutique, nous vous en "
                "offrons un autre.",
            ),
            DemoReview(
                None,
                4,
                "Livraison rapide et soignée",
                "Livrée le lendemain dans un sac isotherme, avec les fromages bien séparés. Seul le "
                "camembert avait souffert du trajet.",
            ),
        ),
    ),
    DemoOrder(
        "0003",
        SHOPPER_EMAIL,
        "librairie-la-boussole",
        (("Le jardin de Bellerive", 1), ("Le phare de minuit", 1)),
        4,
    ),
    DemoOrder(
        "0004",
        NEIGHBOURS[0][0],
        "fournil-saint-martin",
        (("Baguette tradition", 3),),
        25,
        (
            DemoReview(
                "Baguette tradition",
                4,
                "Bonne baguette, un peu trop cuite",
                "Très bonne tradition, bien croustillante, mais un peu trop cuite à mon goût ce jour-là. Je "
                "demanderai une baguette moins cuite la prochaine fois.",
            ),
        ),
    ),
    DemoOrder(
        "0005",
        NEIGHBOURS[1][0],
        "fromagerie-des-halles",
        (("Crottin de Chavignol", 1),),
        10,
        (
            DemoReview(
                "Crottin de Chavignol",
                4,
                "Bon crottin de Loire",
                "Goûteux et bien affiné, un peu plus cher qu’au marché mais la qualité est là. Je "
                "recommande la boutique pour ses conseils.",
            ),
            DemoReview(
                None,
                5,
                "De très bons conseils",
                "Le fromager a pris le temps de m’expliquer l’affinage de chaque fromage au retrait. "
                "Commande prête rapidement, accueil chaleureux.",
            ),
        ),
    ),
)


def _buyer(email: str, password: str) -> User:
    user = accounts.find_by_email(email)
    if user is not None:
        return user
    first, last = next((first, last) for address, first, last in NEIGHBOURS if address == email)
    user = User(
        email=email,
        first_name=first,
        last_name=last,
        locale="fr",
        role=Role.SHOPPER,
        email_confirmed_at=utcnow(),
        session_token=secrets.token_hex(16),
        password_hash=accounts.hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def _products(shop: Shop, titles: list[str]) -> dict[str, Product] | None:
    found = {
        product.title: product
        for product in db.session.scalars(
            sa.select(Product)
            .where(Product.shop_id == shop.id, Product.title.in_(titles))
            .order_by(Product.id)
        )
        if product.variants
    }
    return found if all(title in found for title in titles) else None


def _method(shop: Shop) -> DeliveryMethod:
    for method in (DeliveryMethod.CLICK_COLLECT, DeliveryMethod.LOCAL_DELIVERY, DeliveryMethod.HOME_DELIVERY):
        if method.value in shop.delivery_methods:
            return method
    return DeliveryMethod.CLICK_COLLECT


def _place(spec: DemoOrder, buyer: User, shop: Shop, products: dict[str, Product]) -> VendorOrder:
    received_at = utcnow() - dt.timedelta(days=spec.received_days_ago, hours=3)
    placed_at = received_at - dt.timedelta(days=1, hours=2)
    lines = []
    for title, quantity in spec.items:
        variant = products[title].variants[0]
        lines.append(
            OrderLine(
                variant_id=variant.id,
                product_id=products[title].id,
                title=title,
                variant_label=variant.label,
                sku=variant.sku,
                unit_price_cents=variant.price_cents,
                quantity=quantity,
                vat_bps=products[title].vat_bps,
                total_cents=variant.price_cents * quantity,
            )
        )
    items = sum(line.total_cents for line in lines)
    method = _method(shop)
    part = VendorOrder(
        shop_id=shop.id,
        status=VendorOrderStatus.DELIVERED,
        delivery_method=method,
        delivery_fee_cents=0,
        delivery_vat_bps=2000,
        items_cents=items,
        total_cents=items,
        accepted_at=placed_at + dt.timedelta(hours=1),
        shipped_at=received_at - dt.timedelta(hours=4) if method != DeliveryMethod.CLICK_COLLECT else None,
        ready_at=received_at - dt.timedelta(hours=4) if method == DeliveryMethod.CLICK_COLLECT else None,
        received_at=received_at,
        lines=lines,
        created_at=placed_at,
    )
    order = Order(
        number=f"M-DEMO-{spec.key.zfill(6)}",
        checkout_token=f"demo-reviews-{spec.key}",
        user_id=buyer.id,
        status=OrderStatus.PAID,
        items_cents=items,
        delivery_cents=0,
        total_cents=items,
        email=buyer.email,
        full_name=f"{buyer.first_name} {buyer.last_name}",
        phone="06 12 34 56 78",
        country="FR",
        reserved_until=placed_at,
        paid_at=placed_at,
        payment_status="demo",
        terms_version="demo",
        locale=buyer.locale,
        vendor_orders=[part],
        created_at=placed_at,
        **(ADDRESS if method != DeliveryMethod.CLICK_COLLECT else {}),
    )
    db.session.add(order)
    db.session.flush()
    commission.freeze(part, placed_at.astimezone(TOWN_TZ).date())
    demo_history.post_payment(demo_history.post_now, part, placed_at)
    release_at = received_at + payouts.hold()
    if release_at <= utcnow():
        held = part.total_cents - part.commission_cents - part.commission_vat_cents
        db.session.add(demo_history.post_transfer(demo_history.post_now, part, held, release_at))
    return part


def _review(spec: DemoReview, buyer: User, part: VendorOrder, shop: Shop) -> Review:
    line = next((line for line in part.lines if line.title == spec.product), None) if spec.product else None
    review = services.submit_review(
        buyer,
        part.id,
        line.id if line is not None else None,
        services.ReviewData(spec.rating, spec.title, spec.body),
    )
    assert part.received_at is not None
    written = part.received_at + dt.timedelta(days=2, hours=5)
    review.created_at = review.updated_at = written
    review.published_at = written if review.published_at else None
    if spec.reply:
        owner = next(member for member in shop.members if member.is_owner)
        reply = services.save_reply(owner, review.id, spec.reply)
        reply.created_at = reply.updated_at = written + dt.timedelta(hours=6)
    return review


def load_reviews(ctx: DemoContext) -> None:
    """Delivered demo orders and their reviews; orders already there (or whose products are not in the
    data loaded) are left alone."""
    existing = set(
        db.session.scalars(sa.select(Order.checkout_token).where(Order.checkout_token.like("demo-reviews-%")))
    )
    shops = {shop.slug: shop for shop in db.session.scalars(sa.select(Shop))}
    orders = reviews = 0
    for spec in ORDERS:
        shop = shops.get(spec.shop)
        if f"demo-reviews-{spec.key}" in existing or shop is None:
            continue
        products = _products(shop, [title for title, _quantity in spec.items])
        if products is None:
            continue
        buyer = _buyer(spec.buyer, ctx.password)
        part = _place(spec, buyer, shop, products)
        orders += 1
        for review in spec.reviews:
            _review(review, buyer, part, shop)
            reviews += 1
    db.session.flush()
    ctx.counts["demo orders created"] = orders
    ctx.counts["reviews created"] = reviews
