"""Sessions end for good: a copied session or remember-me cookie stops working once the session it was
copied from is over (logged out there, logged out everywhere, password changed)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from app.accounts.models import LoginSession, User
from app.database import utcnow
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client

NEW_PASSWORD = "a brand new passphrase"


def _device(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def _login(client: Client, remember: bool = False) -> None:
    data = {"email": "ana@example.com", "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.submit("/connexion", data).status_code == 302


def _copy(source: Client, target: Client, *names: str) -> None:
    """What a thief does with a stolen cookie: send it from their own browser."""
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        target.set_cookie(name, cookie.value)


def _signed_in(client: Client) -> bool:
    return client.get("/compte").status_code == 200


def test_a_copied_session_cookie_stops_working_when_its_owner_logs_out(app: Flask, client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client)
    thief = _device(app)
    _copy(client, thief, "session")
    assert _signed_in(thief), "the copy works while the session lasts"

    client.submit("/deconnexion", {}, form_url="/compte")
    assert not _signed_in(client)
    assert not _signed_in(thief), "the copy ended with the session"


def test_a_copied_remember_cookie_stops_working_when_its_owner_logs_out(app: Flask, client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client, remember=True)
    thief = _device(app)
    _copy(client, thief, "remember_token")
    assert _signed_in(thief)

    client.submit("/deconnexion", {}, form_url="/compte")
    assert not _signed_in(_with_cookie(app, client, thief))


def _with_cookie(app: Flask, client: Client, thief: Client) -> Client:
    """A fresh browser with only the remember cookie the thief kept (their session cookie is dropped)."""
    cookie = thief.get_cookie("remember_token")
    assert cookie is not None
    fresh = _device(app)
    fresh.set_cookie("remember_token", cookie.value)
    return fresh


def test_logging_out_on_one_device_keeps_the_others(app: Flask, client: Client) -> None:
    UserFactory(email="ana@example.com")
    phone = _device(app)
    _login(client)
    _login(phone)
    client.submit("/deconnexion", {}, form_url="/compte")
    assert _signed_in(phone)


def test_a_password_change_ends_every_copied_cookie(app: Flask, client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client, remember=True)
    thief = _device(app)
    _copy(client, thief, "session", "remember_token")
    remember_only = _with_cookie(app, client, thief)
    assert _signed_in(thief)

    response = client.submit(
        "/compte/mot-de-passe",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(client), "this device stays signed in"
    assert not _signed_in(thief)
    assert not _signed_in(remember_only)


def test_logging_out_everywhere_ends_every_session_and_remember_cookie(app: Flask, client: Client) -> None:
    UserFactory(email="ana@example.com")
    laptop = _device(app)
    _login(laptop, remember=True)
    thief = _device(app)
    _copy(laptop, thief, "remember_token")
    _login(client)
    page = client.get("/compte/securite").get_data(as_text=True)
    assert "Se déconnecter partout" in page
    assert _signed_in(thief)

    response = client.submit("/compte/securite/deconnexion-partout", {}, form_url="/compte/securite")
    assert response.headers["Location"].endswith("/connexion")
    assert not _signed_in(client)
    assert not _signed_in(laptop)
    assert not _signed_in(thief)
    user = db.session.scalar(sa.select(User).where(User.email == "ana@example.com"))
    assert user is not None
    assert db.session.scalar(sa.select(sa.func.count()).where(LoginSession.user_id == user.id)) == 0


def test_logging_out_everywhere_needs_a_post_with_a_token(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client)
    assert client.get("/compte/securite/deconnexion-partout").status_code == 405
    assert client.post("/compte/securite/deconnexion-partout").status_code == 400
    assert _signed_in(client)


def test_a_session_outliving_its_cookies_is_refused(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client, remember=True)
    db.session.execute(sa.update(LoginSession).values(created_at=utcnow() - dt.timedelta(days=32)))
    assert not _signed_in(client)


def test_a_deactivated_account_is_signed_out_at_once(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client)
    db.session.execute(sa.update(User).where(User.email == "ana@example.com").values(is_active=False))
    db.session.commit()
    assert not _signed_in(client)


def test_a_session_id_of_the_old_shape_is_refused(app_ctx: Flask) -> None:
    """Cookies issued before sessions had their own key name no session: they log in again."""
    from app.accounts import services

    user = UserFactory(email="ana@example.com")
    assert services.load_session_user(f"{user.id}:{user.session_token}") is None
    assert services.load_session_user(f"{user.id}:{user.session_token}:unknown-key") is None
