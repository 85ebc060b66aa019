"""Products through the API: list with filters and cursors, create, update with If-Match, archive; the
catalogue's own checks answer as problems naming the field."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.catalog.models import Product, ProductStatus, StockMovement
from app.extensions import db
from search.models import IndexChange
from tests.api.support import World, call, new_product
from tests.factories import ProductFactory
from vendors.models import Shop


def test_create_then_get_a_product(client: FlaskClient, world: World) -> None:
    created = call(client, "POST", "/products", world.keys["full"], new_product(world))
    assert created.status_code == 201, created.get_data(as_text=True)
    product_id = created.json["id"]
    assert created.headers["Location"].endswith(f"/api/v1/products/{product_id}")
    assert created.json["variants"][0]["stock"] == {"on_hand": 5, "held": 0, "sellable": 5}
    assert created.json["variants"][0]["currency"] == "EUR"
    fetched = call(client, "GET", f"/products/{product_id}", world.keys["reader"])
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == created.headers["ETag"]
    stored = db.session.get(Product, product_id)
    assert stored is not None
    assert stored.shop_id == world.shop_id
    assert stored.status == ProductStatus.ACTIVE
    movements = db.session.scalars(
        sa.select(StockMovement).where(StockMovement.variant_id == stored.variants[0].id)
    )
    assert [movement.delta for movement in movements] == [5], "the initial stock is a recorded movement"


def test_the_catalogues_checks_name_the_field(client: FlaskClient, world: World) -> None:
    taken = new_product(world, sku="AUTRE-1")  # the other shop's SKU is free here: only ours clash
    assert call(client, "POST", "/products", world.keys["full"], taken).status_code == 201
    clash = call(client, "POST", "/products", world.keys["full"], new_product(world, sku="pain-1"))
    assert clash.status_code == 422
    assert clash.json["errors"][0]["field"] == "variants.0.sku"
    vat = call(client, "POST", "/products", world.keys["full"], new_product(world, vat_bps=2100))
    assert vat.status_code == 422
    assert vat.json["errors"][0]["field"] == "vat_bps"


def test_list_filters_and_cursor_pages(client: FlaskClient, world: World) -> None:
    for index in range(5):
        response = call(
            client, "POST", "/products", world.keys["full"], new_product(world, sku=f"LOT-{index}")
        )
        assert response.status_code == 201
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "GET", "/products" + query, world.keys["reader"])
        assert page.status_code == 200, page.get_data(as_text=True)
        seen += [item["id"] for item in page.json["items"]]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 6, "every product once, the other shop's never"
    assert world.other_product_id not in seen
    by_sku = call(client, "GET", "/products?sku=lot-3", world.keys["reader"])
    assert [item["variants"][0]["sku"] for item in by_sku.json["items"]] == ["LOT-3"]
    drafts = call(client, "GET", "/products?status=draft", world.keys["reader"])
    assert drafts.json["items"] == []
    bad = call(client, "GET", "/products?cursor=nimporte-quoi", world.keys["reader"])
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"] == "cursor"


def test_update_needs_if_match_and_refuses_a_stale_one(client: FlaskClient, world: World) -> None:
    path = f"/products/{world.product_id}"
    read = call(client, "GET", path, world.keys["full"])
    etag = read.headers["ETag"]
    missing = call(client, "PATCH", path, world.keys["full"], {"title": "Pain de campagne"})
    assert missing.status_code == 428
    done = call(client, "PATCH", path, world.keys["full"], {"title": "Pain de campagne"}, {"If-Match": etag})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json["title"] == "Pain de campagne"
    assert done.json["variants"][0]["stock"]["sellable"] == 10, "stock untouched by a PATCH"
    assert done.headers["ETag"] != etag
    stale = call(client, "PATCH", path, world.keys["full"], {"title": "Autre"}, {"If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    db.session.expire_all()
    assert db.session.get(Product, world.product_id).title == "Pain de campagne"


def test_archive(client: FlaskClient, world: World) -> None:
    db.session.query(IndexChange).delete()
    archived = call(client, "POST", f"/products/{world.product_id}/archive", world.keys["full"])
    assert archived.status_code == 200
    assert archived.json["status"] == "archived"
    db.session.expire_all()
    assert db.session.get(Product, world.product_id).status == ProductStatus.ARCHIVED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IndexChange)), "search hears of it"


def test_the_services_rules_reach_the_api(client: FlaskClient, world: World) -> None:
    """A product without a variant cannot be saved: the catalogue's rule, named by the API's field."""
    product = ProductFactory(shop=db.session.get(Shop, world.shop_id), variants=[], draft=True)
    db.session.commit()
    path = f"/products/{product.id}"
    etag = call(client, "GET", path, world.keys["full"]).headers["ETag"]
    refused = call(client, "PATCH", path, world.keys["full"], {"status": "active"}, {"If-Match": etag})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert refused.json["errors"][0]["field"] == "variants"
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == ProductStatus.DRAFT


def test_a_variant_sent_again_keeps_what_it_leaves_out(client: FlaskClient, world: World) -> None:
    body = new_product(
        world,
        variants=[
            {
                "sku": "T-1",
                "price_cents": 900,
                "compare_at_cents": 1200,
                "options": {"taille": "M"},
                "stock": 4,
            }
        ],
    )
    created = call(client, "POST", "/products", world.keys["full"], body)
    path = f"/products/{created.json['id']}"
    variants = [
        {"sku": "t-1", "price_cents": 800},
        {"sku": "T-2", "price_cents": 850, "options": {"taille": "L"}},
    ]
    changed = call(
        client,
        "PATCH",
        path,
        world.keys["full"],
        {"variants": variants},
        {"If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    first, second = changed.json["variants"]
    assert (first["sku"], first["price_cents"], first["compare_at_cents"], first["options"]) == (
        "t-1",
        800,
        1200,
        {"taille": "M"},
    )
    assert first["stock"]["sellable"] == 4
    assert first["id"] == created.json["variants"][0]["id"], "the same variant, matched by its SKU"
    assert second["stock"]["sellable"] == 0
