"""Favourites: saving products and following shops, as a guest and signed in, the page, the merge."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.catalog.models import Product, ProductStatus
from app.extensions import db
from app.favourites import services
from app.favourites.models import FollowedShop, SavedProduct
from app.site import services as site
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Client
from vendors.models import Shop, ShopStatus


def log_in(client: Client, email: str) -> None:
    response = client.submit("/connexion", {"email": email, "password": PASSWORD})
    assert response.status_code == 302


def save(client: Client, product_id: int, **extra: str) -> str:
    response = client.submit(
        f"/favoris/produits/{product_id}", {"next": "/favoris", **extra}, form_url=f"/produits/{product_id}"
    )
    assert response.status_code == 302
    return client.get("/favoris").get_data(as_text=True)


def follow(client: Client, shop: Shop | tuple[int, str], **extra: str) -> str:
    shop_id, slug = shop if isinstance(shop, tuple) else (shop.id, shop.slug)
    response = client.submit(
        f"/favoris/boutiques/{shop_id}", {"next": "/favoris", **extra}, form_url=f"/boutiques/{slug}"
    )
    assert response.status_code == 302
    return client.get("/favoris").get_data(as_text=True)


def saved_rows(user_id: int) -> list[tuple[int, int]]:
    return [
        (row.product_id, row.price_seen_cents)
        for row in db.session.scalars(sa.select(SavedProduct).where(SavedProduct.user_id == user_id))
    ]


def test_product_pages_cards_and_storefronts_show_the_buttons(client: Client) -> None:
    product = ProductFactory(title="Tarte aux pommes")
    page = client.get(f"/produits/{product.id}").get_data(as_text=True)
    assert f'action="/favoris/produits/{product.id}"' in page
    assert "Ajouter à mes favoris" in page
    storefront = client.get(f"/boutiques/{product.shop.slug}").get_data(as_text=True)
    assert f'action="/favoris/boutiques/{product.shop_id}"' in storefront
    assert storefront.count(f'action="/favoris/produits/{product.id}"') == 1  # the product card's heart
    assert 'href="/favoris"' in page  # the header's link


def test_a_signed_in_shopper_saves_a_product_once_even_when_clicking_twice(client: Client) -> None:
    user_id = UserFactory(email="camille@example.com").id
    product_id = ProductFactory(
        title="Miel de tilleul", variants=[{"price_cents": 900}, {"price_cents": 700}]
    ).id
    log_in(client, "camille@example.com")
    save(client, product_id)
    page = save(client, product_id)
    assert saved_rows(user_id) == [(product_id, 700)]  # the lowest price, seen when saving
    assert "Miel de tilleul" in page
    # The button now says it is saved, and takes it out.
    product_page = client.get(f"/produits/{product_id}").get_data(as_text=True)
    assert 'aria-pressed="true"' in product_page
    page = save(client, product_id, action="retirer")
    assert saved_rows(user_id) == []
    assert "Miel de tilleul" not in page


def test_the_database_keeps_one_favourite_per_product(app_ctx: object) -> None:
    user = UserFactory()
    product = ProductFactory()
    db.session.add(SavedProduct(user_id=user.id, product_id=product.id, price_seen_cents=100))
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(SavedProduct(user_id=user.id, product_id=product.id, price_seen_cents=100))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add_all([FollowedShop(user_id=user.id, shop_id=product.shop_id) for _ in range(2)])


def test_saving_twice_through_the_service_keeps_one_row(app_ctx: object) -> None:
    user = UserFactory()
    product = ProductFactory()
    services.save_product(user, product.id)
    services.save_product(user, product.id)
    services.follow_shop(user, product.shop_id)
    services.follow_shop(user, product.shop_id)
    db.session.flush()
    assert len(saved_rows(user.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowedShop)) == 1


def test_guests_save_and_follow_and_find_them_on_their_account_after_log_in(client: Client) -> None:
    user = UserFactory(email="guest@example.com")
    user_id = user.id
    shop = ShopFactory(name="Fromagerie des Halles")
    shop_id, slug = shop.id, shop.slug
    product = ProductFactory(title="Sainte-Maure", shop=shop, variants=[{"price_cents": 1100}]).id
    already = ProductFactory(title="Crottin").id
    services.save_product(user, already)
    db.session.commit()

    page = save(client, product)
    assert "Sainte-Maure" in page
    page = follow(client, (shop_id, slug))
    assert "Fromagerie des Halles" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedProduct)) == 1  # only the account's
    log_in(client, "guest@example.com")

    page = client.get("/favoris").get_data(as_text=True)
    assert {"Sainte-Maure", "Crottin", "Fromagerie des Halles"} <= set(re.findall(r">([^<>]+)</", page))
    assert sorted(saved_rows(user_id)) == sorted([(product, 1100), (already, 1250)])
    followed = db.session.scalars(sa.select(FollowedShop.shop_id).where(FollowedShop.user_id == user_id))
    assert list(followed) == [shop_id]
    with client.session_transaction() as session:
        assert "favourites" not in session


def test_archived_products_say_so_and_suspended_shops_are_hidden(client: Client) -> None:
    UserFactory(email="camille@example.com")
    gone, kept = ProductFactory(title="Galette des rois").id, ProductFactory(title="Brioche").id
    suspended = ShopFactory(name="Boutique fermée")
    suspended_id, slug = suspended.id, suspended.slug
    log_in(client, "camille@example.com")
    save(client, gone)
    save(client, kept)
    follow(client, (suspended_id, slug))
    db.session.get(Product, gone).status = ProductStatus.ARCHIVED  # type: ignore[union-attr]
    db.session.get(Shop, suspended_id).status = ShopStatus.SUSPENDED  # type: ignore[union-attr]
    db.session.commit()
    page = client.get("/favoris").get_data(as_text=True)
    assert "« Galette des rois » n’est plus disponible." in page
    assert f'href="/produits/{gone}"' not in page
    assert f'href="/produits/{kept}"' in page
    assert "Boutique fermée" not in page


def test_unknown_archived_and_hidden_things_cannot_be_saved(client: Client) -> None:
    archived = ProductFactory(archived=True).id
    draft_shop = ShopFactory(draft=True).id
    urls = (
        f"/favoris/produits/{archived}",
        "/favoris/produits/999999999",
        f"/favoris/boutiques/{draft_shop}",
    )
    said = []
    for url in urls:
        response = client.submit(url, {"next": "/favoris"}, form_url="/connexion", follow_redirects=True)
        assert response.status_code == 200
        said.append(re.findall(r'<p class="flash flash--error">(.*?)</p>', response.get_data(as_text=True)))
    assert said == [
        ["Ce produit n’est plus disponible."],
        ["Ce produit n’est plus disponible."],
        ["Cette boutique n’est pas ouverte au public."],
    ]
    with client.session_transaction() as session:
        kept = services.guest_favourites(session.get("favourites"))
    assert kept == {"products": {}, "shops": []}


def test_posting_without_the_csrf_token_is_refused(client: Client) -> None:
    product = ProductFactory()
    assert client.post(f"/favoris/produits/{product.id}").status_code == 400


def test_a_tampered_guest_session_is_cleaned(app_ctx: object) -> None:
    assert services.guest_favourites({"products": {"x": 3, "4": -1, "5": 700}, "shops": [1, "2", 1, -3]}) == {
        "products": {"5": 700},
        "shops": [1],
    }
    assert services.guest_favourites("nonsense") == {"products": {}, "shops": []}


def test_the_merge_leaves_out_what_is_no_longer_public(app_ctx: object) -> None:
    user = UserFactory()
    archived = ProductFactory(archived=True)
    suspended = ShopFactory(status=ShopStatus.SUSPENDED)
    added = services.merge_guest(user, {"products": {str(archived.id): 500}, "shops": [suspended.id, 999999]})
    assert added == 0
    assert db.session.get(User, user.id) is not None


def test_the_home_pages_shared_blocks_carry_no_visitors_form(client: Client) -> None:
    """Its blocks are cached as text for everyone: one visitor's CSRF token or hearts must not be in them."""
    product_id = ProductFactory(title="Nouveauté du jour").id
    site.clear_caches()  # blocks another test's visit left
    page = client.get("/").get_data(as_text=True)
    assert "Nouveauté du jour" in page  # in the block of new products
    assert f'action="/favoris/produits/{product_id}"' not in page
