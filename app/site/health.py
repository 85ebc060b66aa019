"""What ``/healthz`` reports (which backend each part uses, and whether it answers) and what ``/readyz``
checks (whether this process can serve: every part it needs answers, the schema is migrated)."""

from __future__ import annotations

import ast
import logging
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

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0
STRIPE_API = "https://api.stripe.com"


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


# -- /readyz: may this process take traffic? -------------------------------------------------------------
#
# Unlike /healthz (liveness: which backends, cheap), readiness asks every part the app cannot serve
# without, with a short timeout each (READY_TIMEOUT_SECONDS), so that a load balancer stops sending
# requests to a process whose database, Redis, search or Stripe is out of reach, or whose code expects a
# schema the database does not have yet (a deploy whose migrations have not run).


def readiness() -> dict[str, Any]:
    """Each part's ``{"ok": bool, "ms": float}`` (with a short ``detail`` when it failed), and
    ``ready``: all of them ok; ``failed`` names those that are not."""
    timeout = float(current_app.config["READY_TIMEOUT_SECONDS"])
    checks: dict[str, Callable[[], tuple[bool, str | None]]] = {
        "database": _database_ready,
        "migrations": _migrations_ready,
        "search": lambda: _search_ready(timeout),
        "stripe": lambda: _tcp_ready(_stripe_base(), 443, timeout),
    }
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = lambda: _redis_ready(timeout)
    parts = {name: _checked(name, check) for name, check in checks.items()}
    failed = [name for name, part in parts.items() if not part["ok"]]
    return {"ready": not failed, "failed": failed, "checks": parts}


def _checked(name: str, check: Callable[[], tuple[bool, str | None]]) -> dict[str, Any]:
    """``_timed``, except that a failure's detail is the exception's type only: /readyz answers anyone,
    and messages may name hosts; the full exception goes to the log."""
    started = time.perf_counter()
    try:
        ok, detail = check()
    except Exception as exc:
        log.warning("not ready: %s", name, exc_info=True)
        ok, detail = False, type(exc).__name__
    result: dict[str, Any] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result["detail"] = detail
    return result


def _database_ready() -> tuple[bool, str | None]:
    db.session.execute(sa.text("SELECT 1"))
    return True, None


def _migrations_ready() -> tuple[bool, str | None]:
    """The database's Alembic revision is the head of the migration scripts (read from Alembic's own
    table, as ``flask db current`` does, without Alembic's logging of each check)."""
    current = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    if current != migration_heads():
        return False, "database not at the migrations' head"
    return True, None


def migration_heads() -> set[str]:
    """The head revisions of the migration scripts; read once per process (the scripts ship with the
    code: they change only with a deploy, which restarts the process)."""
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        directory = Path(current_app.extensions["migrate"].directory)
        if not directory.is_absolute():
            directory = Path(current_app.root_path).parent / directory
        heads = script_heads(directory / "versions")
        current_app.extensions["migration_heads"] = heads
    return set(heads)


def script_heads(versions: Path) -> set[str]:
    """The revisions no other script of ``versions`` names as its ``down_revision`` (a merge names
    several), read from the literal values the scripts assign. Not through Alembic's
    ``ScriptDirectory``: it imports every script, and Alembic and Mako with them (7 MB that each web
    worker would keep for its readiness checks); a test checks that both find the same heads."""
    revisions: set[str] = set()
    below: set[str] = set()
    for script in sorted(versions.glob("*.py")):
        assigned = _assignments(script, ("revision", "down_revision"))
        revision = assigned.get("revision")
        if not isinstance(revision, str):
            continue  # not a migration script (a helper module)
        revisions.add(revision)
        down = assigned.get("down_revision")
        below.update([down] if isinstance(down, str) else list(down or ()))
    return revisions - below


def _assignments(script: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The literal values a module assigns to ``names`` at its top level (``x = 1`` or ``x: T = 1``)."""
    found: dict[str, Any] = {}
    for statement in ast.parse(script.read_text(encoding="utf-8"), str(script)).body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.literal_eval(value)
    return found


def _redis_ready(timeout: float) -> tuple[bool, str | None]:
    from redis import Redis

    connection = Redis.from_url(
        current_app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        return bool(connection.ping()), None
    finally:
        connection.close()


def _search_ready(timeout: float) -> tuple[bool, str | None]:
    url = current_app.config["ELASTICSEARCH_URL"]
    if url:
        return _tcp_ready(url, 9200, timeout)
    # Embedded: its folder must exist (or be creatable: the first reindex makes it).
    path = Path(current_app.config["SEARCH_INDEX_DIR"])
    return (path.is_dir() if path.exists() else path.parent.is_dir()), None


def _stripe_base() -> str:
    return current_app.config.get("STRIPE_API_BASE") or STRIPE_API


def _tcp_ready(url: str, default_port: int, timeout: float) -> tuple[bool, str | None]:
    """A TCP connection opens (no request is made: nothing is paid, nothing is logged at Stripe)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    with socket.create_connection((host, port), timeout=timeout):
        return True, None
