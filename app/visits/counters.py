"""Daily counters bumped by page requests, cheap enough to run on every one of them.

A ``Counter`` adds 1 to a key (a tuple of plain values, the day first). With Redis (``REDIS_URL``) that is
one HINCRBY on the counter's hash, and ``Counter.flush`` (a job, every few minutes) moves the hash into the
database: the hash is renamed first, atomically, so increments made meanwhile go to a new hash and none is
lost; the batch taken is recorded in the database in the same transaction as its counts, so a batch read
twice (a flush that died before deleting it, two flushes at once) is added once. Without Redis each
process keeps its counts for ``COUNTERS_WRITE_SECONDS`` (10 s; 0 writes each at once) and writes them
together with the first count after that, or when it exits: a page view does not cost a write and its
commit, and two workers counting the same shop do not queue on its row. A process killed outright
loses those seconds of counts; with Redis, none is lost.

``counted_request`` says whether a request is a person looking at a page: bots, prefetches, HEAD
requests and requests without a User-Agent are not counted. Nothing about the person is kept.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from crawlerdetect import CrawlerDetect
from flask import Flask, Request, current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.database import database_backend, utcnow
from app.extensions import db
from app.visits.models import CounterBatch
from vendors.hours import today as today  # the counters go by the town's days

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

Key = tuple[str | int | None, ...]
Writer = Callable[[Session, Mapping[Key, int]], None]

# A page view never waits long on a Redis that is down: the count is given up and logged.
REDIS_TIMEOUT_SECONDS = 0.5
BATCH_FIELD = "batch"  # the field naming a taken hash's batch; counts' fields are JSON lists
KEEP_BATCHES = dt.timedelta(days=7)
# Without Redis, counts kept in a process are written at once past this many keys, whatever the time.
MAX_KEPT_KEYS = 1000

# Renames the live hash to the taken one and names the batch (1), unless a taken hash is still there (a
# flush that died, or one running now): that one is to be flushed first (2). 0 when there is nothing.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
LEFT_OVER = 2
# Deletes the taken hash only if it is still the batch just added (not a newer one taken since).
_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_crawlers = CrawlerDetect()


def counted_request(request: Request) -> bool:
    """Whether ``request`` is a person asking for a page: not a bot (crawlerdetect's list), not a request
    without a User-Agent, not a browser's prefetch, not a HEAD request."""
    if request.method not in ("GET", "POST"):
        return False
    agent = request.headers.get("User-Agent", "").strip()
    if not agent:
        return False
    purpose = " ".join(request.headers.get(name, "") for name in ("Sec-Purpose", "Purpose", "X-Moz"))
    if "prefetch" in purpose.lower():
        return False
    return not _crawlers.isCrawler(agent[:2000])


def redis_client() -> Redis | None:
    """The Redis the counters use (``REDIS_URL``), or None without one."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    clients: dict[str, Redis] = current_app.extensions.setdefault("counters_redis", {})
    if url not in clients:
        from redis import Redis  # only with a REDIS_URL: a worker without one never loads it

        clients[url] = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
    return clients[url]


def upsert(model: type[Any]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT on ``model``'s table that can say ON CONFLICT (both databases spell it alike)."""
    if database_backend() == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def _encode(key: Key) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def _decode(field: bytes) -> Key:
    return tuple(json.loads(field))


@dataclass(frozen=True)
class Counter:
    """A named daily counter; ``write`` adds counts to its database table on a session (an upsert adding
    to the count)."""

    name: str
    write: Writer

    @property
    def redis_key(self) -> str:
        prefix = current_app.config.get("COUNTERS_KEY_PREFIX", "marketplace")
        return f"{prefix}:counters:{self.name}"

    def add(self, key: Key, amount: int = 1) -> None:
        """Count ``amount`` more for ``key``: in Redis when there is one, else kept in the process and
        written to the database with the others every ``COUNTERS_WRITE_SECONDS``."""
        client = redis_client()
        if client is not None:
            client.hincrby(self.redis_key, _encode(key), amount)
            return
        kept = _kept_counts(self.name)
        with kept.lock:
            kept.counts[key] = kept.counts.get(key, 0) + amount
            interval = float(current_app.config.get("COUNTERS_WRITE_SECONDS", 0))
            if time.monotonic() - kept.since < interval and len(kept.counts) < MAX_KEPT_KEYS:
                if not kept.at_exit:
                    app = current_app._get_current_object()  # type: ignore[attr-defined]
                    atexit.register(_write_at_exit, app, self)
                    kept.at_exit = True
                return
        self.write_kept()

    def write_kept(self) -> None:
        """Write the counts this process kept. Called once the page's work is done (a page read, or an
        addition already committed): they are committed with the request's session, in a savepoint so
        that a failure leaves that session as it was, and without expiring what the page has read.
        Counts that cannot be written are given up (the caller logs it): kept, one that can never be
        written (its product deleted since) would take the others down with it, time after time."""
        kept = _kept_counts(self.name)
        with kept.lock:
            counts, kept.counts, kept.since = kept.counts, {}, time.monotonic()
        if not counts:
            return
        session = db.session()
        expire_on_commit = session.expire_on_commit
        session.expire_on_commit = False
        try:
            with session.begin_nested():
                self.write(session, counts)
            session.commit()
        finally:
            session.expire_on_commit = expire_on_commit

    def flush(self) -> int:
        """Move the counts waiting in Redis into the database; the number of increments moved.
        Safe to run twice, or twice at once."""
        client = redis_client()
        if client is None:
            return 0
        moved = 0
        taken = f"{self.redis_key}:flushing"
        # A taken hash left by a flush that died is moved first, then the live one.
        for _ in range(2):
            took = client.eval(_TAKE, 2, self.redis_key, taken, BATCH_FIELD, uuid.uuid4().hex)
            if not took:
                break
            fields: dict[bytes, bytes] = client.hgetall(taken)  # type: ignore[assignment]
            batch = fields.pop(BATCH_FIELD.encode(), b"").decode()
            if not batch:
                continue  # moved meanwhile by a flush running at the same time
            counts = {_decode(field): int(value) for field, value in fields.items() if int(value)}
            claim = upsert(CounterBatch).values(id=batch, applied_at=utcnow()).on_conflict_do_nothing()
            if db.session.execute(claim.returning(CounterBatch.id)).scalar_one_or_none() is not None:
                self.write(db.session(), counts)
                moved += sum(counts.values())
            db.session.commit()
            client.eval(_FORGET, 1, taken, BATCH_FIELD, batch)
            if took != LEFT_OVER:
                break
        return moved


@dataclass
class _Kept:
    """A process's counts not yet written, for one counter of one app (without Redis)."""

    counts: dict[Key, int] = field(default_factory=dict)
    since: float = field(default_factory=time.monotonic)  # when they were last written
    lock: threading.Lock = field(default_factory=threading.Lock)
    at_exit: bool = False  # whether the process writes them when it exits


def _kept_counts(name: str) -> _Kept:
    kept: dict[str, _Kept] = current_app.extensions.setdefault("counters_kept", {})
    if name not in kept:
        kept[name] = _Kept()
    return kept[name]


def _write_at_exit(app: Flask, counter: Counter) -> None:
    """A worker leaving (a restart, a deploy) writes the counts it kept."""
    try:
        with app.app_context():
            counter.write_kept()
            db.session.remove()
    except Exception:
        log.exception("counts kept by this process not written (%s)", counter.name)


def forget_old_batches() -> None:
    """Batch ids are only needed while a batch may be read again, a few minutes; a week is plenty."""
    db.session.execute(sa.delete(CounterBatch).where(CounterBatch.applied_at < utcnow() - KEEP_BATCHES))
