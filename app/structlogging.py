"""structlog, imported without rich.

structlog imports rich when it is installed (here it comes with typer, which the dac7 library needs), only
to offer rich's tracebacks and pretty-printed locals: some 4 MB of modules in every process. The
renderers of app/logs.py format exceptions themselves (plain tracebacks), so structlog is imported
with rich hidden, and nothing of it is loaded; rich itself stays importable by whoever needs it.
"""

from __future__ import annotations

import sys

if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment] # "import rich" raises ImportError meanwhile
    try:
        import structlog
    finally:
        del sys.modules["rich"]

import structlog

__all__ = ["structlog"]
