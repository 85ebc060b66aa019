"""Real commits on several connections: a double click (or two tabs) makes one favourite, and two runs
of the weekly job at the same moment send one e-mail."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from app.favourites import services as favourites
from app.favourites import tasks
from app.favourites.models import FollowedShop, SavedProduct
from app.jobs import RecordingDispatcher
from tests.factories import ProductFactory, UserFactory
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services


def test_clicks_at_the_same_moment_make_one_favourite(services: Services, tmp_path: Path) -> None:
    with own_database_app(services, tmp_path, "marketplace_favourites") as application:
        with application.app_context():
            product = ProductFactory()
            user_id, product_id, shop_id = UserFactory().id, product.id, product.shop_id
            db.session.remove()

        def click() -> None:
            user = db.session.get(User, user_id)
            assert user is not None
            favourites.save_product(user, product_id)
            favourites.follow_shop(user, shop_id)
            db.session.commit()

        at_once(application, click, [() for _ in range(4)])
        with application.app_context():
            count = sa.select(sa.func.count())
            assert db.session.scalar(count.select_from(SavedProduct)) == 1
            assert db.session.scalar(count.select_from(FollowedShop)) == 1


def test_two_runs_of_the_weekly_job_at_once_send_one_email(services: Services, tmp_path: Path) -> None:
    with own_database_app(services, tmp_path, "marketplace_weekly") as application:
        with application.app_context():
            user = UserFactory()
            product = ProductFactory()
            favourites.follow_shop(user, product.shop_id)
            favourites.set_weekly(user, True)
            db.session.commit()
            user_id = user.id
            db.session.remove()

        at_once(application, tasks.send_weekly_email, [(user_id,), (user_id,)])
        dispatcher = application.extensions["jobs"]
        assert isinstance(dispatcher, RecordingDispatcher)
        assert [job.path for job in dispatcher.jobs if job.queue == "mail"] == ["app.mail.deliver"]
