"""Each test runs in a transaction that is rolled back, even when a view commits."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app.accounts.models import User
from app.extensions import db
from tests.plugins.application import Client
from tests.plugins.database import transactional_session

EMAIL = "isolation@example.com"


def _signup(app: Flask) -> int:
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    response = client.submit(
        "/inscription",
        {
            "first_name": "Iso",
            "last_name": "Lation",
            "email": EMAIL,
            "password": "a long enough password",
            "accept_terms": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == EMAIL))


def test_a_view_commit_is_rolled_back_with_the_test(app: Flask) -> None:
    with transactional_session(app):
        # The view committed: the row is visible to the test's own transaction...
        assert _signup(app) == 1
    # ...and gone once the test's transaction is rolled back, as seen from a brand-new connection.
    with app.app_context(), db.engine.connect() as connection:
        count = connection.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == EMAIL))
    assert count == 0


def test_the_next_test_starts_clean(app: Flask) -> None:
    with transactional_session(app):
        assert db.session.scalar(sa.select(User).where(User.email == EMAIL)) is None
        assert _signup(app) == 1
