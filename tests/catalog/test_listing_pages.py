"""The public listings' pages (storefront, category) never count the whole listing: the ids of a page
and how many there are (no further than a cap) come in one statement, the cards in another. Once a
listing is counted, its pages read their own rows alone until a change, and check the count kept."""

from __future__ import annotations

import pytest
from flask import Flask

from app import pagination
from app.catalog import services
from tests.factories import ProductFactory, ShopFactory
from tests.plugins.queries import counted_queries
from vendors.models import Shop


def _shop_with(products: int) -> Shop:
    shop = ShopFactory()
    for number in range(products):
        ProductFactory(shop=shop, title=f"Produit {number}")
    assert shop.id  # read back after the factories' commit, before any statement is counted
    return shop


def _reads(statements: list[str]) -> int:
    """SELECTs: the factories' rows are written by the first one (autoflush)."""
    return sum(statement.lstrip().upper().startswith("SELECT") for statement in statements)


def _listing_statements(statements: list[str]) -> int:
    """Statements reading the listing's ids (the cards' statement reads the products of a list of ids)."""
    return sum("row_number()" in statement.lower() for statement in statements)


def test_a_page_that_is_not_full_comes_in_two_statements(app_ctx: Flask) -> None:
    shop = _shop_with(3)
    with counted_queries() as statements:
        page = services.public_products(shop=shop, per_page=5)
    assert [product.title for product in page.items] == ["Produit 2", "Produit 1", "Produit 0"]
    assert (page.total, page.pages, page.has_next, page.has_prev) == (3, 1, False, False)
    assert (_reads(statements), _listing_statements(statements)) == (2, 1)


def test_a_full_page_is_counted_in_the_statement_that_reads_it(app_ctx: Flask) -> None:
    shop = _shop_with(5)
    last = services.public_products(shop=shop, page=3, per_page=2)
    assert [product.title for product in last.items] == ["Produit 0"]
    assert (last.total, last.pages, last.has_next, last.prev_num) == (5, 3, False, 2)
    services.listing_counts.clear()  # as another process would, which has not counted it yet
    with counted_queries() as statements:
        first = services.public_products(shop=shop, page=1, per_page=2)
    assert (first.total, first.pages, first.has_next, first.next_num) == (5, 3, True, 2)
    assert (_reads(statements), _listing_statements(statements)) == (2, 1)


def test_a_large_listing_is_counted_up_to_a_cap(app_ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "MAX_COUNTED_PAGES", 2)
    shop = _shop_with(7)
    page = services.public_products(shop=shop, page=1, per_page=2)
    assert (page.total, page.capped, page.pages, page.has_next) == (4, True, 2, True)
    # A page beyond the cap shows the last one counted rather than reading deeper.
    deep = services.public_products(shop=shop, page=40, per_page=2)
    assert (deep.page, [product.title for product in deep.items]) == (2, ["Produit 4", "Produit 3"])
    assert not deep.has_next


def test_an_empty_page_beyond_the_end(app_ctx: Flask) -> None:
    shop = _shop_with(2)
    page = services.public_products(shop=shop, page=3, per_page=2)
    assert (page.items, page.total, page.pages, page.has_next) == ([], 2, 1, False)


def test_a_listing_counted_once_then_reads_its_pages_alone(app_ctx: Flask) -> None:
    shop = _shop_with(5)
    services.public_products(shop=shop, page=1, per_page=2)
    with counted_queries() as statements:
        second = services.public_products(shop=shop, page=2, per_page=2)
        last = services.public_products(shop=shop, page=3, per_page=2)
        beyond = services.public_products(shop=shop, page=4, per_page=2)
    assert [product.title for product in second.items] == ["Produit 2", "Produit 1"]
    assert (second.total, second.pages, second.has_next) == (5, 3, True)
    assert ([product.title for product in last.items], last.has_next) == (["Produit 0"], False)
    assert (beyond.items, beyond.total) == ([], 5)
    assert _listing_statements(statements) == 0, "the count kept, no window over the listing"
    # Each page: its ids, then its cards; nothing is counted again.
    assert (_reads(statements), sum("count(" in statement.lower() for statement in statements)) == (5, 0)


def test_a_new_product_is_counted_at_once(app_ctx: Flask) -> None:
    shop = _shop_with(4)
    assert services.public_products(shop=shop, per_page=2).total == 4
    ProductFactory(shop=shop, title="Nouveau")  # its commit moves the pages' generation on
    page = services.public_products(shop=shop, per_page=2)
    assert (page.total, page.pages, [product.title for product in page.items]) == (
        5,
        3,
        ["Nouveau", "Produit 3"],
    )


@pytest.mark.parametrize("kept", [3, 4, 6, 40])
def test_a_count_kept_that_the_rows_contradict_is_counted_again(app_ctx: Flask, kept: int) -> None:
    """A count kept by a process that has not yet seen a change (without Redis, a minute at most): the
    page whose rows contradict it counts again, and keeps the right total."""
    shop = _shop_with(5)
    services.public_products(shop=shop, page=1, per_page=2)
    [key] = [key for key in services.listing_counts._values if dict(key[0]).get("shop_id") == shop.id]
    services.listing_counts.put(key, kept)
    with counted_queries() as statements:
        last = services.public_products(shop=shop, page=3, per_page=2)
    assert ([product.title for product in last.items], last.total, last.pages) == (["Produit 0"], 5, 3)
    assert _listing_statements(statements) == 1, "counted again"
    assert services.listing_counts.found(key) == 5
