"""Search use cases: the search page, autocomplete, reindex and status.

Backend failures (Elasticsearch down, an unreadable index) become ``SearchUnavailable``, which the
page shows as a message, never as a server error.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import pagecache
from app.caching import TTLCache
from app.catalog.cards import Card, cards
from app.catalog.cards import online as product_online
from app.catalog.models import Category, Product
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.i18n import english_interface, localized
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


# What a backend raises when it cannot answer: tantivy's ValueError, an unreachable host (OSError), a
# refused bulk (RuntimeError), and Elasticsearch's client errors (see backend_errors).
BACKEND_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError)


def backend_errors() -> tuple[type[BaseException], ...]:
    """BACKEND_ERRORS, plus Elasticsearch's client errors once its client is loaded: only it raises them,
    and a worker on the embedded index never loads it."""
    if "elasticsearch" not in sys.modules:
        return BACKEND_ERRORS
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    return (*BACKEND_ERRORS, ApiError, TransportError)


@dataclass
class SearchPage:
    query: SearchQuery
    result: SearchResult
    products: list[tuple[Any, Card]]  # (hit, its product's card), in the result's order
    did_you_mean: str | None = None
    fallback: list[Card] = field(default_factory=list)  # shown when nothing matched
    category_names: dict[str, str] = field(default_factory=dict)
    shop_names: dict[str, str] = field(default_factory=dict)


def _did_you_mean(query: SearchQuery) -> str | None:
    """A corrected query that finds something, when the query as typed found nothing. An occasion
    word is never corrected: "cadeau" is no typo of "cadenas"."""
    words = text.words(query.text)
    corrections = backend().corrections([word for word in words if not text.is_occasion(word)])
    if corrections:
        words = [corrections.get(word, word) for word in words]
        corrected = " ".join(words)
        if corrected != query.text.strip() and backend().count(query.with_(text=corrected, page=1)):
            return corrected
    # Too many words for what exists ("vin rouge bio pétillant xyz"): the query less one word, spelled
    # as corrected; of those that find something, the most specific (fewest products), so the rare word
    # that says what is wanted ("chavignol") is kept and the common one ("fermier") let go.
    if len(words) > 1:
        found = []
        for drop in range(len(words)):
            shorter = " ".join(word for index, word in enumerate(words) if index != drop)
            if count := backend().count(query.with_(text=shorter, page=1)):
                found.append((count, drop, shorter))
        if found:
            return min(found)[2]
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
    except backend_errors() as error:
        log.warning("search backend failed: %s", error)
        raise SearchUnavailable(_l("La recherche est momentanément indisponible.")) from error
    found = cards([hit.product_id for hit in result.hits] + fallback_ids)
    facet_categories = [value.value for value in result.facet("category")]
    facet_shops = [value.value for value in result.facet("shop")]
    if query.category:
        facet_categories.append(query.category)
    if query.shop:
        facet_shops.append(query.shop)
    names = facet_names()
    english = english_interface()  # once, not for each name (localized() asks it each time)
    return SearchPage(
        query=query,
        result=result,
        # A product deleted since it was indexed is skipped until the outbox catches up.
        products=[(hit, found[hit.product_id]) for hit in result.hits if hit.product_id in found],
        did_you_mean=did_you_mean,
        fallback=[found[pid] for pid in fallback_ids if pid in found],
        category_names={
            slug: (english and names.categories[slug][1]) or names.categories[slug][0]
            for slug in facet_categories
            if slug in names.categories
        },
        shop_names={slug: names.shops[slug] for slug in facet_shops if slug in names.shops},
    )


# The names facets show, by slug: kept a minute per process and following the pages' generation, so that
# a renamed shop or category shows at once (with Redis, whichever process renamed it).
names_cache = TTLCache(ttl=60.0, follows=pagecache.current_generation)


@dataclass(frozen=True)
class FacetNames:
    categories: dict[str, tuple[str, str | None]]  # slug: (French name, English name)
    shops: dict[str, str]


def facet_names() -> FacetNames:
    """Every category's and shop's name by slug (a town has tens or hundreds of each)."""
    found: FacetNames = names_cache.get("names", _read_names)
    return found


def _read_names() -> FacetNames:
    categories = db.session.execute(sa.select(Category.slug, Category.name, Category.name_en))
    return FacetNames(
        categories={row.slug: (row.name, row.name_en) for row in categories},
        shops={row.slug: row.name for row in db.session.execute(sa.select(Shop.slug, Shop.name))},
    )


def autocomplete(prefix: str, limit: int = 8) -> list[str]:
    """Titles that complete what is being typed in the search box."""
    prefix = " ".join(prefix.split())[:AUTOCOMPLETE_MAX_PREFIX]
    if len(prefix) < 2:
        return []
    try:
        return backend().autocomplete(prefix, limit)
    except backend_errors() as error:
        log.warning("autocomplete failed: %s", error)
        return []


# What the header's box suggests, in this order: where to go first, then what to search for.
SUGGESTION_KINDS = ("category", "shop", "word", "product")
SUGGESTION_LABELS = {
    "category": _l("Catégorie"),
    "shop": _l("Boutique"),
    "word": _l("Recherche"),
    "product": _l("Produit"),
}
# How many of each kind at most, so that one kind does not crowd out the others.
SUGGESTION_SHARES = {"category": 2, "shop": 2, "word": 3, "product": 8}
VOCABULARY_TTL_SECONDS = 60.0
# The start of a description is what it is ("Mimolette vieille, fromage au lait de vache…").
DESCRIPTION_WORDS_CHARS = 160


@dataclass(frozen=True)
class Suggestion:
    """One line of the header's suggestion list: a category, a shop, a word or a product title.

    ``target`` is the category's or shop's slug, or the text to search for."""

    text: str
    kind: str
    target: str


@dataclass(frozen=True)
class _Named:
    tokens: tuple[str, ...]
    name: str
    slug: str
    products: int
    # A category's English name: what the English interface shows, and matches too.
    name_en: str = ""
    tokens_en: tuple[str, ...] = ()


@dataclass
class _Vocabulary:
    """Categories, shops and the words of searchable products, folded for prefix look-ups."""

    built: float
    categories: list[_Named]
    shops: list[_Named]
    words: list[str]  # folded, sorted: a prefix is a contiguous slice
    shown: dict[str, tuple[str, int]]  # folded word -> (its most frequent spelling, products having it)


def _vocabulary() -> _Vocabulary:
    """The vocabulary of suggestions, read from the database at most once a minute per process.

    The tables are small (a town's categories and shops; a few words per product), and a suggestion
    a minute late costs nothing, unlike a query per keystroke."""
    cache = current_app.extensions.setdefault("search_suggestions", {})
    found: _Vocabulary | None = cache.get("vocabulary")
    if found is not None and time.monotonic() - found.built < VOCABULARY_TTL_SECONDS:
        return found
    rows = db.session.execute(
        sa.select(
            Product.title, Product.description, Product.attributes, Product.category_id, Product.shop_id
        )
        .join(Shop, Shop.id == Product.shop_id)
        .where(product_online())
    ).all()
    per_category: Counter[int] = Counter()
    per_shop: Counter[int] = Counter()
    having: Counter[str] = Counter()  # folded word -> products having it
    spellings: dict[str, Counter[str]] = {}
    for title, description, attributes, category_id, shop_id in rows:
        per_category[category_id] += 1
        per_shop[shop_id] += 1
        facts = [str(value) for key in documents.FACT_KEYS for value in _listed((attributes or {}).get(key))]
        seen: set[str] = set()
        for source in (title, *facts, (description or "")[:DESCRIPTION_WORDS_CHARS]):
            for word in text.words(source):
                tokens = text.folded(word)
                # A compound ("Sainte-Maure") is not one word to complete: its title is suggested.
                if len(tokens) != 1 or len(tokens[0]) < 3 or tokens[0].isdigit() or tokens[0] in seen:
                    continue
                folded = tokens[0]
                seen.add(folded)
                having[folded] += 1
                spellings.setdefault(folded, Counter())[word.lower()] += 1
    categories = [
        _Named(
            tuple(text.folded(name)),
            name,
            slug,
            per_category[category_id],
            name_en or "",
            tuple(text.folded(name_en or "")),
        )
        for category_id, name, name_en, slug in db.session.execute(
            sa.select(Category.id, Category.name, Category.name_en, Category.slug).where(
                Category.archived_at.is_(None)
            )
        )
    ]
    shops = [
        _Named(tuple(text.folded(name)), name, slug, per_shop[shop_id])
        for shop_id, name, slug in db.session.execute(
            sa.select(Shop.id, Shop.name, Shop.slug).where(Shop.is_public)
        )
    ]
    found = _Vocabulary(
        built=time.monotonic(),
        categories=categories,
        shops=shops,
        words=sorted(having),
        shown={folded: (spellings[folded].most_common(1)[0][0], count) for folded, count in having.items()},
    )
    cache["vocabulary"] = found
    return found


def _listed(value: Any) -> list[Any]:
    if value is None or isinstance(value, dict):
        return []
    return list(value) if isinstance(value, list) else [value]


def _names_matching(named: list[_Named], typed: list[str], english: bool = False) -> list[_Named]:
    """Names with every typed word, the last one as a prefix ("fro" is in "La Fromagerie des Halles");
    in the English interface, English names too."""
    *whole, last = typed

    def has(tokens: tuple[str, ...]) -> bool:
        return all(word in tokens for word in whole) and any(token.startswith(last) for token in tokens)

    return sorted(
        (entry for entry in named if has(entry.tokens) or (english and has(entry.tokens_en))),
        key=lambda entry: (-entry.products, entry.name),
    )


def _words_matching(vocabulary: _Vocabulary, last: str) -> list[tuple[str, int]]:
    """Words products have that start with ``last``, the most common first."""
    start = bisect.bisect_left(vocabulary.words, last)
    end = bisect.bisect_left(vocabulary.words, last + "\uffff")
    shown = sorted(
        (vocabulary.shown[folded] for folded in vocabulary.words[start:end]),
        key=lambda item: (-item[1], item[0]),
    )
    # One form of each word: "rouge" stands for "rouges", whichever more products have. Only the
    # plural's s or x goes (a stemmer would make "crémant" a "crème").
    by_singular: dict[str, tuple[str, int]] = {}
    for word, count in shown:
        folded = "".join(text.folded(word))
        singular = folded[:-1] if len(folded) > 3 and folded[-1] in "sx" else folded
        by_singular.setdefault(singular, (word, count))
    return list(by_singular.values())


def suggestions(prefix: str, limit: int = 8) -> list[Suggestion]:
    """What the header's box suggests for what is typed: categories, shops, words, product titles.

    Accents and case do not matter; each text comes once (its first kind wins); kinds come in the
    order of ``SUGGESTION_KINDS``, each by popularity (products in the category or shop, products
    with the word, the index's ranking of titles). Fewer than two letters suggest nothing."""
    prefix = " ".join(prefix.split())[:AUTOCOMPLETE_MAX_PREFIX]
    typed = text.folded(prefix)
    if len(prefix) < 2 or not typed:
        return []
    vocabulary = _vocabulary()
    found: dict[str, list[Suggestion]] = {kind: [] for kind in SUGGESTION_KINDS}
    english = english_interface()
    for entry in _names_matching(vocabulary.categories, typed, english):
        found["category"].append(Suggestion(localized(entry.name, entry.name_en), "category", entry.slug))
    for entry in _names_matching(vocabulary.shops, typed):
        found["shop"].append(Suggestion(entry.name, "shop", entry.slug))
    # Words complete a single word: after several, the titles having them all say more.
    if len(typed) == 1:
        for word, _count in _words_matching(vocabulary, typed[0]):
            found["word"].append(Suggestion(word, "word", word))
    found["product"] = [Suggestion(title, "product", title) for title in autocomplete(prefix, limit)]
    chosen: list[Suggestion] = []
    seen: set[str] = set()
    # Each kind its share first, then what is left fills the remaining places in kind order.
    for shares in (SUGGESTION_SHARES, None):
        for kind in SUGGESTION_KINDS:
            taken = 0
            for suggestion in found[kind]:
                key = " ".join(text.folded(suggestion.text))
                if len(chosen) >= limit or (shares is not None and taken >= shares[kind]):
                    break
                if key in seen:
                    continue
                taken += 1
                seen.add(key)
                chosen.append(suggestion)
    order = {kind: position for position, kind in enumerate(SUGGESTION_KINDS)}
    return sorted(chosen, key=lambda suggestion: order[suggestion.kind])


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
