"""The embedded backend: a tantivy index on disk, for a machine with no Elasticsearch.

Layout of ``SEARCH_INDEX_DIR``: one folder per index version (``v-20261201t101500123456``) and a
``CURRENT`` file naming the one searches use. ``rebuild`` fills a new folder and replaces ``CURRENT``
atomically (``os.replace``), the same zero-downtime swap as the Elasticsearch alias. Readers in other
processes notice the new ``CURRENT`` or a new commit on their next search.

What tantivy has no word for is done here, on its fast fields: collapsing by GTIN (candidates are
read in order and the first of each group kept), "near me" (shop points read once per commit, then
a filter on the shops within the radius), and the sort by distance (shops in distance order).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

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
from search.query import Hit, SearchQuery, SearchResult
from vendors.geo import distance_km

TEXT_FIELDS = ("title", "description", "facts", "labels_text", "category_names", "shop_name")
KEYWORD_FIELDS = ("labels", "category", "category_path", "shop_slug", "delivery_methods", "group", "gtin")
INTEGER_FIELDS = (
    "id",
    "shop_id",
    "price_min_cents",
    "price_max_cents",
    "created_at",
    "popularity",
    "review_count",
    "rating_rank",
    "group_key",
)
FLOAT_FIELDS = ("rating", "rank_weight", "lat", "lon")
WRITER_HEAP = 50_000_000
FIELD_SORTS = {
    "price_asc": ("price_min_cents", tantivy.Order.Asc),
    "price_desc": ("price_max_cents", tantivy.Order.Desc),
    "newest": ("created_at", tantivy.Order.Desc),
    "rating": ("rating_rank", tantivy.Order.Desc),
}
LOCK_WAIT_SECONDS = 30.0


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=name == "title", tokenizer_name="french_text")
    builder.add_text_field("title_folded", tokenizer_name="folded")
    builder.add_text_field("spelling", stored=True, tokenizer_name="folded")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=name == "group", tokenizer_name="raw", fast=True)
    for name in INTEGER_FIELDS:
        builder.add_integer_field(name, stored=False, indexed=True, fast=True)
    for name in FLOAT_FIELDS:
        builder.add_float_field(name, stored=False, indexed=True, fast=True)
    builder.add_boolean_field("in_stock", stored=False, indexed=True, fast=True)
    return builder.build()


SCHEMA = _schema()


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    return int(getattr(searcher.search(query, 1, count=True), "count", 0) or 0)


def group_key(group: str) -> int:
    """A stable 63-bit number for a collapse group: tantivy reads numbers from fast fields."""
    return int.from_bytes(hashlib.blake2b(group.encode(), digest_size=8).digest(), "big") >> 1


def _document(document: ProductDocument) -> tantivy.Document:
    data = document.to_dict()
    fields: dict[str, Any] = {
        "title": data["title"],
        "title_folded": data["title"],
        "description": data["description"],
        "facts": data["facts"],
        "labels_text": data["labels"],
        "category_names": data["category_names"],
        "shop_name": data["shop_name"],
        "spelling": spelling_words(document),
        "labels": data["labels"],
        "category": data["category"],
        "category_path": data["category_path"],
        "shop_slug": data["shop_slug"],
        "delivery_methods": data["delivery_methods"],
        "group": data["group"],
        "group_key": group_key(data["group"]),
        "in_stock": data["in_stock"],
    }
    if data["gtin"]:
        fields["gtin"] = data["gtin"]
    for name in (
        "id",
        "shop_id",
        "price_min_cents",
        "price_max_cents",
        "created_at",
        "popularity",
        "review_count",
        "rating_rank",
    ):
        fields[name] = int(data[name])
    for name in ("rating", "rank_weight"):
        fields[name] = float(data[name])
    if data["lat"] is not None and data["lon"] is not None:
        fields["lat"], fields["lon"] = float(data["lat"]), float(data["lon"])
    return tantivy.Document.from_dict({key: value for key, value in fields.items() if value != []}, SCHEMA)


@dataclass
class _Opened:
    version: str
    index: tantivy.Index
    meta_mtime: int = 0
    shop_points: dict[int, tuple[float, float]] | None = None


class TantivyBackend:
    name = "tantivy"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._opened: _Opened | None = None
        self._lock = threading.RLock()

    # -- the index on disk -----------------------------------------------------------------------

    @property
    def _current_file(self) -> Path:
        return self.directory / "CURRENT"

    def _current_version(self) -> str | None:
        try:
            return self._current_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    @staticmethod
    def _open(path: Path, create: bool = False) -> tantivy.Index:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
        index.register_tokenizer("french_text", text.french_analyzer())
        index.register_tokenizer("folded", text.folded_analyzer())
        return index

    def _new_version(self) -> tuple[str, tantivy.Index]:
        version = "v-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S%f")
        return version, self._open(self.directory / version, create=True)

    def _publish(self, version: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f"CURRENT.{os.getpid()}.{threading.get_ident()}"
        temporary.write_text(version)
        os.replace(temporary, self._current_file)

    def _index(self) -> _Opened:
        """The current version, opened once and reloaded when another writer committed."""
        with self._lock:
            version = self._current_version()
            if version is None:
                version, index = self._new_version()
                self._publish(version)
                self._opened = _Opened(version, index)
            elif self._opened is None or self._opened.version != version:
                self._opened = _Opened(version, self._open(self.directory / version))
            opened = self._opened
            meta = self.directory / version / "meta.json"
            mtime = meta.stat().st_mtime_ns if meta.exists() else 0
            if mtime != opened.meta_mtime:
                opened.index.reload()
                opened.meta_mtime = mtime
                opened.shop_points = None
            return opened

    def _writer(self, index: tantivy.Index) -> tantivy.IndexWriter:
        """The index's single writer; another process holding it is waited for, then it is an error
        (a job is retried)."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return index.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- writing ---------------------------------------------------------------------------------

    def upsert(self, documents: Iterable[ProductDocument]) -> int:
        with self._lock:
            opened = self._index()
            writer = self._writer(opened.index)
            count = 0
            try:
                for document in documents:
                    writer.delete_documents_by_term("id", document.id)
                    writer.add_document(_document(document))
                    count += 1
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            return count

    def delete(self, product_ids: Iterable[int]) -> int:
        ids = list(product_ids)
        if not ids:
            return 0
        with self._lock:
            opened = self._index()
            writer = self._writer(opened.index)
            try:
                for product_id in ids:
                    writer.delete_documents_by_term("id", product_id)
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            return len(ids)

    def rebuild(self, batches: Iterable[list[ProductDocument]]) -> IndexStatus:
        """Fill a new version, then point ``CURRENT`` at it; the old version is removed."""
        with self._lock:
            old = self._current_version()
            version, index = self._new_version()
            writer = self._writer(index)
            try:
                for batch in batches:
                    for document in batch:
                        writer.add_document(_document(document))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                shutil.rmtree(self.directory / version, ignore_errors=True)
                raise
            self._publish(version)
            if old and old != version:
                # Readers that still have the old files open keep them until they reopen.
                shutil.rmtree(self.directory / old, ignore_errors=True)
            return self.status()

    def status(self) -> IndexStatus:
        opened = self._index()
        stamp = opened.version.removeprefix("v-")
        built = dt.datetime.strptime(stamp, "%Y%m%dt%H%M%S%f").replace(tzinfo=dt.UTC).isoformat()
        return IndexStatus(
            self.name, str(self.directory / opened.version), opened.index.searcher().num_docs, built
        )

    def ping(self) -> bool:
        self._index()
        return True

    def drop(self) -> None:
        with self._lock:
            self._opened = None
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _stem_query(stems: Iterable[str]) -> tantivy.Query:
        """Any of the stems in any field, each field with its boost."""
        terms = list(stems)
        per_field = [
            tantivy.Query.boost_query(
                tantivy.Query.term_query(SCHEMA, name, terms[0])
                if len(terms) == 1
                else tantivy.Query.term_set_query(SCHEMA, name, terms),
                boost,
            )
            for name, boost in FIELD_BOOSTS.items()
        ]
        return tantivy.Query.disjunction_max_query(per_field, tie_breaker=TIE_BREAKER)

    def _token_query(self, searcher: tantivy.Searcher, token: str) -> tantivy.Query | None:
        """One folded word: its stem where products have it, else (worth less) the stems of the
        catalogue's words it may be a typo of, else nothing."""
        stems = text.stems(token)
        if not stems:
            return None  # a stop word
        exact = self._stem_query(stems)
        # A count, not doc_freq: the term dictionary still holds the words of deleted documents.
        if _count(searcher, exact):
            return exact
        # The words of titles, facts, categories and shops are compared as typed (folded); those of
        # descriptions, which are only kept stemmed, stem to stem.
        named = self._neighbours(searcher, "spelling", token)
        named_stems = list(dict.fromkeys(stem for word in named for stem in text.stems(word)))
        described = [
            word
            for stem in stems
            if len(stem) >= text.TYPO_STEM_FROM
            for word in self._neighbours(searcher, "description", stem)
        ]
        typos = []
        if named_stems:
            typos.append(self._stem_query(named_stems))
        if described:
            typos.append(
                tantivy.Query.boost_query(
                    tantivy.Query.term_set_query(SCHEMA, "description", described),
                    FIELD_BOOSTS["description"],
                )
            )
        if not typos:
            return tantivy.Query.empty_query()
        return tantivy.Query.boost_query(
            tantivy.Query.disjunction_max_query(typos, tie_breaker=TIE_BREAKER), FUZZY_WEIGHT
        )

    @staticmethod
    def _neighbours(searcher: tantivy.Searcher, field: str, token: str) -> list[str]:
        if not text.fuzziness(token):
            return []
        prefix = token[: text.TYPO_PREFIX]
        return text.typo_neighbours(token, (term for term, _n in searcher.terms_with_prefix(field, prefix)))

    def _word_query(
        self, searcher: tantivy.Searcher, word: str, cache: dict[str, tantivy.Query | None]
    ) -> tantivy.Query | None:
        token_queries = []
        for token in text.folded(word):
            if token not in cache:
                cache[token] = self._token_query(searcher, token)
            if (found := cache[token]) is not None:
                token_queries.append(found)
        if not token_queries:
            return None
        if len(token_queries) == 1:
            return token_queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query) for query in token_queries])

    def _text_query(self, query: SearchQuery, searcher: tantivy.Searcher) -> tantivy.Query:
        if query.code:
            # A product code finds that product at every shop, whatever words come with it.
            return tantivy.Query.term_query(SCHEMA, "gtin", query.code)
        # Per search: whether each word has an exact match is asked of the index once.
        cache: dict[str, tantivy.Query | None] = {}
        word_queries = []
        for alternatives in text.groups(query.text):
            found = [q for q in (self._word_query(searcher, word, cache) for word in alternatives) if q]
            if found:
                word_queries.append(
                    found[0] if len(found) == 1 else tantivy.Query.disjunction_max_query(found)
                )
        if not word_queries:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, q) for q in word_queries],
            minimum_number_should_match=required_words(len(word_queries)),
        )

    def _shop_points(self, opened: _Opened) -> dict[int, tuple[float, float]]:
        """Every shop's point, read from the index once per commit."""
        if opened.shop_points is None:
            aggregation = opened.index.searcher().aggregate(
                tantivy.Query.exists_query("lat"),
                {
                    "shops": {
                        "terms": {"field": "shop_id", "size": 65000},
                        "aggs": {"lat": {"min": {"field": "lat"}}, "lon": {"min": {"field": "lon"}}},
                    }
                },
            )
            opened.shop_points = {
                int(bucket["key"]): (bucket["lat"]["value"], bucket["lon"]["value"])
                for bucket in aggregation["shops"]["buckets"]
            }
        return opened.shop_points

    def _filters(self, query: SearchQuery, opened: _Opened) -> list[tantivy.Query]:
        term = tantivy.Query.term_query
        filters = []
        if query.category:
            filters.append(term(SCHEMA, "category_path", query.category))
        if query.shop:
            filters.append(term(SCHEMA, "shop_slug", query.shop))
        filters.extend(term(SCHEMA, "labels", label) for label in query.labels)
        filters.extend(term(SCHEMA, "delivery_methods", method) for method in query.delivery)
        if query.in_stock:
            filters.append(term(SCHEMA, "in_stock", True))
        if query.min_rating is not None:
            filters.append(
                tantivy.Query.range_query(
                    SCHEMA, "rating", tantivy.FieldType.Float, float(query.min_rating), 5.0
                )
            )
        if query.price_min_cents is not None or query.price_max_cents is not None:
            filters.append(
                tantivy.Query.range_query(
                    SCHEMA,
                    "price_min_cents",
                    tantivy.FieldType.Integer,
                    query.price_min_cents if query.price_min_cents is not None else -(2**62),
                    query.price_max_cents if query.price_max_cents is not None else 2**62,
                )
            )
        if query.near is not None and query.within_km is not None:
            near, within = query.near, query.within_km
            shops = [
                shop_id
                for shop_id, point in self._shop_points(opened).items()
                if distance_km(near, point) <= within
            ]
            filters.append(
                tantivy.Query.term_set_query(SCHEMA, "shop_id", shops)
                if shops
                else tantivy.Query.empty_query()
            )
        return filters

    def _query(self, query: SearchQuery, opened: _Opened, searcher: tantivy.Searcher) -> tantivy.Query:
        filters = self._filters(query, opened)
        main = self._text_query(query, searcher)
        if not filters:
            return main
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, main)]
            + [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
        )

    def _ordered(
        self, searcher: tantivy.Searcher, query: SearchQuery, compiled: tantivy.Query, limit: int, offset: int
    ) -> list[tuple[float, tantivy.DocAddress]]:
        by_field = FIELD_SORTS.get(query.effective_sort)
        if by_field is None:
            hits = searcher.search(
                compiled, limit, count=False, offset=offset, weight_by_field="rank_weight"
            ).hits
        else:
            field, order = by_field
            hits = searcher.search(
                compiled, limit, count=False, offset=offset, order_by_field=field, order=order
            ).hits
        return [(float(key), address) for key, address in hits]

    def _candidates(
        self,
        opened: _Opened,
        searcher: tantivy.Searcher,
        query: SearchQuery,
        compiled: tantivy.Query,
        wanted: int,
    ) -> Iterator[tuple[float, float | None, tantivy.DocAddress]]:
        """Hits in the query's order, as (score, distance, address), read in growing chunks."""
        if query.effective_sort == "distance":
            yield from self._by_distance(opened, searcher, query, compiled, wanted)
            return
        offset, chunk = 0, max(wanted + wanted // 2, 32)
        while True:
            hits = self._ordered(searcher, query, compiled, chunk, offset)
            for key, address in hits:
                yield key, None, address
            if len(hits) < chunk:
                return
            offset += chunk
            chunk *= 2

    def _by_distance(
        self,
        opened: _Opened,
        searcher: tantivy.Searcher,
        query: SearchQuery,
        compiled: tantivy.Query,
        wanted: int,
    ) -> Iterator[tuple[float, float | None, tantivy.DocAddress]]:
        """Shops nearest first; within a shop, by relevance. Shops are read a few at a time."""
        assert query.near is not None
        near = query.near
        points = self._shop_points(opened)
        counts = searcher.aggregate(compiled, {"shops": {"terms": {"field": "shop_id", "size": 65000}}})
        shops = sorted(
            (distance_km(near, points[int(b["key"])]), int(b["key"]), int(b["doc_count"]))
            for b in counts["shops"]["buckets"]
            if int(b["key"]) in points
        )
        position = 0
        while position < len(shops):
            batch: list[tuple[float, int, int]] = []
            size = 0
            # Each round reads twice as many hits as the last: when most hits are copies of one GTIN
            # already kept (a book in many shops), few rounds still fill the page.
            while position < len(shops) and (size < wanted or not batch):
                batch.append(shops[position])
                size += shops[position][2]
                position += 1
            distances = {shop_id: distance for distance, shop_id, _count in batch}
            within = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, compiled),
                    (
                        tantivy.Occur.Must,
                        tantivy.Query.const_score_query(
                            tantivy.Query.term_set_query(SCHEMA, "shop_id", list(distances)), 0.0
                        ),
                    ),
                ]
            )
            hits = searcher.search(within, size, count=False, weight_by_field="rank_weight").hits
            shop_ids = searcher.fast_field_values("shop_id", [address for _score, address in hits])
            ids = searcher.fast_field_values("id", [address for _score, address in hits])
            rows = sorted(
                zip(hits, shop_ids, ids, strict=True),
                key=lambda row: (distances[int(row[1])], -row[0][0], row[2]),  # type: ignore[arg-type]
            )
            for (score, address), shop_id, _id in rows:
                yield float(score), distances[int(shop_id)], address  # type: ignore[arg-type]
            wanted *= 2

    def search(self, query: SearchQuery) -> SearchResult:
        opened = self._index()
        searcher = opened.index.searcher()
        compiled = self._query(query, opened, searcher)
        wanted = query.offset + query.per_page

        # Collapse: the first hit of each group, in order, until the page is full.
        kept: list[tuple[float, float | None, tantivy.DocAddress]] = []
        seen: set[int] = set()
        pending: list[tuple[float, float | None, tantivy.DocAddress]] = []

        def flush() -> None:
            keys = searcher.fast_field_values("group_key", [address for _s, _d, address in pending])
            for candidate, key in zip(pending, keys, strict=True):
                if key not in seen and len(kept) < wanted:
                    seen.add(key)  # type: ignore[arg-type]
                    kept.append(candidate)
            pending.clear()

        for candidate in self._candidates(opened, searcher, query, compiled, wanted):
            pending.append(candidate)
            if len(pending) >= 256:
                flush()
                if len(kept) >= wanted:
                    break
        flush()
        page = kept[query.offset : wanted]

        aggs = searcher.aggregate(compiled, facet_aggregations())
        matched = _count(searcher, compiled)

        words = [] if query.code else text.words(query.text)
        documents = [searcher.doc(address) for _s, _d, address in page]
        groups = [document.get_first("group") for document in documents]
        offers = offer_counts(aggs)
        ids = searcher.fast_field_values("id", [address for _s, _d, address in page])
        hits = [
            Hit(
                product_id=int(product_id),  # type: ignore[arg-type]
                score=score,
                title_html=text.highlight(document.get_first("title") or "", words),
                shop_count=offers.get((group or "").removeprefix("gtin:"), 1),
                distance_km=distance,
            )
            for (score, distance, _address), document, group, product_id in zip(
                page, documents, groups, ids, strict=True
            )
        ]
        return SearchResult(
            hits=hits, total=collapsed_total(matched, aggs), facets=facets_from(aggs), backend=self.name
        )

    def count(self, query: SearchQuery) -> int:
        opened = self._index()
        searcher = opened.index.searcher()
        compiled = self._query(query, opened, searcher)
        aggs = searcher.aggregate(compiled, {"shared_gtins": facet_aggregations()["shared_gtins"]})
        matched = _count(searcher, compiled)
        return collapsed_total(matched, aggs)

    def autocomplete(self, prefix: str, limit: int = 8) -> list[str]:
        tokens = text.folded(prefix)
        if not tokens:
            return []
        *whole, last = tokens
        clauses = [(tantivy.Occur.Must, tantivy.Query.term_query(SCHEMA, "title_folded", t)) for t in whole]
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.fuzzy_term_query(SCHEMA, "title_folded", last, distance=0, prefix=True),
            )
        )
        searcher = self._index().index.searcher()
        hits = searcher.search(
            tantivy.Query.boolean_query(clauses), limit * 4, count=False, weight_by_field="rank_weight"
        ).hits
        return distinct_titles(
            (searcher.doc(address).get_first("title") or "" for _score, address in hits), limit
        )

    def corrections(self, words: list[str]) -> dict[str, str]:
        """For each word no product has, the nearest word that products do have (two edits at most)."""
        searcher = self._index().index.searcher()
        found: dict[str, str] = {}
        for word in words:
            tokens = text.folded(word)
            if len(tokens) != 1 or len(tokens[0]) < 3 or searcher.doc_freq("spelling", tokens[0]):
                continue
            token = tokens[0]
            fuzzy = tantivy.Query.fuzzy_term_query(SCHEMA, "spelling", token, distance=2)
            candidates: dict[str, tuple[int, int]] = {}
            for _score, address in searcher.search(fuzzy, 20, count=False).hits:
                for value in searcher.doc(address).get_all("spelling"):
                    for candidate in text.folded(str(value)):
                        distance = text.edit_distance(token, candidate)
                        if distance <= 2:
                            best = candidates.get(candidate, (distance, 0))
                            candidates[candidate] = (distance, best[1] - 1)
            if candidates:
                found[word] = min(candidates.items(), key=lambda item: (item[1], item[0]))[0]
        return found
