"""The example till client (docs/examples/till_sync.py) against the API: a CSV export becomes quantities
on hand; a conflicting line is reported and left out, the others applied; sending the same export again
changes nothing (its batches carry the same idempotency keys)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from api.models import IdempotencyRecord
from app.catalog.models import StockMovement, Variant
from app.extensions import db
from tests.api.support import World
from tests.api.test_stock import hold

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "till_sync.py"


@pytest.fixture
def till_sync(client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("till_sync", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def post(
        base_url: str, key: str, body: dict[str, Any], idempotency: str
    ) -> tuple[int, dict[str, Any], str]:
        response = client.post(
            "/api/v1/stock",
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency,
            },
        )
        return response.status_code, response.json or {}, response.headers.get("Retry-After", "")

    monkeypatch.setattr(module, "post", post)
    return module


def test_an_export_is_synced_and_a_conflict_left_out(till_sync: Any, world: World, tmp_path: Path) -> None:
    hold(world, 3)  # PAIN-1: 3 held by online orders
    second = Variant(
        shop_id=world.shop_id,
        product_id=world.product_id,
        sku="BRIOCHE-1",
        price_cents=300,
        stock=2,
        position=1,
    )
    db.session.add(second)
    db.session.commit()
    second_id = second.id
    export = tmp_path / "stock.csv"
    export.write_text("sku;quantite\nPAIN-1;2\nbrioche-1;9\nligne illisible\n", encoding="utf-8")
    till_sync.sync(export, "http://marketplace.test", world.keys["full"])
    db.session.expire_all()
    assert db.session.get(Variant, second_id).stock == 9
    assert db.session.get(Variant, world.variant_id).stock == 7, "2 counted < 3 held: left as it was"
    movements = db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement))
    records = db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord))
    till_sync.sync(export, "http://marketplace.test", world.keys["full"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == movements
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == records, "replayed"
