"""The plan's product limit, for each plan the manager offers and each way a product goes online: the
product form (a new product, an existing draft), the list's bulk action, a duplicate, a CSV import.

With room left the product goes online (up to the last free slot); at the limit it is refused with a
message naming the limit, next to the field or on the import's line, and nothing changes; on the
unlimited plan nothing is counted. Two shops putting their last product online at the same moment on
PostgreSQL cannot both take the last slot.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.models import Role
from app.catalog import services as catalog
from app.catalog.models import CatalogImport, Category, ImportStatus, Product, ProductStatus
from app.extensions import db
from payouts import subscriptions
from payouts.demo import PLANS
from tests.catalog.test_imports import csv_bytes, latest_import, run_jobs, upload
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client, at_once, own_database_app
from tests.plugins.services import Services
from vendors.models import Shop, ShopMember

SLUG = "savonnerie"
PRODUCTS = f"/vendeur/{SLUG}/produits"
LIMITED = [(slug, limit) for slug, _name, _price, _rate, limit, _text in PLANS if limit is not None]
UNLIMITED = [slug for slug, _name, _price, _rate, limit, _text in PLANS if limit is None]
# (plan slug, products online before, whether one more fits)
SITUATIONS = [
    *[pytest.param(slug, limit - 1, True, id=f"{slug}-last-free-slot") for slug, limit in LIMITED],
    *[pytest.param(slug, limit, False, id=f"{slug}-limit-reached") for slug, limit in LIMITED],
    *[pytest.param(slug, max(limit for _, limit in LIMITED) + 1, True, id=slug) for slug in UNLIMITED],
]


@dataclass(frozen=True)
class Shop_:
    shop_id: int
    category_id: int
    limit: int | None


@pytest.fixture(autouse=True)
def _import_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))


def make_plans() -> dict[str, int]:
    """The plans the manager offers (those of the demo town), by slug."""
    manager = UserFactory(email="gestion@example.com", role=Role.MANAGER)
    return {
        slug: subscriptions.save_plan(
            manager,
            None,
            name=name,
            slug=slug,
            monthly_price_cents=price,
            commission_bps=rate,
            product_limit=limit,
            description=text,
        ).id
        for slug, name, price, rate, limit, text in PLANS
    }


def put_online(shop_id: int, category_id: int, count: int) -> None:
    """``count`` products online, written in one statement (the limit only counts them)."""
    if count:
        db.session.execute(
            sa.insert(Product),
            [
                {
                    "shop_id": shop_id,
                    "category_id": category_id,
                    "title": f"En ligne {n}",
                    "vat_bps": 2000,
                    "status": ProductStatus.ACTIVE,
                    "attributes": {},
                }
                for n in range(count)
            ],
        )


def online(shop_id: int) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Product)
            .where(Product.shop_id == shop_id, Product.status == ProductStatus.ACTIVE)
        )
        or 0
    )


def message_for(limit: int) -> str:
    return f"Votre formule permet {limit} produits en ligne"


def error_flashes(page: str) -> list[str]:
    return [
        html.unescape(message).strip()
        for message in re.findall(r'<p class="flash flash--error">(.*?)</p>', page, re.S)
    ]


def status_errors(page: str) -> list[str]:
    found = re.search(r'<ul class="field__errors" id="status-error">(.*?)</ul>', page, re.S)
    assert found is not None, "no error next to the visibility"
    return [html.unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def product_form(category_id: int, sku: str, variant_id: int | None = None) -> dict[str, str]:
    return {
        "title": "Savon au miel",
        "category_id": str(category_id),
        "vat_bps": "2000",
        "description": "",
        "attributes": "",
        "gtin": "",
        "status": "active",
        "variants-0-id": str(variant_id or ""),
        "variants-0-options": "",
        "variants-0-sku": sku,
        "variants-0-price": "4,50",
        "variants-0-compare_at": "",
        "variants-0-stock": "3",
        "variants-0-low_stock_threshold": "3",
        "variants-0-weight_grams": "",
    }


def shop_owner(category: Category) -> ShopMember:
    made = owner_of(ShopFactory(slug=SLUG, category=category), email="owner@example.com")
    member = db.session.get(ShopMember, made.id)
    assert member is not None
    return member


def shop_on_plan(client: Client, slug: str, before: int) -> Shop_:
    """A signed-in owner whose shop is on the plan, with ``before`` products already online."""
    plans = make_plans()
    category = CategoryFactory(slug="epicerie")
    member = shop_owner(category)
    put_online(member.shop_id, category.id, before)
    subscriptions.record_choice(member.user, member.shop, plans[slug])
    db.session.commit()
    limit = dict(LIMITED).get(slug)
    assert catalog.product_limit(member.shop) == limit
    made = Shop_(member.shop_id, category.id, limit)
    assert (
        client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD}).status_code == 302
    )
    return made


def draft_product(shop: Shop_) -> tuple[int, int]:
    """A draft with its price, ready to go online: (product id, variant id)."""
    product = ProductFactory(
        shop=db.session.get(Shop, shop.shop_id),
        category=db.session.get(Category, shop.category_id),
        title="Savon au miel",
        draft=True,
        variants=[{"sku": "MIEL-1"}],
    )
    db.session.commit()
    return product.id, product.variants[0].id


# -- each way a product goes online ---------------------------------------------------------------
# Each returns the messages the shop was shown (empty when the product went online).


def by_new_product_form(client: Client, shop: Shop_) -> list[str]:
    response = client.submit(f"{PRODUCTS}/nouveau", product_form(shop.category_id, "MIEL-1"))
    if response.status_code == 302:
        return []
    assert response.status_code == 200
    return status_errors(response.get_data(as_text=True))


def by_editing_a_draft(client: Client, shop: Shop_) -> list[str]:
    product_id, variant_id = draft_product(shop)
    url = f"{PRODUCTS}/{product_id}"
    response = client.submit(url, product_form(shop.category_id, "MIEL-1", variant_id))
    if response.status_code == 302:
        return []
    assert response.status_code == 200
    return status_errors(response.get_data(as_text=True))


def by_bulk_action(client: Client, shop: Shop_) -> list[str]:
    product_id, _ = draft_product(shop)
    response = client.submit(
        f"{PRODUCTS}/lot",
        {"product_ids": [str(product_id)], "action": "active"},
        form_url=PRODUCTS,
        follow_redirects=True,
    )
    assert response.status_code == 200
    return error_flashes(response.get_data(as_text=True))


def by_duplicating(client: Client, shop: Shop_) -> list[str]:
    """A copy is always made, as a draft (even at the limit); putting it online is the limited step."""
    product_id, _ = draft_product(shop)
    response = client.submit(f"{PRODUCTS}/{product_id}/dupliquer", {}, form_url=f"{PRODUCTS}/{product_id}")
    assert response.status_code == 302
    copy = db.session.scalar(
        sa.select(Product)
        .where(Product.shop_id == shop.shop_id, Product.id != product_id)
        .order_by(Product.id.desc())
    )
    assert copy is not None
    assert copy.status == ProductStatus.DRAFT
    variant_id = copy.variants[0].id
    form = product_form(shop.category_id, copy.variants[0].sku, variant_id)
    response = client.submit(f"{PRODUCTS}/{copy.id}", form)
    if response.status_code == 302:
        return []
    assert response.status_code == 200
    return status_errors(response.get_data(as_text=True))


def by_csv_import(client: Client, shop: Shop_, app: Flask) -> list[str]:
    content = csv_bytes({"product_ref": "miel", "sku": "MIEL-1", "status": "active"})
    assert upload(client, content).status_code == 302
    run_jobs(app)
    checked = latest_import()
    assert checked.status == ImportStatus.CHECKED, checked.report
    if checked.report["error_count"]:
        return [f"{e['line']}:{e['column']}:{e['message']}" for e in checked.report["errors"]]
    status_url = f"{PRODUCTS}/import/{checked.id}"
    assert client.submit(f"{status_url}/appliquer", {}, form_url=status_url).status_code == 302
    run_jobs(app)
    applied = db.session.get(CatalogImport, checked.id, populate_existing=True)
    assert applied is not None
    assert applied.status == ImportStatus.APPLIED, applied.report
    return []


WAYS: dict[str, Callable[..., list[str]]] = {
    "new-product-form": by_new_product_form,
    "edit-draft-form": by_editing_a_draft,
    "bulk-action": by_bulk_action,
    "duplicate": by_duplicating,
    "csv-import": by_csv_import,
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize(("plan", "before", "fits"), SITUATIONS)
def test_a_product_goes_online_within_the_plan_limit_and_is_refused_beyond_it(
    app: Flask, client: Client, plan: str, before: int, fits: bool, way: str
) -> None:
    shop = shop_on_plan(client, plan, before)
    go = WAYS[way]
    shown = go(client, shop, app) if way == "csv-import" else go(client, shop)
    db.session.expire_all()
    if fits:
        assert shown == []
        assert online(shop.shop_id) == before + 1
        return
    assert shop.limit is not None
    assert online(shop.shop_id) == before == shop.limit, "nothing went online"
    if way == "csv-import":
        assert shown == [f"2:status:{message_for(shop.limit)} : mettez celui-ci en draft."]
    else:
        [message] = shown
        expected = f"{message_for(shop.limit)} : archivez-en un ou changez de formule."
        assert message == expected, "the limit, named, where the shop looks"


# -- two at once ----------------------------------------------------------------------------------


def test_two_products_put_online_at_once_cannot_both_take_the_last_slot(
    services: Services, postgres_only: None, tmp_path: Path
) -> None:
    """Real commits on two connections: the second waits for the first and then sees the slot taken."""
    with own_database_app(services, tmp_path, "marketplace_limit") as application:
        with application.app_context():
            plans = make_plans()
            limit = dict(LIMITED)["decouverte"]
            category = CategoryFactory(slug="epicerie")
            member = shop_owner(category)
            subscriptions.record_choice(member.user, member.shop, plans["decouverte"])
            put_online(member.shop_id, category.id, limit - 1)
            db.session.commit()
            member_id, category_id, shop_id = member.id, category.id, member.shop_id
            db.session.remove()

        outcomes: list[str] = []

        def create(sku: str) -> None:
            acting = db.session.get(ShopMember, member_id)
            assert acting is not None
            data = product_data(category_id, sku)
            try:
                catalog.save_product(acting, None, data)
            except catalog.CatalogError as error:
                db.session.rollback()
                outcomes.append(str(error.message))
            else:
                db.session.commit()
                outcomes.append("online")

        at_once(application, create, [("RACE-1",), ("RACE-2",)])
        with application.app_context():
            assert online(shop_id) == limit
    assert sorted(outcomes) == sorted(
        ["online", f"{message_for(limit)} : archivez-en un ou changez de formule."]
    )


def product_data(category_id: int, sku: str) -> catalog.ProductData:
    return catalog.ProductData(
        title="Savon au miel",
        category_id=category_id,
        vat_bps=2000,
        status=ProductStatus.ACTIVE,
        variants=[catalog.VariantData(sku=sku, price_cents=450, stock=1)],
    )
