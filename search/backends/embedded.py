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
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import tantivy

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
from search.query import Hit, SearchQuery, SearchResult
from vendors.geo import distance_km

TEXT_FIELDS = (
    "title",
    "title_head",
    "kind_text",
    "description",
    "facts",
    "labels_text",
    "category_names",
    "shop_name",
)
KEYWORD_FIELDS = (
    "labels",
    "category",
    "kind",
    "category_path",
    "shop_slug",
    "delivery_methods",
    "group",
    "gtin",
)
# Read back from the best hits: related products share their category and kind.
STORED_KEYWORDS = ("group", "category", "kind")
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
# Collapsing reads the hits in chunks; with fewer matches than this left, the rest comes in one read.
READ_ALL_BELOW = 20_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=name == "title", tokenizer_name="french_text")
    builder.add_text_field("title_folded", tokenizer_name="folded")
    builder.add_text_field("title_singular", tokenizer_name="folded")
    builder.add_text_field("spelling", stored=True, tokenizer_name="folded")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=name in STORED_KEYWORDS, tokenizer_name="raw", fast=True)
    for name in INTEGER_FIELDS:
        builder.add_integer_field(name, stored=False, indexed=True, fast=True)
    for name in FLOAT_FIELDS:
        builder.add_float_field(name, stored=False, indexed=True, fast=True)
    builder.add_boolean_field("in_stock", stored=False, indexed=True, fast=True)
    return builder.build()


SCHEMA = _schema()


def _found(result: tantivy.SearchResult) -> int:
    return int(getattr(result, "count", 0) or 0)


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
        "title_head": text.title_head(data["title"]),
        "title_singular": " ".join(text.singular_forms(data["title"])),
        "kind_text": data["kind"],
        "description": data["description"],
        "facts": data["facts"],
        "labels_text": data["labels"],
        "category_names": data["category_names"],
        "shop_name": data["shop_name"],
        "spelling": spelling_words(document),
        "labels": data["labels"],
        "category": data["category"],
        "kind": data["kind"],
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
    return tantivy.Document.from_dict(
        {key: value for key, value in fields.items() if value not in ([], "")}, SCHEMA
    )


def _constant(query: tantivy.Query, score: float) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, score)


def _any_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if not queries:
        return tantivy.Query.empty_query()
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, query) for query in queries])


def _all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, query) for query in queries])


def _term_set(field: str, terms: list[str]) -> tantivy.Query:
    if len(terms) == 1:
        return tantivy.Query.term_query(SCHEMA, field, terms[0])
    return tantivy.Query.term_set_query(SCHEMA, field, terms)


def _anywhere(per_field: dict[str, list[str]]) -> tantivy.Query:
    return _any_of([_term_set(name, terms) for name, terms in per_field.items() if terms])


@dataclass(frozen=True)
class _Terms:
    """The terms one folded word is looked for by in each field, and whether they stand for a typo."""

    per_field: dict[str, list[str]]
    typo: bool
    matching: int | None = None  # products having the word in some field, when counted


@dataclass(frozen=True)
class _Word:
    """One word (or group of alternatives) of a query: where it is found, how it scores, and whether
    it is in the title. All None for a word of stop words only."""

    anywhere: tantivy.Query | None
    scored: tantivy.Query | None
    in_title: tantivy.Query | None
    typo: bool = False  # found only with a typo

    @classmethod
    def either(cls, words: list[_Word]) -> _Word:
        """Alternatives ("polar" or "policier"): found by any, scored by the best."""
        if len(words) == 1:
            return words[0]
        titles = [word.in_title for word in words if word.in_title is not None]
        return cls(
            _any_of([word.anywhere for word in words if word.anywhere is not None]),
            tantivy.Query.disjunction_max_query([word.scored for word in words if word.scored is not None]),
            _any_of(titles) if titles else None,
            typo=all(word.typo for word in words),
        )


class _Compiled(NamedTuple):
    listed: tantivy.Query  # what the page lists: the matches, then any related products
    # The matches alone, unscored: the total and the facets (an aggregation over the scored query
    # computes every score it does not need, 60 % more time at 1,500 matches).
    counted: tantivy.Query
    related: bool  # whether ``listed`` has related products after the matches
    found: int | None  # how many matches, when already counted
    first: list[tuple[float, tantivy.DocAddress]] | None = None  # the listing's first chunk, when read


WORDS_KEPT = 5_000  # folded words an opened index keeps the terms of (under a kilobyte each)


def _first_chunk(wanted: int) -> int:
    """How many hits the first read takes: the page and half as much again (copies of a GTIN)."""
    return max(wanted + wanted // 2, 32)


@dataclass(frozen=True)
class _Clauses:
    """A text query's parts: the products with every word, those with its head noun (None when
    every word is needed), the scores a product adds up, and those that every product with every
    word has (``sure``: for having them all, and its head noun among them)."""

    every: tantivy.Query
    head: tantivy.Query | None
    scores: list[tantivy.Query]
    sure: tuple[tuple[tantivy.Query, float], ...] = ()


@dataclass
class _Opened:
    version: str
    index: tantivy.Index
    meta_mtime: int = 0
    shop_points: dict[int, tuple[float, float]] | None = None
    # Each folded word's terms as this commit of the index has them (counting its products, or looking
    # for what it may be a typo of, costs more as the catalogue grows): a town's searches repeat words.
    words: dict[str, _Terms | None] = field(default_factory=dict)


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
                opened.words = {}
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

    def _token_terms(
        self, searcher: tantivy.Searcher, token: str, cache: dict[str, _Terms | None]
    ) -> _Terms | None:
        """The terms one folded word is looked for by, per field: its stems where products have them,
        else (a typo) the stems of the catalogue's words it may be a typo of; no terms for a stop
        word; None for a word nothing has, even with a typo."""
        if token not in cache:
            stems = text.stems(token)
            if not stems:
                cache[token] = _Terms({}, typo=False)
            elif matching := _count(searcher, _anywhere(dict.fromkeys(FIELD_WEIGHTS, stems))):
                cache[token] = _Terms(dict.fromkeys(FIELD_WEIGHTS, stems), typo=False, matching=matching)
            else:
                cache[token] = self._typo_terms(searcher, token, stems)
        return cache[token]

    def _typo_terms(self, searcher: tantivy.Searcher, token: str, stems: list[str]) -> _Terms | None:
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
        per_field = (
            {name: named_stems for name in FIELD_WEIGHTS if name != "description"} if named_stems else {}
        )
        if described:
            per_field["description"] = described
        return _Terms(per_field, typo=True) if per_field else None

    @staticmethod
    def _neighbours(searcher: tantivy.Searcher, field: str, token: str) -> list[str]:
        if not text.fuzziness(token):
            return []
        prefix = token[: text.TYPO_PREFIX]
        return text.typo_neighbours(token, (term for term, _n in searcher.terms_with_prefix(field, prefix)))

    def _word(
        self, searcher: tantivy.Searcher, word: str, total: int, cache: dict[str, _Terms | None]
    ) -> _Word | None:
        """One typed word: what finds it in each field and how it scores; None when nothing has it."""
        per_token = []
        for token in text.folded(word):
            terms = self._token_terms(searcher, token, cache)
            if terms is None:
                return None
            if terms.per_field:
                per_token.append(terms)
        if not per_token:
            return _Word(None, None, None)  # only stop words: it asks for nothing
        typo = any(terms.typo for terms in per_token)
        fields: dict[str, tantivy.Query] = {}
        for name in FIELD_WEIGHTS:
            if all(terms.per_field.get(name) for terms in per_token):
                fields[name] = _all_of([_term_set(name, terms.per_field[name]) for terms in per_token])
        if not fields:
            return None  # its parts are found, never together in one field
        anywhere = _any_of(list(fields.values()))
        # One exact word: its count is known; several (a hyphenated word) are counted together.
        known = per_token[0].matching if len(per_token) == 1 else None
        matching = known if known is not None else _count(searcher, anywhere)
        rarity = idf(matching, total) * (FUZZY_WEIGHT if typo else 1.0)
        if typo:
            # As Elasticsearch compares a typo: with the words of titles, facts, categories and shops
            # as one list, and with descriptions.
            named = _any_of([query for name, query in fields.items() if name != "description"])
            typo_fields = [_constant(named, TYPO_NAMED_WEIGHT * rarity)]
            if "description" in fields:
                typo_fields.append(_constant(fields["description"], FIELD_WEIGHTS["description"] * rarity))
            return _Word(
                anywhere,
                tantivy.Query.disjunction_max_query(typo_fields, tie_breaker=TIE_BREAKER),
                None,
                typo=True,
            )
        scored: list[tantivy.Query] = [
            tantivy.Query.disjunction_max_query(
                [_constant(query, FIELD_WEIGHTS[name] * rarity) for name, query in fields.items()],
                tie_breaker=TIE_BREAKER,
            )
        ]
        singular = text.singular_forms(word)
        if singular:
            exact = _all_of([tantivy.Query.term_query(SCHEMA, "title_singular", t) for t in singular])
            scored.append(_constant(exact, EXACT_FORM_WEIGHT * rarity))
        if "title" in fields:
            scored.append(tantivy.Query.boost_query(fields["title"], TITLE_BM25_BOOST))
        title_fields = [fields[name] for name in ("title", "title_head") if name in fields]
        return _Word(anywhere, _any_of(scored), _any_of(title_fields))

    def _text_clauses(
        self, query: SearchQuery, searcher: tantivy.Searcher, words: dict[str, _Terms | None]
    ) -> _Clauses | None:
        """What a product must match to be found (the head noun), and the scores it adds up; None
        when a word of the query matches nothing at all (no result beats unrelated products)."""
        if query.code:
            # A product code finds that product at every shop, whatever words come with it.
            return _Clauses(tantivy.Query.term_query(SCHEMA, "gtin", query.code), None, [])
        analysed = text.analyse(query.text)
        total = max(searcher.num_docs, 1)
        if len(words) > WORDS_KEPT:
            words.clear()
        resolved = resolve(
            analysed,
            lambda word: self._word(searcher, word, total, words),
            lambda word: word.anywhere is not None,
            _Word.either,
            lambda word: word.typo,
        )
        if resolved is None:
            return None
        groups, head = resolved.groups, resolved.head
        if head is None:
            return None if resolved.skipped else _Clauses(tantivy.Query.all_query(), None, [])
        scores = [group.scored for group in groups if group.scored is not None]
        every = _all_of([group.anywhere for group in groups if group.anywhere is not None])
        assert head.anywhere is not None
        titles = [group.in_title for group in groups if group.in_title is not None]
        if len(groups) > 1 and len(titles) == len(groups):
            scores.append(_constant(_all_of(titles), TITLE_ALL_WORDS_SCORE))
        # A head noun found only with a typo stands for the query only with every other word.
        partial = head.anywhere if len(groups) > 1 and not head.typo else None
        return _Clauses(every, partial, scores, ((every, ALL_WORDS_SCORE), (head.anywhere, HEAD_SCORE)))

    @staticmethod
    def _text_query(
        clauses: _Clauses | None, partial: bool = False, related: Related | None = None, scored: bool = True
    ) -> tantivy.Query:
        """Products with every word (or, ``partial``, with the head noun), scored; with ``related``,
        the products of the categories and kinds the best of them agree on follow."""
        if clauses is None:
            return tantivy.Query.empty_query()
        wanted = clauses.head if partial and clauses.head is not None else clauses.every
        if not scored:
            return wanted
        scores = clauses.scores
        certain = 0.0
        if wanted is clauses.every and not related:
            # Only products with every word: the scores each of them has are the required clause's, not
            # clauses to evaluate for each match.
            certain = sum(score for _query, score in clauses.sure)
        else:
            scores = scores + [_constant(query, score) for query, score in clauses.sure]
        term = tantivy.Query.term_query
        if related:
            near = [
                _constant(
                    tantivy.Query.term_query(SCHEMA, "category", category), RELATED_CATEGORY_SCORE * share
                )
                for category, share in related.categories
            ] + [
                _constant(
                    _all_of(
                        [
                            term(SCHEMA, "category", category),
                            term(SCHEMA, "kind", kind),
                        ]
                    ),
                    RELATED_KIND_SCORE * share,
                )
                for category, kind, share in related.kinds
            ]
            wanted = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, wanted)] + [(tantivy.Occur.Should, q) for q in near]
            )
            scores = scores + near
        scores = [
            *scores,
            _constant(tantivy.Query.term_query(SCHEMA, "in_stock", True), IN_STOCK_SCORE),
            *(
                _constant(
                    tantivy.Query.range_query(SCHEMA, "rating", tantivy.FieldType.Float, stars, 5.0), score
                )
                for stars, score in RATING_SCORES
            ),
        ]
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, _constant(wanted, certain))] + [(tantivy.Occur.Should, q) for q in scores]
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

    def _query(
        self, query: SearchQuery, opened: _Opened, searcher: tantivy.Searcher, related: bool = True
    ) -> _Compiled:
        """The query to list, the query of the matches alone (the same without related products),
        and how many matches there are when that was counted on the way."""
        filters = [_constant(found, 0.0) for found in self._filters(query, opened)]

        def filtered(main: tantivy.Query) -> tantivy.Query:
            if not filters:
                return main
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in [main, *filters]])

        clauses = self._text_clauses(query, searcher, opened.words)
        unscored = filtered(self._text_query(clauses, scored=False))
        if query.effective_sort in FIELD_SORTS:
            # Listed in a field's order: no score to compute (for "newest" with no words, over the
            # whole catalogue).
            return _Compiled(unscored, unscored, False, None)
        compiled = filtered(self._text_query(clauses))
        if not related or query.effective_sort != "relevance" or query.code:
            return _Compiled(compiled, unscored, False, None)
        # The first chunk of the listing, counted: it says whether the head noun's products and
        # related ones are wanted, and is the listing's first read when they are not.
        chunk = _first_chunk(query.offset + query.per_page)
        best = searcher.search(compiled, chunk, count=True)
        partial = False
        if clauses is not None and clauses.head is not None and _found(best) < RELATED_BELOW:
            # Fewer than a page with every word: the products with the head noun follow them.
            partial = True
            compiled = filtered(self._text_query(clauses, partial=True))
            unscored = filtered(self._text_query(clauses, partial=True, scored=False))
            best = searcher.search(compiled, chunk, count=True)
        first = [(float(score), address) for score, address in best.hits]
        if not wants_related(query, _found(best)):
            return _Compiled(compiled, unscored, False, _found(best), first)
        documents = [searcher.doc(address) for _score, address in first[:RELATED_FROM_TOP]]
        agreed = related_to(
            [(doc.get_first("category") or "", doc.get_first("kind") or "") for doc in documents]
        )
        if not agreed:
            return _Compiled(compiled, unscored, False, _found(best), first)
        return _Compiled(filtered(self._text_query(clauses, partial, agreed)), unscored, True, _found(best))

    def _ordered(
        self, searcher: tantivy.Searcher, query: SearchQuery, compiled: tantivy.Query, limit: int, offset: int
    ) -> list[tuple[float, tantivy.DocAddress]]:
        by_field = FIELD_SORTS.get(query.effective_sort)
        if by_field is None:
            hits = searcher.search(compiled, limit, count=False, offset=offset).hits
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
        kept: Callable[[], int],
        first: list[tuple[float, tantivy.DocAddress]] | None = None,
        total: int | None = None,
    ) -> Iterator[list[tuple[float, float | None, tantivy.DocAddress]]]:
        """Hits in the query's order, as (score, distance, address), in chunks. ``kept`` says how many
        groups the chunks so far gave: where many hits are copies of one GTIN (a book sold in many
        towns), the next chunk is sized from that rate rather than merely doubled."""
        if query.effective_sort == "distance":
            yield from self._by_distance(opened, searcher, query, compiled, wanted)
            return
        offset, chunk = 0, _first_chunk(wanted)
        while True:
            if first is not None and offset == 0:
                hits = first  # already read, in this order, by the same query
            else:
                hits = self._ordered(searcher, query, compiled, chunk, offset)
            yield [(key, None, address) for key, address in hits]
            if len(hits) < chunk:
                return
            offset += chunk
            found = kept()
            if found >= wanted:
                return
            rate = offset / max(found, 1)  # hits read per group kept
            chunk = max(chunk * 2, math.ceil((wanted - found) * rate * 1.5))
            if total is not None and total - offset <= READ_ALL_BELOW:
                chunk = max(total - offset, 1)  # every read scores every match: one more read, the last

    def _by_distance(
        self,
        opened: _Opened,
        searcher: tantivy.Searcher,
        query: SearchQuery,
        compiled: tantivy.Query,
        wanted: int,
    ) -> Iterator[list[tuple[float, float | None, tantivy.DocAddress]]]:
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
            hits = searcher.search(within, size, count=False).hits
            shop_ids = searcher.fast_field_values("shop_id", [address for _score, address in hits])
            ids = searcher.fast_field_values("id", [address for _score, address in hits])
            rows = sorted(
                zip(hits, shop_ids, ids, strict=True),
                key=lambda row: (distances[int(row[1])], -row[0][0], row[2]),  # type: ignore[arg-type]
            )
            yield [
                (float(score), distances[int(shop_id)], address)  # type: ignore[arg-type]
                for (score, address), shop_id, _id in rows
            ]
            wanted *= 2

    def search(self, query: SearchQuery) -> SearchResult:
        opened = self._index()
        searcher = opened.index.searcher()
        compiled, counted, with_related, found, first = self._query(query, opened, searcher)
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

        total = None if with_related else found
        for chunk in self._candidates(
            opened, searcher, query, compiled, wanted, lambda: len(kept), first, total
        ):
            pending.extend(chunk)
            flush()
            if len(kept) >= wanted:
                break
        page = kept[query.offset : wanted]

        # The total and the facets are those of the matches: related products only fill the page.
        aggs = searcher.aggregate(counted, facet_aggregations())
        matched = _count(searcher, counted) if found is None else found

        # The words as matched: English ones put into French ("necklace" marks "Collier").
        words = [] if query.code else [word for group in text.groups(query.text) for word in group]
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
                related=with_related and score < HEAD_SCORE,
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
        counted = self._query(query, opened, searcher, related=False).counted
        aggs = searcher.aggregate(counted, {"shared_gtins": facet_aggregations()["shared_gtins"]})
        matched = _count(searcher, counted)
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
