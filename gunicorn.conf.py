"""gunicorn's settings file (read from the working directory by ``gunicorn wsgi:app``).

Command-line options still apply on top. The app is loaded once, in the master, and the workers are
forked from it (``preload_app``): they share its memory, so each further worker adds about 50 MB rather
than 100 (docs/deploy.md, Sizing). ``when_ready`` readies the loaded app for that sharing
(app/prefork.py). ``GUNICORN_PRELOAD=0`` loads the app in each worker instead, as gunicorn does by
default: then a ``HUP`` loads new code, which a preloaded master cannot (an upgrade restarts it).
``on_starting`` and ``child_exit`` only matter for Prometheus's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR`` set, see app/metrics.py): each worker writes its counts to files in that
folder and a scrape adds them all up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def on_starting(server: Any) -> None:
    """Start from an empty folder: files left by a previous run would add its counts to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for leftover in Path(folder).glob("*.db"):
        leftover.unlink()


def when_ready(server: Any) -> None:
    """The master is up, the workers not yet forked: with ``--preload`` the app is loaded here, and what
    it holds is made shareable with them (app/prefork.py)."""
    if server.cfg.preload_app:
        import gc

        from app import prefork

        prefork.before_fork(server.app.wsgi())
        server.log.info("App ready for the workers to share: %d objects frozen", gc.get_freeze_count())


def child_exit(server: Any, worker: Any) -> None:
    """A worker died or was replaced: its live gauges stop counting (its counters are kept)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
