"""Counting the SQL statements a block runs, to keep each page's queries flat whatever it shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tests.plugins.application import Client

# The most statements a public page may run, whatever the size of the catalogue.
PUBLIC_PAGE_LIMIT = 10


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block, the tests' savepoint bookkeeping left out."""
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)


def page_queries(client: Client, url: str, cold: bool = True) -> list[str]:
    """The statements of one GET of ``url``, which must answer 200. ``cold``: the caches of the menu
    and of the home page's blocks emptied first (what the first visitor after a change costs)."""
    from app.site import services as site

    if cold:
        site.clear_caches()
    with counted_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return statements
