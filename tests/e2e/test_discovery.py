"""A shopper discovers the demo town from a phone: the category menu, a category page, a collection."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.catalog.models import Product, ProductStatus
from app.extensions import db
from app.site import services as site
from app.site.models import Collection, CollectionItem
from tests.e2e.helpers import Shots
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e


def make_collection(live_server: LiveServer) -> str:
    with live_server.app.app_context():
        products = db.session.scalars(
            sa.select(Product).where(Product.status == ProductStatus.ACTIVE).order_by(Product.id).limit(3)
        ).all()
        if db.session.scalar(sa.select(Collection).where(Collection.slug == "noel-a-bellerive")) is None:
            collection = Collection(
                slug="noel-a-bellerive", title="Noël à Bellerive", text="Des idées de cadeaux."
            )
            collection.items = [
                CollectionItem(product_id=product.id, position=n) for n, product in enumerate(products)
            ]
            db.session.add(collection)
            db.session.commit()
        site.clear_caches()
        return products[0].title


def test_a_shopper_browses_by_category_and_by_collection(phone_page: Any, live_server: LiveServer) -> None:
    load_demo_town(live_server)
    first_title = make_collection(live_server)
    page = phone_page
    shots = Shots(page, "discovery-")
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Les rayons")).to_be_visible()
    # Nothing wider than the phone: a row of cards scrolls inside itself, the page does not zoom out.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shots("home")

    page.get_by_test_id("category-menu").click()
    drawer = page.get_by_role("navigation", name="Rayons")
    expect(drawer).to_be_visible()
    shots("menu")
    top = drawer.locator(".category-menu__top").first
    name = top.inner_text().strip()
    top.click()
    expect(page).to_have_url(re.compile(r"/categories/[a-z0-9-]+$"))
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    expect(page.locator("nav.breadcrumbs")).to_contain_text(name)
    shots("category")
    card = page.locator(".product-card a").first
    title = card.locator(".product-card__title").inner_text().strip()
    card.click()
    expect(page).to_have_url(re.compile(r"/produits/\d+"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    page.goto(f"{live_server.url}/")
    link = page.get_by_role("link", name="Noël à Bellerive")
    link.click()
    expect(page).to_have_url(re.compile(r"/collections/noel-a-bellerive$"))
    expect(page.get_by_role("heading", level=1, name="Noël à Bellerive")).to_be_visible()
    shots("collection")
    page.locator(".product-card a").filter(has_text=first_title).first.click()
    expect(page).to_have_url(re.compile(r"/produits/\d+"))
