"""Jobs of the search index. Each takes no state but the database's and is safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from app.catalog.models import Variant
from app.database import database_backend, utcnow
from app.extensions import db
from search import documents, misses
from search.backends import backend
from search.models import ChangedEntity, IndexChange

log = logging.getLogger(__name__)

BATCH_SIZE = 500
KEEP_PROCESSED = dt.timedelta(days=1)


def affected_products(changes: list[IndexChange]) -> set[int]:
    """The products whose documents these changes touch."""
    ids: dict[ChangedEntity, set[int]] = {entity: set() for entity in ChangedEntity}
    for change in changes:
        ids[change.entity].add(change.entity_id)
    products = set(ids[ChangedEntity.PRODUCT])
    if ids[ChangedEntity.VARIANT]:
        products.update(
            db.session.scalars(
                sa.select(Variant.product_id).where(Variant.id.in_(ids[ChangedEntity.VARIANT]))
            )
        )
    products.update(
        documents.product_ids_of(
            shop_ids=sorted(ids[ChangedEntity.SHOP]), category_ids=sorted(ids[ChangedEntity.CATEGORY])
        )
    )
    return products


def apply(product_ids: set[int]) -> tuple[int, int]:
    """Bring these products' documents up to date: (written, removed)."""
    found = documents.documents_for(product_ids)
    search = backend()
    written = search.upsert(found.values()) if found else 0
    gone = sorted(product_ids - found.keys())
    removed = search.delete(gone) if gone else 0
    return written, removed


def drain(batch_size: int = BATCH_SIZE) -> int:
    """Apply every pending outbox row, a batch per transaction; the number of rows applied.

    Rows are locked with SKIP LOCKED on PostgreSQL, so two workers draining at once share the work.
    A batch that fails leaves its rows pending (RQ retries the job); applying a row twice is harmless.
    """
    applied = 0
    while True:
        pending = sa.select(IndexChange).where(IndexChange.processed_at.is_(None)).order_by(IndexChange.id)
        if database_backend() == "postgresql":
            pending = pending.with_for_update(skip_locked=True)
        changes = list(db.session.scalars(pending.limit(batch_size)))
        if not changes:
            break
        apply(affected_products(changes))
        now = utcnow()
        for change in changes:
            change.processed_at = now
        db.session.commit()
        applied += len(changes)
    db.session.execute(sa.delete(IndexChange).where(IndexChange.processed_at < utcnow() - KEEP_PROCESSED))
    db.session.commit()
    if applied:
        log.info("search index: %d changes applied", applied)
    return applied


def flush_misses() -> int:
    """Move the counts of searches that found little into the database, forget those over a year old."""
    return misses.flush()


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((flush_misses, 300),)
