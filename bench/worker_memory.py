"""What a web worker holds: modules and resident memory after ``create_app()``, then after serving each
public page once (the demo town, in a throwaway PostgreSQL database, as bench/web.py prepares it).

    .venv/bin/python -m bench.worker_memory
    .venv/bin/python -m bench.worker_memory --packages 15   # then where it goes, by top-level package

Also lists which heavy libraries (PDF, images, charts, QR codes, Stripe, search clients) are loaded
at each step: a worker serving pages should not need them. First it prints the floor: what the stack
the app is built on holds (Python, Flask, SQLAlchemy, psycopg, tantivy, the Flask extensions, then the
models mapped) before any view, template or request of the app exists.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import importlib.abc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import web
from bench.stack_floor import rss_mb

# Asked after the public pages: what every worker is asked (a load balancer's readiness probe), then
# a PDF (the public withdrawal form), which loads the PDF libraries.
AFTER_THE_PAGES = {"readiness": "/readyz", "a PDF": "/formulaire-retractation.pdf"}
# What a request that needs one of them adds to a worker: each imported after create_app(), alone.
LIBRARIES = {
    "fpdf": "PDF documents",
    "stripe": "payments, Stripe Connect",
    "pygal": "charts",
    "PIL.Image": "photos",
    "segno": "QR codes",
}
HEAVY = (
    "fpdf",
    "fontTools",
    "PIL",
    "stripe",
    "requests",
    "elasticsearch",
    "elastic_transport",
    "tantivy",
    "pygal",
    "segno",
    "markdown",
    "pyotp",
    "redis",
    "rq",
)


def _snapshot(step: str) -> dict[str, Any]:
    loaded = {
        name: sum(1 for module in sys.modules if module == name or module.startswith(name + "."))
        for name in HEAVY
    }
    return {
        "step": step,
        "modules": len(sys.modules),
        "rss_mb": round(rss_mb(), 1),
        "heavy": {name: count for name, count in loaded.items() if count},
    }


def floor(env: dict[str, str]) -> list[list[Any]]:
    return list(_in_child("_floor_here()", "FLOOR", env, module="bench.stack_floor"))


def _measure_here(paths: dict[str, str]) -> None:
    import flask  # noqa: F401 - the floor: Python and Flask alone

    steps = [_snapshot("python + flask")]
    from app import create_app

    app = create_app()
    steps.append(_snapshot("create_app()"))
    client = app.test_client()
    for page, path in {**paths, **AFTER_THE_PAGES}.items():
        response = client.get(path)
        steps.append(_snapshot(f"after {page} ({response.status_code})"))
    print("MEASURE " + json.dumps(steps))


def _import_here(module: str) -> None:
    from app import create_app

    create_app()
    before = rss_mb()
    importlib.import_module(module)
    print("IMPORT " + json.dumps(round(rss_mb() - before, 1)))


class _ImportCost(importlib.abc.MetaPathFinder):
    """Resident memory each module adds while it is created and run (its code, what its top level
    builds; the modules it imports are theirs), for ``--packages``."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = collections.defaultdict(float)
        self.stack: list[float] = []

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _CostedLoader(spec.loader, self)
                return spec
        return None

    def timed(self, name: str, step: Any, *args: Any) -> Any:
        start = rss_mb()
        self.stack.append(0.0)
        try:
            return step(*args)
        finally:
            children = self.stack.pop()
            spent = rss_mb() - start
            self.exclusive[name] += spent - children
            if self.stack:
                self.stack[-1] += spent


class _CostedLoader(importlib.abc.Loader):
    def __init__(self, inner: Any, cost: _ImportCost) -> None:
        self.inner = inner
        self.cost = cost

    def create_module(self, spec: Any) -> Any:
        return self.cost.timed(spec.name, self.inner.create_module, spec)

    def exec_module(self, module: Any) -> None:
        self.cost.timed(module.__name__, self.inner.exec_module, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _packages_here(paths: dict[str, str], top: int) -> None:
    import flask  # noqa: F401

    floor = rss_mb()
    cost = _ImportCost()
    sys.meta_path.insert(0, cost)
    from app import create_app

    app = create_app()
    client = app.test_client()
    for path in paths.values():
        client.get(path)
    sys.meta_path.remove(cost)
    by_package: dict[str, float] = collections.defaultdict(float)
    for name, spent in cost.exclusive.items():
        by_package[name.split(".")[0]] += spent
    total = rss_mb() - floor
    largest = sorted(by_package.items(), key=lambda entry: entry[1], reverse=True)[:top]
    rows = [[name, round(spent, 1)] for name, spent in largest]
    rows.append(["(not imports: serving, caches, app set-up)", round(total - sum(by_package.values()), 1)])
    print("PACKAGES " + json.dumps({"floor": round(floor, 1), "total": round(total, 1), "rows": rows}))


def _in_child(call: str, tag: str, env: dict[str, str], module: str = "bench.worker_memory") -> Any:
    """Run ``<module>.<call>`` in a fresh interpreter and read the JSON it prints after ``tag``."""
    code = f"from {module} import {call.split('(')[0]}; {call}"
    out = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", code], env=env, cwd=web.ROOT, check=True, capture_output=True, text=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith(tag + " "))
    return json.loads(line.removeprefix(tag + " "))


def packages(paths: dict[str, str], env: dict[str, str], top: int) -> dict[str, Any]:
    return dict(_in_child(f"_packages_here({paths!r}, {top})", "PACKAGES", env))


def measure(paths: dict[str, str], env: dict[str, str]) -> list[dict[str, Any]]:
    return list(_in_child(f"_measure_here({paths!r})", "MEASURE", env))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--packages",
        type=int,
        default=0,
        metavar="N",
        help="then, in another process, the N top-level packages that add the most memory (import cost)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="marketplace-bench-memory-"))
    try:
        with web.database(f"marketplace_bench_memory_{os.getpid()}") as url:
            env = web._server_env(workdir, url, BENCH_TIMING="0")
            web.load_town(env, 1)
            paths, _variants, _products = web._pick_pages(env)
            print("The stack, before any view, template or request of the app:")
            for layer, rss_mb, modules in floor(env):
                print(f"  {layer:<26}{modules:>6} modules{rss_mb:>8.0f} MB")
            print("The app:")
            for step in measure(paths, env):
                heavy = ", ".join(f"{name} {count}" for name, count in step["heavy"].items()) or "none"
                print(
                    f"  {step['step']:<26}{step['modules']:>6} modules{step['rss_mb']:>8.0f} MB"
                    f"   heavy: {heavy}"
                )
            print("What a request needing one of these adds (each imported after create_app(), alone):")
            for module, use in LIBRARIES.items():
                added = _in_child(f"_import_here({module!r})", "IMPORT", env)
                print(f"  {module:<12}{added:>6.0f} MB  {use}")
            if args.packages:
                found = packages(paths, env, args.packages)
                print(
                    "\nAbove Python + Flask "
                    f"({found['floor']:.0f} MB): {found['total']:.0f} MB after the pages"
                )
                for name, spent in found["rows"]:
                    print(f"{spent:8.1f} MB  {name}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
