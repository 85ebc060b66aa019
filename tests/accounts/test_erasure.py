"""Closing one's account (GDPR article 17): refused with the reason while an order is open or a shop
depends on the person; otherwise the account is closed, the person is removed from every table but
the invoices the law keeps, and their address is free for a new account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts import personal_data, services
from app.accounts.models import Address, LoginSession, PersonalDataExport, User
from app.cart import services as carts
from app.cart.models import Cart
from app.extensions import db
from app.favourites.models import FollowedShop, SavedProduct, WeeklyDigest
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from app.reviews.models import Review, ReviewRevision, ReviewStatus
from tests.accounts.personal_data_support import Shopper, invoice, order_of, shopper
from tests.factories import PASSWORD, ProductFactory, ShopFactory, ShopMemberFactory, owner_of
from tests.plugins.application import Client
from tests.reviews.support import login, place
from vendors import services as shops
from vendors.models import MemberRole, ShopMember, ShopStatus

# Where the person may still be named after erasure, and why. Nothing else may hold them.
ALLOWED_COLUMNS = {
    # The buyer printed on an invoice a shop issued (app/orders/documents.py): an accounting record the
    # shop must keep 10 years (Code de commerce L123-22, LPF L102 B), whatever the buyer asks.
    ("orders", "full_name"),
    ("orders", "street"),
    ("orders", "postcode"),
    ("orders", "city"),
}


@dataclass
class Found:
    table: str
    column: str
    keys: list[tuple[object, ...]]


def where_found(needles: Iterable[str]) -> list[Found]:
    """Every (table, string column) of the schema holding one of ``needles``, with the rows' keys.
    Walks the metadata, so tables added later are searched too."""
    found = []
    needles = [needle for needle in needles if needle]
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, sa.String | sa.Text | sa.JSON):
                continue
            text = sa.cast(column, sa.Text)
            query = sa.select(*table.primary_key.columns).where(
                sa.or_(*(text.contains(needle, autoescape=True) for needle in needles))
            )
            keys = [tuple(row) for row in db.session.execute(query)]
            if keys:
                found.append(Found(table.name, column.name, keys))
    return found


@pytest.fixture
def me(app: Flask, db_session: object) -> Shopper:
    """A shopper whose completed order was invoiced, who also had an order cancelled, works in a shop
    (invited by e-mail), has a cart, and asked for a password reset (a mail in the log)."""
    with app.test_request_context():
        person = shopper("Aurelie")
        invoice(person)
        products = [ProductFactory(title="Brioche de Noël")]
        cancelled = place(person.user(), products, VendorOrderStatus.CANCELLED)
        cancelled.order.street = person.street
        cancelled.order.phone = person.phone
        owner = owner_of(ShopFactory(name="Librairie du Port"), email="libraire@example.com")
        shops.invite(owner, person.email, MemberRole.STAFF)
        db.session.add(ShopMember(shop_id=owner.shop_id, user_id=person.user_id, role=MemberRole.STAFF))
        carts.add(carts.open_cart(person.user(), None), products[0].variants[0].id, 2)
        services.request_password_reset(person.email)
        db.session.commit()
        return person


@pytest.fixture
def other(app: Flask, db_session: object) -> Shopper:
    with app.test_request_context():
        return shopper("Bertrand")


def erase(client: Client, person: Shopper, reviews: str = "keep", password: str = PASSWORD) -> str:
    response = client.submit(
        "/compte/mes-donnees/supprimer",
        {"password": password, "reviews": reviews, "confirm": "y"},
        form_url="/compte/mes-donnees",
    )
    if response.status_code == 302:
        return response.headers["Location"]
    return response.get_data(as_text=True)


def test_erasure_removes_the_person_from_every_table_but_the_invoice(
    client: Client, me: Shopper, other: Shopper
) -> None:
    needles = [*me.identifying(), f"Ville{'Aurelie'}"]
    before = {found.table for found in where_found(needles)}
    assert {"users", "addresses", "orders", "sent_emails", "staff_invitations", "audit_events"} <= before

    login(client, me.email)
    assert erase(client, me) == "/"
    db.session.expire_all()

    left = where_found(needles)
    assert {(found.table, found.column) for found in left} <= ALLOWED_COLUMNS, left
    invoiced = order_of(me)
    for found in left:
        assert found.keys == [(invoiced.id,)], "only the invoiced order keeps the buyer's name"
    assert (invoiced.full_name, invoiced.street, invoiced.city) == (
        "PrenomAurelie NomAurelie",
        me.street,
        "VilleAurelie",
    ), "the invoice stays readable"
    assert invoiced.email.endswith("@erased.invalid")
    assert invoiced.phone == ""

    # What existed only for the person is gone.
    for model in (Address, Cart, SavedProduct, FollowedShop, WeeklyDigest, LoginSession, ShopMember):
        rows = db.session.scalars(sa.select(model).where(model.user_id == me.user_id)).all()
        assert rows == [], model.__tablename__

    # The other shopper is untouched.
    assert {found.table for found in where_found(other.identifying())} >= {"users", "addresses", "orders"}


def test_the_erased_account_cannot_log_in_and_its_address_is_free_again(
    app: Flask, client: Client, me: Shopper
) -> None:
    login(client, me.email)
    erase(client, me)
    user = db.session.get(User, me.user_id)
    assert user is not None
    assert user.erased_at is not None
    assert not user.is_active
    assert user.email.startswith(f"erased-{me.user_id}-")
    assert user.email.endswith("@erased.invalid")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalDataExport)) == 0
    assert client.get("/compte").status_code == 302, "logged out"
    failed = client.submit("/connexion", {"email": me.email, "password": PASSWORD})
    assert "Adresse e-mail ou mot de passe incorrect" in failed.get_data(as_text=True)
    with app.test_request_context():
        again = services.register(me.email, "another long password", "Aurélie", "N.", "fr")
        assert again is not None
        assert again.id != me.user_id


def test_erasure_ends_every_session_of_the_account(app: Flask, me: Shopper) -> None:
    app.test_client_class = Client
    phone, laptop = app.test_client(), app.test_client()
    login(phone, me.email)  # type: ignore[arg-type]
    login(laptop, me.email)  # type: ignore[arg-type]
    erase(laptop, me)  # type: ignore[arg-type]
    assert phone.get("/compte").status_code == 302


def test_kept_reviews_are_signed_client_verifie_without_their_past_versions(
    client: Client, me: Shopper
) -> None:
    review = db.session.scalars(sa.select(Review).where(Review.author_id == me.user_id)).one()
    db.session.add(
        ReviewRevision(
            review_id=review.id,
            rating=4,
            title="Avant",
            body="Avant",
            status=ReviewStatus.PUBLISHED,
            written_at=review.created_at,
        )
    )
    db.session.commit()
    review_id = review.id
    login(client, me.email)
    erase(client, me, reviews="keep")
    db.session.expire_all()
    kept = db.session.get(Review, review_id)
    assert kept is not None
    assert kept.status == ReviewStatus.PUBLISHED
    assert kept.author.display_name == "Client vérifié"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewRevision)) == 0


def test_deleted_reviews_go_and_the_ratings_are_recounted(client: Client, me: Shopper) -> None:
    from app.reviews.models import RatingSubject, RatingSummary

    review = db.session.scalars(sa.select(Review).where(Review.author_id == me.user_id)).one()
    product_id = review.product_id
    assert db.session.get(RatingSummary, (RatingSubject.PRODUCT, product_id)).review_count == 1
    login(client, me.email)
    erase(client, me, reviews="delete")
    db.session.expire_all()
    assert db.session.scalars(sa.select(Review).where(Review.author_id == me.user_id)).all() == []
    assert db.session.get(RatingSummary, (RatingSubject.PRODUCT, product_id)).review_count == 0


def test_erasure_is_refused_with_the_reason_while_an_order_is_open_then_allowed(
    client: Client, me: Shopper
) -> None:
    part = db.session.get(VendorOrder, me.vendor_order_id)
    assert part is not None
    part.status = VendorOrderStatus.DELIVERED  # still inside the withdrawal window
    db.session.commit()
    login(client, me.email)
    page = client.get("/compte/mes-donnees").get_data(as_text=True)
    assert f"La commande {me.order_number} est encore en cours" in page
    refused = erase(client, me)
    assert f"La commande {me.order_number} est encore en cours" in refused
    db.session.expire_all()
    user = db.session.get(User, me.user_id)
    assert user is not None
    assert (user.erased_at, user.email) == (None, me.email), "nothing lost"

    part = db.session.get(VendorOrder, me.vendor_order_id)
    assert part is not None
    part.status = VendorOrderStatus.COMPLETED
    db.session.commit()
    assert erase(client, me) == "/"
    db.session.expire_all()
    assert db.session.get(User, me.user_id).erased_at is not None  # type: ignore[union-attr]


def test_a_wrong_password_erases_nothing(client: Client, me: Shopper) -> None:
    login(client, me.email)
    page = erase(client, me, password="not my password")
    assert "Mot de passe incorrect" in page
    db.session.expire_all()
    assert db.session.get(User, me.user_id).erased_at is None  # type: ignore[union-attr]


def test_the_only_owner_of_an_active_shop_must_hand_it_over_first(app_ctx: Flask, me: Shopper) -> None:
    shop = ShopFactory(name="Fromagerie Aurelie", status=ShopStatus.APPROVED)
    db.session.add(ShopMember(shop_id=shop.id, user_id=me.user_id, role=MemberRole.OWNER))
    db.session.commit()
    with pytest.raises(
        personal_data.ErasureRefused, match="seul propriétaire de la boutique Fromagerie Aurelie"
    ):
        personal_data.erase(me.user_id, keep_reviews=True, actor=me.user())
    # A second owner takes over: the account can go, the shop and its records stay.
    ShopMemberFactory(shop=shop, role=MemberRole.OWNER)
    personal_data.erase(me.user_id, keep_reviews=True, actor=me.user())
    db.session.commit()
    assert db.session.get(type(shop), shop.id) is not None
    assert db.session.scalars(sa.select(ShopMember).where(ShopMember.user_id == me.user_id)).all() == []


def test_erasing_twice_changes_nothing_the_second_time(app_ctx: Flask, me: Shopper) -> None:
    first = personal_data.erase(me.user_id, keep_reviews=True, actor=None)
    email = first.email
    db.session.commit()
    again = personal_data.erase(me.user_id, keep_reviews=False, actor=None)
    assert again.email == email
    assert db.session.scalars(sa.select(Review).where(Review.author_id == me.user_id)).all() != []
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.user_id == me.user_id))
        == 2
    )
