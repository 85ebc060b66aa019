"""Whole public pages kept for anonymous visitors and sent again without touching the database.

Which pages: ``CACHED_ENDPOINTS`` (home, category, product, storefront, shop directory, search results,
collections). Which requests: a GET or HEAD from a visitor with no cookie but the session's, and a session
holding nothing personal (at most a CSRF secret, a chosen language, Flask-Login's "not fresh" mark): no
account, no cart, no favourites, no message waiting. Which answers: a 200 that set no cookie, left the
session as it found it (its CSRF secret aside), is neither private nor no-store, and is not compressed
(compression runs after this module, on every answer, hit or miss: the kept body is the plain one).

Pages are keyed by method, host, path, query string and language (the one the visitor would get: the
session's choice, else the browser's ``Accept-Language``, else French). Nothing else of the request is
read by these pages for an anonymous visitor.

Forms: product cards (the hearts) and the product page ("add to cart") carry the visitor's CSRF token.
Before a page is kept, that token is replaced by a marker; when the page is sent again the marker is
replaced by the new visitor's own token, made for them as the page itself would have made it. A kept
page never holds anyone's token.

Where pages are kept: Redis when ``PAGE_CACHE_REDIS_URL`` (``REDIS_URL`` by default) is set, shared by
every process; else a bounded LRU in this process. A store that fails is logged and the page is made.

Freshness: pages carry the generation they were made in. A commit that changed a row of any table that
pages show (any table but ``PRIVATE_TABLES``: carts, accounts, orders, visits…) moves the generation on,
after the commit, so a price, a stock level, a shop's closure or hours, a review, a category, a home
block or a collection shows at once. The search index's drain commits too (it marks the outbox rows it
applied), so search results made before the index caught up are dropped when it does. Pages also expire
after ``PAGE_CACHE_SECONDS`` for what changes with time alone (a shop opening its doors). Without Redis,
other processes see a change when their copy expires.

Headers: answers looked up say ``X-Cache: hit`` (with ``Age``) or ``miss``. Answers to a logged-in visitor,
or to one whose session holds a cart, favourites or a message, say ``Cache-Control: private, no-store``
unless they set their own.

What a page does besides its answer is done again on each hit (counting a view: ``repeat_on_hit``), or
the page is not kept (counting a search that found little: ``keep_out``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_wtf.csrf import generate_csrf
from werkzeug.utils import import_string
from werkzeug.wrappers import Response

from app import i18n
from app.caching import after_changes

log = logging.getLogger(__name__)

CACHED_ENDPOINTS = frozenset(
    {
        "site.home",
        "site.collection",
        "search.category",
        "search.results",
        "catalog.product",
        "vendors.storefront",
        "vendors.directory",
    }
)
# Tables no public page shows: changing them leaves kept pages as they are.
PRIVATE_TABLES = frozenset(
    {
        "addresses",
        "announcement_deliveries",
        "announcement_dismissals",
        "audit_events",
        "cart_deliveries",
        "cart_items",
        "carts",
        "counter_batches",
        "favourite_digests",
        "figure_breakdowns",
        "figure_days",
        "followed_shops",
        "followup_reminders",
        "invoice_counters",
        "ledger_accounts",
        "ledger_entries",
        "ledger_transactions",
        "login_sessions",
        "order_counters",
        "order_lines",
        "orders",
        "recovery_codes",
        "review_requests",
        "saved_products",
        "search_misses",
        "sent_emails",
        "stripe_events",
        "users",
        "vendor_orders",
        "visit_counts",
    }
)
# Session keys an anonymous visitor's page may find without being personal: the CSRF secret is replaced
# on every hit, the language is part of the key, "_fresh" is Flask-Login's mark on a session it checked.
NEUTRAL_SESSION_KEYS = frozenset({"_fresh", i18n.SESSION_KEY})
KEPT_VARY = frozenset({"cookie", "accept-encoding", "accept-language"})
DROPPED_HEADERS = frozenset({"set-cookie", "date", "content-length", "age", "x-cache"})
MAX_BODY_BYTES = 2 * 1024 * 1024
REDIS_TIMEOUT_SECONDS = 0.5


# -- stores ----------------------------------------------------------------------------------------


class Store(Protocol):
    def lookup(self, key: str) -> tuple[int, bytes | None]:
        """The current generation and the entry kept under ``key``, if any."""

    def keep(self, key: str, entry: bytes, seconds: int) -> None: ...

    def bump(self) -> None:
        """Move the generation on: every entry kept so far is stale."""


class MemoryStore:
    """A bounded LRU in this process, entries expiring after their time."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self.generation = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: str) -> tuple[int, bytes | None]:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return self.generation, None
            if found[0] <= now:
                del self._entries[key]
                return self.generation, None
            self._entries.move_to_end(key)
            return self.generation, found[1]

    def keep(self, key: str, entry: bytes, seconds: int) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + seconds, entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def bump(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()  # all stale now: free the memory at once

    def __len__(self) -> int:
        return len(self._entries)


class RedisStore:
    """Entries in Redis with their expiry; the generation is one counter every process reads."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self.connection = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.generation_key = f"{prefix}:generation"
        self.prefix = prefix

    def lookup(self, key: str) -> tuple[int, bytes | None]:
        generation, entry = self.connection.mget([self.generation_key, f"{self.prefix}:page:{key}"])
        return int(generation or 0), entry if isinstance(entry, bytes) else None

    def keep(self, key: str, entry: bytes, seconds: int) -> None:
        self.connection.set(f"{self.prefix}:page:{key}", entry, ex=seconds)

    def bump(self) -> None:
        self.connection.incr(self.generation_key)


def store(app: Flask | None = None) -> Store:
    """The app's store, as its configuration says now."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # once, not per lookup
    url = app.config.get("PAGE_CACHE_REDIS_URL")
    prefix = str(app.config.get("PAGE_CACHE_KEY_PREFIX") or "marketplace:pages")
    entries = int(app.config.get("PAGE_CACHE_ENTRIES") or 500)
    stores: dict[tuple[Any, ...], Store] = app.extensions.setdefault("pagecache", {})
    wanted = (url, prefix, entries)
    found = stores.get(wanted)
    if found is None:
        found = stores[wanted] = RedisStore(url, prefix) if url else MemoryStore(entries)
    return found


# -- entries ---------------------------------------------------------------------------------------


@dataclass
class Entry:
    generation: int
    created: float
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    csrf: bool = False
    repeats: list[tuple[str, list[Any]]] = field(default_factory=list)

    def encode(self) -> bytes:
        meta = {
            "generation": self.generation,
            "created": self.created,
            "status": self.status,
            "headers": self.headers,
            "csrf": self.csrf,
            "repeats": self.repeats,
        }
        return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry | None:
        head, separator, body = raw.partition(b"\n")
        if not separator:
            return None
        try:
            meta = json.loads(head)
            return cls(
                generation=int(meta["generation"]),
                created=float(meta["created"]),
                status=int(meta["status"]),
                headers=[(str(name), str(value)) for name, value in meta["headers"]],
                body=body,
                csrf=bool(meta["csrf"]),
                repeats=[(str(name), list(args)) for name, args in meta["repeats"]],
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class Pending:
    """A request looked up and missed: what its answer needs to be kept."""

    key: str
    generation: int
    session_before: dict[str, Any]
    repeats: list[tuple[str, list[Any]]] = field(default_factory=list)
    keep: bool = True


# -- what pages do besides their answer --------------------------------------------------------------

# Functions a page calls that must run on every hit too, by name (entries name them, never a path).
REPEATABLE = {"visits.count_view": "app.visits.services.count_view"}


def repeat_on_hit(name: str, *args: Any) -> None:
    """Note that the page being made called ``REPEATABLE[name](*args)`` (plain JSON values): a kept copy
    of the page calls it again each time it is sent."""
    if not has_request_context():
        return
    pending = g.get("page_cache")
    if isinstance(pending, Pending) and name in REPEATABLE:
        pending.repeats.append((name, list(args)))


def keep_out() -> None:
    """The page being made must not be kept: it does something on each request that a kept copy could
    not do again."""
    pending = g.get("page_cache") if has_request_context() else None
    if isinstance(pending, Pending):
        pending.keep = False


def _repeat(entry: Entry) -> None:
    for name, args in entry.repeats:
        path = REPEATABLE.get(name)
        if path is None:
            continue
        try:
            function: Callable[..., Any] = import_string(path)
            function(*args)
        except Exception:
            log.exception("page cache: %s not repeated", name)


# -- requests ----------------------------------------------------------------------------------------


def _csrf_field() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def _marker() -> bytes:
    """What stands for the visitor's CSRF token in a kept page: derived from the secret key, so that no
    one can write it into a product's description."""
    digest = hmac.new(str(current_app.secret_key).encode(), b"page-cache-csrf", hashlib.sha256)
    return f"csrf-{digest.hexdigest()[:40]}".encode()


def _neutral_session() -> bool:
    for key, value in session.items():
        if key == _csrf_field() or (key == "_fresh" and value is False):
            continue
        if key == i18n.SESSION_KEY and value in current_app.config["LANGUAGES"]:
            continue
        return False
    return True


def _anonymous_request() -> bool:
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHED_ENDPOINTS:
        return False
    if "Authorization" in request.headers:
        return False
    if any(name != current_app.config["SESSION_COOKIE_NAME"] for name in request.cookies):
        return False  # a remember-me cookie is a login; nothing else is ours
    return _neutral_session()


def _language() -> str:
    """The language an anonymous visitor gets (``i18n.select_locale`` without an account)."""
    chosen = session.get(i18n.SESSION_KEY)
    languages = tuple(current_app.config["LANGUAGES"])
    if chosen in languages:
        return str(chosen)
    return str(request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"])


def page_key() -> str:
    parts = (
        request.method,
        request.host,
        request.path,
        request.query_string.decode("latin-1"),
        _language(),
        _marker().decode(),  # a new secret key makes new entries (their marker changed)
    )
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _session_without_csrf() -> dict[str, Any]:
    return {key: value for key, value in session.items() if key not in {_csrf_field(), "_fresh"}}


def _lookup() -> Response | None:
    if not current_app.config.get("PAGE_CACHE") or not _anonymous_request():
        return None
    key = page_key()
    try:
        generation, raw = store().lookup(key)
    except Exception:
        log.warning("page cache unavailable", exc_info=True)
        return None
    entry = Entry.decode(raw) if raw is not None else None
    if entry is None or entry.generation != generation:
        g.page_cache = Pending(key, generation, _session_without_csrf())
        return None
    g.page_cache = "hit"
    return _hit_response(entry)


def _hit_response(entry: Entry) -> Response:
    body = entry.body
    if entry.csrf:
        body = body.replace(_marker(), str(generate_csrf()).encode())
    response = Response(body, status=entry.status)
    response.headers.clear()
    for name, value in entry.headers:
        response.headers.add(name, value)
    response.headers["Age"] = str(max(0, int(time.time() - entry.created)))
    response.headers["X-Cache"] = "hit"
    _repeat(entry)
    return response


def _logged_in() -> bool:
    user = g.get("_login_user")
    return bool(user is not None and user.is_authenticated)


def _keepable(response: Response, pending: Pending) -> bool:
    if not pending.keep or response.status_code != 200 or response.is_streamed or response.direct_passthrough:
        return False
    if "Set-Cookie" in response.headers or "Content-Encoding" in response.headers:
        return False
    if response.cache_control.private or response.cache_control.no_store:
        return False
    if any(value.strip().lower() not in KEPT_VARY for value in response.vary):
        return False
    return not _logged_in() and _neutral_session() and _session_without_csrf() == pending.session_before


def _keep(response: Response, pending: Pending) -> None:
    body = response.get_data()
    if len(body) > MAX_BODY_BYTES:
        return
    token = g.get(_csrf_field())
    if token:
        body = body.replace(str(token).encode(), _marker())
        secret = session.get(_csrf_field())
        if str(token).encode() in body or (secret and str(secret).encode() in body):
            return
    headers = [(name, value) for name, value in response.headers if name.lower() not in DROPPED_HEADERS]
    entry = Entry(
        generation=pending.generation,
        created=time.time(),
        status=response.status_code,
        headers=headers,
        body=body,
        csrf=bool(token),
        repeats=pending.repeats,
    )
    seconds = int(current_app.config.get("PAGE_CACHE_SECONDS") or 60)
    try:
        store().keep(pending.key, entry.encode(), seconds)
    except Exception:
        log.warning("page not kept", exc_info=True)


def _after(response: Response) -> Response:
    pending = g.pop("page_cache", None)
    if isinstance(pending, Pending):
        response.headers["X-Cache"] = "miss"
        if _keepable(response, pending):
            _keep(response, pending)
    elif pending is None and "Cache-Control" not in response.headers and _personal():
        # An account's page, or one showing a cart or a message: no one else's cache may keep it.
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _personal() -> bool:
    if request.endpoint in ("static", "site.media"):
        return False
    return _logged_in() or not _neutral_session()


# -- freshness -----------------------------------------------------------------------------------------


def _public(table_name: str | None) -> bool:
    return table_name is not None and table_name not in PRIVATE_TABLES


def _bump_after_commit() -> None:
    if has_app_context():
        bump()


after_changes("public tables", _public, _bump_after_commit)


def bump(app: Flask | None = None) -> None:
    """Make every kept page stale (all processes with Redis, this one without)."""
    try:
        store(app).bump()
    except Exception:
        log.warning("page cache generation not moved on", exc_info=True)


def shared_generation() -> int | None:
    """The generation as every process reads it (Redis), read once per request; ``None`` when pages are
    kept per process or Redis does not answer. A process's own caches of public data follow it
    (``app.caching.TTLCache.follow``), so that a change made through another server shows at once."""
    if not has_app_context():
        return None
    if has_request_context() and "page_generation" in g:
        generation: int | None = g.page_generation
        return generation
    found = store()
    generation = None
    pending = g.get("page_cache") if has_request_context() else None
    if isinstance(found, RedisStore) and isinstance(pending, Pending):
        generation = pending.generation  # the lookup of this request's page read it already
    elif isinstance(found, RedisStore):
        try:
            generation = int(found.connection.get(found.generation_key) or 0)
        except Exception:
            log.warning("page cache generation not read", exc_info=True)
    if has_request_context():
        g.page_generation = generation
    return generation


def current_generation() -> int | None:
    """The generation this process knows: the shared one (Redis), else its own store's, which its own
    commits move on. A cache of public data that follows it forgets what a change made here touched at
    once, and, with Redis, what a change made by any process touched."""
    generation = shared_generation()
    if generation is None and has_app_context():
        found = store()
        if isinstance(found, MemoryStore):
            generation = found.generation
    return generation


def init_app(app: Flask) -> None:
    """Register the lookup and the keeping. Call it after every extension that adds an ``after_request``
    hook meant for every answer (compression, security headers, rate-limit headers): Flask runs those
    hooks last-registered first, so this one sees the answer before they change it, and they run on
    hits and misses alike."""
    app.before_request(_lookup)
    app.after_request(_after)
