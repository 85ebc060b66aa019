"""Being found: sitemap, robots.txt, canonical addresses, sharing previews and schema.org data."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.reviews.models import RatingSubject, RatingSummary
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.plugins.application import Client
from tests.site.schema_org import validate
from vendors.models import Closure, ShopStatus

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def page_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.get_data(as_text=True)


def json_ld(page: str) -> dict[str, Any]:
    [block] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    data = json.loads(block)
    assert isinstance(data, dict)
    return data


def meta(page: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def canonical(page: str) -> str | None:
    found = re.findall(r'<link rel="canonical" href="([^"]*)"', page)
    assert len(found) <= 1, "one canonical address per page"
    return html.unescape(found[0]) if found else None


def sitemap_locs(client: Client, url: str = "/sitemap.xml") -> tuple[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 - the app's own answer, not untrusted input
    locs = [element.text or "" for element in root.iter(f"{SITEMAP_NS}loc")]
    for lastmod in root.iter(f"{SITEMAP_NS}lastmod"):
        dt.datetime.fromisoformat(lastmod.text or "")  # W3C datetime
    return root.tag.removeprefix(SITEMAP_NS), locs


# -- the validator itself ---------------------------------------------------------------------------


def test_the_validator_catches_what_it_should() -> None:
    good = {
        "@type": "Product",
        "name": "Carnet",
        "description": "Papier",
        "image": ["http://localhost/media/a.webp"],
        "offers": [
            {
                "@type": "Offer",
                "price": "12.50",
                "priceCurrency": "EUR",
                "availability": "https://schema.org/InStock",
            }
        ],
    }
    assert validate(good) == []
    bad = {
        **good,
        "colour": "bleu",
        "image": ["/media/a.webp"],
        "offers": [{"@type": "Offer", "price": 12.5, "availability": "Available"}],
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.5", "reviewCount": "2"},
    }
    problems = " | ".join(validate(bad))
    for expected in (
        "colour: not a property of Product",
        "image[0]: '/media/a.webp' is not a URL",
        "Offer needs priceCurrency",
        "availability: 'Available' is not a ItemAvailability",
        "reviewCount: '2' is not a Integer",
    ):
        assert expected in problems
    assert validate({"@type": "Bakery", "name": "X", "url": "http://x"}) == ["$: Bakery needs address"]


# -- products ---------------------------------------------------------------------------------------


def test_a_product_page_has_its_canonical_address_preview_and_valid_schema_org(client: Client) -> None:
    product = ProductFactory(
        title="Carnet de voyage",
        description="Papier 120 g, reliure cousue main.",
        variants=[{"price_cents": 1250, "stock": 3}, {"price_cents": 1590, "stock": 0}],
    )
    product_id = product.id
    db.session.add(
        RatingSummary(
            subject=RatingSubject.PRODUCT,
            subject_id=product_id,
            review_count=2,
            rating_sum=9,
            stars_4=1,
            stars_5=1,
        )
    )
    db.session.commit()
    page = page_of(client, f"/produits/{product_id}?variante=abc&utm_source=x")
    url = f"http://localhost/produits/{product_id}"
    assert canonical(page) == url
    assert meta(page, "og:url") == url
    assert meta(page, "og:title") == f"Carnet de voyage — {product.shop.name}"
    assert meta(page, "twitter:card") == "summary"  # no photo
    assert meta(page, "twitter:title") == meta(page, "og:title")
    assert meta(page, "product:price:amount") == "12.50"
    data = json_ld(page)
    assert validate(data) == []
    assert data["url"] == url
    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": "4.5",
        "reviewCount": 2,
        "bestRating": 5,
        "worstRating": 1,
    }
    availability = sorted(offer["availability"] for offer in data["offers"])
    assert availability == ["https://schema.org/InStock", "https://schema.org/OutOfStock"]


def test_a_product_without_reviews_has_no_rating(client: Client) -> None:
    product_id = ProductFactory().id
    data = json_ld(page_of(client, f"/produits/{product_id}"))
    assert "aggregateRating" not in data
    assert validate(data) == []


# -- storefronts ----------------------------------------------------------------------------------


def test_a_storefront_is_a_local_business_with_address_position_and_hours(client: Client) -> None:
    bakery = CategoryFactory(slug="boulangerie-patisserie", name="Boulangerie")
    shop = ShopFactory(name="Le Fournil", category=bakery, slug="le-fournil")
    soon = (utcnow() + dt.timedelta(days=3)).date()
    db.session.add(
        Closure(shop_id=shop.id, starts_on=soon, ends_on=soon + dt.timedelta(days=1), label="Congés")
    )
    db.session.add(
        RatingSummary(subject=RatingSubject.SHOP, subject_id=shop.id, review_count=1, rating_sum=5, stars_5=1)
    )
    db.session.commit()
    page = page_of(client, "/boutiques/le-fournil?depuis=rue+Colbert")
    assert canonical(page) == "http://localhost/boutiques/le-fournil"
    assert meta(page, "og:title") == "Le Fournil"
    assert meta(page, "og:description") == "Une boutique du centre-ville."
    data = json_ld(page)
    assert validate(data) == []
    assert data["@type"] == "Bakery"
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "15 rue de la Paix",
        "postalCode": "37000",
        "addressLocality": "Bellerive-sur-Loire",
        "addressCountry": "FR",
    }
    assert data["geo"] == {"@type": "GeoCoordinates", "latitude": 47.392288, "longitude": 0.67658}
    days = {
        spec["dayOfWeek"].removeprefix("https://schema.org/") for spec in data["openingHoursSpecification"]
    }
    assert days == {"Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}  # weekdays 1 to 6
    assert {(spec["opens"], spec["closes"]) for spec in data["openingHoursSpecification"]} == {
        ("09:30", "19:00")
    }
    [closure] = data["specialOpeningHoursSpecification"]
    assert (closure["validFrom"], closure["opens"], closure["closes"]) == (soon.isoformat(), "00:00", "00:00")
    assert data["aggregateRating"]["ratingValue"] == "5.0"


def test_a_shop_of_an_unknown_category_is_a_store(client: Client) -> None:
    ShopFactory(slug="atelier")
    data = json_ld(page_of(client, "/boutiques/atelier"))
    assert data["@type"] == "Store"
    assert validate(data) == []


# -- search and categories --------------------------------------------------------------------------


def test_search_pages_are_known_by_their_words_only(client: Client) -> None:
    page = page_of(client, "/recherche?q=miel&tri=price_asc&prix_max=20")
    assert canonical(page) == "http://localhost/recherche?q=miel"
    assert canonical(page_of(client, "/recherche")) == "http://localhost/recherche"


def test_category_pages_have_their_canonical_address(client: Client) -> None:
    CategoryFactory(slug="fromagerie", name="Fromagerie")
    page = page_of(client, "/categories/fromagerie?tri=price_asc")
    assert canonical(page) == "http://localhost/categories/fromagerie"
    assert meta(page, "og:url") == "http://localhost/categories/fromagerie"


# -- sitemap and robots -----------------------------------------------------------------------------


@pytest.fixture
def catalogue(app_ctx: Flask) -> dict[str, Any]:
    shop = ShopFactory(slug="ouverte")
    online = [ProductFactory(shop=shop).id for _ in range(3)]
    archived = ProductFactory(shop=shop, archived=True).id
    draft = ProductFactory(shop=shop, draft=True).id
    suspended = ShopFactory(slug="suspendue", status=ShopStatus.SUSPENDED)
    hidden = ProductFactory(shop=suspended).id
    pending = ShopFactory(slug="en-attente", submitted=True)
    category = CategoryFactory(slug="retiree", archived_at=utcnow())
    db.session.commit()
    return {
        "online": online,
        "offline": [archived, draft, hidden],
        "shops": ["ouverte"],
        "hidden_shops": [suspended.slug, pending.slug],
        "archived_category": category.slug,
    }


def test_the_sitemap_lists_every_public_thing_and_nothing_else(
    client: Client, catalogue: dict[str, Any]
) -> None:
    kind, locs = sitemap_locs(client)
    assert kind == "urlset"
    assert len(locs) == len(set(locs))
    assert all(loc.startswith("http://localhost/") for loc in locs)
    assert "http://localhost/" in locs
    for product_id in catalogue["online"]:
        assert f"http://localhost/produits/{product_id}" in locs
    for product_id in catalogue["offline"]:
        assert f"http://localhost/produits/{product_id}" not in locs
    assert "http://localhost/boutiques/ouverte" in locs
    for slug in catalogue["hidden_shops"]:
        assert f"http://localhost/boutiques/{slug}" not in locs
    assert f"http://localhost/categories/{catalogue['archived_category']}" not in locs
    assert any(loc.startswith("http://localhost/categories/") for loc in locs)


def test_over_the_limit_the_sitemap_becomes_an_index(
    app: Flask, client: Client, catalogue: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, everything = sitemap_locs(client)
    monkeypatch.setitem(app.config, "SITEMAP_URLS_PER_FILE", 2)
    kind, files = sitemap_locs(client)
    assert kind == "sitemapindex"
    assert files == [f"http://localhost/sitemap-{n}.xml" for n in range(1, len(files) + 1)]
    assert len(files) == -(-len(everything) // 2)
    listed: list[str] = []
    for url in files:
        part_kind, locs = sitemap_locs(client, url.removeprefix("http://localhost"))
        assert part_kind == "urlset"
        assert len(locs) <= 2
        listed += locs
    assert listed == everything
    assert client.get(f"/sitemap-{len(files) + 1}.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


def test_robots_txt_keeps_crawlers_out_of_private_pages_and_points_to_the_sitemap(client: Client) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    for path in ("/gestion", "/vendeur", "/panier", "/compte", "/favoris", "/recherche?"):
        assert f"Disallow: {path}" in lines
    assert "Disallow: /recherche" not in lines  # the plain search page may be crawled; its variants not
    assert "Sitemap: http://localhost/sitemap.xml" in lines


def test_addresses_come_from_public_url_not_the_host_header(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://bellerive-commerces.fr")
    product_id = ProductFactory().id
    page = page_of(client, f"/produits/{product_id}")
    assert canonical(page) == f"https://bellerive-commerces.fr/produits/{product_id}"
    assert "Sitemap: https://bellerive-commerces.fr/sitemap.xml" in client.get("/robots.txt").get_data(
        as_text=True
    )


def test_robots_txt_lets_crawlers_reach_every_address_of_the_sitemap(
    client: Client, catalogue: dict[str, Any]
) -> None:
    rules = [
        line.removeprefix("Disallow: ")
        for line in client.get("/robots.txt").get_data(as_text=True).splitlines()
        if line.startswith("Disallow: ")
    ]
    _, locs = sitemap_locs(client)
    for loc in [*locs, "http://localhost/avis/comment-ca-marche", "http://localhost/recherche"]:
        path = loc.removeprefix("http://localhost")
        assert not [rule for rule in rules if path.startswith(rule)], path
    for private in (
        "/vendeur/boutique/x",
        "/gestion",
        "/compte/e-mail",
        "/commandes/M-2026-000001",
        "/recherche?q=x",
    ):
        assert [rule for rule in rules if private.startswith(rule)], private
