"""``BENCH_TIMING=1``: each response says how long the app took and how many SQL statements it ran."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app import timing
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r'app;dur=([0-9.]+), sql;desc="(\d+)"')


def test_off_by_default(app: Flask) -> None:
    assert "Server-Timing" not in app.test_client().get("/robots.txt").headers


@pytest.fixture
def timed_app(app: Flask) -> Iterator[Flask]:
    """The app as ``create_app`` leaves it under ``BENCH_TIMING=1``, for one test."""
    original = app.wsgi_app
    timing.init_app(app)
    try:
        yield app
    finally:
        app.wsgi_app = original  # type: ignore[method-assign]
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", timing._count_statement)


def test_server_timing_counts_time_and_statements(timed_app: Flask) -> None:
    client = timed_app.test_client()
    first = HEADER.fullmatch(client.get("/boutiques").headers["Server-Timing"])
    again = HEADER.fullmatch(client.get("/boutiques").headers["Server-Timing"])

    assert first is not None
    assert again is not None
    assert float(first.group(1)) > 0
    assert int(first.group(2)) >= 1  # the directory reads the shops
    assert 1 <= int(again.group(2)) <= int(first.group(2)), "each request counts its own statements"


def test_create_app_turns_it_on_from_the_environment(tmp_path: Path) -> None:
    # In a process of its own: an app made here would outlive the test with its connection pool.
    code = "from app import create_app; print(type(create_app().wsgi_app).__name__)"
    env = {
        **os.environ,
        "BENCH_TIMING": "1",
        "APP_ENV": "testing",
        "SECRET_KEY": "timing-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ServerTiming"
