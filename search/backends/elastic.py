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
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers
from markupsafe import escape

from search import text
from search.backends import (
    ALL_WORDS_SCORE,
    EXACT_FORM_WEIGHT,
    FIELD_WEIGHTS,
    FUZZY_WEIGHT,
    HEAD_SCORE,
    IN_STOCK_SCORE,
    RATING_SCORES,
    RELATED_BELOW,
    RELATED_CATEGORY_SCORE,
    RELATED_FROM_TOP,
    RELATED_KIND_SCORE,
    TIE_BREAKER,
    TITLE_ALL_WORDS_SCORE,
    TITLE_BM25_BOOST,
    TYPO_NAMED_WEIGHT,
    IndexStatus,
    Related,
    collapsed_total,
    distinct_titles,
    facet_aggregations,
    facets_from,
    idf,
    offer_counts,
    related_to,
    resolve,
    wants_related,
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
            "folded_stop": {"type": "stop", "stopwords": list(text.FOLDED_STOP_WORDS)},
            "french_stemmer": {"type": "stemmer", "language": "light_french"},
            "autocomplete_edges": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
        },
        "analyzer": {
            "french_text": {
                "char_filter": ["apostrophe"],
                "tokenizer": "standard",
                "filter": [
                    "french_elision",
                    "lowercase",
                    "french_stop",
                    "asciifolding",
                    "french_stop",
                    "folded_stop",
                    "french_stemmer",
                ],
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
        "title_head": FRENCH,
        "title_singular": {"type": "text", "analyzer": "folded"},
        "description": FRENCH,
        "facts": FRENCH,
        "kind": {"type": "keyword"},
        "kind_text": FRENCH,
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
    source["title_head"] = text.title_head(document.title)
    source["title_singular"] = " ".join(text.singular_forms(document.title))
    source["kind_text"] = document.kind
    lat, lon = source.pop("lat"), source.pop("lon")
    if lat is not None and lon is not None:
        source["location"] = {"lat": lat, "lon": lon}
    return source


def _constant(query: dict[str, Any], score: float) -> dict[str, Any]:
    return {"constant_score": {"filter": query, "boost": score}}


def _any_of(queries: list[dict[str, Any]]) -> dict[str, Any]:
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries}}


@dataclass(frozen=True)
class _Word:
    """One word (or group of alternatives) of a query: where it is found, how it scores, whether it
    is in the title, and how to mark it there. All None for a word of stop words only."""

    anywhere: dict[str, Any] | None
    scored: dict[str, Any] | None
    in_title: dict[str, Any] | None
    highlight: dict[str, Any] | None
    typo: bool = False  # found only with a typo

    @classmethod
    def either(cls, words: list[_Word]) -> _Word:
        """Alternatives ("polar" or "policier"): found by any, scored by the best."""
        if len(words) == 1:
            return words[0]
        titles = [word.in_title for word in words if word.in_title is not None]
        return cls(
            _any_of([word.anywhere for word in words if word.anywhere is not None]),
            {"dis_max": {"queries": [word.scored for word in words if word.scored is not None]}},
            _any_of(titles) if titles else None,
            _any_of([word.highlight for word in words if word.highlight is not None]),
            typo=all(word.typo for word in words),
        )


@dataclass(frozen=True)
class _Clauses:
    """A text query's parts: the products with every word, those with its head noun (None when
    every word is needed), the scores a product adds up, and the title matches to highlight."""

    every: dict[str, Any]
    head: dict[str, Any] | None
    scores: list[dict[str, Any]]
    highlights: list[dict[str, Any]]


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str, alias: str = "products", timeout: float = 10.0) -> None:
        self.url = url
        self.alias = alias
        self.client = Elasticsearch(url, request_timeout=timeout, retry_on_timeout=True, max_retries=2)

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _in_field(field: str, word: str) -> dict[str, Any]:
        return {"match": {field: {"query": word, "operator": "and"}}}

    def _exact_anywhere(self, word: str) -> dict[str, Any]:
        return {"bool": {"should": [self._in_field(name, word) for name in FIELD_WEIGHTS]}}

    @staticmethod
    def _fuzzy_match(word: str, field: str, fuzziness: str) -> dict[str, Any]:
        return {
            "match": {
                field: {
                    "query": word,
                    "operator": "and",
                    "fuzziness": fuzziness,
                    "prefix_length": text.TYPO_PREFIX,
                    "max_expansions": 50,
                }
            }
        }

    def _typo_fields(self, word: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The word with a typo: compared as typed (folded) with the words of titles, facts,
        categories and shops (the spelling field is not stemmed), stem to stem with descriptions."""
        return (
            self._fuzzy_match(word, "spelling", text.TYPO_FUZZINESS),
            self._fuzzy_match(word, "description", text.TYPO_STEM_FUZZINESS),
        )

    def _counts(self, words: Iterable[str]) -> tuple[int, dict[str, tuple[int, int]]]:
        """The catalogue's size, and for each word how many products have it as typed (or as its
        stem) and how many with a typo: one request for all of them."""
        wanted = list(dict.fromkeys(words))
        filters: dict[str, Any] = {}
        for number, word in enumerate(wanted):
            filters[f"exact{number}"] = self._exact_anywhere(word)
            filters[f"typo{number}"] = {"bool": {"should": list(self._typo_fields(word))}}
        response = self.client.search(
            index=self.alias,
            size=0,
            track_total_hits=True,
            aggs={"words": {"filters": {"filters": filters}}} if filters else None,
        )
        total = int(response["hits"]["total"]["value"])
        if not filters:
            return total, {}
        buckets = response["aggregations"]["words"]["buckets"]
        return total, {
            word: (int(buckets[f"exact{n}"]["doc_count"]), int(buckets[f"typo{n}"]["doc_count"]))
            for n, word in enumerate(wanted)
        }

    def _word(self, word: str, total: int, counts: dict[str, tuple[int, int]]) -> _Word | None:
        """One typed word: what finds it and how it scores; None when nothing has it."""
        if not any(text.stems(token) for token in text.folded(word)):
            return _Word(None, None, None, None)  # only stop words: it asks for nothing
        exact, typos = counts.get(word, (0, 0))
        if exact:
            rarity = idf(exact, total)
            scored: list[dict[str, Any]] = [
                {
                    "dis_max": {
                        "queries": [
                            _constant(self._in_field(name, word), weight * rarity)
                            for name, weight in FIELD_WEIGHTS.items()
                        ],
                        "tie_breaker": TIE_BREAKER,
                    }
                },
                {"match": {"title": {"query": word, "operator": "and", "boost": TITLE_BM25_BOOST}}},
            ]
            singular = text.singular_forms(word)
            if singular:
                exact_form = self._in_field("title_singular", " ".join(singular))
                scored.append(_constant(exact_form, EXACT_FORM_WEIGHT * rarity))
            in_title = _any_of([self._in_field("title", word), self._in_field("title_head", word)])
            return _Word(self._exact_anywhere(word), _any_of(scored), in_title, self._in_field("title", word))
        if not typos:
            return None
        rarity = idf(typos, total) * FUZZY_WEIGHT
        named, described = self._typo_fields(word)
        typo_scored = {
            "dis_max": {
                "queries": [
                    _constant(named, TYPO_NAMED_WEIGHT * rarity),
                    _constant(described, FIELD_WEIGHTS["description"] * rarity),
                ],
                "tie_breaker": TIE_BREAKER,
            }
        }
        # Only for marking the title's words: the title field holds stems, close enough to show.
        highlight = self._fuzzy_match(word, "title", text.TYPO_FUZZINESS)
        return _Word(_any_of([named, described]), typo_scored, None, highlight, typo=True)

    def _text_clauses(self, query: SearchQuery) -> _Clauses | None:
        """What a product must match to be found (the head noun), the scores it adds up and the
        title matches to highlight; None when a word of the query matches nothing at all."""
        if query.code:
            # A product code finds that product at every shop, whatever words come with it.
            return _Clauses({"term": {"gtin": query.code}}, None, [], [])
        analysed = text.analyse(query.text)
        total, counts = self._counts(word for alternatives in analysed.groups for word in alternatives)
        resolved = resolve(
            analysed,
            lambda word: self._word(word, max(total, 1), counts),
            lambda word: word.anywhere is not None,
            _Word.either,
            lambda word: word.typo,
        )
        if resolved is None:
            return None
        groups, head = resolved.groups, resolved.head
        if head is None or head.anywhere is None:
            return None if resolved.skipped else _Clauses({"match_all": {}}, None, [], [])
        scores = [group.scored for group in groups if group.scored is not None]
        every = [group.anywhere for group in groups if group.anywhere is not None]
        scores.append(_constant({"bool": {"must": every}}, ALL_WORDS_SCORE))
        scores.append(_constant(head.anywhere, HEAD_SCORE))
        titles = [group.in_title for group in groups if group.in_title is not None]
        if len(groups) > 1 and len(titles) == len(groups):
            scores.append(_constant({"bool": {"must": titles}}, TITLE_ALL_WORDS_SCORE))
        highlights = [group.highlight for group in groups if group.highlight is not None]
        # A head noun found only with a typo stands for the query only with every other word.
        partial = head.anywhere if len(groups) > 1 and not head.typo else None
        return _Clauses({"bool": {"must": every}}, partial, scores, highlights)

    @staticmethod
    @staticmethod
    def _text_query(
        clauses: _Clauses | None, partial: bool = False, related: Related | None = None
    ) -> dict[str, Any]:
        """Products with every word (or, ``partial``, with the head noun), scored; with ``related``,
        the products of the categories and kinds the best of them agree on follow."""
        if clauses is None:
            return {"match_none": {}}
        wanted = clauses.head if partial and clauses.head is not None else clauses.every
        scores = clauses.scores
        if related:
            near = [
                _constant({"term": {"category": category}}, RELATED_CATEGORY_SCORE * share)
                for category, share in related.categories
            ] + [
                _constant(
                    {"bool": {"must": [{"term": {"category": category}}, {"term": {"kind": kind}}]}},
                    RELATED_KIND_SCORE * share,
                )
                for category, kind, share in related.kinds
            ]
            wanted = {"bool": {"should": [wanted, *near]}}
            scores = [*scores, *near]
        scores = [
            *scores,
            _constant({"term": {"in_stock": True}}, IN_STOCK_SCORE),
            *(_constant({"range": {"rating": {"gte": stars}}}, score) for stars, score in RATING_SCORES),
        ]
        return {"bool": {"filter": [wanted], "should": scores}}

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

    def _query(
        self,
        query: SearchQuery,
        clauses: _Clauses | None,
        partial: bool = False,
        related: Related | None = None,
    ) -> dict[str, Any]:
        text_query = self._text_query(clauses, partial, related)
        return {"bool": {"must": [text_query], "filter": self._filters(query)}}

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

    def _search(
        self,
        query: SearchQuery,
        clauses: _Clauses | None,
        partial: bool = False,
        related: Related | None = None,
    ) -> dict[str, Any]:
        highlights = clauses.highlights if clauses else []
        return dict(
            self.client.search(
                index=self.alias,
                query=self._query(query, clauses, partial, related),
                sort=self._sort(query),
                from_=query.offset,
                size=query.per_page,
                # The shop count of a collapsed GTIN comes from the shared_gtins aggregation: one
                # request, and cheaper than inner_hits, which runs a query per hit.
                collapse={"field": "group"},
                aggs=facet_aggregations(),
                highlight={
                    # The words themselves, not the scores around them, say what to highlight.
                    "highlight_query": {"bool": {"should": highlights}} if highlights else {"match_none": {}},
                    "encoder": "html",
                    "pre_tags": ["<mark>"],
                    "post_tags": ["</mark>"],
                    "fields": {"title": {"number_of_fragments": 0}},
                },
                source_includes=["id", "title", "gtin", "category", "kind"],
                track_total_hits=True,
            )
        )

    def _related(
        self, query: SearchQuery, clauses: _Clauses | None, partial: bool, response: dict[str, Any]
    ) -> Related:
        """What the best hits agree on, when the words alone do not fill a page."""
        if not wants_related(query, int(response["hits"]["total"]["value"])):
            return Related()
        best = response["hits"]["hits"]
        if query.offset:
            best = self.client.search(
                index=self.alias,
                query=self._query(query, clauses, partial),
                sort=self._sort(query),
                size=RELATED_FROM_TOP,
                collapse={"field": "group"},
                source_includes=["category", "kind"],
            )["hits"]["hits"]
        return related_to(
            [(raw["_source"].get("category") or "", raw["_source"].get("kind") or "") for raw in best]
        )

    def search(self, query: SearchQuery) -> SearchResult:
        words = [] if query.code else text.words(query.text)
        # Which words have an exact match is asked once, for the query and its highlight.
        clauses = self._text_clauses(query)
        response = self._search(query, clauses)
        partial = (
            query.effective_sort == "relevance"
            and clauses is not None
            and clauses.head is not None
            and int(response["hits"]["total"]["value"]) < RELATED_BELOW
        )
        if partial:
            # Fewer than a page with every word: the products with the head noun follow them.
            response = self._search(query, clauses, partial=True)
        counted = response
        if related := self._related(query, clauses, partial, response):
            response = self._search(query, clauses, partial, related)
        # The total and the facets are those of the matches: related products only fill the page.
        aggs = counted["aggregations"]
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
                    related=bool(related) and float(raw.get("_score") or 0.0) < HEAD_SCORE,
                )
            )
        matched = int(counted["hits"]["total"]["value"])
        return SearchResult(
            hits=hits, total=collapsed_total(matched, aggs), facets=facets_from(aggs), backend=self.name
        )

    def count(self, query: SearchQuery) -> int:
        response = self.client.search(
            index=self.alias,
            query=self._query(query, self._text_clauses(query)),
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
