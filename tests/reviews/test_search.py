"""Ratings reach the search index through the outbox: the product document's rating and review count
follow publications, edits and refusals; the search page sorts by rating and filters "4 ★ et plus"."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask

from app.extensions import db
from app.reviews import services
from search import tasks
from search.backends import SearchBackend
from search.documents import documents_for
from search.query import SearchQuery
from tests.factories import UserFactory
from tests.plugins.application import Client, jobs
from tests.reviews.support import Bought, another_purchase, bought, review_now

TITLE = re.compile(r'class="product-card__title">(.*?)</span>', re.S)


def titles(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", title)).strip() for title in TITLE.findall(page)]


def index_now(app: Flask) -> int:
    return jobs(app).run_all(queues=("search",))


@pytest.fixture
def rated(app: Flask, db_session: object, search_index: SearchBackend) -> Bought:
    """Three breads: the levain at 5 and 4 stars, the tart at 2 stars, the brioche without a review."""
    with app.test_request_context():
        purchase = bought(products=3)
        review_now(purchase, 0, rating=5)
        review_now(another_purchase(purchase), 0, rating=4)
        review_now(purchase, 1, rating=2)
        tasks.drain()
    return purchase


def test_the_document_carries_the_average_and_the_count(app_ctx: Flask, rated: Bought) -> None:
    levain, tart, brioche = (documents_for(rated.product_ids)[pid] for pid in rated.product_ids)
    assert [(doc.rating, doc.review_count) for doc in (levain, tart, brioche)] == [
        (4.5, 2),
        (2.0, 1),
        (0.0, 0),
    ]
    assert levain.rank_weight > brioche.rank_weight


def test_a_publication_an_edit_and_a_refusal_reach_the_index(app_ctx: Flask, rated: Bought) -> None:
    brioche = rated.product_ids[2]

    def indexed_rating() -> list[int]:
        return [hit.product_id for hit in services_backend().search(SearchQuery(min_rating=4)).hits]

    from search.services import backend as services_backend

    assert brioche not in indexed_rating()
    review_id = review_now(rated, 2, rating=5)
    index_now(app_ctx)
    assert brioche in indexed_rating()
    services.edit_review(
        rated.buyer(),
        review_id,
        services.ReviewData(3, "Moins bien", "Un peu sèche le lendemain, mais bonne le jour même."),
    )
    db.session.commit()
    index_now(app_ctx)
    assert brioche not in indexed_rating()
    services.reject(UserFactory(manager=True), review_id, "off_topic")
    db.session.commit()
    index_now(app_ctx)
    assert documents_for([brioche])[brioche].review_count == 0


def test_the_search_page_sorts_by_rating_and_filters_four_stars_and_up(client: Client, rated: Bought) -> None:
    best = titles(client.get("/recherche?tri=rating").get_data(as_text=True))
    assert best == ["Pain au levain", "Tarte aux pommes", "Brioche"]
    page = client.get("/recherche").get_data(as_text=True)
    assert "Meilleures notes" in page
    found = re.search(
        r'<a href="(/recherche\?[^"]*note=4[^"]*)"[^>]*>4 ★ et plus <span class="muted">(\d+)</span>', page
    )
    assert found
    assert found.group(2) == "1"
    narrowed = client.get(html.unescape(found.group(1))).get_data(as_text=True)
    assert titles(narrowed) == ["Pain au levain"]
    assert 'href="/avis/comment-ca-marche"' in narrowed


def test_a_nonsense_minimum_rating_is_ignored_with_a_notice(client: Client, rated: Bought) -> None:
    page = client.get("/recherche?note=9").get_data(as_text=True)
    assert "La note minimale va de 1 à 5 étoiles" in page
    assert len(titles(page)) == 3
