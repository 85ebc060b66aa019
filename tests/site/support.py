"""Shared steps of the home page's tests: a manager's login, counting queries, reading cards."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pyotp
import sqlalchemy as sa

from app.site import services as site
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client

TITLE = re.compile(r'class="product-card__title">(.*?)</span>', re.S)
SHOP_NAME = re.compile(r'class="shop-card__name">(.*?)</h[23]>', re.S)


def product_titles(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", title)).strip() for title in TITLE.findall(page)]


def shop_names(page: str) -> list[str]:
    return [html.unescape(name).strip() for name in SHOP_NAME.findall(page)]


def block(page: str, kind: str) -> str | None:
    """The HTML of one home block, or None when it is not on the page."""
    found = re.search(rf'<section class="home-block" data-block="{kind}".*?</section>', page, re.S)
    return found.group(0) if found else None


def login_manager(client: Client, email: str = "gestion@example.com") -> int:
    manager = UserFactory(email=email, manager=True, two_factor=True)
    manager_id, secret = manager.id, manager.totp_secret
    client.submit("/connexion", {"email": email, "password": PASSWORD})
    response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return int(manager_id)


def fresh_home(client: Client, url: str = "/") -> str:
    """The home page as a first visitor after a change sees it: the caches emptied first."""
    site.clear_caches()
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block (savepoint bookkeeping left out)."""
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "SAVEPOINT" not in statement.upper():
            statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
