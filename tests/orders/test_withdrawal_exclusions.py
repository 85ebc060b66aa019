"""Goods the law excludes from withdrawal (Code de la consommation, L221-28): the category's default,
the shop's choice, the notice before purchase, the exclusion frozen on the order line, the refused
withdrawal of those lines while the rest of the order can go back, and the model form's address."""

from __future__ import annotations

import html
import io
import re
import uuid

import pytest
from flask import Flask
from pypdf import PdfReader

from app.accounts.models import Address
from app.cart import services as cart
from app.catalog.models import Product, Variant, WithdrawalExclusion
from app.extensions import db
from app.orders import documents
from app.orders import services as orders
from app.orders.models import Order
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.orders.test_lifecycle import CONTACT
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator

PERISHABLE_NOTICE = "Pas de droit de rétractation"


def _product_of(variant_id: int) -> Product:
    variant = db.session.get(Variant, variant_id)
    assert variant is not None
    return variant.product


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    """The bakery's bread is perishable by its category; its tart is not (the shop said so)."""
    made = make_town()
    bread = _product_of(made.bread)
    bread.category.withdrawal_exclusion = WithdrawalExclusion.PERISHABLE
    db.session.commit()
    return made


def _paid(town: Town, contact: orders.Contact = CONTACT) -> Order:
    shopper = town.shopper()
    fill_cart(town, (town.bread, 2), (town.cake, 1))
    shopper_cart = cart.find_cart(shopper, None)
    assert shopper_cart is not None
    order = orders.place_order(shopper, shopper_cart, contact, uuid.uuid4().hex)
    db.session.commit()
    orders.pay(shopper, order.number, "pm_card_visa", "http://127.0.0.1/retour", "first")
    db.session.commit()
    return order


def _delivered(order: Order, town: Town):  # type: ignore[no-untyped-def]
    bakery = part_of(order, town.baker_id)
    orders.accept(bakery)
    orders.ship(bakery, "", "")
    orders.mark_delivered(bakery)
    db.session.commit()
    return bakery


def test_the_product_follows_its_category_unless_the_shop_says_otherwise(town: Town) -> None:
    bread, cake = _product_of(town.bread), _product_of(town.cake)
    assert bread.withdrawal_exclusion is None
    assert bread.withdrawal_exclusion_now == WithdrawalExclusion.PERISHABLE
    assert cake.withdrawal_exclusion_now == WithdrawalExclusion.NONE
    # A sub-category with no default of its own takes its parent's.
    parent = bread.category
    child = type(parent)(slug="pains-speciaux", name="Pains spéciaux", parent=parent, position=99)
    db.session.add(child)
    db.session.flush()
    assert child.default_withdrawal_exclusion == WithdrawalExclusion.PERISHABLE
    # The shop overrides the category: its bread is, say, a personalised cake topper.
    bread.withdrawal_exclusion = WithdrawalExclusion.NONE
    assert bread.withdrawal_exclusion_now == WithdrawalExclusion.NONE


def test_the_manager_sets_a_categorys_default_in_its_form(town: Town, client: Client) -> None:
    from tests.catalog.test_categories import edit, login_manager

    category = _product_of(town.cake).category
    category_id = category.id
    login_manager(client)
    assert 'name="withdrawal_exclusion"' in client.get(f"/gestion/categories/{category_id}").get_data(
        as_text=True
    )
    status, _page = edit(client, category_id, withdrawal_exclusion="hygiene_seal")
    assert status == 302
    db.session.expire_all()
    assert _product_of(town.cake).withdrawal_exclusion_now == WithdrawalExclusion.HYGIENE_SEAL
    status, _page = edit(client, category_id, withdrawal_exclusion="bogus")
    assert status == 200
    db.session.expire_all()
    assert _product_of(town.cake).category.withdrawal_exclusion == WithdrawalExclusion.HYGIENE_SEAL


def test_the_shop_sets_the_exclusion_in_the_product_form(town: Town, client: Client) -> None:
    login(client, town.baker_owner_email)
    cake = _product_of(town.cake)
    url = f"/vendeur/le-fournil/produits/{cake.id}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    assert 'name="withdrawal_exclusion"' in page.get_data(as_text=True)
    form = {
        "title": cake.title,
        "category_id": str(cake.category_id),
        "description": cake.description,
        "attributes": "",
        "gtin": "",
        "vat_bps": "550",
        "status": "active",
        "withdrawal_exclusion": "personalised",
        "variants-0-id": str(town.cake),
        "variants-0-options": "",
        "variants-0-sku": cake.variants[0].sku,
        "variants-0-price": "18,00",
        "variants-0-stock": "2",
        "variants-0-low_stock_threshold": "3",
    }
    response = client.submit(url, form)
    assert response.status_code == 302, _text(response.get_data(as_text=True))[:3000]
    db.session.expire_all()
    assert _product_of(town.cake).withdrawal_exclusion == WithdrawalExclusion.PERSONALISED
    # Back to the category's default.
    response = client.submit(url, {**form, "withdrawal_exclusion": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert _product_of(town.cake).withdrawal_exclusion is None


def test_product_page_cart_and_checkout_say_so_before_purchase(town: Town, client: Client) -> None:
    bread, cake = _product_of(town.bread), _product_of(town.cake)
    page = _text(client.get(f"/produits/{bread.id}").get_data(as_text=True))
    assert 'data-testid="withdrawal-exclusion"' in page
    assert (
        "Pas de droit de rétractation (article L221-28 du Code de la consommation) : bien périssable" in page
    )
    other = client.get(f"/produits/{cake.id}").get_data(as_text=True)
    assert 'data-testid="withdrawal-exclusion"' not in other

    fill_cart(town, (town.bread, 1), (town.cake, 1))
    login(client, "camille@example.com")
    for url in ("/panier", "/commande"):
        page = _text(client.get(url).get_data(as_text=True))
        assert page.count('data-testid="withdrawal-exclusion"') == 1, url  # the bread, not the tart
        assert PERISHABLE_NOTICE in page, url


def test_the_exclusion_is_frozen_on_the_order_line(town: Town) -> None:
    order = _paid(town)
    bakery = part_of(order, town.baker_id)
    frozen = {line.title: line.withdrawal_exclusion for line in bakery.lines}
    assert frozen == {
        "Pain au levain": WithdrawalExclusion.PERISHABLE,
        "Tarte aux pommes": WithdrawalExclusion.NONE,
    }
    _product_of(town.bread).category.withdrawal_exclusion = None  # changed after the sale
    db.session.flush()
    db.session.expire_all()
    assert {line.title: line.withdrawal_exclusion for line in part_of(order, town.baker_id).lines} == frozen


def test_an_excluded_line_is_refused_and_the_rest_allowed(town: Town) -> None:
    bakery = _delivered(_paid(town), town)
    bread = next(line for line in bakery.lines if line.title == "Pain au levain")
    cake = next(line for line in bakery.lines if line.title == "Tarte aux pommes")
    assert orders.returnable(bakery) == {cake.id: 1}
    with pytest.raises(orders.OrderError) as refused:
        orders.request_withdrawal(bakery, {bread.id: "1", cake.id: "1"})
    message = str(refused.value)
    assert "« Pain au levain » ne peut pas faire l’objet d’une rétractation" in message
    assert "bien périssable" in message
    assert not bakery.returns
    request = orders.request_withdrawal(bakery, {cake.id: "1"}, "Pas à mon goût")
    assert [(item.order_line_id, item.quantity) for item in request.lines] == [(cake.id, 1)]


def test_the_withdrawal_page_names_the_excluded_goods_and_refuses_them(town: Town, client: Client) -> None:
    order = _paid(town)
    bakery = _delivered(order, town)
    bread = next(line for line in bakery.lines if line.title == "Pain au levain")
    cake = next(line for line in bakery.lines if line.title == "Tarte aux pommes")
    login(client, "camille@example.com")
    url = f"/commandes/{order.number}/boutique/{bakery.id}/retractation"
    page = _text(client.get(url).get_data(as_text=True))
    assert 'data-testid="withdrawal-excluded"' in page
    assert f'name="quantity-{bread.id}"' not in page
    assert f'name="quantity-{cake.id}"' in page
    response = client.submit(url, {f"quantity-{bread.id}": "2", f"quantity-{cake.id}": "0", "reason": ""})
    assert response.status_code == 200
    assert "ne peut pas faire l’objet d’une rétractation" in _text(response.get_data(as_text=True))
    response = client.submit(url, {f"quantity-{cake.id}": "1", "reason": ""})
    assert response.status_code == 302


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"[\s\u00a0\u202f]+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_the_model_form_carries_the_full_address_and_only_withdrawable_goods(town: Town) -> None:
    bakery = _delivered(_paid(town), town)
    text = _pdf_text(documents.withdrawal_form_pdf(bakery))
    assert "15 rue de la Paix, 37000 Bellerive-sur-Loire, France" in text
    assert "Tarte aux pommes" in text
    assert "Pain au levain" not in text


def test_without_a_delivery_address_the_form_takes_the_shoppers_saved_one(town: Town) -> None:
    shopper = town.shopper()
    db.session.add(
        Address(
            user_id=shopper.id,
            full_name="Camille Martin",
            street="3 quai des Tanneurs",
            postcode="37000",
            city="Bellerive-sur-Loire",
            country="FR",
        )
    )
    db.session.flush()
    order = _paid(town)
    order.street = order.postcode = order.city = ""  # as a click-and-collect order keeps it
    text = _pdf_text(documents.withdrawal_form_pdf(part_of(order, town.baker_id)))
    assert "3 quai des Tanneurs, 37000 Bellerive-sur-Loire, France" in text
