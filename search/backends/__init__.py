"""The two search backends and what they share.

``ElasticsearchBackend`` (``ELASTICSEARCH_URL`` set) and ``TantivyBackend`` (an embedded index in
``SEARCH_INDEX_DIR``) answer the same ``SearchQuery`` the same way; tests/search/test_contract.py
runs one suite against both. What relevance means is written once, here: the fields and their
boosts, how many words must match, the facets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

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

# Field boosts: a word in the title counts most, then the product's facts (material, colour, labels,
# age, author), its category and shop, then its description.
FIELD_BOOSTS = {
    "title": 3.0,
    "facts": 2.0,
    "labels_text": 2.5,
    "category_names": 1.5,
    "shop_name": 1.0,
    "description": 0.7,
}
# A word matched only with a typo counts this much of an exact match (tantivy scores fuzzy matches
# as a constant of this size, Elasticsearch boosts its fuzzy clause by it).
FUZZY_WEIGHT = 0.4
# Of the words of one query, the best-matching field counts fully and the others a little.
TIE_BREAKER = 0.2
FACET_SIZES = {"category": 60, "shop": 40, "labels": 20, "delivery": 4}


def required_words(count: int) -> int:
    """How many of the query's words a product must match: all of one or two, all but one beyond
    ("vin rouge bio" still finds a red wine that is not organic, ranked below the organic ones)."""
    return count if count <= 2 else count - 1


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
