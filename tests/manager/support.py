"""Shops in the states the follow-up lists and the dashboard's "today" look for, written directly."""

from __future__ import annotations

import datetime as dt
import hashlib

from app.accounts.models import User
from app.database import utcnow
from app.extensions import db
from app.orders.models import VendorOrder
from app.reviews.models import Review, ReviewKind, ReviewReply, ReviewStatus
from tests.factories import ProductFactory, ShopFactory, owner_of
from vendors.models import Shop


def ready_shop(slug: str, *, product: bool = True, **fields: object) -> Shop:
    """An approved shop with nothing to follow up: payments on, a product in stock, its owner seen today."""
    defaults: dict[str, object] = {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "stripe_account_id": f"acct_{slug}",
        "stripe_charges_enabled": True,
        "stripe_payouts_enabled": True,
    }
    member = owner_of(
        ShopFactory(**{**defaults, **fields}), email=f"owner@{slug}.example.com", last_login_at=utcnow()
    )
    if product:
        ProductFactory(shop=member.shop, title=f"Article de {slug}")
    return member.shop


def review(part: VendorOrder, author: User, published_days_ago: float, replied: bool = False) -> Review:
    """A published review of the shop's part, ``published_days_ago`` days ago."""
    when = utcnow() - dt.timedelta(days=published_days_ago)
    found = Review(
        kind=ReviewKind.SHOP,
        author_id=author.id,
        vendor_order_id=part.id,
        shop_id=part.shop_id,
        rating=4,
        title="Très bon accueil",
        body="Un accueil chaleureux et des conseils précieux, je reviendrai.",
        status=ReviewStatus.PUBLISHED,
        fingerprint=hashlib.sha256(f"{part.id}-{when}".encode()).hexdigest(),
        purchased_at=when - dt.timedelta(days=2),
        published_at=when,
    )
    db.session.add(found)
    db.session.flush()
    if replied:
        db.session.add(ReviewReply(review_id=found.id, author_id=None, body="Merci beaucoup !"))
    db.session.commit()
    return found
