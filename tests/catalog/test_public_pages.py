"""Public catalogue pages: the product page (price, variant picker without JavaScript, legal notice,
other shops selling the same item, structured data, sanitised description), category pages and the
storefront's product grid. Only active products of approved shops are ever shown."""

from __future__ import annotations

import html
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from app import images
from app.catalog.models import Product, ProductPhoto, ProductStatus
from app.extensions import db
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.plugins.application import Client
from tests.site.support import count_queries
from vendors.models import Shop, ShopStatus, VatRegime

GTIN = "9782016099520"


def text(page: str) -> str:
    return html.unescape(page).replace("\u00a0", " ").replace("\u202f", " ")


def get_page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.get_data(as_text=True)


def price_shown(page: str) -> str:
    found = re.search(r'<p class="product__price" data-testid="price">(.*?)</p>', page, re.S)
    assert found is not None, "no price on the page"
    return " ".join(text(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def json_ld(page: str) -> dict[str, Any]:
    [block] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    data = json.loads(block)
    assert isinstance(data, dict)
    return data


def meta(page: str, prop: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def titles_listed(page: str) -> list[str]:
    return [
        html.unescape(title)
        for title in re.findall(r'<span class="product-card__title">(.*?)</span>', page, re.S)
    ]


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    @classmethod
    def of(cls, page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
        parser = cls()
        parser.feed(page)
        parser.close()
        return parser.found


def add_photo(app: Flask, product: Product, alt: str) -> ProductPhoto:
    """A photo stored the way the back office stores one."""
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (180, 120, 60)).save(buffer, format="PNG")
    buffer.seek(0)
    stored = images.store_image(
        buffer,
        folder="products",
        max_bytes=5 * 1024 * 1024,
        sizes={"thumb": (400, 400, "crop"), "card": (640, 640, "crop")},
        media_dir=Path(app.config["MEDIA_DIR"]),
    )
    photo = ProductPhoto(
        path=stored.path, thumbnails=stored.thumbnails, width=stored.width, height=stored.height, alt=alt
    )
    product.photos.append(photo)
    db.session.commit()
    return photo


@pytest.fixture
def carnet(client: Client) -> dict[str, Any]:
    """An active product of an approved shop: two variants, one sold out and discounted."""
    shop = ShopFactory(slug="la-boussole", name="La Boussole", return_days=30)
    product = ProductFactory(
        shop=shop,
        category=CategoryFactory(slug="papeterie", name="Papeterie"),
        title="Carnet de voyage",
        description="Papier **120 g**, reliure cousue main.",
        attributes={"origine": "Tours"},
        gtin=GTIN,
        vat_bps=2000,
        variants=[
            {"sku": "CARN-A5", "price_cents": 1250, "stock": 5, "options": {"format": "A5"}},
            {
                "sku": "CARN-A4",
                "price_cents": 1590,
                "compare_at_cents": 1890,
                "stock": 0,
                "options": {"format": "A4"},
            },
        ],
    )
    return {
        "id": product.id,
        "a5": product.variants[0].id,
        "a4": product.variants[1].id,
        "shop_id": shop.id,
        "url": f"/produits/{product.id}",
    }


# -- who sees what --------------------------------------------------------------------------------


def test_only_active_products_of_approved_shops_are_public(client: Client) -> None:
    category = CategoryFactory(slug="papeterie", name="Papeterie")
    cases: dict[str, tuple[int, bool]] = {}
    for status in ProductStatus:
        product = ProductFactory(category=category, status=status, title=f"Produit {status.value}")
        cases[product.title] = (product.id, status == ProductStatus.ACTIVE)
    for shop_status in ShopStatus:
        if shop_status != ShopStatus.APPROVED:
            shop = ShopFactory(status=shop_status)
            product = ProductFactory(shop=shop, category=category, title=f"Boutique {shop_status.value}")
            cases[product.title] = (product.id, False)

    for title, (product_id, public) in cases.items():
        status = client.get(f"/produits/{product_id}").status_code
        assert status == (200 if public else 404), f"{title}: {status}"
    listed = titles_listed(get_page(client, "/categories/papeterie"))
    assert listed == ["Produit active"]
    assert client.get("/produits/999999999").status_code == 404


def test_an_active_product_without_variants_is_neither_shown_nor_listed(client: Client) -> None:
    category = CategoryFactory(slug="papeterie", name="Papeterie")
    product = ProductFactory(
        shop=ShopFactory(slug="la-boussole"), category=category, title="Sans prix", variants=[]
    )
    assert client.get(f"/produits/{product.id}").status_code == 404
    assert "Sans prix" not in titles_listed(get_page(client, "/categories/papeterie"))
    assert "Sans prix" not in titles_listed(get_page(client, "/boutiques/la-boussole"))


def test_a_suspended_shop_takes_its_products_offline(client: Client, carnet: dict[str, Any]) -> None:
    assert client.get(carnet["url"]).status_code == 200
    shop = db.session.get(Shop, carnet["shop_id"])
    assert shop is not None
    shop.status = ShopStatus.SUSPENDED
    db.session.commit()
    assert client.get(carnet["url"]).status_code == 404
    assert "Carnet de voyage" not in get_page(client, "/categories/papeterie")


# -- the product page -----------------------------------------------------------------------------


def test_the_product_page_shows_the_price_ttc_the_shop_and_the_withdrawal_notice(
    client: Client, carnet: dict[str, Any]
) -> None:
    page = get_page(client, carnet["url"])
    assert re.search(r"<h1>Carnet de voyage</h1>", page)
    # The variant in stock comes first: 12,50 € all taxes included.
    assert price_shown(page) == "12,50 € TTC, dont TVA 20 %"
    plain = text(page)
    assert "En stock" in plain
    assert "La Boussole" in plain
    assert "Droit de rétractation : 30 jours après réception" in plain
    assert '<a href="/categories/papeterie">Papeterie</a>' in page
    assert '<a href="/boutiques/la-boussole">La Boussole</a>' in page
    assert "<strong>120 g</strong>" in page
    assert GTIN in page


def test_a_shop_under_the_vat_franchise_shows_no_vat(client: Client) -> None:
    shop = ShopFactory(vat_regime=VatRegime.FRANCHISE, vat_number="")
    product = ProductFactory(shop=shop, vat_bps=0, variants=[{"price_cents": 800}])
    assert price_shown(get_page(client, f"/produits/{product.id}")) == "8,00 € TVA non applicable"


def test_the_variant_picker_works_without_javascript(client: Client, carnet: dict[str, Any]) -> None:
    page = get_page(client, carnet["url"])
    picker = re.search(
        r'<form method="get" class="variant-picker" data-variant-picker>(.*?)</form>', page, re.S
    )
    assert picker is not None, "a plain GET form"
    radios = re.findall(r'<input type="radio" name="variante" value="(\d+)"([^>]*)>', picker.group(1))
    assert [int(value) for value, _ in radios] == [carnet["a5"], carnet["a4"]]
    assert "checked" in radios[0][1]
    assert "checked" not in radios[1][1]
    assert re.search(r'<button type="submit"[^>]*data-no-js-only>Voir ce choix</button>', picker.group(1))
    assert "A5" in text(picker.group(1))
    assert "épuisé" in text(picker.group(1))

    # Sending the form (?variante=<id>) shows the chosen variant's price, crossed-out price and stock.
    chosen = get_page(client, f"{carnet['url']}?variante={carnet['a4']}")
    assert price_shown(chosen) == "18,90 € 15,90 € TTC, dont TVA 20 %"
    assert "<del>18,90" in chosen
    assert "Épuisé" in text(chosen)
    radios = re.findall(r'<input type="radio" name="variante" value="(\d+)"([^>]*)>', chosen)
    assert "checked" in dict(radios)[str(carnet["a4"])]
    assert meta(chosen, "product:price:amount") == "15.90"

    # An unknown or foreign variant id falls back to the first in stock.
    other = ProductFactory(variants=[{"price_cents": 9900}])
    for wrong in (str(other.variants[0].id), "abc", "0"):
        assert price_shown(get_page(client, f"{carnet['url']}?variante={wrong}")).startswith("12,50 €")


def test_a_product_sold_out_everywhere_shows_its_first_variant(client: Client) -> None:
    product = ProductFactory(
        variants=[{"price_cents": 700, "stock": 0}, {"price_cents": 900, "stock": 0}], title="Épuisé partout"
    )
    page = get_page(client, f"/produits/{product.id}")
    assert price_shown(page).startswith("7,00 €")
    assert "Épuisé" in text(page)


def test_a_single_variant_product_has_no_picker(client: Client) -> None:
    product = ProductFactory(variants=[{"price_cents": 450}])
    page = get_page(client, f"/produits/{product.id}")
    assert "data-variant-picker" not in page
    assert price_shown(page).startswith("4,50 €")


def test_also_sold_by_lists_the_other_open_shops_selling_the_same_gtin(
    client: Client, carnet: dict[str, Any]
) -> None:
    cheaper = ProductFactory(
        shop=ShopFactory(name="Librairie du Pont"), gtin=GTIN, variants=[{"price_cents": 1190}]
    )
    ProductFactory(shop=ShopFactory(name="Maison de la Presse"), gtin=GTIN, variants=[{"price_cents": 1390}])
    ProductFactory(shop=ShopFactory(name="Boutique suspendue", status=ShopStatus.SUSPENDED), gtin=GTIN)
    ProductFactory(shop=ShopFactory(name="Brouillon & Cie"), gtin=GTIN, draft=True)
    ProductFactory(shop=ShopFactory(name="Autre livre"), gtin="9782070612888")
    cheaper_id = cheaper.id

    page = get_page(client, carnet["url"])
    section = re.search(r"<h2>Aussi vendu par</h2>(.*?)</section>", page, re.S)
    assert section is not None
    listed = text(section.group(1))
    assert "Librairie du Pont" in listed
    assert "Maison de la Presse" in listed
    assert listed.index("Librairie du Pont") < listed.index("Maison de la Presse"), "cheapest first"
    assert "11,90 €" in listed
    for absent in ("Boutique suspendue", "Brouillon & Cie", "Autre livre", "La Boussole"):
        assert absent not in listed
    assert f'href="/produits/{cheaper_id}"' in section.group(1)

    # And the other way round: the cheaper shop's page lists La Boussole.
    assert "La Boussole" in text(get_page(client, f"/produits/{cheaper_id}"))


def test_without_gtin_there_is_no_also_sold_by(client: Client) -> None:
    product = ProductFactory(gtin=None)
    ProductFactory(gtin=None)
    assert "Aussi vendu par" not in get_page(client, f"/produits/{product.id}")


def test_structured_data_and_opengraph_tags(app: Flask, client: Client, carnet: dict[str, Any]) -> None:
    product = db.session.get(Product, carnet["id"])
    assert product is not None
    photo_path = add_photo(app, product, "Carnet ouvert").path
    page = get_page(client, carnet["url"])

    data = json_ld(page)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Product"
    assert data["name"] == "Carnet de voyage"
    assert data["description"] == "Papier 120 g, reliure cousue main."
    assert data["category"] == "Papeterie"
    assert data["gtin13"] == GTIN
    assert data["image"] == [f"http://localhost/media/{photo_path}"]
    offers = {offer["sku"]: offer for offer in data["offers"]}
    assert set(offers) == {"CARN-A5", "CARN-A4"}
    for offer in offers.values():
        assert offer["@type"] == "Offer"
        assert offer["priceCurrency"] == "EUR"
        assert isinstance(offer["price"], str), "prices are decimal strings, never floats"
        assert re.fullmatch(r"\d+\.\d{2}", offer["price"])
        assert offer["seller"] == {"@type": "Organization", "name": "La Boussole"}
    assert Decimal(offers["CARN-A5"]["price"]) == Decimal("12.50")
    assert offers["CARN-A4"]["price"] == "15.90"
    assert offers["CARN-A5"]["availability"] == "https://schema.org/InStock"
    assert offers["CARN-A4"]["availability"] == "https://schema.org/OutOfStock"
    assert offers["CARN-A4"]["url"] == f"http://localhost{carnet['url']}?variante={carnet['a4']}"

    assert meta(page, "og:type") == "product"
    assert meta(page, "og:title") == "Carnet de voyage — La Boussole"
    assert meta(page, "og:description") == "Papier 120 g, reliure cousue main."
    assert meta(page, "description") == "Papier 120 g, reliure cousue main."
    assert meta(page, "og:url") == f"http://localhost{carnet['url']}"
    assert meta(page, "og:image") == f"http://localhost/media/{photo_path}"
    assert meta(page, "product:price:amount") == "12.50"
    assert meta(page, "product:price:currency") == "EUR"
    # The photo itself, described.
    assert re.search(rf'<img src="/media/{re.escape(photo_path)}" alt="Carnet ouvert"', page)


def test_the_photos_show_once_each_in_the_shops_order_read_with_the_product(
    client: Client, carnet: dict[str, Any]
) -> None:
    product = db.session.get(Product, carnet["id"])
    assert product is not None
    assert len(product.variants) == 2
    # Positions as the back office leaves them after a reorder: ties fall back to the photo's age.
    for position, alt in ((2, "Dos"), (0, "Couverture"), (1, "Ouvert"), (1, "Tranche")):
        product.photos.append(
            ProductPhoto(
                path=f"products/{alt}.jpg", thumbnails={}, width=10, height=10, alt=alt, position=position
            )
        )
    db.session.commit()
    with count_queries() as statements:
        page = get_page(client, carnet["url"])
    shown = re.findall(r'<img src="/media/products/([^"]+)\.jpg" alt="([^"]*)" class="product__photo"', page)
    # Each photo once, though the two variants are read in the same statement.
    assert shown == [
        ("Couverture", "Couverture"),
        ("Ouvert", "Ouvert"),
        ("Tranche", "Tranche"),
        ("Dos", "Dos"),
    ]
    assert json_ld(page)["image"] == [f"http://localhost/media/products/{alt}.jpg" for alt, _ in shown]
    assert not [sql for sql in statements if "FROM product_photos" in sql and "products.id" not in sql], (
        "the photos are read by the product's own statement, not by a query of their own"
    )


def test_a_product_without_photos_shows_its_initial(client: Client) -> None:
    product = ProductFactory(title="Ardoise", gtin=None)
    page = get_page(client, f"/produits/{product.id}")
    assert '<div class="product__photo product__photo--empty" aria-hidden="true">A</div>' in page
    assert 'product__photo"' not in page.replace("product__photo--empty", "")
    assert json_ld(page)["image"] == []


def test_a_gtin_of_another_length_gets_its_own_key(client: Client) -> None:
    product = ProductFactory(gtin="96385074")  # an EAN-8
    data = json_ld(get_page(client, f"/produits/{product.id}"))
    assert data["gtin8"] == "96385074"
    assert "gtin13" not in data
    without = ProductFactory(gtin=None)
    assert not [key for key in json_ld(get_page(client, f"/produits/{without.id}")) if key.startswith("gtin")]


HOSTILE = (
    "Bonjour <script>alert('description')</script> et "
    "[un lien piégé](javascript:alert(1)) mais [le site](https://example.org) **gras**.\n\n"
    '<img src=x onerror="alert(2)"> </script><script>alert(3)</script>\n\n'
    "<JAVASCRIPT:alert(4)> [encore](  JaVaScRiPt:alert(5)) [données](data:text/html;base64,PHNjcmlwdD4=)"
)


def test_a_hostile_description_is_sanitised(client: Client) -> None:
    product = ProductFactory(title="Piège <b>gras</b>", description=HOSTILE)
    page = get_page(client, f"/produits/{product.id}")
    description = re.search(r'<div class="prose-inline">(.*?)</div>', page, re.S)
    assert description is not None
    body = description.group(1)
    assert "<script" not in body
    assert "<img" not in body
    tags = Tags.of(page)
    assert not [attrs for _, attrs in tags if any(name.startswith("on") for name, _ in attrs)], "no handler"
    hrefs = [value or "" for _, attrs in tags for name, value in attrs if name in {"href", "src"}]
    assert not [href for href in hrefs if href.strip().lower().startswith(("javascript:", "data:"))]
    assert not [attrs for tag, attrs in tags if tag == "img" and ("src", "x") in attrs]
    assert "&lt;script&gt;alert('description')&lt;/script&gt;" in body, "shown as text"
    assert "<strong>gras</strong>" in body
    assert re.search(r'<a href="https://example.org" rel="[^"]*nofollow[^"]*">le site</a>', body)
    # No script but the page's own: the JSON-LD block and the site's script files.
    scripts = re.findall(r"<script[^>]*>", page)
    assert all('type="application/ld+json"' in tag or "src=" in tag for tag in scripts), scripts
    assert "<b>gras</b>" not in page
    # The JSON-LD block cannot be closed early and still parses.
    data = json_ld(page)
    assert data["name"] == "Piège <b>gras</b>"
    assert "alert('description')" in data["description"]


# -- category pages and storefronts ---------------------------------------------------------------


def test_a_category_page_lists_products_of_the_category_and_its_children(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    notebooks = CategoryFactory(slug="carnets", name="Carnets", parent=stationery)
    pens = CategoryFactory(slug="stylos", name="Stylos", parent=stationery)
    books = CategoryFactory(slug="livres", name="Livres")
    ProductFactory(category=stationery, title="Ramette de papier")
    ProductFactory(category=notebooks, title="Carnet de voyage")
    ProductFactory(category=pens, title="Stylo plume")
    ProductFactory(category=pens, title="Stylo en brouillon", draft=True)
    ProductFactory(category=books, title="Le Petit Prince")

    page = get_page(client, "/categories/papeterie")
    assert "<h1>Papeterie</h1>" in page
    assert set(titles_listed(page)) == {"Ramette de papier", "Carnet de voyage", "Stylo plume"}
    assert '<a href="/categories/carnets">Carnets</a>' in page
    assert '<a href="/categories/stylos">Stylos</a>' in page

    child = get_page(client, "/categories/stylos")
    assert titles_listed(child) == ["Stylo plume"]
    assert '<a href="/categories/papeterie">Papeterie</a>' in child, "back up to the parent"
    assert titles_listed(get_page(client, "/categories/livres")) == ["Le Petit Prince"]
    assert client.get("/categories/inconnue").status_code == 404

    CategoryFactory(slug="vide", name="Vide")
    assert "Aucun produit dans cette catégorie pour l’instant." in get_page(client, "/categories/vide")


def test_a_category_page_is_paginated(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    notebooks = CategoryFactory(slug="carnets", name="Carnets", parent=stationery)
    for number in range(25):
        ProductFactory(category=notebooks if number % 2 else stationery, title=f"Carte {number:02d}")
    first = get_page(client, "/categories/papeterie")
    assert len(titles_listed(first)) == 24
    assert "Page 1 sur 2" in first
    assert 'href="?page=2"' in first
    second = get_page(client, "/categories/papeterie?page=2")
    assert len(titles_listed(second)) == 1
    assert "Page 2 sur 2" in second
    assert set(titles_listed(first)) | set(titles_listed(second)) == {
        f"Carte {number:02d}" for number in range(25)
    }
    assert titles_listed(get_page(client, "/categories/papeterie?page=9")) == []


def test_the_storefront_lists_the_shops_active_products(client: Client) -> None:
    shop = ShopFactory(slug="la-boussole", name="La Boussole")
    ProductFactory(shop=shop, title="Carnet de voyage", variants=[{"price_cents": 1250}])
    ProductFactory(shop=shop, title="Stylo plume", variants=[{"price_cents": 2400, "stock": 0}])
    ProductFactory(shop=shop, title="Brouillon", draft=True)
    ProductFactory(shop=shop, title="Archivé", archived=True)
    ProductFactory(title="Produit d’une autre boutique")
    page = get_page(client, "/boutiques/la-boussole")
    assert set(titles_listed(page)) == {"Carnet de voyage", "Stylo plume"}
    plain = text(page)
    assert "12,50 €" in plain
    assert "24,00 €" in plain
    assert "épuisé" in plain
    product_links = set(re.findall(r'href="/produits/(\d+)"', page))
    assert len(product_links) == 2


def _product_statements(statements: list[str]) -> list[str]:
    """The statements reading a product by its id with its variants (the product page's own read)."""
    return [sql for sql in statements if "FROM products" in sql and "product_variants_1" in sql]


def test_a_product_page_reads_its_product_once_then_shows_each_change_at_once(
    app: Flask, client: Client
) -> None:
    product = ProductFactory(
        title="Carnet de croquis",
        category=CategoryFactory(name="Carnets", parent=CategoryFactory(name="Papeterie")),
        shop=ShopFactory(name="La Boussole"),
        variants=[{"price_cents": 1250, "stock": 3}],
    )
    add_photo(app, product, "Carnet ouvert")
    db.session.commit()
    url, product_id = f"/produits/{product.id}", product.id
    with count_queries() as first:
        get_page(client, url)
    with count_queries() as again:
        page = get_page(client, url)
    assert len(_product_statements(first)) == 1
    assert _product_statements(again) == [], "the product kept by this process, put in the session unread"
    # What the kept copy carries: the product, its variant, shop, category and parent, its photos.
    for shown in (
        "Carnet de croquis",
        "12,50 €",
        "La Boussole",
        "Carnets",
        "Papeterie",
        'alt="Carnet ouvert"',
    ):
        assert shown in text(page)

    # A change shows on the next view: its commit (a sale, the back office) moves the pages' generation on.
    def changed(change: Any) -> Any:
        with app.app_context():
            change(db.session.get_one(Product, product_id))
            db.session.commit()
        return client.get(url)

    def reprice(kept: Product) -> None:
        kept.variants[0].price_cents = 990

    def sell_out(kept: Product) -> None:
        kept.variants[0].stock = 0

    def close_shop(kept: Product) -> None:
        kept.shop.status = ShopStatus.SUSPENDED

    assert price_shown(changed(reprice).get_data(as_text=True)).startswith("9,90 €")
    assert "Épuisé" in text(changed(sell_out).get_data(as_text=True))
    assert changed(close_shop).status_code == 404


def test_a_kept_product_never_overwrites_what_a_session_holds(app_ctx: object) -> None:
    from app.catalog import services
    from app.catalog.models import Variant

    product = ProductFactory(title="Carnet", variants=[{"price_cents": 1250}])
    db.session.commit()
    product_id = product.id
    services.public_product(product_id)  # kept
    db.session.expunge_all()
    variant = db.session.scalars(sa.select(Variant).where(Variant.product_id == product_id)).one()
    variant.price_cents = 990  # changed in this session, not committed yet
    page = services.public_product(product_id)
    assert page is not None
    assert page[0].variants == [variant]
    assert variant.price_cents == 990
    db.session.rollback()
