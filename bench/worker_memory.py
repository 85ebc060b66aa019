"""What a web worker holds: modules and resident memory after ``create_app()``, then after serving each
public page once (the demo town, in a throwaway PostgreSQL database, as bench/web.py prepares it).

    .venv/bin/python -m bench.worker_memory

Also lists which heavy libraries (PDF, images, charts, QR codes, Stripe, search clients) are loaded
at each step: a worker serving pages should not need them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import web

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


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _snapshot(step: str) -> dict[str, Any]:
    loaded = {
        name: sum(1 for module in sys.modules if module == name or module.startswith(name + "."))
        for name in HEAVY
    }
    return {
        "step": step,
        "modules": len(sys.modules),
        "rss_mb": round(_rss_mb(), 1),
        "heavy": {name: count for name, count in loaded.items() if count},
    }


def _measure_here(paths: dict[str, str]) -> None:
    import flask  # noqa: F401 - the floor: Python and Flask alone

    steps = [_snapshot("python + flask")]
    from app import create_app

    app = create_app()
    steps.append(_snapshot("create_app()"))
    client = app.test_client()
    for page, path in paths.items():
        response = client.get(path)
        steps.append(_snapshot(f"after {page} ({response.status_code})"))
    print("MEASURE " + json.dumps(steps))


def measure(paths: dict[str, str], env: dict[str, str]) -> list[dict[str, Any]]:
    code = f"from bench.worker_memory import _measure_here; _measure_here({paths!r})"
    out = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", code], env=env, cwd=web.ROOT, check=True, capture_output=True, text=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("MEASURE "))
    return list(json.loads(line.removeprefix("MEASURE ")))


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="marketplace-bench-memory-"))
    try:
        with web.database(f"marketplace_bench_memory_{os.getpid()}") as url:
            env = web._server_env(workdir, url, BENCH_TIMING="0")
            web.load_town(env, 1)
            paths, _variants, _products = web._pick_pages(env)
            for step in measure(paths, env):
                heavy = ", ".join(f"{name} {count}" for name, count in step["heavy"].items()) or "none"
                print(
                    f"{step['step']:<28}{step['modules']:>6} modules{step['rss_mb']:>8.0f} MB"
                    f"   heavy: {heavy}"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
