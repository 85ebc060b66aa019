"""gunicorn ``--preload``, the settings file's default: the master readies the loaded app for sharing
before it forks the workers (app/prefork.py, gunicorn.conf.py). Each check runs in a child interpreter:
``gc.freeze()`` is for the life of a process."""

from __future__ import annotations

import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.app.test_worker_imports import ROOT, _bare_env, run_probe

BEFORE_FORK = """
import gc, json, sys, tracemalloc
from app import create_app, money, prefork
app = create_app()
frozen_before = gc.get_freeze_count()
prefork.before_fork(app)
frozen = gc.get_freeze_count()
tracemalloc.start()
with app.app_context():
    price = money.format_money(1250)
    date = __import__("flask_babel").format_date(__import__("datetime").date(2026, 5, 1))
allocated = tracemalloc.get_traced_memory()[1]
print(json.dumps({"before": frozen_before, "frozen": frozen, "allocated": allocated,
                  "price": price, "date": date, "tantivy": "tantivy" in sys.modules}))
"""


def test_before_fork_freezes_the_app_and_loads_the_language_data(tmp_path: Path) -> None:
    found = run_probe(BEFORE_FORK, _bare_env(tmp_path))
    assert found["before"] == 0
    assert found["frozen"] > 10_000  # the app's modules, classes and functions
    # A worker's first price and date find Babel's data already loaded (loading it is ~4 MB).
    assert found["allocated"] < 500_000
    assert found["price"] == "12,50\u00a0€"
    assert found["date"] == "1 mai 2026"
    assert found["tantivy"]  # the embedded search's library: no Elasticsearch configured


def test_before_fork_leaves_tantivy_out_with_elasticsearch(tmp_path: Path) -> None:
    env = {**_bare_env(tmp_path), "ELASTICSEARCH_URL": "http://127.0.0.1:9"}  # never asked here
    assert run_probe(BEFORE_FORK, env)["tantivy"] is False


class _Loaded:
    """gunicorn's loaded application: ``wsgi()`` gives the app."""

    def __init__(self) -> None:
        self.app = object()

    def wsgi(self) -> Any:
        return self.app


@pytest.mark.parametrize("preload", [True, False])
def test_when_ready_prepares_the_app_only_when_preloaded(
    preload: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import prefork

    prepared: list[Any] = []
    monkeypatch.setattr(prefork, "before_fork", prepared.append)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logged: list[str] = []
    server = SimpleNamespace(
        cfg=SimpleNamespace(preload_app=preload),
        app=_Loaded(),
        log=SimpleNamespace(info=lambda message, *args: logged.append(message % args)),
    )
    hooks["when_ready"](server)
    assert prepared == ([server.app.app] if preload else [])
    assert len(logged) == (1 if preload else 0)


@pytest.mark.parametrize(("setting", "preloaded"), [(None, True), ("1", True), ("0", False)])
def test_the_settings_file_preloads_unless_told_not_to(
    setting: str | None, preloaded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if setting is None:
        monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_PRELOAD", setting)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["preload_app"] is preloaded


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gunicorn_preload_prepares_the_app_and_serves(tmp_path: Path) -> None:
    """The real gunicorn and its settings file, no option: the app is loaded in the master, the hook
    runs there, then the forked worker answers."""
    port = _port()
    log = tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "--workers=1",
        f"--bind=127.0.0.1:{port}",
        "--log-level=info",
        "wsgi:app",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own gunicorn and app
            command, cwd=ROOT, env=_bare_env(tmp_path), stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            url = f"http://127.0.0.1:{port}/robots.txt"
            try:
                with urllib.request.urlopen(url, timeout=10) as answer:
                    status = answer.status
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    assert status == 200
    assert "App ready for the workers to share" in log.read_text()
