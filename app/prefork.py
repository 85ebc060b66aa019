"""What the gunicorn master does with ``--preload`` once the app is loaded, before it forks the workers
(gunicorn.conf.py, ``when_ready``).

Forked workers share the master's memory pages until they write to one (the kernel then copies it for
the writer), so the work is to leave fewer pages for them to write:

- Babel's data for the default language (the locale's and Babel's global tables, ~4 MB), which each
  worker would otherwise load with the first price or date it formats;
- tantivy, when the search is the embedded index: the library the first search of each worker would
  load (its index is still opened by each worker, after the fork);
- ``gc.freeze()``: the objects alive now (the app, its modules and their functions) move to a
  generation the collector never walks, so a worker's full collections stop writing to every one of
  them. They are never collected: a collection runs first, so what is frozen is what the app keeps.

Without ``--preload`` each worker loads the app itself and none of this applies. Measured with
``python -m bench.web --preload`` (docs/deploy.md, Sizing).
"""

from __future__ import annotations

import gc

from flask import Flask


def before_fork(app: Flask) -> None:
    from babel import Locale, core, localedata

    locale = Locale.parse(app.config["BABEL_DEFAULT_LOCALE"])
    localedata.load(str(locale))  # the locale's data, merged with its parents' (cached by Babel)
    core.get_global("currency_fractions")  # loads Babel's global tables, all at once
    if not app.config.get("ELASTICSEARCH_URL"):
        import search.backends.embedded  # noqa: F401 - tantivy; no index is opened by the import
    gc.collect()
    gc.freeze()
