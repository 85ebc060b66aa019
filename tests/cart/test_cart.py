"""The cart: adding from the product page, quantities, several shops, delivery choices, totals, merging."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.accounts.models import User
from app.cart import services
from app.cart.models import Cart, CartItem, DeliveryMethod
from app.catalog.models import Product, ProductStatus, Variant
from app.extensions import db
from tests.factories import PASSWORD, ProductFactory, RelayPointFactory, ShopFactory, UserFactory
from tests.plugins.application import Client
from vendors.models import Shop, ShopStatus, VatRegime


def add(client: Client, variant_id: int, quantity: object = 1, product_id: int | None = None) -> str:
    form_url = f"/produits/{product_id}" if product_id else "/connexion"
    response = client.submit(
        "/panier/ajouter", {"variant_id": variant_id, "quantity": quantity}, form_url=form_url
    )
    assert response.status_code == 302
    return client.get("/panier").get_data(as_text=True)


def flashes(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


def cart_of(client: Client) -> Cart:
    with client.session_transaction() as session:
        token = session.get("cart_token")
    cart = db.session.scalar(db.select(Cart).where(Cart.token == token))
    assert cart is not None
    return cart


@pytest.fixture
def two_shops(client: Client) -> dict[str, int]:
    baker = ShopFactory(
        name="Le Fournil",
        click_collect=True,
        local_delivery=True,
        local_delivery_postcodes="37000 37100",
        local_delivery_fee_cents=490,
        local_delivery_free_over_cents=3000,
        home_delivery=False,
    )
    books = ShopFactory(
        name="Librairie des Quais",
        click_collect=False,
        local_delivery=False,
        home_delivery=True,
        home_delivery_fee_cents=590,
    )
    bread = ProductFactory(
        shop=baker, title="Pain au levain", vat_bps=550, variants=[{"price_cents": 450, "stock": 10}]
    )
    novel = ProductFactory(
        shop=books, title="La Loire à vélo", vat_bps=550, variants=[{"price_cents": 2400, "stock": 2}]
    )
    return {
        "baker": baker.id,
        "books": books.id,
        "bread_product": bread.id,
        "bread": bread.variants[0].id,
        "novel": novel.variants[0].id,
    }


def test_the_product_page_adds_to_the_cart(client: Client, two_shops: dict[str, int]) -> None:
    page = client.get(f"/produits/{two_shops['bread_product']}").get_data(as_text=True)
    assert 'action="/panier/ajouter"' in page
    cart_page = add(client, two_shops["bread"], 2, product_id=two_shops["bread_product"])
    assert ("Pain au levain" in cart_page, "9,00" in cart_page) == (True, True)


def test_the_header_counts_the_articles(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 3)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'class="cart-link__count"[^>]*>3<', page)


def test_lines_are_grouped_by_shop_with_their_own_delivery(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 2)
    add(client, two_shops["novel"], 1)
    summary = services.summary(cart_of(client))
    assert [(part.shop.name, [line.total_cents for line in part.lines]) for part in summary.parts] == [
        ("Le Fournil", [900]),
        ("Librairie des Quais", [2400]),
    ]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "La quantité doit être d’au moins 1."),
        (-3, "La quantité doit être d’au moins 1."),
        (100000, "Au plus 99 par article."),
        ("beaucoup", "Indiquez une quantité en chiffres."),
        (11, "Il n’en reste que 10 : choisissez une quantité plus petite."),
    ],
)
def test_bad_quantities_are_refused_and_nothing_is_added(
    client: Client, two_shops: dict[str, int], quantity: object, message: str
) -> None:
    page = add(client, two_shops["bread"], quantity)
    assert (message in flashes(page), "Votre panier est vide." in page) == (True, True)


def test_a_product_no_longer_sold_cannot_be_added(client: Client, two_shops: dict[str, int]) -> None:
    db.session.get(Product, two_shops["bread_product"]).status = ProductStatus.ARCHIVED  # type: ignore[union-attr]
    db.session.commit()
    page = add(client, two_shops["bread"])
    assert "Cet article n’est plus en vente." in flashes(page)


def test_an_unknown_variant_is_a_clear_message(client: Client, two_shops: dict[str, int]) -> None:
    assert "Cet article n’est plus en vente." in flashes(add(client, 987654321))


def test_adding_twice_adds_up_but_never_beyond_the_stock(client: Client, two_shops: dict[str, int]) -> None:
    novel = two_shops["novel"]
    add(client, novel, 1)
    add(client, novel, 1)
    page = add(client, novel, 1)
    assert (
        "Il n’en reste que 2 : choisissez une quantité plus petite." in flashes(page),
        [item.quantity for item in cart_of(client).items],
    ) == (True, [2])


def test_changing_and_removing_lines(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 1)
    item = cart_of(client).items[0]
    client.submit(f"/panier/ligne/{item.id}", {"quantity": "4"}, form_url="/panier")
    four = [line.quantity for line in cart_of(client).items]
    client.submit(f"/panier/ligne/{item.id}", {"quantity": "0"}, form_url="/panier")
    assert (four, cart_of(client).items) == ([4], [])


def test_a_line_of_another_cart_is_not_found(client: Client, two_shops: dict[str, int]) -> None:
    other = Cart(token="someone-else")
    db.session.add(other)
    db.session.flush()
    db.session.add(CartItem(cart=other, variant_id=two_shops["bread"], quantity=1, price_seen_cents=450))
    db.session.commit()
    foreign = other.items[0].id
    add(client, two_shops["novel"], 1)
    client.submit(f"/panier/ligne/{foreign}", {"remove": "1"}, form_url="/panier")
    db.session.expire_all()
    assert [item.quantity for item in db.session.get(Cart, other.id).items] == [1]  # type: ignore[union-attr]


def test_sold_out_since_adding_is_shown_and_blocks_the_cart(
    client: Client, two_shops: dict[str, int]
) -> None:
    add(client, two_shops["novel"], 2)
    db.session.get(Variant, two_shops["novel"]).stock = 1  # type: ignore[union-attr]
    db.session.commit()
    summary = services.summary(cart_of(client))
    assert (next(str(problem) for problem in summary.problems), summary.ready) == (
        "« La Loire à vélo » : il n’en reste que 1, baissez la quantité.",
        False,
    )


def test_a_price_changed_since_adding_is_shown(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 1)
    db.session.get(Variant, two_shops["bread"]).price_cents = 480  # type: ignore[union-attr]
    db.session.commit()
    page = client.get("/panier").get_data(as_text=True)
    assert "le prix était 4,50" in page.replace("\u202f", " ").replace("\xa0", " ")


def test_local_delivery_fee_becomes_free_over_the_threshold(
    client: Client, two_shops: dict[str, int]
) -> None:
    add(client, two_shops["bread"], 5)
    cart = cart_of(client)
    services.choose_delivery(cart, two_shops["baker"], "local_delivery")
    before = services.summary(cart).parts[0]
    option = next(o for o in before.options if o.method == DeliveryMethod.LOCAL_DELIVERY)
    services.set_quantity(cart, cart.items[0].id, 7)
    after = services.summary(cart).parts[0]
    assert (before.delivery_cents, option.missing_for_free_cents, after.delivery_cents) == (490, 750, 0)


def test_local_delivery_outside_the_zone_is_not_offered(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 1)
    cart = cart_of(client)
    services.set_postcode(cart, "75011")
    with pytest.raises(services.CartError, match="hors de la zone"):
        services.choose_delivery(cart, two_shops["baker"], "local_delivery")


def test_a_method_the_shop_does_not_offer_is_refused(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["novel"], 1)
    with pytest.raises(services.CartError, match="ne propose pas"):
        services.choose_delivery(cart_of(client), two_shops["books"], "click_collect")


def test_a_relay_point_must_be_one_of_the_shops(client: Client) -> None:
    point, stranger = RelayPointFactory(), RelayPointFactory()
    shop = ShopFactory(relay=True, click_collect=False, local_delivery=False, relay_points=[point])
    product = ProductFactory(shop=shop)
    db.session.commit()
    shop_id, point_id, stranger_id = shop.id, shop.relay_points[0].id, stranger.id
    add(client, product.variants[0].id, 1)
    cart = cart_of(client)
    with pytest.raises(services.CartError, match="points relais de la boutique"):
        services.choose_delivery(cart, shop_id, "relay", stranger_id)
    services.choose_delivery(cart, shop_id, "relay", point_id)
    assert services.summary(cart).ready


def test_bad_postcodes_are_refused(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 1)
    with pytest.raises(services.CartError, match="5 chiffres"):
        services.set_postcode(cart_of(client), "ABC12")


def test_totals_and_vat_by_rate(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 2)
    add(client, two_shops["novel"], 1)
    cart = cart_of(client)
    first_slot = services.summary(cart).parts[0].slots[0]
    services.choose_delivery(cart, two_shops["baker"], "click_collect", pickup_slot=first_slot.start)
    summary = services.summary(cart)
    # Books ship at 5,90 € (VAT 20 % on the fee); bread and the book carry 5.5 %.
    assert (summary.items_cents, summary.delivery_cents, summary.total_cents, summary.vat, summary.ready) == (
        3300,
        590,
        3890,
        {2000: (590, 98), 550: (3300, 172)},
        True,
    )


def test_no_vat_on_delivery_under_the_franchise(client: Client) -> None:
    shop = ShopFactory(
        vat_regime=VatRegime.FRANCHISE,
        click_collect=False,
        local_delivery=False,
        home_delivery=True,
        home_delivery_fee_cents=500,
    )
    product = ProductFactory(shop=shop, vat_bps=0, variants=[{"price_cents": 1000}])
    add(client, product.variants[0].id, 1)
    assert services.summary(cart_of(client)).vat == {0: (1500, 0)}


def test_a_shop_closed_since_adding_blocks_its_lines(client: Client, two_shops: dict[str, int]) -> None:
    add(client, two_shops["bread"], 1)
    db.session.get(Shop, two_shops["baker"]).status = ShopStatus.SUSPENDED  # type: ignore[union-attr]
    db.session.commit()
    summary = services.summary(cart_of(client))
    assert ("n’est plus en vente" in str(summary.problems[0]), summary.items_cents) == (True, 0)


def test_a_guest_cart_joins_the_account_at_log_in(
    app: Flask, client: Client, two_shops: dict[str, int]
) -> None:
    user = UserFactory(email="camille@example.com")
    user_id = user.id
    account = Cart(user_id=user_id)
    db.session.add(account)
    db.session.flush()
    db.session.add(CartItem(cart=account, variant_id=two_shops["novel"], quantity=2, price_seen_cents=2400))
    db.session.commit()
    add(client, two_shops["bread"], 2)
    add(client, two_shops["novel"], 1)
    response = client.submit("/connexion", {"email": "camille@example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/panier").get_data(as_text=True)
    merged = services.find_cart(db.session.get(User, user_id), None)
    assert (
        sorted((item.variant.product.title, item.quantity) for item in merged.items),  # type: ignore[union-attr]
        "ajustée au stock" in page,
        db.session.scalar(db.select(db.func.count()).select_from(Cart).where(Cart.user_id.is_(None))),
    ) == ([("La Loire à vélo", 2), ("Pain au levain", 2)], True, 0)


def test_the_cart_names_each_shop_as_french_writes_it(client: Client, two_shops: dict[str, int]) -> None:
    page = add(client, two_shops["bread"], 1)
    assert "Choisissez comment recevoir la commande du Fournil." in page
    assert "de Le Fournil" not in page


def test_the_relay_point_list_belongs_to_the_relay_method_and_shows_without_javascript(
    client: Client,
) -> None:
    shop = ShopFactory(
        relay=True, home_delivery=True, local_delivery=False, relay_points=[RelayPointFactory()]
    )
    product = ProductFactory(shop=shop)
    db.session.commit()
    page = add(client, product.variants[0].id, 1)
    group = re.search(
        r"<fieldset class=\"delivery-choice\" data-delivery-choice>(.*?)</fieldset>", page, re.S
    )
    assert group is not None, "site.js finds the delivery choice by data-delivery-choice"
    relay = re.search(
        r'<div class="delivery-choice__detail" data-for-method="relay">(.*?)</div>', group.group(1), re.S
    )
    assert relay is not None
    assert 'name="relay_point"' in relay.group(1)
    slot = re.search(
        r'<div class="delivery-choice__detail" data-for-method="click_collect">(.*?)</div>',
        group.group(1),
        re.S,
    )
    assert slot is not None
    assert 'name="pickup_slot"' in slot.group(1)
    assert " hidden" not in group.group(1)
    assert "disabled>" not in relay.group(1)


def _slot_values(page: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)"[^>]*>[^<]*–', page)


def test_the_cart_page_shows_a_change_of_opening_hours_at_once(
    client: Client, two_shops: dict[str, int]
) -> None:
    page = add(client, two_shops["bread"], 1)
    assert _slot_values(page), "the baker's pickup slots"
    with client.application.app_context():  # as the back office would, in a request
        baker = db.session.get(Shop, two_shops["baker"])
        assert baker is not None
        baker.opening_hours.clear()  # closed every day from now on
        db.session.commit()
    page = client.get("/panier").get_data(as_text=True)
    assert _slot_values(page) == []
    assert 'name="pickup_slot"' not in page


def test_a_slot_from_hours_kept_by_the_process_is_checked_afresh_when_chosen(
    client: Client, two_shops: dict[str, int]
) -> None:
    """Without Redis another process sees a change of hours within a minute: until then its cart page may
    offer a slot that no longer exists, which choosing it refuses."""
    from app import pagecache
    from app.database import utcnow
    from vendors import services as shop_services
    from vendors.hours import TOWN_TZ

    add(client, two_shops["bread"], 1)
    now = utcnow()
    with client.application.app_context():
        before = shop_services.shop_schedules([two_shops["baker"]], now)[two_shops["baker"]]
        baker = db.session.get(Shop, two_shops["baker"])
        assert baker is not None
        baker.opening_hours.clear()
        db.session.commit()
        # What a process that has not heard of the change still holds.
        shop_services.schedule_cache.follow(pagecache.current_generation())
        shop_services.schedule_cache.put(baker.id, (now.astimezone(TOWN_TZ).date(), before))

    page = client.get("/panier").get_data(as_text=True)
    offered = _slot_values(page)
    assert offered, "the kept hours still make slots on the page"
    response = client.submit(
        f"/panier/livraison/{baker.id}",
        {"method": "click_collect", "pickup_slot": offered[0]},
        form_url="/panier",
        follow_redirects=True,
    )
    assert flashes(response.get_data(as_text=True)) == [
        "Aucun créneau de retrait dans les 7 prochains jours."
    ]
    assert cart_of(client).deliveries == [] or all(
        delivery.pickup_slot is None for delivery in cart_of(client).deliveries
    )
