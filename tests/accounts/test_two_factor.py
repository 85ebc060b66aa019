"""TOTP two-factor authentication with recovery codes."""

from __future__ import annotations

import re

import pyotp
import sqlalchemy as sa
import time_machine

from app.accounts.models import User
from app.database import utcnow
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


def _enrol(client: Client) -> tuple[str, list[str]]:
    page = client.get("/compte/securite/activer").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page)
    assert secret, "the set-up page shows the secret for manual entry"
    assert 'src="data:image/svg+xml' in page  # the QR code, with no external request
    response = client.submit(
        "/compte/securite/activer",
        {"code": pyotp.TOTP(secret.group(1)).now()},
        form_url="/compte/securite/activer",
    )
    assert response.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", response.get_data(as_text=True))
    return secret.group(1), codes


def _password_step(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.submit("/connexion", {"email": email, "password": PASSWORD})


def _code_step(client: Client, code: str):  # type: ignore[no-untyped-def]
    return client.submit("/connexion/verification", {"code": code})


def test_enrolment_then_login_asks_for_the_code(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _password_step(client, "ana@example.com")
    secret, codes = _enrol(client)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert _user("ana@example.com").two_factor_enabled
    client.submit("/deconnexion", {}, form_url="/compte")

    response = _password_step(client, "ana@example.com")
    assert response.headers["Location"].endswith("/connexion/verification")
    assert client.get("/compte").status_code == 302, "not logged in before the second factor"

    with time_machine.travel(utcnow().timestamp() + 60, tick=False):
        response = _code_step(client, pyotp.TOTP(secret).now())
        assert response.status_code == 302
        assert client.get("/compte").status_code == 200


def test_a_wrong_code_is_refused_with_a_message(client: Client) -> None:
    UserFactory(email="ana@example.com", two_factor=True)
    _password_step(client, "ana@example.com")
    response = _code_step(client, "000000")
    assert response.status_code == 200
    assert "Code incorrect." in response.get_data(as_text=True)
    assert client.get("/compte").status_code == 302


def test_a_code_cannot_be_replayed(client: Client) -> None:
    user = UserFactory(email="ana@example.com", two_factor=True)
    code = pyotp.TOTP(user.totp_secret).now()
    _password_step(client, "ana@example.com")
    assert _code_step(client, code).status_code == 302
    client.submit("/deconnexion", {}, form_url="/compte")
    _password_step(client, "ana@example.com")
    response = _code_step(client, code)
    assert response.status_code == 200
    assert "Code incorrect." in response.get_data(as_text=True)


def test_a_recovery_code_works_once(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _password_step(client, "ana@example.com")
    _, codes = _enrol(client)
    client.submit("/deconnexion", {}, form_url="/compte")

    _password_step(client, "ana@example.com")
    assert _code_step(client, codes[0].upper()).status_code == 302
    client.submit("/deconnexion", {}, form_url="/compte")

    _password_step(client, "ana@example.com")
    assert _code_step(client, codes[0]).status_code == 200
    assert _code_step(client, codes[1]).status_code == 302


def test_wrong_codes_count_against_the_rate_limit(client: Client) -> None:
    UserFactory(email="ana@example.com", two_factor=True)
    _password_step(client, "ana@example.com")
    statuses = [_code_step(client, "123456").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429


def test_the_code_step_without_a_password_step_goes_back_to_login(client: Client) -> None:
    response = client.get("/connexion/verification")
    assert response.headers["Location"].endswith("/connexion")


def test_a_shopper_may_turn_it_off_with_the_password(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _password_step(client, "ana@example.com")
    _enrol(client)
    refused = client.submit(
        "/compte/securite/desactiver",
        {"password": "wrong"},
        form_url="/compte/securite",
        follow_redirects=True,
    )
    assert "Mot de passe incorrect." in refused.get_data(as_text=True)
    assert _user("ana@example.com").two_factor_enabled
    client.submit("/compte/securite/desactiver", {"password": PASSWORD}, form_url="/compte/securite")
    user = _user("ana@example.com")
    assert not user.two_factor_enabled
    assert user.recovery_codes == []


def test_a_manager_cannot_turn_it_off(client: Client) -> None:
    secret = UserFactory(email="boss@example.com", manager=True, two_factor=True).totp_secret
    _password_step(client, "boss@example.com")
    _code_step(client, pyotp.TOTP(secret).now())
    response = client.submit(
        "/compte/securite/desactiver",
        {"password": PASSWORD},
        form_url="/compte/securite",
        follow_redirects=True,
    )
    assert "obligatoire" in response.get_data(as_text=True)
    assert _user("boss@example.com").two_factor_enabled


def test_new_recovery_codes_replace_the_old_ones(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _password_step(client, "ana@example.com")
    _, old_codes = _enrol(client)
    response = client.submit("/compte/securite/codes", {"password": PASSWORD}, form_url="/compte/securite")
    new_codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", response.get_data(as_text=True))
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    client.submit("/deconnexion", {}, form_url="/compte")
    _password_step(client, "ana@example.com")
    assert _code_step(client, old_codes[0]).status_code == 200
    assert _code_step(client, new_codes[0]).status_code == 302
