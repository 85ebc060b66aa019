"""The counters on the tests' real Redis, under a key prefix of their own (cleared afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis

from tests.plugins.database import RUN_ID, _worker


@pytest.fixture
def counters_redis(app: Flask, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    """REDIS_URL set for the counters (jobs stay recorded: their dispatcher was chosen at start)."""
    prefix = f"marketplace-test-{RUN_ID}-{_worker()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "COUNTERS_KEY_PREFIX", prefix)
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
