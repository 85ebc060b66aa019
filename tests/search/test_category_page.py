"""A category's page: breadcrumbs, its products and its children's with the search page's facets and
sorts, its shops; an unknown or archived category is a 404; the database lists while search cannot."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.catalog.models import Category
from app.extensions import db
from search import tasks
from search.backends import SearchBackend
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.plugins.application import Client
from tests.site.support import count_queries, product_titles, shop_names
from vendors.models import Shop, ShopStatus


@pytest.fixture
def town(app: Flask, search_index: SearchBackend) -> None:
    food = CategoryFactory(slug="alimentation", name="Alimentation")
    cheese = CategoryFactory(slug="fromagerie", name="Fromagerie", parent=food)
    books = CategoryFactory(slug="livres", name="Livres")
    halles = ShopFactory(slug="fromagerie-des-halles", name="Fromagerie des Halles", category=cheese)
    ProductFactory(
        shop=halles, category=cheese, title="Crottin de Chavignol", variants=[{"price_cents": 450}]
    )
    ProductFactory(shop=halles, category=cheese, title="Comté 18 mois", variants=[{"price_cents": 2890}])
    ProductFactory(shop=ShopFactory(category=books), category=books, title="Le Petit Prince")
    with app.app_context():
        tasks.drain()


def test_a_parent_lists_its_children_products_with_breadcrumbs_facets_and_shops(
    client: Client, town: None
) -> None:
    page = client.get("/categories/alimentation").get_data(as_text=True)
    assert sorted(product_titles(page)) == ["Comté 18 mois", "Crottin de Chavignol"]
    assert "Le Petit Prince" not in page
    assert shop_names(page) == ["Fromagerie des Halles"]
    assert 'href="/categories/fromagerie"' in page  # the child's chip
    assert 'class="facet"' in page
    assert 'name="tri"' in page


def test_a_child_has_breadcrumbs_and_sorts_stay_on_the_category_page(client: Client, town: None) -> None:
    page = client.get("/categories/fromagerie?tri=price_desc").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', page, re.S)
    assert crumbs is not None
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs.group(0)) == ["Accueil", "Alimentation", "Fromagerie"]
    assert product_titles(page) == ["Comté 18 mois", "Crottin de Chavignol"]
    links = [html.unescape(link) for link in re.findall(r'<a href="(/categories/fromagerie\?[^"]*)"', page)]
    assert links, "facet links stay on the category page"
    assert 'action="/categories/fromagerie"' in page


def test_a_price_facet_narrows_the_category(client: Client, town: None) -> None:
    page = client.get("/categories/fromagerie?prix_max=10").get_data(as_text=True)
    assert product_titles(page) == ["Crottin de Chavignol"]


def test_unknown_and_odd_slugs_are_404(client: Client, town: None) -> None:
    for slug in ("inconnue", "%00", "a" * 300, "fromagerie%20x"):
        assert client.get(f"/categories/{slug}").status_code in (400, 404), slug


def test_without_an_index_the_database_lists_the_category(client: Client) -> None:
    category = CategoryFactory(slug="papeterie", name="Papeterie")
    ProductFactory(category=category, title="Carnet")
    page = client.get("/categories/papeterie").get_data(as_text=True)
    assert product_titles(page) == ["Carnet"]


def test_facets_name_shops_and_categories_as_they_are_now(app: Flask, client: Client, town: None) -> None:
    """The names facets show are kept per process, and a rename made here shows on the next page."""

    def facet_names(page: str, heading: str) -> list[str]:
        section = re.search(rf"<h2>{heading}</h2>\s*<ul>(.*?)</ul>", page, re.S)
        assert section is not None, heading
        return [
            name.strip()
            for name in re.findall(
                r"</span>([^<]+)<span class=\"muted\">|>([^<>]+) <span class=\"muted\">", section.group(1)
            )
            for name in name
            if name.strip()
        ]

    page = client.get("/recherche?q=crottin").get_data(as_text=True)
    assert facet_names(page, "Boutique") == ["Fromagerie des Halles"]
    assert facet_names(page, "Catégorie") == ["Alimentation", "Fromagerie"]
    english = client.get("/recherche?q=crottin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    from app.catalog.models import Category
    from app.extensions import db
    from vendors.models import Shop

    with app.app_context():  # as the back office would, in a request
        db.session.execute(
            sa.update(Shop).where(Shop.slug == "fromagerie-des-halles").values(name="Les Halles")
        )
        db.session.execute(sa.update(Category).where(Category.slug == "fromagerie").values(name_en="Cheese"))
        db.session.commit()
    assert facet_names(english, "Category") == ["Alimentation", "Fromagerie"]
    page = client.get("/recherche?q=crottin").get_data(as_text=True)
    assert facet_names(page, "Boutique") == ["Les Halles"]
    english = client.get("/recherche?q=crottin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert facet_names(english, "Category") == ["Alimentation", "Cheese"]


def test_the_category_lists_its_shops_by_name_or_nearest_first(client: Client, town: None) -> None:
    cheese = db.session.scalar(sa.select(Category).where(Category.slug == "fromagerie"))
    ShopFactory(name="Au Bon Lait", category=cheese, latitude=47.4530, longitude=0.7589)  # 8 km out
    ShopFactory(name="Zéphyr Fromages", category=cheese, latitude=47.3965, longitude=0.6860)
    ShopFactory(name="Crémerie fermée", category=cheese, status=ShopStatus.SUSPENDED)
    by_name = client.get("/categories/alimentation").get_data(as_text=True)
    assert shop_names(by_name) == ["Au Bon Lait", "Fromagerie des Halles", "Zéphyr Fromages"]
    near = client.get("/categories/alimentation?lat=47.396&lon=0.686").get_data(as_text=True)
    assert shop_names(near)[0] == "Zéphyr Fromages"
    assert shop_names(near)[-1] == "Au Bon Lait"
    assert "8,4 km" in near


def test_a_category_reads_its_shops_once_then_shows_each_change_at_once(
    app: Flask, client: Client, town: None
) -> None:
    client.get("/categories/alimentation")
    with count_queries() as statements:
        page = client.get("/categories/alimentation").get_data(as_text=True)
    assert shop_names(page) == ["Fromagerie des Halles"]
    assert not [sql for sql in statements if "shops.banner_path" in sql], "the shops' cards kept"
    cheese = db.session.scalar(sa.select(Category).where(Category.slug == "fromagerie"))
    with app.app_context():  # as the manager's approval would, in a request
        ShopFactory(name="Au Bon Lait", category=cheese)
        db.session.execute(
            sa.update(Shop).where(Shop.slug == "fromagerie-des-halles").values(name="Les Halles")
        )
        db.session.commit()
    assert shop_names(client.get("/categories/alimentation").get_data(as_text=True)) == [
        "Au Bon Lait",
        "Les Halles",
    ]


def chips(page: str) -> str:
    """The children's links of a category page ("" without any)."""
    found = re.search(r'<nav class="chips".*?</nav>', page, re.S)
    return found.group(0) if found else ""


def test_a_category_renamed_or_archived_shows_at_once(app: Flask, client: Client, town: None) -> None:
    assert "<h1>Fromagerie</h1>" in client.get("/categories/fromagerie").get_data(as_text=True)
    with app.app_context():  # as the manager's page would, in a request
        db.session.execute(sa.update(Category).where(Category.slug == "fromagerie").values(name="Crèmerie"))
        db.session.commit()
    page = client.get("/categories/fromagerie").get_data(as_text=True)
    assert "<h1>Crèmerie</h1>" in page
    assert "Crèmerie" in chips(client.get("/categories/alimentation").get_data(as_text=True))
    with app.app_context():
        db.session.execute(
            sa.update(Category).where(Category.slug == "fromagerie").values(archived_at=sa.func.now())
        )
        db.session.commit()
    assert client.get("/categories/fromagerie").status_code == 404
    assert chips(client.get("/categories/alimentation").get_data(as_text=True)) == ""
