"""The API tests' world: two shops, their products and keys (tests/api/support.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app.extensions import limiter
from tests.api.support import World, make_world


@pytest.fixture
def world(app: Flask, db_session: Any) -> World:
    return make_world(app)


@pytest.fixture
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "enabled", False)
