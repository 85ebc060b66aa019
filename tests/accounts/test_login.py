"""Logging in and out, sessions invalidated by a password change, the manager's two-factor duty."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client, Mailbox


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


# -- rate limits that no one can turn against the account's owner, and the mailed login link --------

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+')
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def without_csrf_token(page: str) -> str:
    """A page as a person reads it: the form's token carries the second it was made in."""
    return CSRF_VALUE.sub(r"\1TOKEN", page)


def _attempt(client: Client, email: str, password: str, where: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.submit(
        "/connexion", {"email": email, "password": password}, environ_base=where, form_url="/connexion"
    )


def test_failing_on_purpose_from_elsewhere_does_not_lock_the_owner_out(client: Client) -> None:
    UserFactory(email="owner@example.com")
    statuses = [_attempt(client, "owner@example.com", "wrong", ATTACKER).status_code for _ in range(11)]
    assert statuses[-1] == 429, "the attacker's address is stopped"
    assert _attempt(client, "owner@example.com", PASSWORD, OWNER).status_code == 302


def test_one_address_is_limited_across_accounts(client: Client) -> None:
    statuses = [
        _attempt(client, f"person{number}@example.com", "wrong", ATTACKER).status_code for number in range(31)
    ]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


def test_a_locked_out_owner_gets_in_with_a_mailed_link_once(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="owner@example.com", first_name="Odile")
    for _ in range(10):
        _attempt(client, "owner@example.com", "wrong", OWNER)
    locked = _attempt(client, "owner@example.com", PASSWORD, OWNER)
    page = locked.get_data(as_text=True)
    assert locked.status_code == 429
    assert "Trop de tentatives" in page
    assert 'action="/connexion/lien"' in page
    assert 'value="owner@example.com"' in page

    response = client.submit(
        "/connexion/lien", {"email": "owner@example.com"}, environ_base=OWNER, follow_redirects=True
    )
    assert "vous allez recevoir un lien de connexion" in response.get_data(as_text=True)
    message = mailbox.last_to("owner@example.com")
    assert message.subject == "Votre lien de connexion"
    link = mailbox.link(message, "/connexion/lien/")

    # Opening the link (as a mail scanner would) does not use it; the button does.
    for _ in range(2):
        assert "Me connecter" in client.get(link).get_data(as_text=True)
    assert client.get("/compte").status_code == 302
    response = client.submit(link, {}, environ_base=OWNER)
    assert response.status_code == 302
    assert client.get("/compte").status_code == 200

    client.submit("/deconnexion", {}, form_url="/compte")
    reused = client.get(link)
    assert reused.status_code == 400
    assert "Ce lien a déjà servi" in reused.get_data(as_text=True)


def test_a_login_link_for_an_unknown_address_says_the_same_and_sends_nothing(
    client: Client, mailbox: Mailbox
) -> None:
    UserFactory(email="owner@example.com")
    answers = [
        without_csrf_token(
            client.submit("/connexion/lien", {"email": email}, follow_redirects=True).get_data(as_text=True)
        ).replace(email, "EMAIL")
        for email in ("owner@example.com", "nobody@example.com")
    ]
    assert answers[0] == answers[1]
    assert mailbox.to("nobody@example.com") == []
    assert len(mailbox.to("owner@example.com")) == 1


def test_a_login_link_expires(app, client: Client, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    UserFactory(email="owner@example.com")
    client.submit("/connexion/lien", {"email": "owner@example.com"})
    link = mailbox.link(mailbox.last_to("owner@example.com"), "/connexion/lien/")
    app.config["LOGIN_LINK_MAX_AGE"] = -1
    try:
        response = client.get(link)
    finally:
        app.config["LOGIN_LINK_MAX_AGE"] = 15 * 60
    assert response.status_code == 400
    assert "Ce lien a expiré" in response.get_data(as_text=True)


def test_a_login_link_still_asks_for_the_second_factor(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="owner@example.com", two_factor=True)
    client.submit("/connexion/lien", {"email": "owner@example.com"})
    link = mailbox.link(mailbox.last_to("owner@example.com"), "/connexion/lien/")
    response = client.submit(link, {})
    assert response.headers["Location"].endswith("/connexion/verification")
    assert client.get("/compte").status_code == 302, "not signed in before the code"
