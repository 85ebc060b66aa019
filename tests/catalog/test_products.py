"""The shop's products in its back office (``/vendeur/<slug>/produits``): the product form with its
variants, validation, stock, photos, duplication, bulk actions, the list, and object-level authorization.

Every request goes through the Flask test client against PostgreSQL; the test's transaction is rolled
back at the end. Objects from factories are detached by each request, so tests keep their ids and
read rows back with ``db.session``.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from app.audit.models import AuditEvent
from app.catalog import services
from app.catalog.models import (
    MAX_STOCK,
    Category,
    Product,
    ProductPhoto,
    ProductStatus,
    StockMovement,
    StockReason,
    Variant,
)
from app.database import utcnow
from app.extensions import db
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, owner_of
from tests.plugins.application import Client, jobs
from vendors.models import Shop, VatRegime

SLUG = "la-boussole"
PRODUCTS = f"/vendeur/{SLUG}/produits"
NEW = f"{PRODUCTS}/nouveau"


# -- helpers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    shop_id: int
    user_id: int
    slug: str

    @property
    def shop(self) -> Shop:
        shop = db.session.get(Shop, self.shop_id)
        assert shop is not None
        return shop


def login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def text(page: str) -> str:
    """The page with the narrow and non-breaking spaces of French formatting made plain."""
    return page.replace("\u00a0", " ").replace("\u202f", " ")


def field_errors(page: str, field_id: str) -> list[str]:
    """The messages shown next to a field (``<ul class="field__errors" id="<field>-error">``)."""
    found = re.search(rf'<ul class="field__errors" id="{re.escape(field_id)}-error">(.*?)</ul>', page, re.S)
    if found is None:
        return []
    return [html.unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def all_field_errors(page: str) -> dict[str, list[str]]:
    return {
        field_id: field_errors(page, field_id)
        for field_id in re.findall(r'<ul class="field__errors" id="([^"]+)-error">', page)
    }


def flashes(page: str) -> list[str]:
    return [
        html.unescape(message).strip()
        for message in re.findall(r'<p class="flash flash--\w+">(.*?)</p>', page, re.S)
    ]


def input_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if found is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else ""


def variant_row(
    sku: str, price: str = "12,50", stock: str = "5", options: str = "", **extra: str
) -> dict[str, str]:
    """One row of the variants table as the browser sends it (``id`` empty for a new row)."""
    return {
        "id": "",
        "options": options,
        "sku": sku,
        "price": price,
        "compare_at": "",
        "stock": stock,
        "low_stock_threshold": "3",
        "weight_grams": "",
        **extra,
    }


def product_form(category_id: int, *rows: dict[str, str], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Carnet de voyage",
        "category_id": str(category_id),
        "vat_bps": "2000",
        "description": "Papier 120 g, reliure cousue main.",
        "attributes": "origine : Tours\nlabels : recyclé, local",
        "gtin": "",
        "status": "draft",
    }
    for index, row in enumerate(rows):
        data.update({f"variants-{index}-{name}": value for name, value in row.items()})
    data.update(fields)
    return data


def two_variants(category_id: int, stocks: tuple[str, str] = ("5", "2"), **fields: Any) -> dict[str, Any]:
    return product_form(
        category_id,
        variant_row("CARN-A5", "12,50", stocks[0], "format : A5 ; couleur : bleu"),
        variant_row("CARN-A4", "15", stocks[1], "format : A4"),
        **fields,
    )


NO_STOCK = ("0", "0")  # for tests about something else than stock
CHOICE_REFUSED = "N'est pas un choix valide."  # WTForms' message for a value the select does not offer


def png(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (40, 90, 160)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def shop_products(shop_id: int) -> list[Product]:
    return list(db.session.scalars(sa.select(Product).where(Product.shop_id == shop_id).order_by(Product.id)))


def movements(variant_id: int) -> list[StockMovement]:
    return list(
        db.session.scalars(
            sa.select(StockMovement).where(StockMovement.variant_id == variant_id).order_by(StockMovement.id)
        )
    )


def fresh(model: type[Any], row_id: int) -> Any:
    """The row as the database has it now."""
    db.session.expire_all()
    row = db.session.get(model, row_id)
    assert row is not None, f"{model.__name__} {row_id} is gone"
    return row


def media_file(app: Flask, relative: str) -> Path:
    return Path(app.config["MEDIA_DIR"]) / relative


@pytest.fixture
def owner(client: Client) -> Owner:
    """La Boussole, an approved shop of the town, its owner logged in."""
    member = owner_of(ShopFactory(slug=SLUG, name="La Boussole"), email="owner@example.com")
    found = Owner(member.shop_id, member.user_id, SLUG)
    login(client, "owner@example.com")
    return found


@pytest.fixture
def category_id(client: Client) -> int:
    return int(CategoryFactory(slug="papeterie", name="Papeterie").id)


def make_product(owner: Owner, category_id: int | None = None, **fields: Any) -> Product:
    category = db.session.get(Category, category_id) if category_id else CategoryFactory()
    return ProductFactory(shop=owner.shop, category=category, **fields)


# -- creating -------------------------------------------------------------------------------------


def test_the_new_product_form_adds_a_variant_row_without_saving(
    client: Client, owner: Owner, category_id: int
) -> None:
    page = client.get(NEW).get_data(as_text=True)
    assert input_value(page, "variants-0-sku") == ""
    assert input_value(page, "variants-1-sku") is None
    assert "Ajouter une déclinaison" in page

    typed = product_form(category_id, variant_row("CARN-A5", "12,50", "5", "format : A5"), add_variant="y")
    response = client.submit(NEW, typed)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # What was typed is kept, and an empty second row is there to fill.
    assert input_value(page, "variants-0-sku") == "CARN-A5"
    assert input_value(page, "variants-0-price") == "12,50"
    assert input_value(page, "variants-1-sku") == ""
    assert input_value(page, "variants-2-sku") is None
    assert "Déclinaison 2" in page
    assert all_field_errors(page) == {}, "adding a row is not a validation"
    assert shop_products(owner.shop_id) == []

    # Once more: a third row.
    typed = product_form(category_id, variant_row("CARN-A5"), variant_row("CARN-A4", "15"), add_variant="y")
    page = client.submit(NEW, typed).get_data(as_text=True)
    assert input_value(page, "variants-1-sku") == "CARN-A4"
    assert input_value(page, "variants-2-sku") == ""
    assert shop_products(owner.shop_id) == []


def test_a_product_is_created_with_two_variants_and_its_initial_stock_recorded(
    client: Client, owner: Owner, category_id: int
) -> None:
    response = client.submit(NEW, two_variants(category_id, gtin="978-2-01-609952-0"))
    assert response.status_code == 302
    [product] = shop_products(owner.shop_id)
    assert response.headers["Location"].endswith(f"{PRODUCTS}/{product.id}")
    assert product.title == "Carnet de voyage"
    assert product.category_id == category_id
    assert product.vat_bps == 2000
    assert product.status == ProductStatus.DRAFT
    assert product.gtin == "9782016099520"
    assert product.description == "Papier 120 g, reliure cousue main."
    assert product.attributes == {"origine": "Tours", "labels": ["recyclé", "local"]}
    a5, a4 = product.variants
    assert (a5.sku, a5.price_cents, a5.stock, a5.options) == (
        "CARN-A5",
        1250,
        5,
        {"format": "A5", "couleur": "bleu"},
    )
    assert (a4.sku, a4.price_cents, a4.stock, a4.options) == ("CARN-A4", 1500, 2, {"format": "A4"})
    assert (a5.position, a4.position) == (0, 1)
    assert a5.shop_id == a4.shop_id == owner.shop_id
    for variant, quantity in ((a5, 5), (a4, 2)):
        [movement] = movements(variant.id)
        assert (movement.delta, movement.stock_after) == (quantity, quantity)
        assert movement.reason == StockReason.ADJUSTMENT
        assert movement.actor_id == owner.user_id
    created = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.subject_type == "product", AuditEvent.subject_id == product.id)
    )
    assert created is not None
    assert created.action == "created"
    assert created.actor_id == owner.user_id

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Produit enregistré." in flashes(page)
    assert input_value(page, "variants-0-price") == "12,50"
    assert input_value(page, "variants-1-price") == "15,00"


def test_a_variant_without_stock_records_no_movement(client: Client, owner: Owner, category_id: int) -> None:
    response = client.submit(NEW, product_form(category_id, variant_row("CARN-A5", stock="0")))
    assert response.status_code == 302
    [product] = shop_products(owner.shop_id)
    assert product.variants[0].stock == 0
    assert movements(product.variants[0].id) == []


# -- editing --------------------------------------------------------------------------------------


def _two_variant_product(owner: Owner, category_id: int) -> tuple[int, int, int]:
    product = make_product(
        owner,
        category_id,
        title="Carnet de voyage",
        draft=True,
        variants=[
            {"sku": "CARN-A5", "price_cents": 1250, "stock": 5, "options": {"format": "A5"}},
            {"sku": "CARN-A4", "price_cents": 1500, "stock": 2, "options": {"format": "A4"}},
        ],
    )
    return product.id, product.variants[0].id, product.variants[1].id


def test_the_edit_form_shows_the_product_and_its_variants(
    client: Client, owner: Owner, category_id: int
) -> None:
    product_id, a5_id, a4_id = _two_variant_product(owner, category_id)
    page = client.get(f"{PRODUCTS}/{product_id}").get_data(as_text=True)
    assert input_value(page, "title") == "Carnet de voyage"
    assert input_value(page, "variants-0-id") == str(a5_id)
    assert input_value(page, "variants-1-id") == str(a4_id)
    assert input_value(page, "variants-0-sku") == "CARN-A5"
    assert input_value(page, "variants-0-price") == "12,50"
    assert input_value(page, "variants-0-options") == "format : A5"
    # The stock of a saved variant is shown, with a link to adjust it, not typed here.
    assert f"{PRODUCTS}/{product_id}/stock" in page
    stock_input = re.search(r'<input[^>]*name="variants-0-stock"[^>]*>', page)
    assert stock_input is not None
    assert 'type="hidden"' in stock_input.group(0)
    assert 'name="variants-1-remove"' in page


def test_editing_changes_prices_and_options_and_removes_a_variant(
    client: Client, owner: Owner, category_id: int
) -> None:
    product_id, a5_id, a4_id = _two_variant_product(owner, category_id)
    form = product_form(
        category_id,
        variant_row(
            "CARN-A5", "13,90", "99", "format : A5 ; couleur : rouge", id=str(a5_id), compare_at="16,00"
        ),
        variant_row("CARN-A4", "15,00", "2", "format : A4", id=str(a4_id), remove="y"),
        title="Carnet de voyage relié",
    )
    response = client.submit(f"{PRODUCTS}/{product_id}", form)
    assert response.status_code == 302
    product = fresh(Product, product_id)
    assert product.title == "Carnet de voyage relié"
    [a5] = product.variants
    assert a5.id == a5_id
    assert a5.price_cents == 1390
    assert a5.compare_at_cents == 1600
    assert a5.options == {"format": "A5", "couleur": "rouge"}
    assert a5.stock == 5, "the stock typed in the product form is ignored for a saved variant"
    assert movements(a5_id) == []
    assert db.session.get(Variant, a4_id) is None
    # The removed SKU is free again.
    assert services._sku_owner(fresh(Shop, owner.shop_id), "CARN-A4") is None


@pytest.mark.parametrize("given", [None, "١٢", "9" * 40])
def test_a_variant_row_posted_without_a_readable_id_is_saved_not_an_error(
    client: Client, owner: Owner, category_id: int, given: str | None
) -> None:
    """The hidden id left out (the form then keeps the number it was filled with) or replaced by text
    that is no id: the row is read as the form has it, never a 500."""
    product_id, a5_id, a4_id = _two_variant_product(owner, category_id)
    rows = [
        variant_row("CARN-A5", "13,90", id=str(a5_id)),
        variant_row("CARN-A4", "15,00", "2", id=str(a4_id)),
    ]
    if given is None:
        del rows[0]["id"]
    else:
        rows[0]["id"] = given
    response = client.submit(f"{PRODUCTS}/{product_id}", product_form(category_id, *rows))
    assert response.status_code in (200, 302), response.status_code
    product = fresh(Product, product_id)
    assert sorted(variant.sku for variant in product.variants) == ["CARN-A4", "CARN-A5"]
    assert fresh(Variant, a5_id).price_cents == 1390  # the same SKU, re-entered: an update


def test_removing_every_variant_is_refused(client: Client, owner: Owner, category_id: int) -> None:
    product_id, a5_id, a4_id = _two_variant_product(owner, category_id)
    form = product_form(
        category_id,
        variant_row("CARN-A5", id=str(a5_id), remove="y"),
        variant_row("CARN-A4", id=str(a4_id), remove="y"),
    )
    response = client.submit(f"{PRODUCTS}/{product_id}", form)
    assert response.status_code == 200
    assert "Un produit a au moins une déclinaison, avec son prix." in html.unescape(
        response.get_data(as_text=True)
    )
    assert [variant.id for variant in fresh(Product, product_id).variants] == [a5_id, a4_id]


def test_stock_changes_through_the_stock_page_with_its_history(
    client: Client, owner: Owner, category_id: int
) -> None:
    product_id, a5_id, _ = _two_variant_product(owner, category_id)
    stock_url = f"{PRODUCTS}/{product_id}/stock"
    response = client.submit(
        stock_url, {"variant_id": str(a5_id), "delta": "10", "note": "Livraison du fournisseur"}
    )
    assert response.status_code == 302
    assert fresh(Variant, a5_id).stock == 15
    response = client.submit(stock_url, {"variant_id": str(a5_id), "delta": "-3", "note": "Casse"})
    assert response.status_code == 302
    assert "Stock mis à jour : 12 en stock." in flashes(
        client.get(response.headers["Location"]).get_data(as_text=True)
    )
    assert fresh(Variant, a5_id).stock == 12
    received, broken = movements(a5_id)
    assert (received.delta, received.stock_after, received.note) == (10, 15, "Livraison du fournisseur")
    assert (broken.delta, broken.stock_after, broken.note) == (-3, 12, "Casse")
    assert received.reason == broken.reason == StockReason.ADJUSTMENT
    assert received.actor_id == owner.user_id

    page = text(html.unescape(client.get(stock_url).get_data(as_text=True)))
    assert "12 en stock" in page
    assert "+10</strong> → 15" in page
    assert "-3</strong> → 12" in page
    assert page.index("Casse") < page.index("Livraison du fournisseur"), "newest first"


@pytest.mark.parametrize(
    ("delta", "note", "field", "message"),
    [
        ("-6", "Inventaire", "delta", "Le stock ne peut pas devenir négatif."),
        ("0", "Inventaire", "delta", "Indiquez une quantité à ajouter ou à retirer."),
        ("4", "", "note", "Indiquez la raison de l’ajustement."),
    ],
    ids=["below-zero", "zero", "no-reason"],
)
def test_a_stock_adjustment_is_refused_and_nothing_changes(
    client: Client, owner: Owner, category_id: int, delta: str, note: str, field: str, message: str
) -> None:
    product_id, a5_id, _ = _two_variant_product(owner, category_id)
    response = client.submit(
        f"{PRODUCTS}/{product_id}/stock", {"variant_id": str(a5_id), "delta": delta, "note": note}
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), field) == [message]
    assert fresh(Variant, a5_id).stock == 5
    assert movements(a5_id) == []


def test_a_stock_beyond_a_million_units_is_refused_and_nothing_changes(
    client: Client, owner: Owner, category_id: int
) -> None:
    """The column holds 2³¹ units: far beyond it, a typo; refused before the database would overflow."""
    product_id, a5_id, _ = _two_variant_product(owner, category_id)
    db.session.execute(sa.update(Variant).where(Variant.id == a5_id).values(stock=MAX_STOCK - 2))
    db.session.commit()
    url = f"{PRODUCTS}/{product_id}/stock"
    response = client.submit(url, {"variant_id": str(a5_id), "delta": "3", "note": "Livraison"})
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "delta") == [
        f"Le stock ne peut pas dépasser {MAX_STOCK} unités."
    ]
    assert fresh(Variant, a5_id).stock == MAX_STOCK - 2
    assert movements(a5_id) == []
    assert (
        client.submit(url, {"variant_id": str(a5_id), "delta": "2", "note": "Livraison"}).status_code == 302
    )
    assert fresh(Variant, a5_id).stock == MAX_STOCK
    assert services.move_stock(None, a5_id, -1, StockReason.SALE) == MAX_STOCK - 1
    # A release or a return puts back what was there, whatever the ceiling.
    assert services.move_stock(None, a5_id, 2, StockReason.RELEASE) == MAX_STOCK + 1


# -- bad input ------------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param(
        {"variants-0-price": "0"}, "variants-0-price", "Le prix doit être supérieur à zéro.", id="price-zero"
    ),
    pytest.param(
        {"variants-1-price": "-3,00"},
        "variants-1-price",
        "Le montant ne peut pas être négatif.",
        id="price-negative",
    ),
    pytest.param(
        {"variants-0-stock": "-1"},
        "variants-0-stock",
        "Le stock ne peut pas être négatif.",
        id="stock-negative",
    ),
    pytest.param(
        {"variants-0-compare_at": "12,50"},
        "variants-0-compare_at",
        "Le prix barré doit dépasser le prix de vente.",
        id="compare-at-equal",
    ),
    pytest.param(
        {"variants-1-compare_at": "9,90"},
        "variants-1-compare_at",
        "Le prix barré doit dépasser le prix de vente.",
        id="compare-at-below",
    ),
    pytest.param(
        {"gtin": "9782016099521"},
        "gtin",
        "Ce code EAN/ISBN n’est pas valide (clé de contrôle).",
        id="gtin-check-digit",
    ),
    pytest.param(
        {"gtin": "2070612881"},
        "gtin",
        "Ce code EAN/ISBN n’est pas valide (clé de contrôle).",
        id="isbn10-check-digit",
    ),
    pytest.param(
        {"variants-1-sku": "carn-a5"}, "variants-1-sku", "Ce SKU apparaît deux fois.", id="same-sku-twice"
    ),
    pytest.param({"title": "x" * 201}, "title", "200 caractères au plus.", id="title-201"),
]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"title": "x" * 201}, id="form-check"),
        pytest.param({"variants-0-price": "0"}, id="service-check-in-a-variant-row"),
    ],
)
def test_a_refusal_is_announced_at_the_top_of_the_form(
    client: Client, owner: Owner, category_id: int, overrides: dict[str, str]
) -> None:
    page = client.submit(NEW, two_variants(category_id, **overrides)).get_data(as_text=True)
    assert all_field_errors(page), "refused next to a field"
    assert re.search(
        r'<div class="form-errors" role="alert"><p>Corrigez les champs signalés ci-dessous.</p>',
        html.unescape(page),
    )


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_saved(
    client: Client, owner: Owner, category_id: int, overrides: dict[str, str], field: str, message: str
) -> None:
    response = client.submit(NEW, two_variants(category_id, **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert all_field_errors(page) == {field: [message]}
    # What was typed comes back, to correct it.
    assert input_value(page, "variants-0-sku") == "CARN-A5"
    assert shop_products(owner.shop_id) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Variant)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 0


def test_a_title_of_200_characters_is_accepted(client: Client, owner: Owner, category_id: int) -> None:
    assert client.submit(NEW, two_variants(category_id, NO_STOCK, title="x" * 200)).status_code == 302
    assert shop_products(owner.shop_id)[0].title == "x" * 200


def test_a_sku_of_another_product_of_the_shop_is_refused(
    client: Client, owner: Owner, category_id: int
) -> None:
    other = make_product(owner, category_id, title="Carnet ancien", variants=[{"sku": "CARN-A5", "stock": 3}])
    other_id, other_variant_id = other.id, other.variants[0].id
    response = client.submit(NEW, two_variants(category_id, NO_STOCK, **{"variants-0-sku": "carn-a5"}))
    assert response.status_code == 200
    assert all_field_errors(response.get_data(as_text=True)) == {
        "variants-0-sku": ["Le SKU carn-a5 est déjà utilisé par un autre produit de la boutique."]
    }
    assert [product.id for product in shop_products(owner.shop_id)] == [other_id]
    variant = fresh(Variant, other_variant_id)
    assert (variant.product_id, variant.sku, variant.stock) == (other_id, "CARN-A5", 3)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 0


def test_a_sku_of_another_product_is_refused_when_editing_too(
    client: Client, owner: Owner, category_id: int
) -> None:
    make_product(owner, category_id, variants=[{"sku": "STY-1"}])
    product_id, a5_id, a4_id = _two_variant_product(owner, category_id)
    form = product_form(
        category_id,
        variant_row("CARN-A5", "99,00", id=str(a5_id)),
        variant_row("STY-1", id=str(a4_id)),
    )
    response = client.submit(f"{PRODUCTS}/{product_id}", form)
    assert all_field_errors(response.get_data(as_text=True)) == {
        "variants-1-sku": ["Le SKU STY-1 est déjà utilisé par un autre produit de la boutique."]
    }
    product = fresh(Product, product_id)
    assert [(variant.sku, variant.price_cents) for variant in product.variants] == [
        ("CARN-A5", 1250),
        ("CARN-A4", 1500),
    ]


def test_a_shop_under_the_vat_franchise_may_only_use_a_zero_rate(client: Client, category_id: int) -> None:
    member = owner_of(
        ShopFactory(slug="atelier", vat_regime=VatRegime.FRANCHISE, vat_number=""),
        email="atelier@example.com",
    )
    shop_id = member.shop_id
    login(client, "atelier@example.com")
    new = "/vendeur/atelier/produits/nouveau"
    assert re.findall(
        r'<option[^>]*value="(\d+)"',
        client.get(new).get_data(as_text=True).split('id="vat_bps"')[1].split("</select>")[0],
    ) == ["0"]
    for rate in ("550", "2000"):
        response = client.submit(new, two_variants(category_id, NO_STOCK, vat_bps=rate))
        assert response.status_code == 200
        # The select only offers 0 %, so WTForms refuses the value before the service would.
        [error] = all_field_errors(response.get_data(as_text=True))["vat_bps"]
        assert error in {CHOICE_REFUSED, "Ce taux de TVA ne s’applique pas à votre boutique."}
    assert shop_products(shop_id) == []
    assert client.submit(new, two_variants(category_id, NO_STOCK, vat_bps="0")).status_code == 302
    assert shop_products(shop_id)[0].vat_bps == 0


def test_a_vat_rate_of_another_country_is_refused(client: Client, owner: Owner, category_id: int) -> None:
    page = client.get(NEW).get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="(\d+)"', page.split('id="vat_bps"')[1].split("</select>")[0])
    assert offered == ["2000", "1000", "550", "210"]
    response = client.submit(NEW, two_variants(category_id, NO_STOCK, vat_bps="2100"))  # Belgian 21 %
    assert response.status_code == 200
    [error] = all_field_errors(response.get_data(as_text=True))["vat_bps"]
    assert error in {CHOICE_REFUSED, "Ce taux de TVA ne s’applique pas à votre boutique."}
    assert shop_products(owner.shop_id) == []


def test_an_archived_category_cannot_be_chosen(client: Client, owner: Owner, category_id: int) -> None:
    archived = CategoryFactory(slug="ancienne", name="Ancienne catégorie", archived_at=utcnow())
    archived_id = archived.id
    page = client.get(NEW).get_data(as_text=True)
    assert "Papeterie" in page
    assert "Ancienne catégorie" not in page
    for chosen in (archived_id, 0):
        response = client.submit(NEW, two_variants(chosen, NO_STOCK))
        assert response.status_code == 200
        [error] = all_field_errors(response.get_data(as_text=True))["category_id"]
        assert error in {CHOICE_REFUSED, "Choisissez une catégorie."}
    assert shop_products(owner.shop_id) == []


def test_a_gtin_is_checked_and_an_isbn10_stored_as_its_ean13(
    client: Client, owner: Owner, category_id: int
) -> None:
    assert client.submit(NEW, two_variants(category_id, NO_STOCK, gtin="9782016099520")).status_code == 302
    form = product_form(
        category_id, variant_row("LIV-1", stock="0"), title="Le Petit Prince", gtin="2-07-061288-0"
    )
    assert client.submit(NEW, form).status_code == 302
    carnet, book = shop_products(owner.shop_id)
    assert carnet.gtin == "9782016099520"
    assert book.gtin == "9782070612888"


def test_a_sku_may_repeat_across_shops(client: Client, owner: Owner, category_id: int) -> None:
    elsewhere = ProductFactory(shop=ShopFactory(slug="autre-boutique"), variants=[{"sku": "CARN-A5"}])
    elsewhere_variant_id = elsewhere.variants[0].id
    assert client.submit(NEW, two_variants(category_id, NO_STOCK)).status_code == 302
    [product] = shop_products(owner.shop_id)
    assert product.variants[0].sku == "CARN-A5"
    assert product.variants[0].id != elsewhere_variant_id
    assert fresh(Variant, elsewhere_variant_id).sku == "CARN-A5"


# -- photos ---------------------------------------------------------------------------------------


def upload(client: Client, product_id: int, photo: io.BytesIO, filename: str, alt: str) -> Any:
    return client.submit(
        f"{PRODUCTS}/{product_id}/photos",
        {"photo": (photo, filename), "alt": alt},
        form_url=f"{PRODUCTS}/{product_id}",
    )


def stored_files(app: Flask) -> set[Path]:
    return set(media_file(app, "products").rglob("*.webp"))


def photos_of(product_id: int) -> list[ProductPhoto]:
    return list(fresh(Product, product_id).photos)


def test_a_photo_is_uploaded_with_its_description(
    app: Flask, client: Client, owner: Owner, category_id: int
) -> None:
    product_id = make_product(owner, category_id).id
    response = upload(client, product_id, png(640, 480), "carnet.png", "Carnet bleu ouvert sur une table")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PRODUCTS}/{product_id}#photos")
    [photo] = photos_of(product_id)
    assert photo.alt == "Carnet bleu ouvert sur une table"
    assert (photo.width, photo.height, photo.position) == (640, 480, 0)
    assert photo.path.startswith("products/")
    assert photo.path.endswith(".webp")
    assert set(photo.thumbnails) == {"thumb", "card"}
    for relative in (photo.path, *photo.thumbnails.values()):
        assert media_file(app, relative).is_file(), relative
    with Image.open(media_file(app, photo.thumbnails["thumb"])) as thumb:
        assert thumb.size == (400, 400)

    page = client.get(f"{PRODUCTS}/{product_id}").get_data(as_text=True)
    assert "Photo ajoutée." in flashes(page)
    assert 'alt="Carnet bleu ouvert sur une table"' in page
    with client.get(f"/media/{photo.path}") as served:
        assert served.status_code == 200


def test_a_photo_without_description_takes_the_product_title(
    client: Client, owner: Owner, category_id: int
) -> None:
    product_id = make_product(owner, category_id, title="Stylo plume").id
    assert upload(client, product_id, png(), "stylo.png", "").status_code == 302
    assert photos_of(product_id)[0].alt == "Stylo plume"


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"%PDF-1.4 this is an invoice, not a photo", "facture.png", "Ce fichier n’est pas une image."),
        (None, "minuscule.png", "Cette image est trop petite."),
    ],
    ids=["not-an-image", "too-small"],
)
def test_an_upload_that_is_not_a_usable_photo_is_refused(
    app: Flask,
    client: Client,
    owner: Owner,
    category_id: int,
    content: bytes | None,
    filename: str,
    message: str,
) -> None:
    product_id = make_product(owner, category_id).id
    stored_before = stored_files(app)
    stream = io.BytesIO(content) if content is not None else png(120, 120)
    response = upload(client, product_id, stream, filename, "Une photo")
    assert response.status_code == 302
    assert message in flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert photos_of(product_id) == []
    assert stored_files(app) == stored_before, "nothing written"


def test_no_file_is_refused(client: Client, owner: Owner, category_id: int) -> None:
    product_id = make_product(owner, category_id).id
    response = client.submit(
        f"{PRODUCTS}/{product_id}/photos", {"alt": "Rien"}, form_url=f"{PRODUCTS}/{product_id}"
    )
    assert "Choisissez une photo." in flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert photos_of(product_id) == []


def test_photos_are_reordered_described_and_removed_and_files_go_after_the_job(
    app: Flask, client: Client, owner: Owner, category_id: int
) -> None:
    product_id = make_product(owner, category_id, title="Carnet").id
    upload(client, product_id, png(colour=(200, 40, 40)), "rouge.png", "Couverture rouge")
    upload(client, product_id, png(colour=(40, 200, 40)), "vert.png", "Couverture verte")
    red, green = photos_of(product_id)
    red_id, green_id = red.id, green.id
    red_files = [media_file(app, relative) for relative in (red.path, *red.thumbnails.values())]
    green_files = [media_file(app, relative) for relative in (green.path, *green.thumbnails.values())]
    order_url = f"{PRODUCTS}/{product_id}/photos/ordre"

    # The browser sends the photos form of the edit page: position, description and "remove" of each.
    response = client.submit(
        order_url,
        {
            f"position-{red_id}": "1",
            f"position-{green_id}": "0",
            f"alt-{red_id}": "Couverture rouge, vue de dos",
            f"alt-{green_id}": "Couverture verte",
        },
        form_url=f"{PRODUCTS}/{product_id}",
    )
    assert response.status_code == 302
    assert [(photo.id, photo.position) for photo in photos_of(product_id)] == [(green_id, 0), (red_id, 1)]
    assert fresh(ProductPhoto, red_id).alt == "Couverture rouge, vue de dos"
    assert "Photos enregistrées." in flashes(client.get(response.headers["Location"]).get_data(as_text=True))

    jobs(app).jobs.clear()
    response = client.submit(
        order_url,
        {f"position-{red_id}": "1", f"position-{green_id}": "0", "remove": str(red_id)},
        form_url=f"{PRODUCTS}/{product_id}",
    )
    assert response.status_code == 302
    assert [photo.id for photo in photos_of(product_id)] == [green_id]
    assert db.session.get(ProductPhoto, red_id) is None
    assert all(path.is_file() for path in red_files), "files stay until the job runs, after the commit"
    with app.app_context():
        assert jobs(app).run_all(queues=("default",)) == 1
    assert not any(path.exists() for path in red_files)
    assert all(path.is_file() for path in green_files)


# -- duplicate ------------------------------------------------------------------------------------


def test_duplicate_makes_a_draft_copy_with_new_skus_no_stock_and_its_own_photos(
    app: Flask, client: Client, owner: Owner, category_id: int
) -> None:
    product_id, a5_id, _ = _two_variant_product(owner, category_id)
    fresh(Product, product_id).gtin = "9782016099520"
    db.session.commit()
    upload(client, product_id, png(), "carnet.png", "Carnet ouvert")
    [original_photo] = photos_of(product_id)
    original_files = (original_photo.path, dict(original_photo.thumbnails))

    response = client.submit(f"{PRODUCTS}/{product_id}/dupliquer", {}, form_url=f"{PRODUCTS}/{product_id}")
    assert response.status_code == 302
    copy = next(product for product in shop_products(owner.shop_id) if product.id != product_id)
    assert response.headers["Location"].endswith(f"{PRODUCTS}/{copy.id}")
    assert copy.status == ProductStatus.DRAFT
    assert copy.title == "Carnet de voyage (copie)"
    assert (copy.category_id, copy.vat_bps, copy.gtin) == (category_id, 2000, "9782016099520")
    assert [(v.sku, v.price_cents, v.stock, v.options) for v in copy.variants] == [
        ("CARN-A5-C2", 1250, 0, {"format": "A5"}),
        ("CARN-A4-C2", 1500, 0, {"format": "A4"}),
    ]
    [copied_photo] = copy.photos
    assert copied_photo.alt == "Carnet ouvert"
    assert copied_photo.path != original_photo.path
    assert set(copied_photo.thumbnails) == set(original_photo.thumbnails)
    for name, relative in copied_photo.thumbnails.items():
        assert relative != original_photo.thumbnails[name]
    for relative in (copied_photo.path, *copied_photo.thumbnails.values()):
        assert media_file(app, relative).is_file()
    assert (
        media_file(app, copied_photo.path).read_bytes() == media_file(app, original_photo.path).read_bytes()
    )
    assert "Copie créée en brouillon" in " ".join(
        flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    )

    # The original is untouched; a second copy takes the next free suffix.
    original = fresh(Product, product_id)
    assert [v.sku for v in original.variants] == ["CARN-A5", "CARN-A4"]
    assert fresh(Variant, a5_id).stock == 5
    assert (original.photos[0].path, original.photos[0].thumbnails) == original_files
    client.submit(f"{PRODUCTS}/{product_id}/dupliquer", {}, form_url=f"{PRODUCTS}/{product_id}")
    skus = {v.sku for product in shop_products(owner.shop_id) for v in product.variants}
    assert {"CARN-A5-C3", "CARN-A4-C3"} <= skus


# -- the list and its bulk actions ----------------------------------------------------------------


def bulk(client: Client, product_ids: list[int], action: str, **extra: str) -> str:
    response = client.submit(
        f"{PRODUCTS}/lot",
        {"product_ids": [str(product_id) for product_id in product_ids], "action": action, **extra},
        form_url=PRODUCTS,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert response.request.path == PRODUCTS
    return response.get_data(as_text=True)


def statuses(product_ids: list[int]) -> list[ProductStatus]:
    return [fresh(Product, product_id).status for product_id in product_ids]


def test_bulk_actions_change_the_status_of_the_selected_products(
    client: Client, owner: Owner, category_id: int
) -> None:
    ids = [make_product(owner, category_id, draft=True).id for _ in range(3)]
    chosen = ids[:2]
    assert "2 produits modifiés." in flashes(bulk(client, chosen, "active"))
    assert statuses(ids) == [ProductStatus.ACTIVE, ProductStatus.ACTIVE, ProductStatus.DRAFT]
    assert "2 produits modifiés." in flashes(bulk(client, chosen, "archived"))
    assert statuses(ids) == [ProductStatus.ARCHIVED, ProductStatus.ARCHIVED, ProductStatus.DRAFT]
    assert "2 produits modifiés." in flashes(bulk(client, chosen, "draft"))
    assert statuses(ids) == [ProductStatus.DRAFT] * 3
    assert "Cochez au moins un produit." in flashes(bulk(client, [], "active"))
    assert statuses(ids) == [ProductStatus.DRAFT] * 3


def test_a_product_without_variants_cannot_be_put_online(
    client: Client, owner: Owner, category_id: int
) -> None:
    empty = make_product(owner, category_id, title="Sans prix", draft=True, variants=[]).id
    other = make_product(owner, category_id, draft=True).id
    page = html.unescape(bulk(client, [empty, other], "active"))
    assert "« Sans prix » n’a pas de prix : il ne peut pas être mis en ligne." in flashes(page)
    assert statuses([empty, other]) == [ProductStatus.DRAFT, ProductStatus.DRAFT]


def test_bulk_stock_adjusts_every_variant_of_the_selected_products(
    client: Client, owner: Owner, category_id: int
) -> None:
    first = make_product(owner, category_id, variants=[{"stock": 5}, {"stock": 0}])
    second = make_product(owner, category_id, variants=[{"stock": 2}])
    untouched = make_product(owner, category_id, variants=[{"stock": 7}])
    variant_ids = [variant.id for product in (first, second) for variant in product.variants]
    untouched_variant = untouched.variants[0].id
    product_ids = [first.id, second.id]

    page = bulk(client, product_ids, "stock", delta="4", note="Réception fournisseur")
    assert "Stock ajusté pour 3 déclinaisons." in flashes(page)
    assert [fresh(Variant, variant_id).stock for variant_id in variant_ids] == [9, 4, 6]
    assert fresh(Variant, untouched_variant).stock == 7
    for variant_id, after in zip(variant_ids, [9, 4, 6], strict=True):
        [movement] = movements(variant_id)
        assert (movement.delta, movement.stock_after, movement.note) == (4, after, "Réception fournisseur")
        assert movement.reason == StockReason.ADJUSTMENT

    # -5 would take the second variant below zero: nothing changes at all.
    page = html.unescape(bulk(client, product_ids, "stock", delta="-5", note="Inventaire"))
    assert "Le stock ne peut pas devenir négatif." in flashes(page)
    assert [fresh(Variant, variant_id).stock for variant_id in variant_ids] == [9, 4, 6]
    assert all(len(movements(variant_id)) == 1 for variant_id in variant_ids)

    page = html.unescape(bulk(client, product_ids, "stock", delta="2", note=""))
    assert "Indiquez la raison de l’ajustement." in flashes(page)
    page = html.unescape(bulk(client, product_ids, "stock", delta="", note="Inventaire"))
    assert "Indiquez une quantité à ajouter ou à retirer." in flashes(page)
    assert [fresh(Variant, variant_id).stock for variant_id in variant_ids] == [9, 4, 6]


def test_the_product_limit_refuses_activating_one_more(
    client: Client, owner: Owner, category_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "product_limit", lambda shop: 1)
    online = make_product(owner, category_id, title="Déjà en ligne").id
    second = make_product(owner, category_id, title="Deuxième", draft=True, variants=[{"sku": "DEUX-1"}]).id
    third = make_product(owner, category_id, title="Troisième", draft=True).id
    page = text(html.unescape(client.get(PRODUCTS).get_data(as_text=True)))
    assert "sur 1 permis par votre formule" in page

    limit_message = "Votre formule permet 1 produit"
    for chosen in ([second], [second, third]):
        [message] = flashes(html.unescape(bulk(client, chosen, "active")))
        assert message.startswith(limit_message)
        assert message.endswith("en ligne : archivez-en un ou changez de formule.")
        assert statuses([online, second, third]) == [
            ProductStatus.ACTIVE,
            ProductStatus.DRAFT,
            ProductStatus.DRAFT,
        ]

    # The product form refuses it too, next to the visibility.
    variant_id = fresh(Product, second).variants[0].id
    form = product_form(
        category_id, variant_row("DEUX-1", id=str(variant_id)), title="Deuxième", status="active"
    )
    response = client.submit(f"{PRODUCTS}/{second}", form)
    assert response.status_code == 200
    [error] = all_field_errors(response.get_data(as_text=True))["status"]
    assert error.startswith(limit_message)
    assert statuses([second]) == [ProductStatus.DRAFT]

    # Archiving the one online makes room.
    bulk(client, [online], "archived")
    bulk(client, [second], "active")
    assert statuses([online, second]) == [ProductStatus.ARCHIVED, ProductStatus.ACTIVE]


def listed(page: str) -> set[str]:
    """Titles of the products in the list."""
    return {
        html.unescape(title)
        for title in re.findall(r'<li class="product-row">.*?<strong>(.*?)</strong>', page, re.S)
    }


def test_the_list_filters_by_text_status_category_and_low_stock(
    client: Client, owner: Owner, category_id: int
) -> None:
    writing = CategoryFactory(slug="ecriture", name="Écriture").id
    make_product(
        owner,
        category_id,
        title="Carnet de voyage",
        gtin="9782016099520",
        draft=True,
        variants=[{"sku": "CARN-A5", "stock": 10}],
    )
    make_product(owner, writing, title="Stylo plume", variants=[{"sku": "STY-1", "stock": 1}])
    make_product(
        owner, category_id, title="Agenda 2026", archived=True, variants=[{"sku": "AGD-26", "stock": 8}]
    )
    make_product(
        owner,
        writing,
        title="Encre bleue",
        variants=[{"sku": "ENC-B", "stock": 20}, {"sku": "ENC-N", "stock": 0}],
    )
    ProductFactory(title="Carnet d’une autre boutique")

    def titles(query: str) -> set[str]:
        response = client.get(f"{PRODUCTS}?{query}")
        assert response.status_code == 200
        return listed(response.get_data(as_text=True))

    everything = {"Carnet de voyage", "Stylo plume", "Agenda 2026", "Encre bleue"}
    assert titles("") == everything
    assert titles("q=carnet") == {"Carnet de voyage"}
    assert titles("q=CARNET+DE") == {"Carnet de voyage"}
    assert titles("q=sty-1") == {"Stylo plume"}
    assert titles("q=enc-n") == {"Encre bleue"}
    assert titles("q=978201609") == {"Carnet de voyage"}
    assert titles("q=introuvable") == set()
    assert titles("statut=active") == {"Stylo plume", "Encre bleue"}
    assert titles("statut=draft") == {"Carnet de voyage"}
    assert titles("statut=archived") == {"Agenda 2026"}
    assert titles("statut=n-importe") == everything
    assert titles(f"categorie={writing}") == {"Stylo plume", "Encre bleue"}
    assert titles(f"categorie={category_id}&statut=archived") == {"Agenda 2026"}
    assert titles("stock=bas") == {"Stylo plume", "Encre bleue"}  # 1 left; one variant sold out
    assert titles("stock=bas&q=stylo") == {"Stylo plume"}


def test_the_list_finds_a_product_by_sku_or_printed_gtin_within_the_shop(
    client: Client, owner: Owner, category_id: int
) -> None:
    make_product(
        owner,
        category_id,
        title="Carnet de voyage",
        gtin="9782016099520",
        variants=[{"sku": "CARN_A5", "stock": 10}, {"sku": "CARN-A4", "stock": 2}],
    )
    make_product(owner, category_id, title="Stylo plume", variants=[{"sku": "CARNXA5-50%", "stock": 1}])
    ProductFactory(title="Agenda d’une autre boutique", gtin="9782070612758", variants=[{"sku": "AGD-1"}])

    def titles(text: str) -> set[str]:
        response = client.get(PRODUCTS, query_string={"q": text})
        assert response.status_code == 200
        return listed(response.get_data(as_text=True))

    assert titles("carn_a5") == {"Carnet de voyage"}  # "_" is the character, not any character
    assert titles(" Carn-A4 ") == {"Carnet de voyage"}
    assert titles("carnxa5-50%") == {"Stylo plume"}
    assert titles("%") == {"Stylo plume"}  # the one SKU with a "%" in it, not every product
    assert titles("978-2-01-609952-0") == {"Carnet de voyage"}
    assert titles("2-01-609952-6") == {"Carnet de voyage"}  # its ISBN-10
    assert titles("978 2 01 609952 0") == {"Carnet de voyage"}
    # Another shop's SKU and GTIN are not this shop's products.
    assert titles("AGD-1") == set()
    assert titles("9782070612758") == set()


def test_the_list_is_paginated_and_keeps_its_filters(client: Client, owner: Owner, category_id: int) -> None:
    for number in range(26):
        make_product(owner, category_id, title=f"Carte postale {number:02d}", draft=True)
    make_product(owner, category_id, title="En ligne")
    page = client.get(f"{PRODUCTS}?statut=draft").get_data(as_text=True)
    assert len(listed(page)) == 25
    assert "Page 1 sur 2" in page
    following = re.search(r'<a href="([^"]+)">Suivants', page)
    assert following is not None
    url = html.unescape(following.group(1))
    assert "page=2" in url
    assert "statut=draft" in url
    second = client.get(url).get_data(as_text=True)
    assert "Page 2 sur 2" in second
    assert len(listed(second)) == 1
    assert listed(page) | listed(second) == {f"Carte postale {number:02d}" for number in range(26)}
    assert "Précédents" in second


# -- object-level authorization -------------------------------------------------------------------


def catalog_urls(app: Flask, slug: str, product_id: int) -> list[tuple[str, str]]:
    """Every URL of the products back office with each of its methods: the list grows with the blueprint."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("catalog_backoffice."):
            continue
        path = rule.rule.replace("<slug>", slug).replace("<int:product_id>", str(product_id))
        assert "<" not in path, f"a new URL argument to fill in: {rule.rule}"
        urls.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return urls


@dataclass(frozen=True)
class OtherShop:
    slug: str
    product_id: int
    variant_id: int


@pytest.fixture
def other_shop(owner: Owner) -> OtherShop:
    """Shop B, with a product; owner (of shop A) is logged in."""
    member_b = owner_of(ShopFactory(slug="shop-b"), email="b@example.com")
    product = ProductFactory(
        shop=member_b.shop, title="Produit de B", draft=True, variants=[{"sku": "B-1", "stock": 4}]
    )
    return OtherShop("shop-b", product.id, product.variants[0].id)


def attack_data(token: str, other: OtherShop) -> dict[str, Any]:
    """One body good for every form of the products back office, aimed at shop B's rows."""
    return {
        "csrf_token": token,
        "product_ids": [str(other.product_id)],
        "action": "active",
        "variant_id": str(other.variant_id),
        "delta": "50",
        "note": "Pris",
        "title": "Piraté",
        "category_id": "1",
        "vat_bps": "2000",
        "status": "active",
        "variants-0-id": str(other.variant_id),
        "variants-0-sku": "B-1",
        "variants-0-price": "1,00",
        "variants-0-stock": "50",
        "remove": "1",
        "alt": "Piraté",
    }


def assert_untouched(other: OtherShop) -> None:
    product = fresh(Product, other.product_id)
    assert (product.title, product.status) == ("Produit de B", ProductStatus.DRAFT)
    [variant] = product.variants
    assert (variant.id, variant.sku, variant.price_cents, variant.stock) == (other.variant_id, "B-1", 1250, 4)
    assert movements(other.variant_id) == []


def test_every_product_page_and_action_of_another_shop_is_a_404(
    app: Flask, client: Client, owner: Owner, other_shop: OtherShop
) -> None:
    urls = catalog_urls(app, other_shop.slug, other_shop.product_id)
    assert len(urls) >= 11, "list, bulk, new, edit, duplicate, photos, photo order, stock"
    token = client.csrf_token(PRODUCTS)
    count_before = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
    for method, path in urls:
        response = client.open(path, method=method, data=attack_data(token, other_shop))
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
    assert_untouched(other_shop)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == count_before


def test_a_product_of_another_shop_under_ones_own_slug_is_a_404(
    app: Flask, client: Client, owner: Owner, other_shop: OtherShop
) -> None:
    urls = [
        (method, path)
        for method, path in catalog_urls(app, SLUG, other_shop.product_id)
        if f"/{other_shop.product_id}" in path
    ]
    assert len(urls) >= 7, "edit, duplicate, photos, photo order, stock"
    token = client.csrf_token(PRODUCTS)
    for method, path in urls:
        response = client.open(path, method=method, data=attack_data(token, other_shop))
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
    assert_untouched(other_shop)
    assert len(shop_products(owner.shop_id)) == 0


def test_the_same_pages_work_for_the_member(
    app: Flask, client: Client, owner: Owner, category_id: int
) -> None:
    product_id = make_product(owner, category_id).id
    for method, path in catalog_urls(app, SLUG, product_id):
        if method == "GET":
            assert client.get(path).status_code == 200, path


def test_ids_of_another_shop_sent_with_ones_own_forms_are_ignored(
    client: Client, owner: Owner, category_id: int, other_shop: OtherShop
) -> None:
    # The bulk form with B's product: nothing chosen.
    assert "Cochez au moins un produit." in flashes(bulk(client, [other_shop.product_id], "active"))
    page = bulk(client, [other_shop.product_id], "stock", delta="50", note="Pris")
    assert "Cochez au moins un produit." in flashes(page)

    # A's stock page with B's variant: not one of the choices.
    product_id, a5_id, _ = _two_variant_product(owner, category_id)
    response = client.submit(
        f"{PRODUCTS}/{product_id}/stock",
        {"variant_id": str(other_shop.variant_id), "delta": "50", "note": "Pris"},
    )
    assert response.status_code == 200
    assert all_field_errors(response.get_data(as_text=True)) == {"variant_id": [CHOICE_REFUSED]}
    assert fresh(Variant, a5_id).stock == 5

    # A's product form naming B's variant: a new variant of A, B's is left alone.
    form = product_form(
        category_id,
        variant_row("B-1", "1,00", "0", id=str(other_shop.variant_id)),
        title="Carnet de voyage",
    )
    assert client.submit(f"{PRODUCTS}/{product_id}", form).status_code == 302
    [variant] = fresh(Product, product_id).variants
    assert variant.id not in {a5_id, other_shop.variant_id}
    assert (variant.sku, variant.shop_id) == ("B-1", owner.shop_id)
    assert_untouched(other_shop)


def test_guests_are_sent_to_login(app: Flask, client: Client, other_shop: OtherShop) -> None:
    client.submit("/deconnexion", {}, form_url="/compte")
    for method, path in catalog_urls(app, other_shop.slug, other_shop.product_id):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302, path
            assert "/connexion" in response.headers["Location"]
