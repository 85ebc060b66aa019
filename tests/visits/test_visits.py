"""Visits counted without tracking: which requests count, with and without Redis, the flush job, the
read side for the dashboards, and that nothing about a person is stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import NamedTuple

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from redis import Redis
from sqlalchemy.orm import Session

from app.catalog.models import Product
from app.extensions import db
from app.jobs import schedule
from app.visits import counters, services, tasks
from app.visits.models import CounterBatch, VisitCount, VisitKind
from search import tasks as search_tasks
from tests.factories import PASSWORD, ProductFactory, ShopFactory, owner_of
from tests.plugins.application import Client
from vendors.models import Shop

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WIDE = (dt.date(2000, 1, 1), dt.date(2100, 1, 1))


def view(client: Client, url: str, method: str = "GET", **headers: str) -> int:
    response = client.open(url, method=method, headers={"User-Agent": BROWSER, **headers})
    return response.status_code


def rows() -> list[tuple[int, int | None, VisitKind, int]]:
    found = db.session.execute(
        sa.select(VisitCount.shop_id, VisitCount.product_id, VisitCount.kind, VisitCount.count).order_by(
            VisitCount.id
        )
    )
    return [tuple(row) for row in found]  # type: ignore[misc]


class Item(NamedTuple):
    """A product's ids, read before any request (each request ends its session)."""

    id: int
    shop_id: int
    slug: str  # the shop's
    variant_id: int


@pytest.fixture
def product(client: Client) -> Item:
    made: Product = ProductFactory()
    db.session.commit()
    return Item(made.id, made.shop_id, made.shop.slug, made.variants[0].id)


def test_the_tables_keep_nothing_about_a_person(app: Flask, db_session: object) -> None:
    inspector = sa.inspect(db.session.connection())
    assert {column["name"] for column in inspector.get_columns("visit_counts")} == {
        "id",
        "day",
        "shop_id",
        "product_id",
        "kind",
        "count",
    }
    assert {column["name"] for column in inspector.get_columns("search_misses")} == {
        "id",
        "day",
        "query",
        "bucket",
        "count",
        "max_results",
    }
    assert {column["name"] for column in inspector.get_columns("counter_batches")} == {"id", "applied_at"}


def test_a_product_page_view_is_counted_for_the_product_and_its_shop(client: Client, product: Item) -> None:
    assert view(client, f"/produits/{product.id}") == 200
    assert view(client, f"/produits/{product.id}") == 200
    assert rows() == [(product.shop_id, product.id, VisitKind.VIEW, 2)]
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {product.id: 2}
    assert services.views_by_shop(*WIDE) == {product.shop_id: 2}


def test_a_storefront_view_is_counted_for_the_shop_alone(client: Client, product: Item) -> None:
    assert view(client, f"/boutiques/{product.slug}") == 200
    assert rows() == [(product.shop_id, None, VisitKind.VIEW, 1)]
    assert services.views_by_shop(*WIDE, shop_ids=[product.shop_id]) == {product.shop_id: 1}
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {}


def test_a_shop_not_yet_open_looked_at_by_its_owner_is_not_counted(client: Client) -> None:
    slug = owner_of(ShopFactory(draft=True), email="owner@example.com").shop.slug
    db.session.commit()
    client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD})
    assert view(client, f"/boutiques/{slug}") == 200
    assert rows() == []


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {"User-Agent": GOOGLEBOT}),
        ("GET", {"User-Agent": "python-requests/2.32.3"}),
        ("GET", {"User-Agent": ""}),
        ("GET", {"Sec-Purpose": "prefetch"}),
        ("GET", {"Sec-Purpose": "prefetch;prerender"}),
        ("GET", {"Purpose": "prefetch"}),
        ("HEAD", {}),
    ],
    ids=["googlebot", "script", "no-agent", "sec-purpose", "prerender", "purpose", "head"],
)
def test_bots_prefetches_and_head_requests_are_not_counted(
    client: Client, product: Item, method: str, headers: dict[str, str]
) -> None:
    assert view(client, f"/produits/{product.id}", method=method, **headers) == 200
    assert view(client, f"/boutiques/{product.slug}", method=method, **headers) == 200
    assert rows() == []


def test_pages_not_found_are_not_counted(client: Client, product: Item) -> None:
    draft = ProductFactory(shop_id=product.shop_id, draft=True).id
    db.session.commit()
    assert view(client, f"/produits/{draft}") == 404
    assert view(client, "/produits/999999999") == 404
    assert view(client, "/boutiques/nowhere") == 404
    assert rows() == []


def test_a_cart_add_is_counted_once_it_succeeded(client: Client, product: Item) -> None:
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    form = f"/produits/{product.id}"
    assert (
        client.submit("/panier/ajouter", {"variant_id": product.variant_id}, form_url=form).status_code == 302
    )
    assert client.submit(
        "/panier/ajouter", {"variant_id": product.variant_id, "quantity": "500"}, form_url=form
    )
    assert services.cart_adds_by_shop(*WIDE) == {product.shop_id: 1}
    assert services.views_by_shop(*WIDE) == {product.shop_id: 2}  # the product page, opened twice
    assert (product.shop_id, product.id, VisitKind.CART_ADD, 1) in rows()


def test_a_bot_adding_to_a_cart_is_not_counted(client: Client, product: Item) -> None:
    client.environ_base["HTTP_USER_AGENT"] = GOOGLEBOT
    form = f"/produits/{product.id}"
    client.submit("/panier/ajouter", {"variant_id": product.variant_id}, form_url=form)
    assert services.cart_adds_by_shop(*WIDE) == {}


def test_the_day_is_the_towns(client: Client, product: Item) -> None:
    # 23:30 UTC on 6 December is already 7 December in Paris.
    with time_machine.travel(dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC), tick=False):
        view(client, f"/produits/{product.id}")
    assert db.session.scalar(sa.select(VisitCount.day)) == dt.date(2026, 12, 7)


def test_a_failing_counter_never_breaks_the_page(
    client: Client, product: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object, counts: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "VISITS", counters.Counter("visits", broken))
    assert view(client, f"/produits/{product.id}") == 200
    monkeypatch.setitem(client.application.config, "REDIS_URL", "redis://127.0.0.1:9/0")  # nothing there
    monkeypatch.setitem(client.application.extensions, "counters_redis", {})
    assert view(client, f"/boutiques/{product.slug}") == 200
    assert rows() == []


# -- without Redis: counts kept in the process ------------------------------------------------------------


@pytest.fixture
def kept_for_a_minute(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """COUNTERS_WRITE_SECONDS at 60, this app's kept counts new, and what would be written at exit."""
    monkeypatch.setitem(client.application.config, "COUNTERS_WRITE_SECONDS", 60)
    monkeypatch.setitem(client.application.extensions, "counters_kept", {})
    at_exit: list[tuple[object, ...]] = []
    monkeypatch.setattr(counters.atexit, "register", lambda *call: at_exit.append(call))
    return at_exit


def test_without_redis_views_are_kept_and_written_together_after_the_interval(
    client: Client,
    product: Item,
    kept_for_a_minute: list[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view(client, f"/produits/{product.id}")
    view(client, f"/produits/{product.id}")
    view(client, f"/boutiques/{product.slug}")
    assert rows() == []  # kept, not written
    monkeypatch.setitem(client.application.config, "COUNTERS_WRITE_SECONDS", 0)  # the interval is over
    view(client, f"/produits/{product.id}")
    written = [(product.shop_id, product.id, VisitKind.VIEW, 3), (product.shop_id, None, VisitKind.VIEW, 1)]
    assert sorted(rows(), key=str) == sorted(written, key=str)
    assert client.application.extensions["counters_kept"]["visits"].counts == {}


def test_a_worker_leaving_writes_the_counts_it_kept(
    client: Client, product: Item, kept_for_a_minute: list[tuple[object, ...]]
) -> None:
    view(client, f"/produits/{product.id}")
    view(client, f"/produits/{product.id}")
    assert rows() == []
    assert len(kept_for_a_minute) == 1  # registered once, at the first count kept
    write_at_exit, app, counter = kept_for_a_minute[0]
    assert app is client.application
    assert counter is services.VISITS
    write_at_exit(app, counter)  # type: ignore[operator]
    assert rows() == [(product.shop_id, product.id, VisitKind.VIEW, 2)]
    write_at_exit(app, counter)  # type: ignore[operator]  # nothing left: nothing added twice
    assert rows() == [(product.shop_id, product.id, VisitKind.VIEW, 2)]


def test_kept_counts_that_cannot_be_written_are_given_up_not_kept_forever(
    client: Client,
    product: Item,
    kept_for_a_minute: list[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing: list[bool] = []

    def write(session: Session, counts: Mapping[tuple[object, ...], int]) -> None:
        if failing.pop():
            raise RuntimeError("disk full")
        services._write(session, counts)

    monkeypatch.setattr(services, "VISITS", counters.Counter("visits", write))
    view(client, f"/produits/{product.id}")
    view(client, f"/produits/{product.id}")
    monkeypatch.setitem(client.application.config, "COUNTERS_WRITE_SECONDS", 0)
    failing.append(True)
    assert view(client, f"/produits/{product.id}") == 200  # the batch fails (logged), the page does not
    assert rows() == []
    failing.append(False)
    view(client, f"/produits/{product.id}")  # the next count is written alone
    assert rows() == [(product.shop_id, product.id, VisitKind.VIEW, 1)]


# -- with Redis -------------------------------------------------------------------------------------------


def waiting(redis: Redis) -> dict[tuple[object, ...], int]:
    return {
        tuple(json.loads(field)): int(value)
        for field, value in redis.hgetall(services.VISITS.redis_key).items()
    }


def test_with_redis_a_view_is_an_increment_until_the_flush(
    app_ctx: Flask, client: Client, product: Item, counters_redis: Redis
) -> None:
    for _ in range(3):
        view(client, f"/produits/{product.id}")
    view(client, f"/produits/{product.id}", **{"User-Agent": GOOGLEBOT})
    view(client, f"/boutiques/{product.slug}")
    today = counters.today().isoformat()
    assert waiting(counters_redis) == {
        (today, product.shop_id, product.id, "view"): 3,
        (today, product.shop_id, None, "view"): 1,
    }
    assert rows() == []
    assert tasks.flush() == 4
    assert sorted(rows(), key=str) == sorted(
        [(product.shop_id, product.id, VisitKind.VIEW, 3), (product.shop_id, None, VisitKind.VIEW, 1)],
        key=str,
    )
    assert counters_redis.keys(f"{services.VISITS.redis_key}*") == []
    assert tasks.flush() == 0  # run twice: nothing counted twice
    view(client, f"/produits/{product.id}")
    assert tasks.flush() == 1
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {product.id: 4}
    assert services.views_by_shop(*WIDE) == {product.shop_id: 5}


def test_a_flush_that_died_after_its_commit_is_not_counted_twice(
    app_ctx: Flask, client: Client, product: Item, counters_redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    view(client, f"/produits/{product.id}")
    view(client, f"/produits/{product.id}")
    # The first flush commits its counts, then dies before deleting the batch it took from Redis.
    forget = counters._FORGET
    monkeypatch.setattr(counters, "_FORGET", "return 0")
    assert tasks.flush() == 2
    assert counters_redis.exists(f"{services.VISITS.redis_key}:flushing")
    view(client, f"/produits/{product.id}")  # meanwhile, a new view
    monkeypatch.setattr(counters, "_FORGET", forget)
    assert tasks.flush() == 1  # the old batch is recognised and only dropped; the new view is moved
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {product.id: 3}
    assert counters_redis.keys(f"{services.VISITS.redis_key}*") == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CounterBatch)) == 2


def test_views_during_a_flush_wait_for_the_next_one(
    app_ctx: Flask, client: Client, product: Item, counters_redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    view(client, f"/produits/{product.id}")
    write = services.VISITS.write

    def write_while_a_view_arrives(session: Session, counts: Mapping[counters.Key, int]) -> None:
        services.VISITS.add((counters.today().isoformat(), product.shop_id, product.id, "view"))
        write(session, counts)

    monkeypatch.setattr(services, "VISITS", counters.Counter("visits", write_while_a_view_arrives))
    assert tasks.flush() == 1
    assert waiting(counters_redis) == {(counters.today().isoformat(), product.shop_id, product.id, "view"): 1}
    monkeypatch.setattr(services, "VISITS", counters.Counter("visits", write))
    assert tasks.flush() == 1
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {product.id: 2}


def test_without_redis_there_is_nothing_to_flush(app_ctx: Flask, client: Client, product: Item) -> None:
    view(client, f"/produits/{product.id}")
    assert tasks.flush() == 0
    assert services.views_by_product(*WIDE, shop_id=product.shop_id) == {product.id: 1}


def test_the_flush_jobs_are_scheduled() -> None:
    jobs = [func for func, _every in schedule()]
    assert tasks.flush in jobs
    assert search_tasks.flush_misses in jobs


# -- reading ---------------------------------------------------------------------------------------------


def test_counts_are_read_by_shop_and_product_over_a_date_range(app_ctx: Flask) -> None:
    first, second = ShopFactory(), ShopFactory()
    db.session.flush()
    one, two = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
    for day, shop, product_id, kind, count in [
        (one, first, None, VisitKind.VIEW, 5),
        (one, first, 11, VisitKind.VIEW, 3),
        (two, first, 11, VisitKind.VIEW, 4),
        (two, first, 12, VisitKind.VIEW, 1),
        (two, first, 11, VisitKind.CART_ADD, 2),
        (two, second, None, VisitKind.VIEW, 7),
        (dt.date(2026, 12, 2), first, 11, VisitKind.VIEW, 100),
        (dt.date(2026, 11, 29), second, None, VisitKind.VIEW, 100),
    ]:
        db.session.add(VisitCount(day=day, shop_id=shop.id, product_id=product_id, kind=kind, count=count))
    db.session.flush()
    assert services.views_by_shop(one, two) == {first.id: 13, second.id: 7}
    assert services.views_by_shop(one, two, shop_ids=[second.id]) == {second.id: 7}
    assert services.views_by_shop(one, two, shop_ids=[]) == {}
    assert services.views_by_shop(two, two) == {first.id: 5, second.id: 7}
    assert services.views_by_shop(two, one) == {}  # inverted dates: nothing
    assert services.cart_adds_by_shop(one, two) == {first.id: 2}
    assert services.cart_adds_by_shop(one, one) == {}
    assert services.views_by_product(one, two, shop_id=first.id) == {11: 7, 12: 1}
    assert services.views_by_product(one, two, shop_id=second.id) == {}


def test_one_row_per_day_shop_product_and_kind(app_ctx: Flask) -> None:
    shop: Shop = ShopFactory()
    db.session.flush()
    day = "2026-12-01"
    services.VISITS.add((day, shop.id, None, "view"))
    services.VISITS.add((day, shop.id, None, "view"))
    services.VISITS.add((day, shop.id, 5, "view"))
    services.VISITS.add((day, shop.id, 5, "cart_add"))
    services.VISITS.add((day, shop.id, 5, "view"), 3)
    assert sorted(rows(), key=str) == sorted(
        [
            (shop.id, None, VisitKind.VIEW, 2),
            (shop.id, 5, VisitKind.VIEW, 4),
            (shop.id, 5, VisitKind.CART_ADD, 1),
        ],
        key=str,
    )


def test_the_flush_commands_run_by_hand(
    app: Flask, client: Client, product: Item, counters_redis: Redis
) -> None:
    view(client, f"/produits/{product.id}")
    with app.test_request_context("/"):
        assert "1 visits counted" in app.test_cli_runner().invoke(args=["visits", "flush"]).output
        assert "0 searches counted" in app.test_cli_runner().invoke(args=["search", "flush-misses"]).output
    assert services.views_by_shop(*WIDE) == {product.shop_id: 1}
