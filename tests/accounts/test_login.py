"""Logging in and out, sessions invalidated by a password change, the manager's two-factor duty."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client


def login(client: Client, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.submit("/connexion", {"email": email, "password": password, **extra})


def test_a_confirmed_shopper_logs_in_and_out(client: Client) -> None:
    UserFactory(email="ana@example.com", first_name="Ana")
    response = login(client, "ANA@example.com ")
    assert response.status_code == 302
    page = client.get("/compte").get_data(as_text=True)
    assert "ana@example.com" in page
    user = db.session.scalar(sa.select(User).where(User.email == "ana@example.com"))
    assert user is not None
    assert user.last_login_at is not None

    client.submit("/deconnexion", {}, form_url="/compte")
    assert client.get("/compte").status_code == 302


def test_a_wrong_password_or_unknown_email_gets_the_same_message(client: Client) -> None:
    UserFactory(email="ana@example.com")
    wrong_password = login(client, "ana@example.com", "not the password").get_data(as_text=True)
    unknown = login(client, "nobody@example.com").get_data(as_text=True)
    assert "Adresse e-mail ou mot de passe incorrect." in wrong_password
    assert "Adresse e-mail ou mot de passe incorrect." in unknown


def test_an_unconfirmed_account_is_asked_to_confirm_first(client: Client) -> None:
    UserFactory(email="new@example.com", unconfirmed=True)
    response = login(client, "new@example.com")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Confirmez d’abord votre adresse e-mail" in page
    assert "Renvoyer le lien de confirmation" in page
    assert client.get("/compte").status_code == 302


def test_a_deactivated_account_cannot_log_in(client: Client) -> None:
    UserFactory(email="gone@example.com", is_active=False)
    assert "incorrect" in login(client, "gone@example.com").get_data(as_text=True)


def test_next_goes_back_to_a_local_page_only(client: Client) -> None:
    UserFactory(email="ana@example.com")
    response = login(client, "ana@example.com", next="/compte/securite")
    assert response.headers["Location"].endswith("/compte/securite")
    client.submit("/deconnexion", {}, form_url="/compte")
    response = login(client, "ana@example.com", next="https://evil.example.net/")
    assert response.headers["Location"] == "/"
    client.submit("/deconnexion", {}, form_url="/compte")
    response = login(client, "ana@example.com", next="//evil.example.net/")
    assert response.headers["Location"] == "/"


def test_pages_that_need_an_account_send_to_login(client: Client) -> None:
    response = client.get("/compte")
    assert response.status_code == 302
    assert "/connexion?next=" in response.headers["Location"]


def test_a_manager_without_second_factor_must_enrol_before_anything_else(client: Client) -> None:
    UserFactory(email="manager@example.com", manager=True)
    response = login(client, "manager@example.com")
    assert response.headers["Location"].endswith("/compte/securite/activer")
    for path in ("/compte", "/compte/mot-de-passe", "/"):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked.headers["Location"].endswith("/compte/securite/activer")
    assert client.get("/compte/securite/activer").status_code == 200
