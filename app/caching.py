"""Small caches of public data, kept per process and following the pages' generation: plain values
(``TTLCache``), ORM rows kept pickled and put back into a session without a statement (``Detached``),
and what a process forgets after its own commits change some tables (``after_changes``)."""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import get_template_attribute, request
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db

T = TypeVar("T")


class TTLCache:
    """Values kept for ``ttl`` seconds in this process. Holds only plain data (never a session's,
    a cart's or a form's); ``clear`` empties it at once after a change made here, other processes
    see the change when their copy expires, or at once when they ``follow`` the shared generation.
    With ``maxsize``, the least recently kept values go first beyond that many. With ``follows`` (a
    function giving the pages' generation, ``app.pagecache.current_generation``), every read follows
    it first."""

    def __init__(
        self,
        ttl: float,
        maxsize: int | None = None,
        follows: Callable[[], int | None] | None = None,
    ) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self.follows = follows
        self._values: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation: int | None = None

    def follow(self, generation: int | None) -> None:
        """Forget every value if the pages' shared generation (``app.pagecache.shared_generation``,
        moved on by any process's change to a public table) is not the one last seen."""
        if generation is None:
            return
        with self._lock:
            if generation != self._generation:
                self._values.clear()
                self._generation = generation

    def _catch_up(self) -> None:
        """Follow the generation given by ``follows``, when there is one: before any read or put."""
        if self.follows is not None:
            self.follow(self.follows())

    def _kept(self, key: Any) -> tuple[float, Any] | None:
        """The entry kept under ``key`` (when it was kept, its value) while younger than the ttl."""
        self._catch_up()
        with self._lock:
            found = self._values.get(key)
        return found if found is not None and time.monotonic() - found[0] < self.ttl else None

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        kept = self._kept(key)
        if kept is not None:
            return kept[1]
        value = compute()
        self.put(key, value)
        return value

    def found(self, key: Any) -> Any | None:
        """The value kept under ``key`` while younger than the ttl, else None."""
        kept = self._kept(key)
        return kept[1] if kept is not None else None

    def found_all(self, keys: Iterable[Any]) -> dict[Any, Any]:
        """The values kept under ``keys`` while younger than the ttl, by key (the others left out):
        following the generation once for all of them."""
        self._catch_up()
        now = time.monotonic()
        with self._lock:
            kept = [(key, self._values.get(key)) for key in keys]
        return {key: entry[1] for key, entry in kept if entry is not None and now - entry[0] < self.ttl}

    def fresh(self, key: Any) -> bool:
        """Whether ``key`` holds a value younger than the ttl."""
        return self._kept(key) is not None

    def put(self, key: Any, value: Any) -> None:
        self._catch_up()
        with self._lock:
            self._values[key] = (time.monotonic(), value)
            self._values.move_to_end(key)
            if self.maxsize is not None and len(self._values) > self.maxsize:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def after_changes(name: str, changes: Callable[[str | None], bool], then: Callable[[], None]) -> None:
    """Call ``then`` after every commit of a session that changed a row of a table ``changes`` accepts (by
    its name): through the unit of work (a flush) or by an INSERT, UPDATE or DELETE statement. For what
    this process keeps of those tables. ``name`` marks the session (in its ``info``) until the commit;
    call this once per process, at import."""
    key = f"changed:{name}"

    def note_flush(session: Session, _context: Any) -> None:
        if not session.info.get(key) and any(
            changes(getattr(getattr(type(row), "__table__", None), "name", None))
            for row in (*session.new, *session.dirty, *session.deleted)
        ):
            session.info[key] = True

    def note_statement(state: ORMExecuteState) -> None:
        if (state.is_insert or state.is_update or state.is_delete) and changes(
            getattr(getattr(state.statement, "table", None), "name", None)
        ):
            state.session.info[key] = True

    def after_commit(session: Session) -> None:
        if session.info.pop(key, False):
            then()

    event.listen(Session, "after_flush", note_flush)
    event.listen(Session, "do_orm_execute", note_statement)
    event.listen(Session, "after_commit", after_commit)


@dataclass(frozen=True)
class Detached(Generic[T]):
    """A row and the rows loaded with it (its eager-loaded relations), pickled: what a cache keeps of
    ORM objects. A fifth of the memory of the objects themselves (a product page's product with its
    variants, shop and category: 4.4 KB, 21 KB as objects), and each use gets objects of its own."""

    data: bytes

    @classmethod
    def of(cls, instance: T) -> Detached[T]:
        """``instance`` as read: it stays its session's, and expires at its commit."""
        return cls(pickle.dumps(instance))

    def into_session(self) -> T | None:
        """The kept rows put into this session without a statement: ``merge(load=False)``, SQLAlchemy's
        way for objects kept in a cache. None when the session already holds one of them: the merge
        would copy the kept values over the session's, which may hold changes not yet committed; read
        afresh then."""
        kept: T = pickle.loads(self.data)  # noqa: S301 - our own bytes, made by ``of``
        if any(sa.inspect(row).key in db.session.identity_map for row in _loaded_rows(kept)):
            return None
        return db.session.merge(kept, load=False)


def _loaded_rows(instance: Any) -> Iterable[Any]:
    """``instance`` and every row its loaded relations hold, theirs too (each once)."""
    seen: dict[int, Any] = {}
    todo = [instance]
    while todo:
        row = todo.pop()
        if id(row) in seen:
            continue
        seen[id(row)] = row
        state = sa.inspect(row)
        for relation in state.mapper.relationships:
            value = state.dict.get(relation.key)
            if value is not None:
                todo.extend(value if relation.uselist else [value])
    return seen.values()


def macro_html(template: str, macro: str, *args: Any, **kwargs: Any) -> Markup:
    """What ``macro`` of ``template`` (one of our templates, autoescaped) draws with these arguments."""
    drawn = get_template_attribute(template, macro)(*args, **kwargs)
    return Markup(drawn)  # noqa: S704 - our own template, autoescaped


class Fragments:
    """Pieces of HTML kept by the plain values they were drawn from (a bounded LRU in this process).

    The key must hold everything the piece shows (``macro`` adds the language and the site's path): then
    a piece kept is the piece that would be drawn, and a change of any value is another key, drawn anew.
    Never a piece holding a visitor's token, choice or name."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pieces: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, draw: Callable[[], Markup]) -> Markup:
        with self._lock:
            piece = self._pieces.get(key)
            if piece is not None:
                self._pieces.move_to_end(key)
                return piece
        piece = draw()
        with self._lock:
            self._pieces[key] = piece
            while len(self._pieces) > self.size:
                self._pieces.popitem(last=False)
        return piece

    def macro(self, key: tuple[Any, ...], template: str, macro: str, *args: Any) -> Markup:
        """``macro_html(template, macro, *args)``, kept under ``key`` with the language and the path."""
        full = (*key, str(get_locale()), request.script_root)
        return self.get(full, lambda: macro_html(template, macro, *args))

    def __len__(self) -> int:
        return len(self._pieces)
