"""The weekly e-mail of favourites: opt-in, content, once a week, in the shopper's language, unsubscribe."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale, gettext

from app import jobs as app_jobs
from app.catalog.models import Product, Variant
from app.database import utcnow
from app.extensions import db
from app.favourites import services, tasks
from app.favourites.models import SavedProduct, WeeklyDigest
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Client, Mailbox


def text(message: object) -> str:
    """The message's body with the spaces a reader sees (money carries no-break spaces)."""
    return (
        str(getattr(message, "text", message))
        .replace("\u00a0", " ")
        .replace("\u202f", " ")
        .replace("\r\n", "\n")
    )


def log_in(client: Client, email_address: str) -> None:
    assert client.submit("/connexion", {"email": email_address, "password": PASSWORD}).status_code == 302


def raw_messages(app: Flask) -> list[email.message.EmailMessage]:
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]


@pytest.fixture
def shopper(app_ctx: Flask) -> dict[str, int]:
    """A shopper who follows a shop with a product new this week, and saved a product that got cheaper."""
    user = UserFactory(email="camille@example.com", first_name="Camille")
    shop = ShopFactory(name="Le Fournil")
    old = ProductFactory(shop=shop, title="Pain de campagne")
    old.created_at = utcnow() - dt.timedelta(days=30)
    new = ProductFactory(shop=shop, title="Brioche aux pralines", variants=[{"price_cents": 850}])
    saved = ProductFactory(title="Confiture de figues", variants=[{"price_cents": 900}])
    db.session.commit()
    services.follow_shop(user, shop.id)
    services.save_product(user, saved.id)
    variant = db.session.scalars(sa.select(Variant).where(Variant.product_id == saved.id)).one()
    variant.price_cents = 700
    services.set_weekly(user, True)
    db.session.commit()
    return {"user": user.id, "new": new.id, "old": old.id, "saved": saved.id}


def test_the_weekly_email_is_off_until_the_shopper_ticks_it(client: Client) -> None:
    user_id = UserFactory(email="camille@example.com").id
    log_in(client, "camille@example.com")
    page = client.get("/compte").get_data(as_text=True)
    assert 'name="weekly" value="1">' in page  # shown, not checked
    assert db.session.get(WeeklyDigest, user_id) is None  # off: no choice made
    token = client.csrf_token("/compte")
    response = client.post("/favoris/lettre", data={"csrf_token": token, "weekly": "1", "next": "/compte"})
    assert response.status_code == 302
    assert db.session.get(WeeklyDigest, user_id).enabled  # type: ignore[union-attr]
    assert 'name="weekly" value="1" checked>' in client.get("/compte").get_data(as_text=True)
    client.post("/favoris/lettre", data={"csrf_token": token, "next": "/compte"})
    assert not db.session.get(WeeklyDigest, user_id).enabled  # type: ignore[union-attr]


def test_new_products_of_followed_shops_and_price_drops_once_a_week(
    app: Flask, shopper: dict[str, int], mailbox: Mailbox
) -> None:
    assert tasks.send_weekly_emails() == 1
    [message] = mailbox.to("camille@example.com")
    assert message.subject == "Vos favoris cette semaine"
    assert "Bonjour Camille," in text(message)
    assert "Brioche aux pralines — Le Fournil, 8,50 €" in text(message)
    assert "Pain de campagne" not in text(message)  # a month old
    assert "Confiture de figues : 9,00 € → 7,00 €" in text(message)
    assert f"http://localhost/produits/{shopper['new']}" in text(message)
    # Run again the same week (the scheduler restarted, a retry): nothing more.
    tasks.send_weekly_emails()
    tasks.send_weekly_email(shopper["user"])
    assert len(mailbox.to("camille@example.com")) == 1
    row = db.session.get(WeeklyDigest, shopper["user"])
    assert row is not None
    assert row.last_week == services.week_of(utcnow())
    saved = db.session.scalars(
        sa.select(SavedProduct).where(SavedProduct.product_id == shopper["saved"])
    ).one()
    assert saved.price_mailed_cents == 700  # next week's drops are measured from here


def test_the_email_carries_one_click_unsubscribe_headers(
    app: Flask, shopper: dict[str, int], mailbox: Mailbox
) -> None:
    tasks.send_weekly_emails()
    message = mailbox.last_to("camille@example.com")
    [raw] = raw_messages(app)
    link = mailbox.link(message, "/favoris/desabonnement/")
    assert raw["List-Unsubscribe"].strip() == f"<http://localhost{link}>"
    assert raw["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"


def test_nothing_is_sent_when_nothing_is_new(shopper: dict[str, int], mailbox: Mailbox) -> None:
    db.session.get(Product, shopper["new"]).created_at = utcnow() - dt.timedelta(days=8)  # type: ignore[union-attr]
    variant = db.session.scalars(sa.select(Variant).where(Variant.product_id == shopper["saved"])).one()
    variant.price_cents = 950  # dearer than when saved
    db.session.commit()
    tasks.send_weekly_emails()
    assert mailbox.to("camille@example.com") == []


def test_next_week_tells_only_of_new_drops(shopper: dict[str, int], mailbox: Mailbox) -> None:
    user_id = shopper["user"]
    services.send_weekly(user_id)
    db.session.commit()
    next_week = utcnow() + dt.timedelta(days=7)
    assert services.send_weekly(user_id, next_week) is False  # same prices, the new product now old
    db.session.commit()
    variant = db.session.scalars(sa.select(Variant).where(Variant.product_id == shopper["saved"])).one()
    variant.price_cents = 600
    db.session.commit()
    assert services.send_weekly(user_id, next_week + dt.timedelta(days=7)) is True
    db.session.commit()
    last = mailbox.to("camille@example.com")[-1]
    assert "Confiture de figues : 7,00 € → 6,00 €" in text(last)
    assert "Brioche" not in text(last)


def test_it_is_written_in_the_shoppers_language(shopper: dict[str, int], mailbox: Mailbox) -> None:
    user = UserFactory(email="alex@example.com", first_name="Alex", locale="en")
    services.follow_shop(user, db.session.get(Product, shopper["new"]).shop_id)  # type: ignore[union-attr]
    services.set_weekly(user, True)
    db.session.commit()
    tasks.send_weekly_emails()
    french = mailbox.last_to("camille@example.com")
    english = mailbox.last_to("alex@example.com")
    with force_locale("en"):
        assert english.subject == gettext("Vos favoris cette semaine")
        assert gettext("Bonjour %(name)s,", name="Alex") in text(english)
    assert "Your town’s shops, online." in text(english)
    assert "Brioche aux pralines — Le Fournil, €8.50" in text(english)
    assert "Les commerces de la ville, en ligne." in text(french)
    assert "8,50 €" in text(french)


def test_unsubscribing_from_the_link_needs_no_log_in(
    client: Client, shopper: dict[str, int], mailbox: Mailbox
) -> None:
    tasks.send_weekly_emails()
    link = mailbox.link(mailbox.last_to("camille@example.com"), "/favoris/desabonnement/")
    page = client.get(link)
    assert page.status_code == 200
    assert "Me désabonner" in page.get_data(as_text=True)
    assert db.session.get(WeeklyDigest, shopper["user"]).enabled  # type: ignore[union-attr]  # a GET changes nothing
    # What a mail client's one-click button sends (RFC 8058): no CSRF token, no cookie.
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not db.session.get(WeeklyDigest, shopper["user"]).enabled  # type: ignore[union-attr]
    assert client.post(link[:-3] + "xyz").status_code == 400
    assert client.get("/favoris/desabonnement/nimportequoi").status_code == 400


def test_the_job_is_scheduled_weekly() -> None:
    assert (tasks.send_weekly_emails, tasks.WEEK_SECONDS) in list(app_jobs.schedule())
