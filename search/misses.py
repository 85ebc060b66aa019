"""Searches that find nothing, or little: what shoppers look for and the town does not offer.

Counted per day (the town's), query text as folded (accents and case dropped, spaces collapsed, word
order kept) and results bucket, with the most results seen; only first pages of text searches by people
(see ``app.visits.counters.counted_request``), never product codes, never who searched. The counts go
through the same counters as visits: Redis then a job when there is Redis, the database at once otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Mapping

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Session

from app import pagecache
from app.extensions import db
from app.visits.counters import Counter, Key, counted_request, today, upsert
from search.models import MissBucket, SearchMiss
from search.query import SearchQuery

log = logging.getLogger(__name__)

FEW_RESULTS = 3  # fewer results than this on a search's first page are a miss
MAX_QUERY_CHARS = 100  # longer texts are pasted sentences, not searches worth reading
KEEP_DAYS = 400  # a year and a little more, for comparing a season with the last one
MAX_LIMIT = 1000
_SPACES = re.compile(r"\s+")
_CODE_LIKE = re.compile(r"^[\d\s\-.]+$")


def normalised(text: str) -> str:
    """The query as it is counted: accents and case folded, spaces collapsed, words in their order."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return _SPACES.sub(" ", folded).strip()[:MAX_QUERY_CHARS]


def _write(session: Session, counts: Mapping[Key, int]) -> None:
    """Add counts to the table; a key is (day, query, results), folded here into the results' bucket."""
    rows: dict[tuple[str, str, MissBucket], dict[str, object]] = {}
    for (day, query, results), count in counts.items():
        found = int(results or 0)
        bucket = MissBucket.NONE if found == 0 else MissBucket.FEW
        row = rows.setdefault(
            (str(day), str(query), bucket),
            {"day": dt.date.fromisoformat(str(day)), "query": str(query), "bucket": bucket, "count": 0},
        )
        row["count"] = int(str(row["count"])) + count
        row["max_results"] = max(found, int(str(row.get("max_results", 0))))
    if not rows:
        return
    insert = upsert(SearchMiss)
    statement = insert.on_conflict_do_update(
        index_elements=["day", "query", "bucket"],
        set_={
            "count": SearchMiss.count + insert.excluded["count"],
            "max_results": sa.case(
                (insert.excluded["max_results"] > SearchMiss.max_results, insert.excluded["max_results"]),
                else_=SearchMiss.max_results,
            ),
        },
    )
    session.execute(statement, [rows[key] for key in sorted(rows, key=str)])


MISSES = Counter("search_misses", _write)


def record(query: SearchQuery, results: int) -> None:
    """Count a search that found fewer than ``FEW_RESULTS`` products, if it is worth reading: a person's
    text search, first page, not a product code, not over ``MAX_QUERY_CHARS``. Call it once the search ran;
    a failure is logged, never raised."""
    text = query.text.strip()
    if results >= FEW_RESULTS or query.page != 1 or not text or len(text) > MAX_QUERY_CHARS:
        return
    if _CODE_LIKE.match(text) or query.code:
        return
    pagecache.keep_out()  # a kept copy of the page would not count the searches made after it
    if not has_request_context() or not counted_request(request):
        return
    folded = normalised(text)
    if not folded:
        return
    try:
        MISSES.add((today().isoformat(), folded, max(0, int(results))))
    except Exception:
        log.exception("search miss not counted")


def flush() -> int:
    """Move the counts waiting in Redis into the database and forget counts over ``KEEP_DAYS`` days old;
    the number of searches moved. Safe to run twice."""
    moved = MISSES.flush()
    cutoff = today() - dt.timedelta(days=KEEP_DAYS)
    db.session.execute(sa.delete(SearchMiss).where(SearchMiss.day < cutoff))
    db.session.commit()
    return moved


def top_misses(start: dt.date, end: dt.date, limit: int = 30) -> list[tuple[str, int, int]]:
    """The searches that found nothing or little from ``start`` to ``end`` included, most searched first:
    (query text, times searched, most results seen)."""
    limit = max(0, min(int(limit), MAX_LIMIT))
    if not limit:
        return []
    times = sa.func.sum(SearchMiss.count)
    statement = (
        sa.select(SearchMiss.query, times, sa.func.max(SearchMiss.max_results))
        .where(SearchMiss.day >= start, SearchMiss.day <= end)
        .group_by(SearchMiss.query)
        .order_by(times.desc(), SearchMiss.query)
        .limit(limit)
    )
    return [(str(query), int(count), int(most)) for query, count, most in db.session.execute(statement)]
