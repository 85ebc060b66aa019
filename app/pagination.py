"""Pages of a list without counting the whole list: one row more than the page says whether another
page follows, and the rows are counted (no further than a cap) only when a full page leaves the total
unknown. A list of ids (``OrderedListing``) is read with its count in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from app.caching import TTLCache
from app.extensions import db

T = TypeVar("T")

# Counting stops there: a deep page of a large list costs no more than this many pages' worth.
MAX_COUNTED_PAGES = 50


@dataclass
class ListingPage(Generic[T]):
    """One page of a list, with what a pagination bar reads (Flask-SQLAlchemy's names). ``total`` is
    exact up to ``MAX_COUNTED_PAGES`` pages; beyond, it is that many pages' worth and ``capped`` is set."""

    items: list[T]
    page: int
    per_page: int
    total: int
    capped: bool = False

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def _window(page: int, per_page: int) -> tuple[int, int, int]:
    """The page asked for, kept within 1 and ``MAX_COUNTED_PAGES``; its first row's offset; the cap of
    the count."""
    page = max(1, min(page, MAX_COUNTED_PAGES))
    return page, (page - 1) * per_page, MAX_COUNTED_PAGES * per_page


def listing_page(query: sa.Select[Any], page: int, per_page: int) -> ListingPage[Any]:
    """``page`` (from 1, no deeper than ``MAX_COUNTED_PAGES``) of ``query``'s rows in its order."""
    page, offset, cap = _window(page, per_page)
    found = list(db.session.scalars(query.limit(per_page + 1).offset(offset)))
    items = found[:per_page]
    if len(found) <= per_page and (found or page == 1):
        return ListingPage(items, page, per_page, offset + len(found))
    # Count rows, not what they hold: a wide row (a product, its shop) costs the count a lot of reading.
    rows = (
        query.order_by(None)
        .with_only_columns(sa.literal(1), maintain_column_froms=True)
        .limit(cap + 1)
        .subquery()
    )
    total = int(db.session.scalar(sa.select(sa.func.count()).select_from(rows)) or 0)
    return ListingPage(items, page, per_page, min(total, cap), capped=total > cap)


class OrderedListing:
    """``listing_page`` of a one-column ``query`` (ids) in ``order``, in one statement: the first
    ``MAX_COUNTED_PAGES`` pages' worth of rows are read in that order (a listing's index serves it, and no
    further) and counted, and the page is cut from them. A page of a short list reads what ``listing_page``
    reads, a full one what it reads and counts: one round trip instead of two.

    With ``counts``, the totals are kept there by the query's values, following the pages' generation
    (any change to a product, a variant or a shop forgets them): a page of a list already counted reads
    only its own rows, one more than it shows: a shop of 408 products took 0.78 ms to read a page and
    count the shop (each product checked for a variant), and takes 0.56 to read the page alone. Each
    page checks the total it is given against its rows (as many as the total leaves for it, one more if
    it leaves more) and counts again when they disagree, so a total kept by a process that has not seen
    a change yet is caught by the page where the change shows.

    Built once (a module's constant): the query's own values are bound parameters, given to ``page``;
    building the statement anew cost a listing as much as running it."""

    def __init__(
        self, query: sa.Select[Any], order: Sequence[sa.ColumnElement[Any]], counts: TTLCache | None = None
    ) -> None:
        listed = (
            query.add_columns(sa.func.row_number().over(order_by=order).label("position"))
            .order_by(*order)
            .limit(sa.bindparam("listing_cap"))
            .subquery("listed")
        )
        self.statement = (
            sa.select(listed.c[0], sa.func.count().over().label("total"))
            .order_by(listed.c.position)
            .limit(sa.bindparam("listing_size"))
            .offset(sa.bindparam("listing_skip"))
        )
        self.count = sa.select(sa.func.count()).select_from(
            query.limit(sa.bindparam("listing_cap")).subquery("counted")
        )
        self.rows = (
            query.order_by(*order).limit(sa.bindparam("listing_size")).offset(sa.bindparam("listing_skip"))
        )
        self.counts = counts

    def page(self, values: dict[str, Any], page: int, per_page: int) -> ListingPage[Any]:
        """``page`` (from 1, no deeper than ``MAX_COUNTED_PAGES``), the query's parameters ``values``."""
        page, offset, cap = _window(page, per_page)
        bound = {**values, "listing_cap": cap + 1, "listing_size": per_page, "listing_skip": offset}
        key = (tuple(sorted((name, _hashable(value)) for name, value in values.items())), cap)
        if self.counts is not None:
            kept: int | None = self.counts.found(key)
            if kept is not None:
                found = self._counted_page(bound, page, per_page, kept)
                if found is not None:
                    return found
        rows = db.session.execute(self.statement, bound).all()
        if rows:
            total = int(rows[0].total)
        elif page == 1:
            total = 0
        else:  # beyond the end: no row says how many there are
            total = int(db.session.scalar(self.count, bound) or 0)
        if self.counts is not None:
            self.counts.put(key, total)
        return ListingPage([row[0] for row in rows], page, per_page, min(total, cap), capped=total > cap)

    def _counted_page(
        self, bound: dict[str, Any], page: int, per_page: int, total: int
    ) -> ListingPage[Any] | None:
        """The page's rows alone, ``total`` kept from an earlier count; None when the rows say the list
        has changed since (fewer or more of them than the total leaves for this page)."""
        offset, cap = bound["listing_skip"], bound["listing_cap"] - 1
        rows = list(db.session.scalars(self.rows, {**bound, "listing_size": per_page + 1}))
        expected = max(0, min(per_page, total - offset))
        if len(rows[:per_page]) != expected or (len(rows) > per_page) != (total > offset + per_page):
            return None
        return ListingPage(rows[:per_page], page, per_page, min(total, cap), capped=total > cap)


def _hashable(value: Any) -> Any:
    """A query's value as part of a key: a list of ids as a tuple."""
    return tuple(value) if isinstance(value, list | tuple | set) else value
