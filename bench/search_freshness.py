"""How long a change takes to become searchable, with Redis and a worker running (the production shape).

    .venv/bin/python -m bench.search_freshness [--changes 10] [--redis redis://127.0.0.1:6379/14]

The demo town goes into a throwaway SQLite database, ``flask worker search`` runs as its own process,
and each change (a product renamed through the catalogue's service, committed) is timed from the
commit until a search for the new name finds it: outbox row, RQ job, worker, index commit, reader.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.support import DATA_DIR, ROOT, workdir

TIMEOUT = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    with workdir() as folder:
        root = Path(folder)
        os.environ.update(
            {
                "APP_ENV": "development",
                "SECRET_KEY": "bench-freshness",
                "DATABASE_URL": f"sqlite:///{root / 'town.sqlite'}",
                "REDIS_URL": args.redis,
                "SEARCH_INDEX_DIR": str(root / "index"),
                "MEDIA_DIR": str(root / "media"),
                "DEMO_DATA_DIR": str(DATA_DIR),
            }
        )
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        for command in (["db", "upgrade"], ["demo", "load", "--no-photos"], ["search", "reindex"]):
            subprocess.run([*flask, *command], cwd=ROOT, check=True, capture_output=True)  # noqa: S603
        log = (root / "worker.log").open("wb")
        worker = subprocess.Popen([*flask, "worker", "search"], cwd=ROOT, stdout=log, stderr=log)  # noqa: S603
        try:
            from app import create_app
            from app.catalog.models import Product
            from app.extensions import db
            from search.backends import backend
            from search.query import SearchQuery

            app = create_app()
            delays = []
            with app.app_context():
                products = list(
                    db.session.scalars(sa.select(Product).order_by(Product.id).limit(args.changes))
                )
                time.sleep(1.0)  # the worker is up
                for product in products:
                    word = f"zq{uuid.uuid4().hex[:8]}"
                    product.title = f"{product.title} {word}"
                    db.session.commit()
                    committed = time.perf_counter()
                    while not backend().search(SearchQuery(text=word)).hits:
                        if time.perf_counter() - committed > TIMEOUT:
                            raise SystemExit(f"not searchable after {TIMEOUT} s; worker log in {log.name}")
                        time.sleep(0.02)
                    delays.append(time.perf_counter() - committed)
            warm_up, delays = delays[0], delays[1:]
            print(f"first change after the worker started (imports, first fork): {warm_up:.2f} s")
            print(
                f"{len(delays)} changes: searchable after median {statistics.median(delays):.2f} s, "
                f"max {max(delays):.2f} s (commit to search hit, worker on the 'search' queue)"
            )
            print("each:", " ".join(f"{delay:.2f}" for delay in delays))
        finally:
            worker.terminate()
            worker.wait(10)


if __name__ == "__main__":
    main()
