"""structlog, imported without rich and greenlet.

structlog imports rich when it is installed (here it comes with typer, which the dac7 library needs),
only to offer rich's tracebacks and pretty-printed locals, and greenlet, only for its deprecated
thread-local context under greenlets: some 5 MB of modules in every process. The renderers of
app/logs.py format exceptions themselves (plain tracebacks), the context is kept in contextvars and no
process runs under greenlets (gunicorn's sync workers, RQ), so structlog is imported with both hidden
and loads neither; they stay importable by whoever needs them.
"""

from __future__ import annotations

import sys

if "structlog" not in sys.modules:
    hidden = [name for name in ("rich", "greenlet") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment] # "import name" raises ImportError meanwhile
    try:
        import structlog
    finally:
        for name in hidden:
            del sys.modules[name]

import structlog

__all__ = ["structlog"]
