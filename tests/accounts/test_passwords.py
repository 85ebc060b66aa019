"""Password reset, password change and e-mail change."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client, Mailbox

NEW_PASSWORD = "a brand new passphrase"


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _login(client: Client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.submit("/connexion", {"email": email, "password": password})


def test_reset_by_mail_link_sets_a_new_password_once(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="ana@example.com")
    response = client.submit("/mot-de-passe-oublie", {"email": "ana@example.com"})
    assert response.status_code == 302
    link = mailbox.link(mailbox.last_to("ana@example.com"), "/mot-de-passe/")
    response = client.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"].endswith("/connexion")
    assert _login(client, "ana@example.com", NEW_PASSWORD).status_code == 302
    assert mailbox.last_to("ana@example.com").subject == "Votre mot de passe a été modifié"

    reused = client.get(link)
    assert reused.status_code == 400
    assert "Ce lien a déjà servi" in reused.get_data(as_text=True)


def test_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    client: Client, mailbox: Mailbox
) -> None:
    response = client.submit("/mot-de-passe-oublie", {"email": "nobody@example.com"}, follow_redirects=True)
    assert "Si un compte existe à cette adresse" in response.get_data(as_text=True)
    assert mailbox.messages() == []


def test_reset_needs_matching_passwords(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="ana@example.com")
    client.submit("/mot-de-passe-oublie", {"email": "ana@example.com"})
    link = mailbox.link(mailbox.last_to("ana@example.com"), "/mot-de-passe/")
    response = client.submit(link, {"password": NEW_PASSWORD, "confirm": "something else"})
    assert "Les deux mots de passe ne correspondent pas." in response.get_data(as_text=True)
    assert _login(client, "ana@example.com").status_code == 302, "the old password still works"


def test_a_forged_reset_link_gets_a_clear_page(client: Client) -> None:
    response = client.get("/mot-de-passe/forged")
    assert response.status_code == 400
    assert "Lien non valable" in response.get_data(as_text=True)


def test_reset_is_rate_limited_per_address(client: Client) -> None:
    statuses = [
        client.submit("/mot-de-passe-oublie", {"email": "target@example.com"}).status_code for _ in range(6)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429


def test_changing_the_password_logs_out_other_devices(app, client: Client, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    UserFactory(email="ana@example.com")
    other_device = app.test_client()
    other_device.__class__ = Client
    _login(other_device, "ana@example.com")
    assert other_device.get("/compte").status_code == 200

    _login(client, "ana@example.com")
    response = client.submit(
        "/compte/mot-de-passe",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/compte").status_code == 200, "this device stays logged in"
    assert other_device.get("/compte").status_code == 302, "the other device is logged out"
    assert mailbox.last_to("ana@example.com").subject == "Votre mot de passe a été modifié"


def test_changing_the_password_needs_the_current_one(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client, "ana@example.com")
    response = client.submit(
        "/compte/mot-de-passe",
        {"current_password": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    page = response.get_data(as_text=True)
    assert 'id="current_password-error"' in page
    assert "Mot de passe actuel incorrect." in page


def test_changing_the_email_takes_effect_when_the_new_address_confirms(
    client: Client, mailbox: Mailbox
) -> None:
    UserFactory(email="ana@example.com")
    _login(client, "ana@example.com")
    response = client.submit("/compte/e-mail", {"email": "Ana.New@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert _user("ana@example.com") is not None, "nothing changes before confirmation"

    link = mailbox.link(mailbox.last_to("ana.new@example.com"), "/compte/e-mail/")
    client.get(link)
    assert _user("ana@example.com") is None
    assert _user("ana.new@example.com") is not None
    assert mailbox.last_to("ana@example.com").subject == "Votre adresse e-mail a été modifiée"
    assert client.get(link).status_code == 400, "the link works once"


def test_changing_to_an_address_already_taken_is_refused(client: Client) -> None:
    UserFactory(email="ana@example.com")
    UserFactory(email="taken@example.com")
    _login(client, "ana@example.com")
    response = client.submit("/compte/e-mail", {"email": "taken@example.com", "password": PASSWORD})
    assert "Un compte existe déjà avec cette adresse e-mail." in response.get_data(as_text=True)


def test_profile_and_language_are_saved(client: Client) -> None:
    UserFactory(email="ana@example.com")
    _login(client, "ana@example.com")
    client.submit("/compte", {"first_name": "Anaïs", "last_name": "Petit", "locale": "en"})
    user = _user("ana@example.com")
    assert user is not None
    assert (user.first_name, user.last_name, user.locale) == ("Anaïs", "Petit", "en")
