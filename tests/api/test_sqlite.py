"""The API on SQLite, the embedded default (``make run``): keys, cursors, ETags, idempotency and the till
sync answer there as on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from tests.api.support import World, call, make_world, new_product
from tests.plugins.application import MIGRATIONS_DIR, Services
from tests.plugins.application import test_config as app_config


@pytest.fixture
def sqlite_app(services: Services, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(app_config(f"sqlite:///{tmp_path / 'api.sqlite'}", services, tmp_path))
    with application.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_api_on_sqlite(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        world: World = make_world(sqlite_app)
    client = sqlite_app.test_client()
    key = world.keys["full"]
    for index in range(3):
        headers = {"Idempotency-Key": f"creation-{index}"}
        created = call(client, "POST", "/products", key, new_product(world, sku=f"LOT-{index}"), headers)
        assert created.status_code == 201, created.get_data(as_text=True)
        assert (
            call(client, "POST", "/products", key, new_product(world, sku=f"LOT-{index}"), headers).json
            == created.json
        )
    first = call(client, "GET", "/products?limit=2", key).json
    second = call(client, "GET", f"/products?limit=2&cursor={first['next_cursor']}", key).json
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 4
    assert second["next_cursor"] is None
    path = f"/products/{world.product_id}"
    etag = call(client, "GET", path, key).headers["ETag"]
    assert call(client, "PATCH", path, key, {"title": "Pain"}, {"If-Match": etag}).status_code == 200
    assert call(client, "PATCH", path, key, {"title": "Pain"}, {"If-Match": etag}).status_code == 412
    stock = call(
        client, "POST", "/stock", key, {"lines": [{"sku": "PAIN-1", "delta": -3, "reason": "store_sale"}]}
    )
    assert stock.status_code == 200
    assert stock.json["lines"][0]["sellable"] == 7
