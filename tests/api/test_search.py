"""The public search of the API: the site's search, the words about buying in ``q`` included."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from search import tasks
from search.backends import SearchBackend
from tests.factories import CategoryFactory, ProductFactory, ShopFactory


def _town(app: Flask) -> None:
    cheese = CategoryFactory(slug="fromagerie", name="Fromagerie")
    halles = ShopFactory(slug="fromagerie-des-halles", name="Fromagerie des Halles", category=cheese)
    for title, cents in (("Crottin de Chavignol", 390), ("Comté 18 mois", 2890)):
        ProductFactory(shop=halles, category=cheese, title=title, variants=[{"price_cents": cents}])
    with app.app_context():
        tasks.drain()


def test_a_ceiling_and_cheap_in_q_are_applied_and_said(
    app: Flask, client: FlaskClient, search_index: SearchBackend
) -> None:
    _town(app)
    found = client.get("/api/v1/public/search?q=fromagerie+pas+cher+moins+de+20+euros").get_json()
    assert [item["title"] for item in found["items"]] == ["Crottin de Chavignol"]
    assert found["understood"] == {
        "text": "fromagerie",
        "price_max_cents": 2000,
        "sort": "price_asc",
        "delivery": [],
        "in_stock": False,
    }
    plain = client.get("/api/v1/public/search?q=fromagerie").get_json()
    assert {item["title"] for item in plain["items"]} == {"Crottin de Chavignol", "Comté 18 mois"}
    assert plain["understood"]["text"] == "fromagerie"
    assert plain["understood"]["sort"] == "relevance"
