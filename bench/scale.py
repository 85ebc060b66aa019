"""Each public page's time in the app with a catalogue 20 times the demo's, against the demo's: the two
apps side by side, each in its process, asked in alternating rounds.

    .venv/bin/python -m bench.scale                        # the demo town and 20 times its catalogue
    .venv/bin/python -m bench.scale --scale 50 --rounds 12

``bench.web`` serves one catalogue after the other, minutes apart: on a machine whose speed drifts (a
shared virtual machine) its two tables can be read at two speeds. Here both catalogues are loaded as
``bench.web`` loads them (throwaway PostgreSQL databases, the embedded search index, the page cache
off), each app runs in its own process, and each page is asked of one and then of the other, round
after round. A page's time is the mean of its fastest round (the least disturbed), on each catalogue;
the ratio is of those two. Times are of the WSGI call through Flask's test client (the app, its SQL and
its search), without gunicorn or HTTP.

Beside the times, each page's Python function calls per request on each catalogue (cProfile, a round
of its own after the timed ones): a count that a busy machine does not change, so that the work a
larger catalogue adds can be told from the machine's mood. What it does not count is work done outside
Python (PostgreSQL, tantivy's own code).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.web import PAGES, ROOT, _pick_pages, _server_env, database, load_town

PUBLIC_PAGES = [page for page in PAGES if page != "cart"]  # the cart needs one filled: bench.web has it


class Server:
    """An app in its own process (``python -m bench.scale --serve``, the catalogue's environment): told
    a path and a number of requests, it answers their mean time. Each app has its process, as under
    gunicorn: nothing one keeps (its caches, its prepared statements) serves or disturbs the other."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--serve"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # each request's log line
            text=True,
        )

    def round_ms(self, path: str, requests: int) -> float:
        """The mean time of ``requests`` requests of ``path``, in milliseconds."""
        return self._ask("ms", path, requests)

    def calls(self, path: str, requests: int) -> float:
        """The Python function calls per request of ``requests`` requests of ``path``."""
        return self._ask("calls", path, requests)

    def _ask(self, what: str, path: str, requests: int) -> float:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{what} {requests} {path}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"{path}: {answer or 'the server stopped'}")
        return float(answer)

    def stop(self) -> None:
        """The process writes what it kept and leaves, before its database is dropped."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)
        if self.process.stdout is not None:
            self.process.stdout.close()


def serve() -> None:
    """The ``--serve`` side of :class:`Server`: one line in ("ms 20 /boutiques", "calls 5 /boutiques"),
    one line out (the mean time in ms, or the calls per request)."""
    from app import create_app
    from app.extensions import db
    from app.visits.services import VISITS
    from search.misses import MISSES

    app = create_app()
    client = app.test_client()
    for line in sys.stdin:
        what, requests, path = line.rstrip("\n").split(" ", 2)
        count = int(requests)
        profiler = cProfile.Profile() if what == "calls" else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        statuses = {client.get(path, headers={"Accept-Language": "fr"}).status_code for _ in range(count)}
        if profiler is not None:
            profiler.disable()
        took = (time.perf_counter() - started) / count * 1000
        if statuses != {200}:
            print(f"error {sorted(statuses)}", flush=True)
        elif profiler is not None:
            calls = sum(entry.callcount for entry in profiler.getstats())
            print(f"{calls / count:.1f}", flush=True)
        else:
            print(f"{took:.4f}", flush=True)
    with app.app_context():
        for counter in (VISITS, MISSES):
            counter.write_kept()
        db.session.remove()
        db.engine.dispose()


@dataclass
class PageFigures:
    page: str
    ms: dict[int, float]  # by catalogue: the fastest round's mean time
    calls: dict[int, float]  # by catalogue: Python function calls per request


def compare(
    servers: dict[int, Server], paths: dict[int, dict[str, str]], rounds: int, requests: int
) -> list[PageFigures]:
    """For each page, its fastest round's mean time on each catalogue (rounds alternate catalogues),
    then its calls per request on each."""
    found = []
    for page in PUBLIC_PAGES:
        for scale, server in servers.items():  # warm: templates, caches, prepared statements
            server.round_ms(paths[scale][page], 10)
        best = dict.fromkeys(servers, float("inf"))
        for _ in range(rounds):
            for scale, server in servers.items():
                best[scale] = min(best[scale], server.round_ms(paths[scale][page], requests))
        calls = {scale: server.calls(paths[scale][page], CALLS_REQUESTS) for scale, server in servers.items()}
        found.append(PageFigures(page, best, calls))
    return found


CALLS_REQUESTS = 5  # the same work each time: a few requests give the count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=20, help="the larger catalogue, in demo catalogues")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per page (default 10)")
    parser.add_argument("--requests", type=int, default=20, help="requests per round (default 20)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # see Server
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    scales = (1, args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="marketplace-bench-scale-"))
    try:
        with contextlib.ExitStack() as stack:
            servers: dict[int, Server] = {}
            paths: dict[int, dict[str, str]] = {}
            for scale in scales:
                url = stack.enter_context(database(f"marketplace_bench_scale_{os.getpid()}_{scale}"))
                env = _server_env(workdir / f"x{scale}", url, PAGE_CACHE="0")
                load_town(env, scale)
                paths[scale], _variants, products = _pick_pages(env)
                servers[scale] = Server(env)
                stack.callback(servers[scale].stop)
                print(f"catalogue ×{scale}: {products} products", flush=True)
            rows = compare(servers, paths, args.rounds, args.requests)
        small, large = scales
        head = (
            f"{'page':<12}{f'×{small} ms':>10}{f'×{large} ms':>10}{'ratio':>8}"
            f"{f'×{small} calls':>13}{f'×{large} calls':>13}{'ratio':>8}"
        )
        print(head)
        print("-" * len(head))
        for row in rows:
            ms, calls = row.ms, row.calls
            print(
                f"{row.page:<12}{ms[small]:>10.2f}{ms[large]:>10.2f}{ms[large] / ms[small]:>8.2f}"
                f"{calls[small]:>13,.0f}{calls[large]:>13,.0f}{calls[large] / calls[small]:>8.2f}"
            )
        print(
            f"(ms: the mean of the fastest of {args.rounds} rounds of {args.requests} requests, in process; "
            "calls: Python function calls per request)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
