"""What the search benchmarks share: the demo town as search documents, and both backends.

The demo town is loaded into a throwaway SQLite database with the app's own loader, and the
documents are built by the app's own builder (search.documents), exactly as ``flask search reindex``
builds them.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa

from app import create_app
from app import demo as demo_town
from app.catalog.models import Variant
from app.extensions import db
from devtools import elasticsearch as local_elasticsearch
from search import documents
from search.backends import SearchBackend
from search.backends.elastic import ElasticsearchBackend
from search.backends.embedded import TantivyBackend
from search.documents import ProductDocument

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "demo"


def demo_records() -> list[dict[str, Any]]:
    with (DATA_DIR / "products.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def demo_documents(workdir: Path) -> tuple[list[ProductDocument], dict[int, dict[str, Any]]]:
    """The demo town's documents, and each product's record in the demo data (by product id)."""
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'demo.sqlite'}",
            "SEARCH_INDEX_DIR": str(workdir / "unused-index"),
            "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
            "MEDIA_DIR": str(workdir / "media"),
            "JOBS_DISPATCHER": "recording",
            "DEMO_DATA_DIR": str(DATA_DIR),
        }
    )
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        demo_town.load(DATA_DIR, with_photos=False)
        built = [document for batch in documents.all_documents() for document in batch]
        by_key = {(record["vendor"], record["variants"][0]["sku"]): record for record in demo_records()}
        rows = db.session.execute(sa.select(Variant.product_id, Variant.sku).where(Variant.position == 0))
        first_sku = dict(rows.all())
        records = {document.id: by_key[(document.shop_slug, first_sku[document.id])] for document in built}
    return built, records


@contextlib.contextmanager
def backends(workdir: Path, only: str | None = None) -> Iterator[list[tuple[str, SearchBackend]]]:
    """Both backends, empty: tantivy in ``workdir``, Elasticsearch through a local noida-db."""
    chosen: list[tuple[str, SearchBackend]] = []
    with contextlib.ExitStack() as stack:
        if only in (None, "tantivy"):
            chosen.append(("tantivy", TantivyBackend(workdir / "tantivy")))
        if only in (None, "elasticsearch"):
            server = stack.enter_context(local_elasticsearch.running(workdir / "elasticsearch"))
            chosen.append(("elasticsearch", ElasticsearchBackend(server.url, alias="bench", timeout=120)))
        yield chosen


def workdir() -> contextlib.AbstractContextManager[str]:
    return tempfile.TemporaryDirectory(prefix="marketplace-bench-")
