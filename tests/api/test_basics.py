"""First contact: a key reads its shop; errors are problem documents in the caller's language."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.support import World, call


def test_a_key_reads_its_shop(client: FlaskClient, world: World) -> None:
    response = call(client, "GET", "/shop", world.keys["full"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["id"] == world.shop_id
    assert response.json["slug"] == "fournil"
    assert response.json["created_at"].endswith("Z") or response.json["created_at"].endswith("+00:00")


def test_no_key_is_a_401_problem_in_the_callers_language(client: FlaskClient, world: World) -> None:
    french = call(client, "GET", "/shop")
    assert french.status_code == 401
    assert french.mimetype == "application/problem+json"
    assert french.headers["WWW-Authenticate"].startswith("Bearer")
    assert french.json["title"] == "Clé d’API absente ou non valable"
    assert french.headers["Content-Language"] == "fr"
    english = call(client, "GET", "/shop", headers={"Accept-Language": "en"})
    assert english.headers["Content-Language"] == "en"  # the locale the messages were rendered in
