"""Freshness: changes reach the index through the outbox, written in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from app.accounts.models import Role
from app.catalog import services as catalog
from app.catalog.models import Product, ProductStatus
from app.extensions import db
from search import services, tasks
from search.backends import SearchBackend
from search.backends.elastic import ElasticsearchBackend
from search.models import ChangedEntity, IndexChange
from search.query import SearchQuery
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import jobs
from vendors import services as vendors
from vendors.models import ShopStatus


def index_now(app: Flask) -> int:
    """Run the search jobs the commits asked for, as a worker of the "search" queue would."""
    return jobs(app).run_all(queues=("search",))


def found(text: str) -> list[int]:
    return [hit.product_id for hit in services.backend().search(SearchQuery(text=text)).hits]


def pending() -> list[tuple[str, int]]:
    return [
        (change.entity.value, change.entity_id)
        for change in db.session.scalars(
            sa.select(IndexChange).where(IndexChange.processed_at.is_(None)).order_by(IndexChange.id)
        )
    ]


def test_a_new_product_is_searchable_once_the_job_ran(app_ctx: Flask, search_index: SearchBackend) -> None:
    product = ProductFactory(title="Théière en fonte")
    before = found("théière")
    assert (before, index_now(app_ctx) >= 1, found("theiere")) == ([], True, [product.id])


def test_the_change_and_its_outbox_row_commit_together(app_ctx: Flask, search_index: SearchBackend) -> None:
    member = owner_of()
    product = ProductFactory(shop=member.shop, title="Bougie parfumée")
    index_now(app_ctx)
    db.session.begin_nested()
    product.title = "Bougie à la lavande"
    db.session.flush()
    written = ("product", product.id) in pending()
    db.session.rollback()
    assert (written, ("product", product.id) in pending()) == (True, False)


def test_one_job_per_transaction_however_many_changes(app_ctx: Flask, search_index: SearchBackend) -> None:
    shop = ShopFactory()
    jobs(app_ctx).jobs.clear()
    for number in range(5):
        db.session.add(Product(shop=shop, category=shop.category, title=f"Carnet {number}", vat_bps=2000))
    db.session.commit()
    assert [job.path for job in jobs(app_ctx).jobs if job.queue == "search"] == ["search.tasks.drain"]


def test_a_stock_change_updates_in_stock(app_ctx: Flask, search_index: SearchBackend) -> None:
    member = owner_of()
    product = ProductFactory(shop=member.shop, title="Confiture de fraises", variants=[{"stock": 1}])
    index_now(app_ctx)
    catalog.adjust_stock(member, product.variants[0], -1, "vendu au marché")
    db.session.commit()
    index_now(app_ctx)
    in_stock = services.backend().search(SearchQuery(text="confiture", in_stock=True)).hits
    assert (in_stock, found("confiture")) == ([], [product.id])


def test_archiving_a_product_takes_it_out(app_ctx: Flask, search_index: SearchBackend) -> None:
    member = owner_of()
    product = ProductFactory(shop=member.shop, title="Vase en grès")
    index_now(app_ctx)
    catalog.set_status(member, [product], ProductStatus.ARCHIVED)
    db.session.commit()
    index_now(app_ctx)
    assert found("vase") == []


def test_a_deleted_product_leaves_the_index(app_ctx: Flask, search_index: SearchBackend) -> None:
    product = ProductFactory(title="Panier en osier")
    index_now(app_ctx)
    db.session.delete(product)
    db.session.commit()
    index_now(app_ctx)
    assert found("panier") == []


def test_a_suspended_shop_takes_all_its_products_out(app_ctx: Flask, search_index: SearchBackend) -> None:
    shop = ShopFactory()
    products = [ProductFactory(shop=shop, title=f"Savon {scent}") for scent in ("lavande", "verveine")]
    index_now(app_ctx)
    indexed = sorted(found("savon"))
    manager = UserFactory(role=Role.MANAGER)
    vendors.review(manager, shop, "suspended", "Contrôle sanitaire en cours.")
    db.session.commit()
    index_now(app_ctx)
    assert (shop.status, indexed, found("savon")) == (
        ShopStatus.SUSPENDED,
        sorted(product.id for product in products),
        [],
    )


def test_a_renamed_shop_is_found_by_its_new_name(app_ctx: Flask, search_index: SearchBackend) -> None:
    shop = ShopFactory(name="Chez Paulette")
    product = ProductFactory(shop=shop, title="Tablier brodé")
    index_now(app_ctx)
    shop.name = "Mercerie Paulette"
    db.session.commit()
    index_now(app_ctx)
    assert found("mercerie") == [product.id]


def test_draining_twice_changes_nothing(app_ctx: Flask, search_index: SearchBackend) -> None:
    ProductFactory(title="Moulin à poivre")
    index_now(app_ctx)
    status = search_index.status()
    assert (tasks.drain(), search_index.status().documents, pending()) == (0, status.documents, [])


def test_a_failing_index_leaves_the_changes_pending(
    app_ctx: Flask, search_index: SearchBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = ProductFactory(title="Cafetière italienne")

    def broken(documents: object) -> int:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(search_index, "upsert", broken)
    with pytest.raises(RuntimeError):
        tasks.drain()
    db.session.rollback()
    assert (ChangedEntity.PRODUCT.value, product.id) in pending()


def test_reindex_replays_changes_made_while_it_ran(
    app_ctx: Flask, search_index: SearchBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = ProductFactory(title="Lampe de chevet")
    index_now(app_ctx)
    real_rebuild = search_index.rebuild

    def rebuild_while_a_shop_edits(batches: Iterable[list[object]]) -> object:
        def read_then_edit() -> Iterator[list[object]]:
            yield from batches  # the new version is filled with the title as it was read
            # Meanwhile a shop commits a change, drained into the version searches still use.
            db.session.get(Product, product.id).title = "Lampe de bureau"  # type: ignore[union-attr]
            db.session.commit()
            index_now(app_ctx)

        return real_rebuild(read_then_edit())  # type: ignore[arg-type]

    monkeypatch.setattr(search_index, "rebuild", rebuild_while_a_shop_edits)
    report = services.reindex()
    assert (report.replayed >= 1, found("bureau")) == (True, [product.id])


def test_the_cli_reindexes_and_reports(app: Flask, app_ctx: Flask, search_index: SearchBackend) -> None:
    ProductFactory(title="Pot à miel")
    runner = CliRunner()
    from search.cli import search as search_cli

    reindexed = runner.invoke(search_cli, ["reindex"], obj=app.extensions.get("flask_script_info"))
    status = runner.invoke(search_cli, ["status"])
    assert (
        reindexed.exit_code,
        "products indexed" in reindexed.output,
        "searchable_products" in status.output,
    ) == (
        0,
        True,
        True,
    )


def test_the_elasticsearch_backend_is_fed_the_same_way(
    app: Flask, app_ctx: Flask, elasticsearch_url: str
) -> None:
    backend = ElasticsearchBackend(elasticsearch_url, alias="test-outbox")
    previous = app.extensions.get("search")
    app.extensions["search"] = backend
    try:
        product = ProductFactory(title="Nichoir en bois")
        index_now(app_ctx)
        assert found("nichoirs") == [product.id]
    finally:
        app.extensions["search"] = previous
        backend.drop()
