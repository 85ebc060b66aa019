"""Search speed at scale: the demo town repeated to 100,000 products, per backend.

    .venv/bin/python -m bench.search_latency [--products 100000] [--queries 1000] [--backend tantivy]

Shops and products are repeated under new ids (each copy of the town a few kilometres from the
last, books keeping their ISBN as in a network of towns). Prints the full reindex time (documents
in memory to a searchable new index version; reading the catalogue from the database is timed
apart, per product, on the demo town) and p50 / p95 / max latency over a fixed mix of queries: text,
typos, facets, price sort, "near me" with the distance sort, deeper pages, and the empty query; wall
time and the process's CPU time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from bench.search_queries import QUERIES
from bench.support import backends, demo_documents, workdir
from search.documents import ProductDocument
from search.query import SearchQuery
from tests.search.catalogue import CENTRE

BATCH = 2000


def scaled(documents: list[ProductDocument], total: int) -> list[ProductDocument]:
    """``total`` documents: copies of the town, each with its own shops, ids and place."""
    out: list[ProductDocument] = []
    copy = 0
    while len(out) < total:
        for document in documents:
            if len(out) >= total:
                break
            out.append(
                replace(
                    document,
                    id=copy * 1_000_000 + document.id,
                    shop_id=copy * 10_000 + document.shop_id,
                    shop_slug=f"{document.shop_slug}-{copy}" if copy else document.shop_slug,
                    lat=None if document.lat is None else document.lat + 0.05 * (copy % 20),
                    lon=None if document.lon is None else document.lon + 0.05 * (copy // 20),
                    group="",
                )
            )
        copy += 1
    return out


def query_mix(count: int, seed: int = 20261201) -> list[SearchQuery]:
    rng = random.Random(seed)
    texts = [text for text, _judge in QUERIES]
    shapes = [
        lambda t: SearchQuery(text=t),
        lambda t: SearchQuery(text=t, in_stock=True),
        lambda t: SearchQuery(text=t, sort="price_asc"),
        lambda t: SearchQuery(text=t, near=CENTRE, within_km=5.0),
        lambda t: SearchQuery(text=t, near=CENTRE, sort="distance"),
        lambda t: SearchQuery(text=t, page=3),
        lambda t: SearchQuery(text=t[:-1] + "e" if len(t) > 4 else t),  # a typo
        lambda t: SearchQuery(category="alimentation", labels=("bio",)),
        lambda t: SearchQuery(sort="newest"),
    ]
    return [rng.choice(shapes)(rng.choice(texts)) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--backend", choices=("tantivy", "elasticsearch"))
    parser.add_argument("--reindex-only", action="store_true", help="time the full reindex, no queries")
    args = parser.parse_args()
    with workdir() as folder:
        root = Path(folder)
        started = time.perf_counter()
        demo, _records = demo_documents(root)
        print(
            f"demo town loaded and {len(demo)} documents built from the database "
            f"in {time.perf_counter() - started:.1f} s"
        )
        documents = scaled(demo, args.products)
        queries = query_mix(args.queries)
        with backends(root, args.backend) as chosen:
            for name, backend in chosen:
                started = time.perf_counter()
                status = backend.rebuild(documents[i : i + BATCH] for i in range(0, len(documents), BATCH))
                reindex = time.perf_counter() - started
                if args.reindex_only:
                    print(f"{name:>14}: {status.documents} documents, full reindex {reindex:.1f} s")
                    continue
                for query in queries[:50]:  # warm caches, as a running site has them
                    backend.search(query)
                timings, cpu = [], []
                for query in queries:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    backend.search(query)
                    timings.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                print(
                    f"{name:>14}: {status.documents} documents, full reindex {reindex:.1f} s; "
                    f"{len(queries)} queries {percentiles(timings)}; CPU time {percentiles(cpu)}"
                )


def percentiles(timings: list[float]) -> str:
    """p50, p95 and max. The CPU time (this process's, the search's threads included) says what a
    search costs when other work shares the machine, which stretches the wall time."""
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


if __name__ == "__main__":
    main()
