"""Two shoppers who bought, reviewed, saved and followed, with strings distinctive enough that a
search of the whole database or of an archive finds them only where they really are."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.accounts.models import Address, User
from app.extensions import db
from app.favourites.models import FollowedShop, SavedProduct, WeeklyDigest
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from app.reviews import services as reviews
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.reviews.support import place


@dataclass
class Shopper:
    """Ids and the strings that identify one shopper (objects expire after requests)."""

    user_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    street: str
    order_number: str
    vendor_order_id: int
    review_title: str
    saved_product: str
    followed_shop: str

    def user(self) -> User:
        found = db.session.get(User, self.user_id)
        assert found is not None
        return found

    def identifying(self) -> list[str]:
        """What must not survive an erasure outside the allowed columns."""
        return [self.email, self.first_name, self.last_name, self.phone, self.street]


def shopper(tag: str, status: VendorOrderStatus = VendorOrderStatus.COMPLETED) -> Shopper:
    """A shopper with a delivered order of two products (reviewed), an address, a saved product and a
    followed shop; every string carries ``tag``."""
    member = owner_of(
        ShopFactory(name=f"Boutique {tag}"), email=f"owner-{tag.lower()}-{secrets.token_hex(2)}@example.com"
    )
    products = [ProductFactory(shop=member.shop, title=f"Pain {tag} {n}") for n in range(2)]
    user = UserFactory(email=f"{tag.lower()}@example.org", first_name=f"Prenom{tag}", last_name=f"Nom{tag}")
    phone = f"06{abs(hash(tag)) % 10**8:08d}"
    street = f"{len(tag)} rue {tag}"
    part = place(user, products, status)
    order = part.order
    order.phone = phone
    order.street = street
    order.postcode = "37000"
    order.city = f"Ville{tag}"
    db.session.add(
        Address(
            user_id=user.id,
            full_name=f"Prenom{tag} Nom{tag}",
            street=street,
            postcode="37000",
            city=f"Ville{tag}",
            phone=phone,
        )
    )
    other_shop = ShopFactory(name=f"Suivie {tag}")
    saved = ProductFactory(shop=other_shop, title=f"Gardé {tag}")
    db.session.add(SavedProduct(user_id=user.id, product_id=saved.id, price_seen_cents=500))
    db.session.add(FollowedShop(user_id=user.id, shop_id=other_shop.id))
    db.session.add(WeeklyDigest(user_id=user.id, enabled=True))
    db.session.commit()
    title = f"Avis {tag}"
    reviews.submit_review(
        user,
        part.id,
        part.lines[0].id,
        reviews.ReviewData(5, title, f"Croûte épaisse, mie alvéolée, il se garde trois jours. {tag}"),
    )
    db.session.commit()
    return Shopper(
        user_id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=phone,
        street=street,
        order_number=order.number,
        vendor_order_id=part.id,
        review_title=title,
        saved_product=saved.title,
        followed_shop=other_shop.name,
    )


def invoice(person: Shopper, number: str = "F-2026-0001") -> None:
    part = db.session.get(VendorOrder, person.vendor_order_id)
    assert part is not None
    part.invoice_number = number
    db.session.commit()


def order_of(person: Shopper) -> Order:
    return db.session.query(Order).filter_by(number=person.order_number).one()
