"""Changes reach the index through the outbox, written in the same transaction as the change itself.

A flush that adds, changes or deletes a product, variant, photo, stock movement, shop, category,
or a product's reviews or rating summary writes one ``search_outbox`` row per entity, on the
flushing connection: the row commits or rolls back with the change. It also asks, once per
transaction, for the ``drain`` job, which runs after the commit. No domain imports search: this
listener watches their models.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.catalog.models import Category, Product, ProductPhoto, StockMovement, Variant
from app.jobs import enqueue_on
from app.reviews.models import RatingSubject, RatingSummary, Review
from search.models import ChangedEntity, IndexChange
from vendors.models import Shop

# Indexing has a queue of its own: a burst of catalogue changes never delays mail or imports.
QUEUE = "search"


def _changed(instance: Any) -> tuple[ChangedEntity, int] | None:
    if isinstance(instance, Product):
        return ChangedEntity.PRODUCT, instance.id
    if isinstance(instance, Variant | ProductPhoto):
        return ChangedEntity.PRODUCT, instance.product_id
    if isinstance(instance, StockMovement):
        return ChangedEntity.VARIANT, instance.variant_id
    if isinstance(instance, Shop):
        return ChangedEntity.SHOP, instance.id
    if isinstance(instance, Category):
        return ChangedEntity.CATEGORY, instance.id
    # A product's rating and review count are in its document.
    if isinstance(instance, RatingSummary) and instance.subject == RatingSubject.PRODUCT:
        return ChangedEntity.PRODUCT, instance.subject_id
    if isinstance(instance, Review) and instance.product_id is not None:
        return ChangedEntity.PRODUCT, instance.product_id
    return None


def _record_changes(session: Session, flush_context: Any) -> None:
    changes = set()
    for instance in chain(session.new, session.deleted, session.dirty):
        if instance in session.dirty and not session.is_modified(instance, include_collections=False):
            continue
        found = _changed(instance)
        if found is not None and found[1] is not None:
            changes.add(found)
    if not changes:
        return
    # Core insert on the flushing connection: part of this transaction, and no second flush.
    session.connection().execute(
        IndexChange.__table__.insert(),
        [{"entity": entity, "entity_id": entity_id} for entity, entity_id in sorted(changes)],
    )
    if has_app_context():  # outside one (a bare script), the rows wait for the next drain
        from search.tasks import drain

        enqueue_on(session, drain, queue=QUEUE, once=True)


def listen() -> None:
    """Watch every session's flushes (idempotent)."""
    if not event.contains(Session, "after_flush", _record_changes):
        event.listen(Session, "after_flush", _record_changes)
