"""Search use cases: the search page, autocomplete, reindex and status.

Backend failures (Elasticsearch down, an unreadable index) become ``SearchUnavailable``, which the
page shows as a message, never as a server error.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from elastic_transport import TransportError
from elasticsearch import ApiError
from flask_babel import lazy_gettext as _l

from app.catalog.models import Category, Product
from app.catalog.services import CARD_LOADING
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from search import documents, text
from search.backends import IndexStatus, backend
from search.models import IndexChange
from search.query import SearchQuery, SearchResult
from search.tasks import affected_products, apply
from vendors.models import Shop

log = logging.getLogger(__name__)

FALLBACK_PRODUCTS = 8
AUTOCOMPLETE_MAX_PREFIX = 60


class SearchUnavailable(ServiceError):
    """The search backend did not answer."""


# What a backend raises when it cannot answer: Elasticsearch's client errors, tantivy's ValueError,
# an unreachable host (OSError), a refused bulk (RuntimeError).
BACKEND_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    RuntimeError,
    ApiError,
    TransportError,
)


@dataclass
class SearchPage:
    query: SearchQuery
    result: SearchResult
    products: list[tuple[Any, Product]]  # (hit, product), in the result's order
    did_you_mean: str | None = None
    fallback: list[Product] = field(default_factory=list)  # shown when nothing matched
    category_names: dict[str, str] = field(default_factory=dict)
    shop_names: dict[str, str] = field(default_factory=dict)


def _products(ids: list[int]) -> dict[int, Product]:
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(Product).where(Product.id.in_(ids)).options(*CARD_LOADING))
    return {product.id: product for product in rows}


def _did_you_mean(query: SearchQuery) -> str | None:
    """A corrected query that finds something, when the query as typed found nothing."""
    words = text.words(query.text)
    corrections = backend().corrections(words)
    if corrections:
        corrected = " ".join(corrections.get(word, word) for word in words)
        if corrected != " ".join(words) and backend().count(query.with_(text=corrected, page=1)):
            return corrected
    # Too many words for what exists ("vin rouge bio pétillant xyz"): the longest part that finds something.
    if len(words) > 1:
        for drop in range(len(words)):
            shorter = " ".join(word for index, word in enumerate(words) if index != drop)
            if backend().count(query.with_(text=shorter, page=1)):
                return shorter
    return None


def search_page(query: SearchQuery) -> SearchPage:
    """Run a search and gather what its page shows."""
    try:
        result = backend().search(query)
        # A product code is exact: no correction of its digits stands in for it.
        searched_words = not query.is_browse and not query.code
        did_you_mean = _did_you_mean(query) if not result.total and searched_words else None
        fallback_ids: list[int] = []
        if not result.total:
            browse = SearchQuery(in_stock=True, per_page=FALLBACK_PRODUCTS)
            fallback_ids = [hit.product_id for hit in backend().search(browse).hits]
    except BACKEND_ERRORS as error:
        log.warning("search backend failed: %s", error)
        raise SearchUnavailable(_l("La recherche est momentanément indisponible.")) from error
    found = _products([hit.product_id for hit in result.hits] + fallback_ids)
    facet_categories = [value.value for value in result.facet("category")]
    facet_shops = [value.value for value in result.facet("shop")]
    if query.category:
        facet_categories.append(query.category)
    if query.shop:
        facet_shops.append(query.shop)
    return SearchPage(
        query=query,
        result=result,
        # A product deleted since it was indexed is skipped until the outbox catches up.
        products=[(hit, found[hit.product_id]) for hit in result.hits if hit.product_id in found],
        did_you_mean=did_you_mean,
        fallback=[found[pid] for pid in fallback_ids if pid in found],
        category_names=dict(
            db.session.execute(
                sa.select(Category.slug, Category.name).where(Category.slug.in_(facet_categories))
            ).all()
        ),
        shop_names=dict(
            db.session.execute(sa.select(Shop.slug, Shop.name).where(Shop.slug.in_(facet_shops))).all()
        ),
    )


def autocomplete(prefix: str, limit: int = 8) -> list[str]:
    """Titles that complete what is being typed in the search box."""
    prefix = " ".join(prefix.split())[:AUTOCOMPLETE_MAX_PREFIX]
    if len(prefix) < 2:
        return []
    try:
        return backend().autocomplete(prefix, limit)
    except BACKEND_ERRORS as error:
        log.warning("autocomplete failed: %s", error)
        return []


@dataclass(frozen=True)
class ReindexReport:
    status: IndexStatus
    documents: int
    seconds: float
    replayed: int


def reindex(batch_size: int = 1000) -> ReindexReport:
    """Build a new index version from the database and swap it in; then replay what changed meanwhile.

    Searches keep using the old version until the swap. Changes committed while the new version was
    being filled were applied to the old one by the drain job; they are applied again to the new one
    (their outbox rows are kept a day for this), so nothing is lost.
    """
    started = utcnow() - dt.timedelta(seconds=1)
    clock = time.perf_counter()
    count = 0

    def batches() -> Any:
        nonlocal count
        for batch in documents.all_documents(batch_size):
            count += len(batch)
            yield batch

    backend().rebuild(batches())
    db.session.rollback()  # the read transaction of the rebuild: the replay reads afresh
    changes = list(db.session.scalars(sa.select(IndexChange).where(IndexChange.created_at >= started)))
    if changes:
        apply(affected_products(changes))
    return ReindexReport(backend().status(), count, time.perf_counter() - clock, len(changes))


def status() -> dict[str, Any]:
    """What ``flask search status`` prints: the index, the database, the outbox."""
    index = backend().status()
    pending = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(IndexChange.created_at)).where(
            IndexChange.processed_at.is_(None)
        )
    ).one()
    oldest = pending[1]
    return {
        "backend": index.backend,
        "index": index.index,
        "built_at": index.built_at,
        "documents": index.documents,
        "searchable_products": documents.searchable_count(),
        "pending_changes": int(pending[0]),
        "oldest_pending_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else None,
    }
