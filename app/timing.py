"""Per-request figures for measuring the site: ``Server-Timing: app;dur=12.3, sql;desc="7"``.

Off unless the process starts with ``BENCH_TIMING=1`` (``bench/web.py`` sets it): the header tells
anyone how long a page took and how many SQL statements it ran. The time runs from the request's
arrival in the application (before any hook, cached page or not) to its status line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_current = threading.local()


def _count_statement(*_args: Any, **_kwargs: Any) -> None:
    if getattr(_current, "statements", None) is not None:
        _current.statements += 1


class ServerTiming:
    """WSGI middleware adding the ``Server-Timing`` header to every response."""

    def __init__(self, wrapped: WSGIApplication) -> None:
        self.wrapped = wrapped

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        _current.statements = 0

        def timed_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Callable[[bytes], object]:
            elapsed_ms = (time.perf_counter() - started) * 1000
            headers.append(("Server-Timing", f'app;dur={elapsed_ms:.2f}, sql;desc="{_current.statements}"'))
            return start_response(status, headers, *rest)

        try:
            return self.wrapped(environ, timed_start)
        finally:
            _current.statements = None


def init_app(app: Flask) -> None:
    app.wsgi_app = ServerTiming(app.wsgi_app)  # type: ignore[method-assign]
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", _count_statement)
