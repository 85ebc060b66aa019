"""The Elasticsearch backend, through the official client.

Documents live in a versioned index (``products-20261201t101500``) behind the alias ``products``;
``rebuild`` fills a new version and swaps the alias in one atomic call, so searches never see an
empty or half-built index. Each document carries an external version (the time its data was read),
so an older copy never overwrites a newer one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers
from markupsafe import escape

from search import text
from search.backends import (
    FIELD_BOOSTS,
    FUZZY_WEIGHT,
    TIE_BREAKER,
    IndexStatus,
    collapsed_total,
    distinct_titles,
    facet_aggregations,
    facets_from,
    offer_counts,
    required_words,
)
from search.documents import ProductDocument, spelling_words
from search.query import MAX_RESULT_WINDOW, Hit, SearchQuery, SearchResult

ELISION_ARTICLES = ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "max_result_window": MAX_RESULT_WINDOW + 100,
    "analysis": {
        # The standard tokenizer keeps "l’affiné" whole for the elision filter to strip "l’"; the
        # typographic apostrophe is what it handles best, so the straight one is mapped to it.
        "char_filter": {"apostrophe": {"type": "mapping", "mappings": ["'=>’"]}},
        "filter": {
            "french_elision": {"type": "elision", "articles_case": True, "articles": ELISION_ARTICLES},
            "french_stop": {"type": "stop", "stopwords": "_french_"},
            "french_stemmer": {"type": "stemmer", "language": "light_french"},
            "autocomplete_edges": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
        },
        "analyzer": {
            "french_text": {
                "char_filter": ["apostrophe"],
                "tokenizer": "standard",
                "filter": ["french_elision", "lowercase", "asciifolding", "french_stop", "french_stemmer"],
            },
            "folded": {
                "char_filter": ["apostrophe"],
                "tokenizer": "standard",
                "filter": ["french_elision", "lowercase", "asciifolding"],
            },
            "autocomplete": {
                "char_filter": ["apostrophe"],
                "tokenizer": "standard",
                "filter": ["french_elision", "lowercase", "asciifolding", "autocomplete_edges"],
            },
        },
    },
}

FRENCH = {"type": "text", "analyzer": "french_text"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"},
        "title": {
            **FRENCH,
            "fields": {"prefix": {"type": "text", "analyzer": "autocomplete", "search_analyzer": "folded"}},
        },
        "description": FRENCH,
        "facts": FRENCH,
        "labels": {"type": "keyword"},
        "labels_text": FRENCH,
        "category": {"type": "keyword"},
        "category_path": {"type": "keyword"},
        "category_names": FRENCH,
        "shop_id": {"type": "long"},
        "shop_slug": {"type": "keyword"},
        "shop_name": FRENCH,
        "delivery_methods": {"type": "keyword"},
        "price_min_cents": {"type": "long"},
        "price_max_cents": {"type": "long"},
        "in_stock": {"type": "boolean"},
        "rating": {"type": "float"},
        "review_count": {"type": "integer"},
        "rating_rank": {"type": "long"},
        "gtin": {"type": "keyword"},
        "group": {"type": "keyword"},
        "created_at": {"type": "long"},
        "location": {"type": "geo_point"},
        "popularity": {"type": "integer"},
        "rank_weight": {"type": "float"},
        # The words "did you mean" picks from (written by _source: copy_to would do the same).
        "spelling": {"type": "text", "analyzer": "folded"},
    },
}


def _source(document: ProductDocument) -> dict[str, Any]:
    source = document.to_dict()
    source["labels_text"] = source["labels"]
    source["spelling"] = spelling_words(document)
    lat, lon = source.pop("lat"), source.pop("lon")
    if lat is not None and lon is not None:
        source["location"] = {"lat": lat, "lon": lon}
    return source


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str, alias: str = "products", timeout: float = 10.0) -> None:
        self.url = url
        self.alias = alias
        self.client = Elasticsearch(url, request_timeout=timeout, retry_on_timeout=True, max_retries=2)

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _exact_match(word: str) -> dict[str, Any]:
        return {
            "multi_match": {
                "query": word,
                "type": "best_fields",
                "fields": [f"{name}^{boost}" for name, boost in FIELD_BOOSTS.items()],
                "tie_breaker": TIE_BREAKER,
                "operator": "and",
                "zero_terms_query": "all",
            }
        }

    @staticmethod
    def _fuzzy_match(word: str, field: str, fuzziness: str, boost: float) -> dict[str, Any]:
        return {
            "match": {
                field: {
                    "query": word,
                    "operator": "and",
                    "fuzziness": fuzziness,
                    "prefix_length": text.TYPO_PREFIX,
                    "max_expansions": 50,
                    "boost": boost,
                }
            }
        }

    def _typo_match(self, word: str) -> dict[str, Any]:
        """The word with a typo: compared as typed (folded) with the words of titles, facts,
        categories and shops (the spelling field is not stemmed), stem to stem with descriptions."""
        return {
            "dis_max": {
                "queries": [
                    self._fuzzy_match(word, "spelling", text.TYPO_FUZZINESS, FIELD_BOOSTS["title"]),
                    self._fuzzy_match(
                        word, "description", text.TYPO_STEM_FUZZINESS, FIELD_BOOSTS["description"]
                    ),
                ],
                "tie_breaker": TIE_BREAKER,
                "boost": FUZZY_WEIGHT,
            }
        }

    def _exact_words(self, words: Iterable[str]) -> set[str]:
        """The words some product has as typed (or as their stem): one request for all of them."""
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return set()
        response = self.client.search(
            index=self.alias,
            size=0,
            aggs={
                "exact": {
                    "filters": {"filters": {str(i): self._exact_match(word) for i, word in enumerate(wanted)}}
                }
            },
        )
        buckets = response["aggregations"]["exact"]["buckets"]
        return {word for i, word in enumerate(wanted) if buckets[str(i)]["doc_count"]}

    def _word_query(self, word: str, exact: set[str], highlight: bool = False) -> dict[str, Any]:
        """One word in any field: as typed where products have it, else (worth less) with a typo."""
        if word in exact:
            return self._exact_match(word)
        if highlight:
            # Only for marking the title's words: the title field holds stems, close enough to show.
            return self._fuzzy_match(word, "title", text.TYPO_FUZZINESS, FUZZY_WEIGHT)
        return self._typo_match(word)

    def _text_query(
        self, query: SearchQuery, exact: set[str] | None = None, highlight: bool = False
    ) -> dict[str, Any]:
        if query.code:
            # A product code finds that product at every shop, whatever words come with it.
            return {"term": {"gtin": query.code}}
        groups = text.groups(query.text)
        if not groups:
            return {"match_all": {}}
        if exact is None:
            exact = self._exact_words(word for alternatives in groups for word in alternatives)
        clauses = [
            self._word_query(alternatives[0], exact, highlight)
            if len(alternatives) == 1
            else {"dis_max": {"queries": [self._word_query(word, exact, highlight) for word in alternatives]}}
            for alternatives in groups
        ]
        return {"bool": {"should": clauses, "minimum_should_match": required_words(len(groups))}}

    def _filters(self, query: SearchQuery) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if query.category:
            filters.append({"term": {"category_path": query.category}})
        if query.shop:
            filters.append({"term": {"shop_slug": query.shop}})
        filters.extend({"term": {"labels": label}} for label in query.labels)
        filters.extend({"term": {"delivery_methods": method}} for method in query.delivery)
        if query.in_stock:
            filters.append({"term": {"in_stock": True}})
        if query.min_rating is not None:
            filters.append({"range": {"rating": {"gte": float(query.min_rating)}}})
        price: dict[str, int] = {}
        if query.price_min_cents is not None:
            price["gte"] = query.price_min_cents
        if query.price_max_cents is not None:
            price["lte"] = query.price_max_cents
        if price:
            filters.append({"range": {"price_min_cents": price}})
        if query.near is not None and query.within_km is not None:
            lat, lon = query.near
            filters.append(
                {"geo_distance": {"distance": f"{query.within_km}km", "location": {"lat": lat, "lon": lon}}}
            )
        return filters

    def _query(self, query: SearchQuery, exact: set[str] | None = None) -> dict[str, Any]:
        scored = {
            "function_score": {
                "query": self._text_query(query, exact),
                "functions": [
                    {"field_value_factor": {"field": "rank_weight", "modifier": "ln2p", "missing": 0}}
                ],
                "boost_mode": "multiply",
            }
        }
        return {"bool": {"must": [scored], "filter": self._filters(query)}}

    def _sort(self, query: SearchQuery) -> list[Any]:
        sort = query.effective_sort
        if sort == "price_asc":
            return [{"price_min_cents": "asc"}, "_score", {"id": "asc"}]
        if sort == "price_desc":
            return [{"price_max_cents": "desc"}, "_score", {"id": "asc"}]
        if sort == "newest":
            return [{"created_at": "desc"}, {"id": "desc"}]
        if sort == "rating":
            return [{"rating_rank": "desc"}, "_score", {"id": "asc"}]
        if sort == "distance" and query.near is not None:
            lat, lon = query.near
            return [
                {"_geo_distance": {"location": {"lat": lat, "lon": lon}, "order": "asc", "unit": "km"}},
                "_score",
                {"id": "asc"},
            ]
        return ["_score", {"id": "asc"}]

    def search(self, query: SearchQuery) -> SearchResult:
        words = [] if query.code else text.words(query.text)
        # Which words have an exact match is asked once, for the query and its highlight.
        groups = [] if query.code else text.groups(query.text)
        exact = self._exact_words(word for alternatives in groups for word in alternatives)
        response = self.client.search(
            index=self.alias,
            query=self._query(query, exact),
            sort=self._sort(query),
            from_=query.offset,
            size=query.per_page,
            # The shop count of a collapsed GTIN comes from the shared_gtins aggregation: one request,
            # and cheaper than inner_hits, which runs a query per hit.
            collapse={"field": "group"},
            aggs=facet_aggregations(),
            highlight={
                # The words themselves, not the function score around them, say what to highlight.
                "highlight_query": self._text_query(query, exact, highlight=True),
                "encoder": "html",
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "fields": {"title": {"number_of_fragments": 0}},
            },
            source_includes=["id", "title", "gtin"],
            track_total_hits=True,
        )
        aggs = response["aggregations"]
        offers = offer_counts(aggs)
        hits = []
        for raw in response["hits"]["hits"]:
            highlighted = raw.get("highlight", {}).get("title")
            distance = raw["sort"][0] if query.effective_sort == "distance" else None
            hits.append(
                Hit(
                    product_id=int(raw["_source"]["id"]),
                    score=float(raw.get("_score") or 0.0),
                    title_html=highlighted[0]
                    if highlighted and words
                    else str(escape(raw["_source"]["title"])),
                    shop_count=offers.get(raw["_source"].get("gtin") or "", 1),
                    distance_km=float(distance) if distance is not None else None,
                )
            )
        matched = int(response["hits"]["total"]["value"])
        return SearchResult(
            hits=hits, total=collapsed_total(matched, aggs), facets=facets_from(aggs), backend=self.name
        )

    def count(self, query: SearchQuery) -> int:
        response = self.client.search(
            index=self.alias,
            query=self._query(query),
            size=0,
            aggs={"shared_gtins": facet_aggregations()["shared_gtins"]},
            track_total_hits=True,
        )
        return collapsed_total(int(response["hits"]["total"]["value"]), response["aggregations"])

    def autocomplete(self, prefix: str, limit: int = 8) -> list[str]:
        if not text.folded(prefix):
            return []
        response = self.client.search(
            index=self.alias,
            query={
                "function_score": {
                    "query": {"match": {"title.prefix": {"query": prefix, "operator": "and"}}},
                    "functions": [
                        {"field_value_factor": {"field": "rank_weight", "modifier": "ln2p", "missing": 0}}
                    ],
                    "boost_mode": "multiply",
                }
            },
            sort=["_score", {"id": "asc"}],
            size=limit * 4,
            source_includes=["title"],
        )
        return distinct_titles((raw["_source"]["title"] for raw in response["hits"]["hits"]), limit)

    def corrections(self, words: list[str]) -> dict[str, str]:
        """Elasticsearch's term suggester on the folded words of titles, facts, categories, shops."""
        if not words:
            return {}
        response = self.client.search(
            index=self.alias,
            size=0,
            suggest={
                "text": " ".join(words),
                "spelling": {
                    "term": {
                        "field": "spelling",
                        "suggest_mode": "missing",
                        "max_edits": 2,
                        "min_word_length": 3,
                        "sort": "score",
                    }
                },
            },
        )
        found: dict[str, str] = {}
        for entry in response.get("suggest", {}).get("spelling", []):
            if entry["options"]:
                found[entry["text"]] = entry["options"][0]["text"]
        return found

    # -- writing ---------------------------------------------------------------------------------

    def _actions(self, index: str, documents: Iterable[ProductDocument], version: int) -> Iterable[Any]:
        for document in documents:
            yield {
                "_op_type": "index",
                "_index": index,
                "_id": str(document.id),
                "_version": version,
                "_version_type": "external_gte",
                "_source": _source(document),
            }

    def _bulk(self, actions: Iterable[Any], refresh: bool = True) -> int:
        """Write, then (by default) refresh: what the outbox drain writes is searchable at once."""
        done, errors = helpers.bulk(
            self.client, actions, raise_on_error=False, refresh=refresh, chunk_size=1000
        )
        # A version conflict means a newer copy is already there: that is the point of versions.
        real = [
            error
            for error in errors  # type: ignore[union-attr]
            if next(iter(error.values())).get("status") != 409
        ]
        if real:
            raise RuntimeError(f"Elasticsearch refused {len(real)} documents: {real[:3]}")
        return int(done)

    def _current_index(self) -> str | None:
        try:
            aliases = self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return None
        return next(iter(aliases), None)

    def ensure_index(self) -> str:
        """The index behind the alias, created empty if there is none yet."""
        current = self._current_index()
        if current is None:
            current = self._new_index()
            self.client.indices.put_alias(index=current, name=self.alias)
        return current

    def _new_index(self) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S%f")
        name = f"{self.alias}-{stamp}"
        self.client.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS)
        return name

    def upsert(self, documents: Iterable[ProductDocument]) -> int:
        index = self.ensure_index()
        return self._bulk(self._actions(index, documents, version=time.time_ns() // 1000))

    def delete(self, product_ids: Iterable[int]) -> int:
        index = self.ensure_index()
        actions = [{"_op_type": "delete", "_index": index, "_id": str(pid)} for pid in product_ids]
        if not actions:
            return 0
        done, _errors = helpers.bulk(self.client, actions, raise_on_error=False, refresh=True)
        return int(done)

    def rebuild(self, batches: Iterable[list[ProductDocument]]) -> IndexStatus:
        """Fill a new index version, then point the alias at it in one atomic call."""
        new = self._new_index()
        version = time.time_ns() // 1000
        # Nobody searches the new version yet: no refresh until it is full (Elasticsearch's advice).
        self.client.indices.put_settings(index=new, settings={"index": {"refresh_interval": "-1"}})
        for batch in batches:
            self._bulk(self._actions(new, batch, version), refresh=False)
        self.client.indices.put_settings(index=new, settings={"index": {"refresh_interval": "1s"}})
        self.client.indices.refresh(index=new)
        old = self._current_index()
        actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": self.alias}}]
        if old:
            actions.insert(0, {"remove": {"index": old, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)
        if old:
            self.client.indices.delete(index=old)
        return self.status()

    def status(self) -> IndexStatus:
        current = self._current_index()
        if current is None:
            return IndexStatus(self.name, "", 0, None)
        count = int(self.client.count(index=current)["count"])
        stamp = current.rsplit("-", 1)[-1]
        try:
            built = dt.datetime.strptime(stamp, "%Y%m%dt%H%M%S%f").replace(tzinfo=dt.UTC).isoformat()
        except ValueError:
            built = None
        return IndexStatus(self.name, current, count, built)

    def ping(self) -> bool:
        return bool(self.client.ping())

    def drop(self) -> None:
        """Remove every version of the index (tests, ``flask search reindex`` from scratch)."""
        # Elasticsearch 8 refuses wildcard deletions (action.destructive_requires_name): name each one.
        names = list(self.client.indices.get(index=f"{self.alias}-*", allow_no_indices=True))
        if names:
            self.client.indices.delete(index=",".join(names))
