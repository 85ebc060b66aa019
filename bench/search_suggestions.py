"""Autocomplete speed on the demo town, per backend: the server's time to answer
``/recherche/suggestions`` (categories, shops, words and titles) for 2- and 3-letter prefixes.

    .venv/bin/python -m bench.search_suggestions [--requests 1000] [--backend tantivy]

The first request of each backend (which reads the vocabulary from the database) is timed apart:
a running site does it once a minute per process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from app import create_app
from bench.support import DATA_DIR, backends, demo_documents, workdir
from search import text


def prefixes(titles: list[str], count: int, seed: int = 20261206) -> list[str]:
    """What shoppers type first: the first two or three letters of the town's words."""
    rng = random.Random(seed)
    starts = sorted({word[:size] for title in titles for word in text.words(title) for size in (2, 3)})
    return [rng.choice(starts) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--backend", choices=("tantivy", "elasticsearch"))
    args = parser.parse_args()
    with workdir() as folder:
        root = Path(folder)
        demo, _records = demo_documents(root)
        typed = prefixes([document.title for document in demo] + ["fro", "crem", "lib"], args.requests)
        app = create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'demo.sqlite'}",
                "SEARCH_INDEX_DIR": str(root / "unused-index"),
                "MAIL_OUTBOX_DIR": str(root / "outbox"),
                "MEDIA_DIR": str(root / "media"),
                "JOBS_DISPATCHER": "recording",
                "DEMO_DATA_DIR": str(DATA_DIR),
                "RATELIMIT_ENABLED": False,
            }
        )
        client = app.test_client()
        with backends(root, args.backend) as chosen:
            for name, backend in chosen:
                backend.rebuild([demo])
                app.extensions["search"] = backend
                app.extensions.pop("search_suggestions", None)
                started = time.perf_counter()
                client.get("/recherche/suggestions", query_string={"q": "fro"})
                first = (time.perf_counter() - started) * 1000
                timings = []
                for prefix in typed:
                    started = time.perf_counter()
                    response = client.get("/recherche/suggestions", query_string={"q": prefix})
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.status_code
                timings.sort()
                p95 = timings[int(len(timings) * 0.95) - 1]
                print(
                    f"{name:>14}: {len(demo)} products; first request {first:.1f} ms; {len(timings)} "
                    f"prefixes p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
                    f"max {timings[-1]:.1f} ms"
                )


if __name__ == "__main__":
    main()
