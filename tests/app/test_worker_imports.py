"""A web worker starts without the heavy libraries only some requests need (PDF, images, charts, XML and
tax schemas, identifier checks, Stripe, object storage, error reporting): each is imported where it is
used, and bench/worker_memory.py measures what that saves. A new top-level import of one of them fails
here, naming the module that brought it in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "fpdf", "PIL", "pygal", "segno",          # PDF, images, charts, QR codes
    "dac7", "pydantic", "xmlschema", "facturx",  # the DAC7 declaration, Factur-X
    "stdnum",                                # identifier check digits
    "stripe", "boto3", "botocore", "sentry_sdk",
    "flask_migrate", "alembic", "mako",      # migrations: the `flask db` commands
    "rich", "pygments", "greenlet",          # structlog extras: our renderers are plain, no greenlets
    "redis", "rq",                           # only with a REDIS_URL
    "tantivy",                               # embedded search: with the first query analysed
    "email_validator",                       # `flask users`: the CLI groups load when they run
    "argon2",                                # password hashing: with the first log-in or sign-up
)  # fmt: skip

PROBE = """
import json, sys, builtins
heavy = set(sys.argv[1].split(","))
first = {}
original = builtins.__import__
def spy(name, globals=None, locals=None, fromlist=(), level=0):
    top = name.split(".")[0]
    if level == 0 and top in heavy and top not in sys.modules and top not in first:
        first[top] = (globals or {}).get("__name__", "?")
    return original(name, globals, locals, fromlist, level)
builtins.__import__ = spy
from app import create_app
app = create_app()
if len(sys.argv) > 2:  # what serving needs at once: the readiness check's migration heads
    from app.site import health
    with app.app_context():
        health.migration_heads()
print(json.dumps({top: by for top, by in first.items() if top in sys.modules}))
"""


def _bare_env(tmp_path: Path) -> dict[str, str]:
    """A web worker's environment on a bare machine: SQLite, the embedded index, local media."""
    env = {
        **os.environ,
        "APP_ENV": "development",
        "SECRET_KEY": "worker-imports",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "PRIVATE_MEDIA_DIR": str(tmp_path / "private"),
    }
    for name in ("REDIS_URL", "ELASTICSEARCH_URL", "SENTRY_DSN", "MEDIA_STORAGE_URL"):
        env.pop(name, None)
    return env


def run_probe(code: str, env: dict[str, str], *args: str) -> Any:
    """Run ``code`` in a fresh interpreter (from the project's folder, with ``args``) and read the JSON
    of the last line it prints."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_create_app_loads_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    loaded = run_probe(PROBE, _bare_env(tmp_path), ",".join(HEAVY))
    assert loaded == {}, f"imported at start-up (library: importing module): {loaded}"


def test_the_readiness_check_loads_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    """/readyz is asked of every worker every few seconds: what it reads stays light (no Alembic)."""
    loaded = run_probe(PROBE, _bare_env(tmp_path), ",".join(HEAVY), "readyz")
    assert loaded == {}, f"imported for the migration heads (library: importing module): {loaded}"


OPENED = """
from app import create_app
from app.extensions import db
app = create_app()
with app.app_context():
    pool = db.engine.pool
    print(pool.checkedin() + pool.checkedout())
"""


def test_create_app_opens_no_database_connection(tmp_path: Path) -> None:
    """``gunicorn --preload`` runs create_app() once and forks the workers: a connection opened by then
    would be one socket shared by every worker (docs/deploy.md, Sizing)."""
    assert run_probe(OPENED, _bare_env(tmp_path)) == 0
