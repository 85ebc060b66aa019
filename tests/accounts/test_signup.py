"""Sign-up and e-mail confirmation."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Role, User
from app.extensions import db
from tests.accounts.test_login import without_csrf_token
from tests.factories import UserFactory
from tests.plugins.application import CSRF_PATTERN, Client, Mailbox

VALID = {
    "first_name": "Camille",
    "last_name": "Durand",
    "email": "Camille.Durand@Example.com",
    "password": "une phrase de passe",
    "accept_terms": "y",
}


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_signup_creates_an_unconfirmed_shopper_and_mails_a_link(client: Client, mailbox: Mailbox) -> None:
    response = client.submit("/inscription", VALID)
    assert response.status_code == 302
    assert "/inscription/verifiez-vos-e-mails" in response.headers["Location"]
    user = _user("camille.durand@example.com")
    assert user is not None
    assert user.role == Role.SHOPPER
    assert user.email_confirmed_at is None
    assert user.password_hash.startswith("$argon2id$")
    message = mailbox.last_to("camille.durand@example.com")
    assert message.subject == "Confirmez votre adresse e-mail"
    assert "/confirmer/" in message.text


def test_following_the_link_confirms_the_address(client: Client, mailbox: Mailbox) -> None:
    client.submit("/inscription", VALID)
    link = mailbox.link(mailbox.last_to("camille.durand@example.com"), "/confirmer/")
    response = client.get(link, follow_redirects=True)
    assert response.status_code == 200
    assert "Votre adresse e-mail est confirmée" in response.get_data(as_text=True)
    user = _user("camille.durand@example.com")
    assert user is not None
    assert user.email_confirmed_at is not None


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_mail(client: Client, mailbox: Mailbox) -> None:
    owner = UserFactory(email="camille.durand@example.com", first_name="Camille")
    owner_hash = owner.password_hash
    answers = []
    for email in ("Camille.Durand@Example.com", "Someone.Else@Example.com"):
        response = client.submit("/inscription", {**VALID, "email": email})
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/inscription/verifiez-vos-e-mails")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append(without_csrf_token(page).replace(email.lower(), "EMAIL"))
    assert answers[0] == answers[1], "nothing tells whether the address has an account"

    message = mailbox.last_to("camille.durand@example.com")
    assert message.subject == "Quelqu’un a voulu créer un compte avec votre adresse"
    assert "Bonjour Camille," in message.text
    assert mailbox.link(message, "/connexion")
    assert mailbox.link(message, "/mot-de-passe-oublie")
    assert "/confirmer/" not in message.text
    users = db.session.scalars(sa.select(User).where(User.email == "camille.durand@example.com")).all()
    assert [user.password_hash for user in users] == [owner_hash], "the account is left as it was"


def test_signing_up_is_rate_limited(client: Client) -> None:
    statuses = [
        client.submit("/inscription", {**VALID, "email": f"person{number}@example.com"}).status_code
        for number in range(6)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429


def test_every_field_is_validated_on_the_server(client: Client) -> None:
    response = client.submit(
        "/inscription",
        {"first_name": "", "last_name": "", "email": "pas-une-adresse", "password": "123"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Indiquez votre prénom.",
        "Indiquez votre nom.",
        "Cette adresse e-mail n’est pas valide.",
        "Le mot de passe doit contenir entre 10 et 128 caractères.",
        "Vous devez accepter les conditions pour créer un compte.",
    ):
        assert message in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_password_of_digits_only_is_refused(client: Client) -> None:
    response = client.submit("/inscription", {**VALID, "password": "12345678901"})
    assert "uniquement de chiffres" in response.get_data(as_text=True)
    assert _user("camille.durand@example.com") is None


def test_messages_are_in_english_when_the_person_reads_english(client: Client) -> None:
    client.get("/langue/en")
    response = client.submit("/inscription", {**VALID, "email": "nope"})
    page = response.get_data(as_text=True)
    assert "Create an account" in page
    assert "Cette adresse e-mail n’est pas valide." not in page


def test_a_forged_confirmation_link_gets_a_clear_page(client: Client) -> None:
    response = client.get("/confirmer/not-a-real-token")
    assert response.status_code == 400
    assert "Ce lien n’est pas valide." in response.get_data(as_text=True)


def test_an_expired_confirmation_link_says_so(client: Client, mailbox: Mailbox, app) -> None:  # type: ignore[no-untyped-def]
    client.submit("/inscription", VALID)
    link = mailbox.link(mailbox.last_to("camille.durand@example.com"), "/confirmer/")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    try:
        response = client.get(link)
    finally:
        app.config["CONFIRM_TOKEN_MAX_AGE"] = 60 * 60 * 48
    assert response.status_code == 400
    assert "Ce lien a expiré" in response.get_data(as_text=True)


def test_resending_the_link_says_the_same_whether_or_not_the_account_exists(
    client: Client, mailbox: Mailbox
) -> None:
    UserFactory(email="waiting@example.com", unconfirmed=True)
    answers = []
    for email in ("waiting@example.com", "nobody@example.com"):
        response = client.submit(
            "/inscription/renvoyer",
            {"email": email},
            form_url="/inscription/verifiez-vos-e-mails",
            follow_redirects=True,
        )
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        answers.append(CSRF_PATTERN.sub("CSRF", page))  # a token is masked afresh in every page
    assert "un nouveau lien vient d’être envoyé" in answers[0]
    assert answers[0] == answers[1]
    assert len(mailbox.to("waiting@example.com")) == 1
    assert mailbox.to("nobody@example.com") == []
