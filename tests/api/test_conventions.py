"""The API's conventions: bad input is a problem naming the field (never a 500, nothing written),
Idempotency-Key replays, rate limits per key."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api.models import IdempotencyRecord
from api.tasks import purge_idempotency_records
from app.catalog.models import Product
from app.database import utcnow
from app.extensions import db
from tests.api.support import World, call, new_product


def product_count() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Product)) or 0)


def test_bad_input_is_a_problem_naming_the_field(client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    before = product_count()
    malformed = call(client, "POST", "/products", key, raw=b'{"title": "Pain",')
    assert malformed.status_code == 400
    assert malformed.mimetype == "application/problem+json"
    cases = {
        "unknown field": (new_product(world, couleur="bleu"), "couleur", "Champ inconnu."),
        "decimal cents": (
            new_product(world, variants=[{"sku": "X-1", "price_cents": 4.5, "stock": 1}]),
            "variants.0.price_cents",
            "Nombre entier attendu.",
        ),
        "price as text": (
            new_product(world, variants=[{"sku": "X-1", "price_cents": "450", "stock": 1}]),
            "variants.0.price_cents",
            None,
        ),
        "boolean as number": (new_product(world, vat_bps=True), "vat_bps", None),
        "negative stock": (
            new_product(world, variants=[{"sku": "X-1", "price_cents": 450, "stock": -3}]),
            "variants.0.stock",
            None,
        ),
        "missing title": (
            {k: v for k, v in new_product(world).items() if k != "title"},
            "title",
            "Champ obligatoire.",
        ),
        "beyond bigint": (new_product(world, category_id=2**70), "category_id", None),
        "not an object": (["a list"], "", None),
    }
    for name, (body, field, message) in cases.items():
        response = call(client, "POST", "/products", key, body)
        assert response.status_code == 422, (name, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json", name
        named = {error["field"]: error["message"] for error in response.json["errors"]}
        if field:
            assert field in named, (name, named)
        if message:
            assert named[field] == message, name
        assert {"type", "title", "status", "detail"} <= set(response.json)
    nul = call(client, "POST", "/products", key, new_product(world, title="Pain\x00"))
    assert nul.status_code == 400
    assert product_count() == before, "nothing written"


def test_an_unknown_query_parameter_is_refused_and_named(client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    for path, name in (
        ("/products?limt=5", "limt"),
        ("/orders?statut=paid", "statut"),
        ("/reviews?note=5", "note"),
    ):
        response = call(client, "GET", path, key)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        named = {error["field"]: error["message"] for error in response.json["errors"]}
        assert named == {name: "Champ inconnu."}, (path, named)
    assert call(client, "GET", "/products?limit=5", key).status_code == 200


def test_idempotent_creation(client: FlaskClient, world: World) -> None:
    headers = {"Idempotency-Key": "creation-brioche-1"}
    body = new_product(world)
    first = call(client, "POST", "/products", world.keys["full"], body, headers)
    assert first.status_code == 201
    reordered = dict(reversed(list(body.items())))  # the same object, its keys in another order
    again = call(client, "POST", "/products", world.keys["full"], reordered, headers)
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Product).where(Product.title == "Brioche")
    )
    assert count == 1
    changed = call(client, "POST", "/products", world.keys["full"], {**body, "title": "Autre"}, headers)
    assert changed.status_code == 409
    record = db.session.scalar(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "creation-brioche-1")
    )
    assert record is not None
    assert record.expires_at - record.created_at == dt.timedelta(hours=24)


def test_a_refused_request_keeps_no_answer(client: FlaskClient, world: World) -> None:
    headers = {"Idempotency-Key": "essai-2"}
    refused = call(client, "POST", "/products", world.keys["full"], new_product(world, vat_bps=2100), headers)
    assert refused.status_code == 422
    fixed = call(client, "POST", "/products", world.keys["full"], new_product(world), headers)
    assert fixed.status_code == 201, "the refused request left the key free"


def test_an_idempotency_key_must_be_printable(client: FlaskClient, world: World) -> None:
    response = call(
        client, "POST", "/products", world.keys["full"], new_product(world), {"Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "Idempotency-Key"


def test_rate_limit_per_key(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    for _ in range(2):
        assert call(client, "GET", "/shop", world.keys["reader"]).status_code == 200
    limited = call(client, "GET", "/shop", world.keys["reader"])
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert call(client, "GET", "/shop", world.keys["full"]).status_code == 200, "another key, its own count"


def test_expired_answers_are_forgotten(client: FlaskClient, world: World) -> None:
    headers = {"Idempotency-Key": "vieille"}
    assert (
        call(client, "POST", "/products", world.keys["full"], new_product(world), headers).status_code == 201
    )
    record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "vieille"))
    assert record is not None
    record.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    again = call(client, "POST", "/products", world.keys["full"], new_product(world, sku="AUTRE-2"), headers)
    assert again.status_code == 201, "an expired key is free again"
    assert "Idempotent-Replayed" not in again.headers
    db.session.execute(sa.update(IdempotencyRecord).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert purge_idempotency_records() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_a_body_that_no_column_could_store_or_that_nests_too_deep_is_a_400(
    client: FlaskClient, world: World
) -> None:
    """Half of a UTF-16 pair (``"\\ud800"``) cannot be written as UTF-8; a body nested a thousand
    levels down would exhaust the decoder's stack: both are refused, saying why, on any operation."""
    key = world.keys["full"]
    path = f"/products/{world.product_id}"
    etag = call(client, "GET", path, key).headers["ETag"]
    lone = call(client, "PATCH", path, key, raw='{"title": "Pain \\ud800"}', headers={"If-Match": etag})
    assert lone.status_code == 400, lone.get_data(as_text=True)
    assert lone.mimetype == "application/problem+json"
    assert "UTF-16" in lone.json["detail"]
    stock = {"lines": [{"sku": "\\ud800", "delta": -1, "reason": "store_sale"}]}
    assert call(client, "POST", "/stock", key, raw=json_text(stock)).status_code == 400
    paired = call(
        client, "PATCH", path, key, raw='{"title": "Pain \\ud83e\\udd56"}', headers={"If-Match": etag}
    )
    assert paired.status_code == 200, paired.get_data(as_text=True)  # a whole pair is one character: 🥖
    assert paired.json["title"] == "Pain 🥖"
    for depth in (40, 5_000):
        deep = call(client, "GET", "/shops/me", key, raw="[" * depth + "]" * depth)
        assert deep.status_code == 400, (depth, deep.get_data(as_text=True))
        assert "imbriqué trop profondément" in deep.json["detail"]
        page = client.get("/healthz", data="[" * depth + "]" * depth, content_type="application/json")
        assert page.status_code == 400, depth


def json_text(body: object) -> str:
    """``body`` as JSON whose escapes are kept as written (``"\\ud800"`` stays an escape)."""
    import json

    return json.dumps(body).replace("\\\\u", "\\u")


def test_a_body_sent_as_anything_but_json_is_a_415(client: FlaskClient, world: World) -> None:
    """A PATCH sent as a form or as text would otherwise read as no body: 200, nothing changed."""
    key = world.keys["full"]
    path = f"/products/{world.product_id}"
    etag = call(client, "GET", path, key).headers["ETag"]
    for content_type, body in (
        ("text/plain", '{"title": "Changé"}'),
        ("application/x-www-form-urlencoded", "title=Chang%C3%A9"),
    ):
        sent = call(
            client, "PATCH", path, key, raw=body, headers={"If-Match": etag, "Content-Type": content_type}
        )
        assert sent.status_code == 415, (content_type, sent.get_data(as_text=True))
        assert sent.mimetype == "application/problem+json"
    assert call(client, "GET", path, key).json["title"] == "Pain au levain"
    empty = call(client, "PATCH", path, key, headers={"If-Match": etag})  # no body at all: nothing to change
    assert empty.status_code == 200


def test_the_town_figures_refuse_dates_out_of_range(client: FlaskClient, world: World) -> None:
    key = world.keys["town"]
    for start, end, field in (
        ("0001-01-01", "0001-12-31", "start"),
        ("9999-01-01", "9999-12-31", "start"),
        ("2026-01-01", "9999-12-31", "end"),
    ):
        answer = call(client, "GET", f"/town/figures?start={start}&end={end}", key)
        assert answer.status_code == 422, (start, end, answer.get_data(as_text=True))
        assert field in {error["field"] for error in answer.json["errors"]}
    assert call(client, "GET", "/town/figures?start=2026-01-01&end=2026-01-31", key).status_code == 200
