"""Searches that find nothing or little: which are counted (people's first pages of text searches, never
product codes), with and without Redis, the flush and its retention, and the most searched misses."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis

from app.extensions import db
from search import misses, tasks
from search.backends import SearchBackend
from search.models import MissBucket, SearchMiss
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.plugins.application import Client

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WIDE = (dt.date(2000, 1, 1), dt.date(2100, 1, 1))


@pytest.fixture
def town(app: Flask, client: Client, search_index: SearchBackend) -> None:
    """One cheese, and four books with the same title (four results)."""
    cheese = CategoryFactory(slug="fromagerie", name="Fromagerie")
    books = CategoryFactory(slug="livres", name="Livres")
    ProductFactory(shop=ShopFactory(category=cheese), category=cheese, title="Crottin de Chavignol")
    for number in range(4):
        ProductFactory(
            shop=ShopFactory(category=books), category=books, title=f"Le Petit Prince, tome {number}"
        )
    db.session.commit()
    with app.app_context():
        tasks.drain()


def search(client: Client, query: str, agent: str = BROWSER, **args: str) -> None:
    response = client.get("/recherche", query_string={"q": query, **args}, headers={"User-Agent": agent})
    assert response.status_code == 200


def counted() -> list[tuple[str, MissBucket, int, int]]:
    found = db.session.execute(
        sa.select(SearchMiss.query, SearchMiss.bucket, SearchMiss.count, SearchMiss.max_results).order_by(
            SearchMiss.query, SearchMiss.bucket
        )
    )
    return [(query, bucket, count, most) for query, bucket, count, most in found]


def test_the_query_is_folded_with_its_words_in_order() -> None:
    assert misses.normalised("  Crème   BRÛLÉE\tmaison ") == "creme brulee maison"
    assert misses.normalised("maison crème") == "maison creme"
    assert len(misses.normalised("é" * 300)) == misses.MAX_QUERY_CHARS


def test_searches_finding_nothing_or_little_are_counted(client: Client, town: None) -> None:
    search(client, "Licorne en peluche")
    search(client, "licorne  EN peluche")
    search(client, "crottin")
    search(client, "crottin", categorie="fromagerie")  # filtered searches count too
    search(client, "petit prince")  # four found: not a miss
    assert counted() == [
        ("crottin", MissBucket.FEW, 2, 1),
        ("licorne en peluche", MissBucket.NONE, 2, 0),
    ]
    assert misses.top_misses(*WIDE) == [("crottin", 2, 1), ("licorne en peluche", 2, 0)]


@pytest.mark.parametrize(
    ("query", "args", "agent"),
    [
        ("licorne", {}, GOOGLEBOT),
        ("licorne", {}, ""),
        ("licorne", {"page": "2"}, BROWSER),
        ("", {}, BROWSER),
        ("9782070612758", {}, BROWSER),
        ("978-2-07-061275-8", {}, BROWSER),
        ("37000", {}, BROWSER),
        ("licorne " * 13, {}, BROWSER),
    ],
    ids=["bot", "no-agent", "page-2", "browse", "isbn", "isbn-hyphens", "digits", "too-long"],
)
def test_searches_not_counted(
    client: Client, town: None, query: str, args: dict[str, str], agent: str
) -> None:
    search(client, query, agent, **args)
    assert counted() == []


def test_with_redis_misses_wait_for_the_flush_which_keeps_400_days(
    app_ctx: Flask, client: Client, town: None, counters_redis: Redis
) -> None:
    old = misses.today() - dt.timedelta(days=misses.KEEP_DAYS + 1)
    kept = misses.today() - dt.timedelta(days=misses.KEEP_DAYS)
    for day in (old, kept):
        db.session.add(SearchMiss(day=day, query="vieux", bucket=MissBucket.NONE, count=1, max_results=0))
    db.session.commit()
    search(client, "licorne")
    search(client, "licorne")
    search(client, "crottin")
    fields = counters_redis.hgetall(misses.MISSES.redis_key)
    assert {tuple(json.loads(field))[1:]: int(value) for field, value in fields.items()} == {
        ("licorne", 0): 2,
        ("crottin", 1): 1,
    }
    assert tasks.flush_misses() == 3
    assert tasks.flush_misses() == 0  # twice: nothing counted twice
    assert counted() == [
        ("crottin", MissBucket.FEW, 1, 1),
        ("licorne", MissBucket.NONE, 2, 0),
        ("vieux", MissBucket.NONE, 1, 0),
    ]
    assert db.session.scalars(sa.select(SearchMiss.day).where(SearchMiss.query == "vieux")).all() == [kept]
    assert counters_redis.keys(f"{misses.MISSES.redis_key}*") == []


def test_the_most_searched_misses_over_a_date_range(app_ctx: Flask) -> None:
    one, two, three = dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    for day, query, bucket, count, most in [
        (one, "licorne", MissBucket.NONE, 3, 0),
        (two, "licorne", MissBucket.NONE, 2, 0),
        (two, "licorne", MissBucket.FEW, 1, 2),
        (one, "kayak", MissBucket.NONE, 4, 0),
        (two, "raquettes", MissBucket.FEW, 4, 1),
        (three, "kayak", MissBucket.NONE, 50, 0),
    ]:
        db.session.add(SearchMiss(day=day, query=query, bucket=bucket, count=count, max_results=most))
    db.session.flush()
    assert misses.top_misses(one, two) == [("licorne", 6, 2), ("kayak", 4, 0), ("raquettes", 4, 1)]
    assert misses.top_misses(one, two, limit=1) == [("licorne", 6, 2)]
    assert misses.top_misses(two, two) == [("raquettes", 4, 1), ("licorne", 3, 2)]
    assert misses.top_misses(two, one) == []  # inverted dates: nothing
    assert misses.top_misses(one, three, limit=0) == []
    assert misses.top_misses(one, three, limit=10**12)[0] == ("kayak", 54, 0)


def test_the_same_day_query_and_bucket_add_up_in_one_row(app_ctx: Flask) -> None:
    day = "2026-12-01"
    misses.MISSES.add((day, "licorne", 1))
    misses.MISSES.add((day, "licorne", 2))
    misses.MISSES.add((day, "licorne", 1))
    misses.MISSES.add((day, "licorne", 0))
    assert counted() == [("licorne", MissBucket.FEW, 3, 2), ("licorne", MissBucket.NONE, 1, 0)]
