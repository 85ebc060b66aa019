"""The two search backends and what they share.

``ElasticsearchBackend`` (``ELASTICSEARCH_URL`` set) and ``TantivyBackend`` (an embedded index in
``SEARCH_INDEX_DIR``) answer the same ``SearchQuery`` the same way; tests/search/test_contract.py
runs one suite against both. What relevance means is written once, here: the fields and their
boosts, how many words must match, the facets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from flask import Flask, current_app

from search.documents import ProductDocument
from search.query import (
    PRICE_RANGES,
    RATING_FILTERS,
    FacetValue,
    SearchQuery,
    SearchResult,
    price_range_key,
)
from search.text import Analysed, is_number, is_occasion

# How a product is scored for a query, the same in both backends. Each query word scores once: the
# weight of the best field it is found in (plus a fifth of the others') times its rarity over the
# whole catalogue (one idf across fields, so a rare incidental word in a description never beats a
# common label). The field weights say what a word there tells of the product: a title's first word
# is what the product is ("Robe portefeuille" is a dress), then its kind and category, the rest of
# its title and its labels, its facts (material, colour, author), its description, and last its shop.
FIELD_WEIGHTS = {
    "title_head": 4.0,
    "labels_text": 3.5,
    "kind_text": 3.0,
    "category_names": 3.0,
    "title": 2.5,
    "facts": 2.0,
    "description": 0.7,
    "shop_name": 0.5,
}
TIE_BREAKER = 0.2
# A word matched only with a typo counts this much of an exact match, as if found in a title (the
# words of titles, facts, categories and shops are compared as one list) or in a description.
FUZZY_WEIGHT = 0.4
TYPO_NAMED_WEIGHT = FIELD_WEIGHTS["title"]
# The word as typed in the title, a plural aside: "fraises" is not "frais", which stems the same.
EXACT_FORM_WEIGHT = 0.1 * FIELD_WEIGHTS["title"]
# Shorter titles first among equals ("Comté 18 mois" before "Comté fruité affiné 18 mois"): the
# title's BM25 score, scaled down to a tie-breaker.
TITLE_BM25_BOOST = 0.05
# Tiers: products with every word, then those with the head noun, then related ones. Word scores stay
# far below these steps (a query has at most twelve words).
ALL_WORDS_SCORE = 1000.0
HEAD_SCORE = 100.0
# Every word of the query in the title.
TITLE_ALL_WORDS_SCORE = 2.0
# Among equals, what is in stock and well rated first.
IN_STOCK_SCORE = 0.5
RATING_SCORES = ((4.5, 0.3), (4.0, 0.2), (3.0, 0.1))
# Related products: when a search finds fewer than a page, the categories (and kinds) the best hits
# agree on bring their other products after the matches, scored by how much the hits agree.
RELATED_BELOW = 24
RELATED_FROM_TOP = 5
RELATED_MIN_SHARE = 0.4
RELATED_CATEGORY_SCORE = 1.0
RELATED_KIND_SCORE = 1.0


def idf(matching: int, total: int) -> float:
    """A word's rarity over the whole catalogue (BM25's idf): found in few products, it says more."""
    matching = min(max(matching, 0), total)
    return math.log(1.0 + (total - matching + 0.5) / (matching + 0.5))


@dataclass(frozen=True)
class Related:
    """What the best hits agree on: categories, and kinds within a category, with their shares."""

    categories: tuple[tuple[str, float], ...] = ()
    kinds: tuple[tuple[str, str, float], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.categories)


def related_to(top: list[tuple[str, str]]) -> Related:
    """From the (category, kind) of a search's best hits, best first, the related products to add."""
    top = top[:RELATED_FROM_TOP]
    if not top:
        return Related()
    categories = Counter(category for category, _kind in top)
    kinds = Counter((category, kind) for category, kind in top if kind)
    return Related(
        tuple(
            (category, count / len(top))
            for category, count in categories.most_common()
            if count / len(top) >= RELATED_MIN_SHARE
        ),
        tuple(
            (category, kind, count / len(top))
            for (category, kind), count in kinds.most_common()
            if count / len(top) >= RELATED_MIN_SHARE
        ),
    )


W = TypeVar("W")


@dataclass(frozen=True)
class Resolved(Generic[W]):
    """A query's groups as one backend's word queries: those that ask for something, and the head's."""

    groups: list[W]
    head: W | None
    skipped: bool  # a number or an occasion word nothing has was left out


def resolve(
    analysed: Analysed,
    word: Callable[[str], W | None],
    asks: Callable[[W], bool],
    either: Callable[[list[W]], W],
    typo: Callable[[W], bool],
) -> Resolved[W] | None:
    """Each group of ``analysed`` as the backend's query of its word (``word``: None when nothing has
    it; ``asks``: False for stop words only; ``typo``: found only as a typo of another word),
    alternatives joined by ``either``. None when a word that is not a number or an occasion
    ("anniversaire", "cadeau") matches nothing at all: no result beats unrelated products. An occasion
    is left out unless a product has it as typed: its typo neighbours ("roman" for "maman") are never
    what was meant."""
    groups: list[W] = []
    head: W | None = None
    words: list[W] = []  # the groups that are not numbers: the head's stand-ins, when it is left out
    skipped = False
    for position, alternatives in enumerate(analysed.groups):
        found = [word(typed) for typed in alternatives]
        matching = [each for each in found if each is not None and asks(each)]
        if all(map(is_occasion, alternatives)) and all(map(typo, matching)):
            skipped = True  # what it is for, which no product has as typed
            continue
        if not matching:
            if all(each is not None for each in found):
                continue  # stop words only
            if all(map(is_number, alternatives)):
                skipped = True  # a number nothing has (a wrong code, a quantity)
                continue
            return None
        group = either(matching)
        groups.append(group)
        if position == analysed.head:
            head = group
        elif not all(map(is_number, alternatives)):
            words.append(group)
    if head is None and groups:
        head = (words or groups)[0]
    return Resolved(groups, head, skipped)


def wants_related(query: SearchQuery, matched: int) -> bool:
    """Related products fill a page of relevance-ordered results that the words alone do not."""
    return query.effective_sort == "relevance" and not query.code and 0 < matched < RELATED_BELOW


FACET_SIZES = {"category": 60, "shop": 40, "labels": 20, "delivery": 4}


def facet_aggregations() -> dict[str, Any]:
    """Facets as aggregations, in the dialect both Elasticsearch and tantivy read, plus the GTINs that
    several results share (for ``collapsed_total``)."""
    return {
        "shared_gtins": {"terms": {"field": "gtin", "size": 65000, "min_doc_count": 2}},
        "category": {"terms": {"field": "category_path", "size": FACET_SIZES["category"]}},
        "shop": {"terms": {"field": "shop_slug", "size": FACET_SIZES["shop"]}},
        "labels": {"terms": {"field": "labels", "size": FACET_SIZES["labels"]}},
        "delivery": {"terms": {"field": "delivery_methods", "size": FACET_SIZES["delivery"]}},
        "in_stock": {"terms": {"field": "in_stock", "size": 2}},
        # Ratings from 3 to 4 and from 4 up, which "3 ★ et plus" and "4 ★ et plus" add up.
        "rating": {
            "range": {
                "field": "rating",
                "ranges": [{"from": 3.0, "to": 4.0}, {"from": 4.0}],
            }
        },
        "price": {
            "range": {
                "field": "price_min_cents",
                "ranges": [
                    {key: bound for key, bound in (("from", low), ("to", high)) if bound is not None}
                    for low, high in PRICE_RANGES
                ],
            }
        },
    }


def collapsed_total(matched: int, aggregations: dict[str, Any]) -> int:
    """Products found, a GTIN sold by several shops counted once: exact in both backends."""
    return matched - sum(int(bucket["doc_count"]) - 1 for bucket in aggregations["shared_gtins"]["buckets"])


def offer_counts(aggregations: dict[str, Any]) -> dict[str, int]:
    """For each GTIN several results share, how many shops offer it (a hit's "in 3 shops")."""
    return {
        str(bucket["key"]): int(bucket["doc_count"]) for bucket in aggregations["shared_gtins"]["buckets"]
    }


def distinct_titles(titles: Iterable[str], limit: int) -> list[str]:
    """Autocomplete's titles, each once whatever its case, in the order found."""
    seen: dict[str, str] = {}
    for title in titles:
        seen.setdefault(title.casefold(), title)
    return list(seen.values())[:limit]


def _bound(bucket: dict[str, Any], name: str) -> int | None:
    value = bucket.get(name)
    return None if value is None else int(value)


def facets_from(aggregations: dict[str, Any]) -> dict[str, list[FacetValue]]:
    """The facets of a result from the aggregations above (both backends answer in the same shape)."""
    facets = {
        name: [
            FacetValue(str(bucket["key"]), int(bucket["doc_count"]))
            for bucket in aggregations[name]["buckets"]
            if bucket["doc_count"]
        ]
        for name in ("category", "shop", "labels", "delivery")
    }
    facets["in_stock"] = [
        FacetValue("1", int(bucket["doc_count"]))
        for bucket in aggregations["in_stock"]["buckets"]
        if bucket["doc_count"] and (bucket.get("key_as_string") == "true" or bucket["key"] in (True, 1))
    ]
    # Both answer the ranges asked; tantivy adds one for the gap below 3, which is not a filter.
    from_counts: dict[float, int] = {}
    for bucket in aggregations["rating"]["buckets"]:
        if bucket.get("from") is not None:
            from_counts[float(bucket["from"])] = int(bucket["doc_count"])
    facets["rating"] = [
        FacetValue(str(stars), count)
        for stars in RATING_FILTERS
        if (count := sum(found for low, found in from_counts.items() if low >= stars))
    ]
    facets["price"] = [
        FacetValue(price_range_key(_bound(bucket, "from"), _bound(bucket, "to")), int(bucket["doc_count"]))
        for bucket in aggregations["price"]["buckets"]
        if bucket["doc_count"]
    ]
    return facets


@dataclass(frozen=True)
class IndexStatus:
    backend: str
    index: str  # the versioned index behind the alias (or the embedded index's folder)
    documents: int
    built_at: str | None


class SearchBackend(Protocol):
    name: str

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self, query: SearchQuery) -> int: ...

    def autocomplete(self, prefix: str, limit: int = 8) -> list[str]: ...

    def corrections(self, words: list[str]) -> dict[str, str]: ...

    def upsert(self, documents: Iterable[ProductDocument]) -> int: ...

    def delete(self, product_ids: Iterable[int]) -> int: ...

    def rebuild(self, batches: Iterable[list[ProductDocument]]) -> IndexStatus: ...

    def status(self) -> IndexStatus: ...

    def ping(self) -> bool: ...


def backend(app: Flask | None = None) -> SearchBackend:
    """The app's backend, created once per app: Elasticsearch when configured, tantivy otherwise."""
    application = app or current_app
    found = application.extensions.get("search")
    if found is None:
        found = make_backend(application.config)
        application.extensions["search"] = found
    return found


def make_backend(config: Any) -> SearchBackend:
    if config.get("ELASTICSEARCH_URL"):
        from search.backends.elastic import ElasticsearchBackend

        return ElasticsearchBackend(
            config["ELASTICSEARCH_URL"], config.get("ELASTICSEARCH_INDEX", "products")
        )
    from search.backends.embedded import TantivyBackend

    return TantivyBackend(config["SEARCH_INDEX_DIR"])
