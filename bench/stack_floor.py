"""The floor under the app: the resident memory of the stack it is built on (Python, Flask, SQLAlchemy,
psycopg, tantivy, the Flask extensions, then the app's models mapped and one search of the embedded
index), before any of its views, templates or requests exist. Printed first by
``python -m bench.worker_memory``, which runs ``_floor_here`` in a fresh interpreter; this module
imports nothing else at its top, so that the first row is Python's own.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path


def rss_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# The stack under the app, each layer imported on top of the ones above it (what a layer's own imports
# bring of the standard library is counted with the first layer that needs it).
FLOOR = (
    ("Python", ()),
    ("+ Flask", ("flask",)),
    ("+ SQLAlchemy", ("sqlalchemy.orm", "flask_sqlalchemy")),
    ("+ psycopg", ("psycopg", "sqlalchemy.dialects.postgresql.psycopg")),
    ("+ tantivy", ("tantivy",)),
    (
        "+ the Flask extensions",
        (
            "babel.dates",
            "babel.numbers",
            "flask_babel",
            "flask_compress",
            "flask_limiter",
            "flask_login",
            "flask_talisman",
            "flask_wtf",
            "prometheus_client",
            "structlog",
        ),
    ),
)


def _floor_here() -> None:
    rows = []
    for layer, modules in FLOOR:
        for module in modules:
            importlib.import_module(module)
        rows.append([layer, round(rss_mb(), 1), len(sys.modules)])
    import sqlalchemy.orm

    import app

    app.import_models()
    sqlalchemy.orm.configure_mappers()
    rows.append(["+ the models, mapped", round(rss_mb(), 1), len(sys.modules)])
    from search.backends.embedded import TantivyBackend
    from search.query import SearchQuery

    # With the Markdown renderer and the HTML sanitiser its documents use (app/catalog/text.py).
    rows.append(["+ the search package", round(rss_mb(), 1), len(sys.modules)])
    TantivyBackend(os.environ["SEARCH_INDEX_DIR"]).search(SearchQuery(text="loire"))
    rows.append(["+ one search, index opened", round(rss_mb(), 1), len(sys.modules)])
    print("FLOOR " + json.dumps(rows))
