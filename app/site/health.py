"""What ``/healthz`` reports: which backend each part uses, and whether it answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from app import mail
from app.extensions import db

PROBE_TIMEOUT_SECONDS = 2.0


def _timed(probe: Callable[[], tuple[bool, str | None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as exc:  # a health check reports failures, it never raises them
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    result: dict[str, Any] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result["detail"] = detail
    return result


def _tcp_reachable(url: str, default_port: int) -> tuple[bool, str | None]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_SECONDS):
        return True, None


def database() -> dict[str, Any]:
    def probe() -> tuple[bool, str | None]:
        db.session.execute(sa.text("SELECT 1"))
        return True, None

    return {"backend": db.engine.dialect.name, **_timed(probe)}


def jobs() -> dict[str, Any]:
    dispatcher = current_app.extensions["jobs"]
    return {"backend": dispatcher.name, **_timed(lambda: (dispatcher.ping(), None))}


def search() -> dict[str, Any]:
    url = current_app.config["ELASTICSEARCH_URL"]
    if url:
        return {"backend": "elasticsearch", **_timed(lambda: _tcp_reachable(url, 9200))}

    def index_dir() -> tuple[bool, str | None]:
        # Embedded: usable when its folder exists or can be created.
        path = Path(current_app.config["SEARCH_INDEX_DIR"])
        if path.exists():
            return path.is_dir(), None
        return path.parent.is_dir(), "index not built yet"

    return {"backend": "tantivy", **_timed(index_dir)}


def payments() -> dict[str, Any]:
    base = current_app.config["STRIPE_API_BASE"]
    if not base:
        return {"backend": "stripe", "ok": True, "detail": "not probed: api.stripe.com"}
    return {"backend": "stripe-emulator", **_timed(lambda: _tcp_reachable(base, 443))}


def mail_status() -> dict[str, Any]:
    if mail.backend_name() == "smtp":
        return {
            "backend": "smtp",
            **_timed(
                lambda: _tcp_reachable(
                    f"smtp://{current_app.config['SMTP_HOST']}:{current_app.config['SMTP_PORT']}", 587
                )
            ),
        }
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    return {"backend": "outbox", **_timed(lambda: (outbox.parent.is_dir(), None))}


def report() -> dict[str, Any]:
    parts = {
        "database": database(),
        "jobs": jobs(),
        "search": search(),
        "payments": payments(),
        "mail": mail_status(),
    }
    return {"ok": all(part["ok"] for part in parts.values()), **parts}
