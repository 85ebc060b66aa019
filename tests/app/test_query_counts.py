"""Every public page and the back-office lists run a number of queries that does not grow with what
they show: each is read with a small town, then with a larger one, and must cost the same. Public pages
stay within a fixed budget whatever the catalogue."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pyotp
import pytest
from flask import Flask

from app.accounts.models import User
from app.cart import services as cart_services
from app.catalog.models import Category
from app.database import utcnow
from app.extensions import db
from app.orders.models import VendorOrderStatus
from app.reviews import services as reviews
from app.reviews.models import RatingSubject, RatingSummary
from app.site import views as site_views
from app.site.models import FeaturedShop
from search import tasks
from search.backends import SearchBackend
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client
from tests.plugins.queries import PUBLIC_PAGE_LIMIT, page_queries
from tests.reviews.support import GOOD, place
from vendors.hours import TOWN_TZ
from vendors.models import Closure, Shop

GTIN = "9782016099520"
_numbers = itertools.count(1)


@dataclass
class Town:
    """One category, an owner's shop with its catalogue, orders and reviews, other shops around it."""

    shop_id: int
    category_id: int
    buyer_id: int
    slug: str = "marche"
    product_ids: list[int] = field(default_factory=list)

    def grow(self, shops: int) -> None:
        """``shops`` more shops in the category, each with its hours, a closure, a rating, a product of
        the same GTIN, and as many more products, orders and reviews at the owner's shop."""
        shop, buyer = db.session.get(Shop, self.shop_id), db.session.get(User, self.buyer_id)
        category = db.session.get(Category, self.category_id)
        for _ in range(shops):
            number = next(_numbers)
            other = ShopFactory(category=category)
            db.session.add(
                Closure(
                    shop=other,
                    label="Congés",
                    starts_on=utcnow().date() + dt.timedelta(days=30),
                    ends_on=utcnow().date() + dt.timedelta(days=31),
                )
            )
            same = ProductFactory(shop=other, category=category, gtin=GTIN, title=f"Le Petit Prince {number}")
            _rating(RatingSubject.SHOP, other.id, 4)
            _rating(RatingSubject.PRODUCT, same.id, 5)
            db.session.add(FeaturedShop(shop_id=other.id, position=number))
            mine = ProductFactory(shop=shop, category=category, title=f"Pain {number}")
            self.product_ids.append(mine.id)
            delivered = place(buyer, [mine])
            place(buyer, [mine], VendorOrderStatus.PAID, received=False)
            reviews.submit_review(buyer, delivered.id, None, reviews.ReviewData(5, "Très bien", GOOD["body"]))
            cart = cart_services.open_cart(buyer, None)
            cart_services.add(cart, same.variants[0].id, "1")
        db.session.commit()


def _rating(subject: RatingSubject, subject_id: int, stars: int) -> None:
    db.session.add(
        RatingSummary(
            subject=subject,
            subject_id=subject_id,
            review_count=2,
            rating_sum=stars * 2,
            **{f"stars_{n}": (2 if n == stars else 0) for n in range(1, 6)},
        )
    )


@pytest.fixture
def town(app: Flask) -> Town:
    with app.test_request_context("/"):
        category = CategoryFactory(slug="marche", name="Marché")
        member = owner_of(
            ShopFactory(slug="le-fournil", name="Le Fournil", category=category), email="owner@example.com"
        )
        product = ProductFactory(shop=member.shop, category=category, gtin=GTIN, title="Le Petit Prince")
        buyer = UserFactory(email="buyer@example.com")
        made = Town(member.shop_id, category.id, buyer.id, product_ids=[product.id])
        made.grow(2)  # the same review twice: the second waits for moderation
        return made


@pytest.fixture
def open_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Wednesday at 11:00 on the town's clock: the factories' shops are open."""
    today = utcnow().astimezone(TOWN_TZ).date()
    day = today + dt.timedelta(days=(2 - today.weekday()) % 7 or 7)
    moment = dt.datetime.combine(day, dt.time(11), tzinfo=TOWN_TZ).astimezone(dt.UTC)
    monkeypatch.setattr(site_views, "utcnow", lambda: moment)


def _login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def _login_manager(client: Client) -> None:
    manager = UserFactory(email="gestion@example.com", manager=True, two_factor=True)
    secret = manager.totp_secret
    client.submit("/connexion", {"email": "gestion@example.com", "password": PASSWORD})
    assert client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()}).status_code == 302


def _flat(app: Flask, client: Client, town: Town, url: str, public: bool) -> list[str]:
    """The page costs the same with one more shop as with seven more, within the budget if public;
    the statements of the larger town."""
    client.get(url)  # the session's first page loads what every page then keeps
    small = page_queries(client, url)
    with app.test_request_context("/"):
        town.grow(6)
    client.get(url)
    large = page_queries(client, url)
    assert len(large) == len(small), "\n".join(large)
    if public:
        assert len(large) <= PUBLIC_PAGE_LIMIT, "\n".join(large)
    return large


def test_home(app: Flask, client: Client, town: Town, open_hours: None) -> None:
    # The first visitor after a change (or a minute) chooses what each block shows, in one query ...
    cold = _flat(app, client, town, "/", public=True)
    # ... the next ones only read the blocks' products and shops, together.
    warm = page_queries(client, "/", cold=False)
    assert len(warm) < len(cold), "\n".join(warm)


def test_search(app: Flask, client: Client, town: Town, search_index: SearchBackend) -> None:
    with app.app_context():
        tasks.drain()
    _flat(app, client, town, "/recherche?q=petit+prince", public=True)


def test_category_from_search(app: Flask, client: Client, town: Town, search_index: SearchBackend) -> None:
    with app.app_context():
        tasks.drain()
    _flat(app, client, town, "/categories/marche", public=True)


def test_category_from_the_database(app: Flask, client: Client, town: Town) -> None:
    _flat(app, client, town, "/categories/marche", public=True)


def test_product(app: Flask, client: Client, town: Town) -> None:
    _flat(app, client, town, f"/produits/{town.product_ids[0]}", public=True)


def test_storefront(app: Flask, client: Client, town: Town) -> None:
    _flat(app, client, town, "/boutiques/le-fournil", public=True)


def test_directory(app: Flask, client: Client, town: Town) -> None:
    _flat(app, client, town, "/boutiques", public=True)


def test_cart(app: Flask, client: Client, town: Town) -> None:
    _login(client, "buyer@example.com")
    _flat(app, client, town, "/panier", public=True)


@pytest.mark.parametrize("page", ["produits", "commandes", "avis"])
def test_backoffice(app: Flask, client: Client, town: Town, page: str) -> None:
    _login(client, "owner@example.com")
    _flat(app, client, town, f"/vendeur/le-fournil/{page}", public=False)


@pytest.mark.parametrize("page", ["commandes", "avis"])
def test_admin(app: Flask, client: Client, town: Town, page: str) -> None:
    with app.test_request_context("/"):
        town.grow(3)  # the same buyer's reviews coming one after the other wait for moderation
    _login_manager(client)
    _flat(app, client, town, f"/gestion/{page}", public=False)
