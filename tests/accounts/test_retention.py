"""The retention rules, run as the daily jobs run them: each does its work once and nothing the second
time."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
import time_machine
from flask import Flask

from app import jobs, storage
from app.accounts import personal_data, tasks
from app.accounts.models import ExportStatus, LoginSession, PersonalDataExport, User
from app.audit.models import SentEmail
from app.cart.models import Cart
from app.database import utcnow
from app.extensions import db
from app.orders.models import VendorOrderStatus
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Mailbox
from tests.reviews.support import place
from vendors.models import MemberRole, StaffInvitation

DAY = dt.timedelta(days=1)
THREE_YEARS = dt.timedelta(days=3 * 365)


def _idle(email: str, since: dt.timedelta = THREE_YEARS + DAY) -> User:
    moment = utcnow() - since
    return UserFactory(email=email, created_at=moment, last_login_at=moment)


def test_the_daily_jobs_are_scheduled(app: Flask) -> None:
    with app.app_context():
        scheduled = {func for func, _every in jobs.schedule()}
    assert set(tasks.RETENTION_RULES) <= scheduled


def test_accounts_idle_three_years_are_warned_once(app_ctx: Flask, mailbox: Mailbox) -> None:
    idle = _idle("dormant@example.com")
    recent = _idle("recent@example.com", since=THREE_YEARS - DAY)
    assert tasks.warn_inactive_accounts() == 1
    assert tasks.warn_inactive_accounts() == 0, "warned once"
    db.session.expire_all()
    assert idle.inactivity_warned_at is not None
    assert recent.inactivity_warned_at is None
    message = mailbox.last_to("dormant@example.com")
    assert "supprimé" in message.subject
    assert "/connexion" in message.text
    assert "depuis plus de 3 ans" in message.text
    assert mailbox.to("recent@example.com") == []


def test_warned_accounts_are_erased_thirty_days_later_unless_they_came_back(app_ctx: Flask) -> None:
    gone = _idle("gone@example.com")
    back = _idle("back@example.com")
    tasks.warn_inactive_accounts()
    assert tasks.erase_inactive_accounts() == 0, "not before the notice has run out"
    with time_machine.travel(utcnow() + 10 * DAY, tick=False):
        back.last_login_at = utcnow()
        db.session.commit()
    with time_machine.travel(utcnow() + 31 * DAY, tick=False):
        assert tasks.erase_inactive_accounts() == 1
        assert tasks.erase_inactive_accounts() == 0, "erased once"
    db.session.expire_all()
    assert gone.erased_at is not None
    assert gone.email.endswith("@erased.invalid")
    assert back.erased_at is None
    assert back.email == "back@example.com"


def test_an_idle_account_with_an_open_order_waits(app_ctx: Flask) -> None:
    idle = _idle("waiting@example.com")
    place(idle, [ProductFactory(shop=ShopFactory())], VendorOrderStatus.DELIVERED)
    tasks.warn_inactive_accounts()
    with time_machine.travel(utcnow() + 31 * DAY, tick=False):
        assert tasks.erase_inactive_accounts() == 0
    db.session.expire_all()
    assert idle.erased_at is None


def test_guest_carts_are_purged_after_thirty_days(app_ctx: Flask) -> None:
    old = utcnow() - 31 * DAY
    stale = Cart(token=secrets.token_hex(8), created_at=old, updated_at=old)
    fresh = Cart(token=secrets.token_hex(8))
    owned = Cart(user_id=UserFactory().id, created_at=old, updated_at=old)
    db.session.add_all([stale, fresh, owned])
    db.session.commit()
    ids = (stale.id, fresh.id, owned.id)
    assert tasks.purge_guest_carts() == 1
    assert tasks.purge_guest_carts() == 0
    left = set(db.session.scalars(sa.select(Cart.id).where(Cart.id.in_(ids))))
    assert left == {fresh.id, owned.id}


def test_expired_sessions_and_invitations_are_purged(app_ctx: Flask) -> None:
    user = UserFactory()
    shop = ShopFactory()
    db.session.add_all(
        [
            LoginSession(user_id=user.id, key_hash="a" * 64, created_at=utcnow() - 40 * DAY),
            LoginSession(user_id=user.id, key_hash="b" * 64, created_at=utcnow()),
            StaffInvitation(
                shop_id=shop.id,
                email="late@example.com",
                role=MemberRole.STAFF,
                expires_at=utcnow() - 31 * DAY,
            ),
            StaffInvitation(
                shop_id=shop.id, email="soon@example.com", role=MemberRole.STAFF, expires_at=utcnow() + DAY
            ),
        ]
    )
    db.session.commit()
    assert tasks.purge_expired_tokens() == 2
    assert tasks.purge_expired_tokens() == 0
    assert db.session.scalars(
        sa.select(LoginSession.key_hash).where(LoginSession.user_id == user.id)
    ).all() == ["b" * 64]
    assert db.session.scalars(
        sa.select(StaffInvitation.email).where(StaffInvitation.shop_id == shop.id)
    ).all() == ["soon@example.com"]


def test_the_mail_log_is_pruned_after_a_year(app_ctx: Flask) -> None:
    def logged(days: int) -> SentEmail:
        return SentEmail(
            sent_at=utcnow() - days * DAY, recipient="x@example.com", subject="s", template="t", locale="fr"
        )

    db.session.add_all([logged(366), logged(364)])
    db.session.commit()
    assert tasks.prune_mail_log() == 1
    assert tasks.prune_mail_log() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SentEmail)) == 1


def test_exports_are_deleted_after_seven_days(app_ctx: Flask) -> None:
    user = UserFactory()
    export = personal_data.request_export(user)
    db.session.commit()
    assert personal_data.build_export(export.id)
    db.session.commit()
    key = export.file_key
    assert key
    assert storage.private_media_storage().exists(key)
    assert tasks.delete_expired_exports() == 0, "still valid"
    with time_machine.travel(utcnow() + 7 * DAY + dt.timedelta(minutes=1), tick=False):
        assert tasks.delete_expired_exports() == 1
        assert tasks.delete_expired_exports() == 0
    db.session.expire_all()
    assert export.status == ExportStatus.DELETED
    assert export.file_key is None
    assert not storage.private_media_storage().exists(key)
    assert db.session.get(PersonalDataExport, export.id) is not None, "the request itself is kept"
