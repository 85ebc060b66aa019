"""The per-process caches of public data (app/caching.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app import caching
from app.caching import TTLCache


def test_values_are_kept_for_their_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(caching, "time", SimpleNamespace(monotonic=lambda: clock.now))
    cache = TTLCache(ttl=60.0)
    assert cache.get("a", lambda: 1) == 1
    clock.now += 59
    assert cache.get("a", lambda: 2) == 1
    clock.now += 2
    assert cache.get("a", lambda: 2) == 2


def test_a_new_generation_forgets_every_value() -> None:
    cache = TTLCache(ttl=60.0)
    cache.follow(1)
    cache.put("a", 1)
    cache.follow(1)
    assert cache.found("a") == 1
    cache.follow(2)
    assert cache.found("a") is None


def test_beyond_maxsize_the_least_recently_kept_go_first() -> None:
    cache = TTLCache(ttl=60.0, maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)  # kept again: now the most recent
    cache.put("c", 4)
    assert (cache.found("a"), cache.found("b"), cache.found("c")) == (3, None, 4)


def test_none_is_kept_like_any_value() -> None:
    cache = TTLCache(ttl=60.0)
    computed = []
    for _ in range(2):
        cache.get("missing", lambda: computed.append(1))
    assert computed == [1]


def test_a_cache_that_follows_a_generation_reads_it_at_every_read() -> None:
    generation = SimpleNamespace(now=1)
    cache = TTLCache(ttl=60.0, follows=lambda: generation.now)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.found("a") == 1
    generation.now = 2  # another process changed a public table
    assert cache.get("a", lambda: 3) == 3
    assert cache.found_all(["a", "b"]) == {"a": 3}
    generation.now = 3
    assert cache.found_all(["a", "b"]) == {}
    assert cache.fresh("a") is False


def test_found_all_leaves_out_what_is_missing_or_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(caching, "time", SimpleNamespace(monotonic=lambda: clock.now))
    cache = TTLCache(ttl=60.0)
    cache.put("old", 1)
    clock.now += 30
    cache.put("new", None)  # None is a value like any other
    clock.now += 31
    assert cache.found_all(["new", "old", "never"]) == {"new": None}
