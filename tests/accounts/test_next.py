"""Where ``next=`` may send a person: a path on this site, never another host, whatever the trick."""

from __future__ import annotations

import pyotp
import pytest
from flask import Flask

from app.accounts.auth import local_path
from app.database import utcnow
from app.extensions import limiter
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client

# Known ways to make a "local" target that a browser reads as another host or a script.
BYPASSES = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    "/\\\\evil.example/",
    "/\t/evil.example/",
    "\t//evil.example/",
    " //evil.example/",
    "/ /evil.example/ ",
    "/\n/evil.example/",
    "/\r/evil.example/",
    "/connexion\r\nSet-Cookie: stolen=1",
    "https:evil.example",
    "http:/evil.example",
    "https://evil.example/",
    "ftp://evil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example/",
    "/%0a/evil.example/",
    "\u3002/evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "/\u202e/evil.example",
    "evil.example",
    "/" + "a" * 5000,
]
GOOD = ["/compte/securite", "/produits/12?variante=3#avis", "/recherche?q=pain+complet", "/boutiques/café"]


@pytest.mark.parametrize("target", BYPASSES)
def test_a_bypass_is_not_a_local_path(target: str) -> None:
    assert local_path(target) is None


@pytest.mark.parametrize("target", GOOD)
def test_a_local_path_is_kept(target: str) -> None:
    assert local_path(target) == target


@pytest.fixture
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each endpoint below is tried with every bypass in a row: more than its rate limit allows."""
    monkeypatch.setattr(limiter, "enabled", False)


def _lands_on(response, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == expected


@pytest.mark.usefixtures("no_rate_limit")
def test_login_ignores_every_bypass(client: Client) -> None:
    UserFactory(email="ana@example.com")
    for target in BYPASSES:
        response = client.submit(
            "/connexion", {"email": "ana@example.com", "password": PASSWORD, "next": target}
        )
        _lands_on(response, "/")
        client.submit("/deconnexion", {}, form_url="/compte")
    response = client.submit(
        "/connexion", {"email": "ana@example.com", "password": PASSWORD, "next": GOOD[0]}
    )
    _lands_on(response, GOOD[0])


def test_the_second_factor_step_ignores_a_bypass(client: Client) -> None:
    user = UserFactory(email="ana@example.com", two_factor=True)
    totp = pyotp.TOTP(user.totp_secret)
    step = totp.timecode(utcnow())
    # Two logins, each with its own time step (a code is accepted once); both stay valid for 30 s.
    for offset, target in ((0, "/\t/evil.example/"), (1, "//evil.example/")):
        client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD, "next": target})
        response = client.submit("/connexion/verification", {"code": totp.generate_otp(step + offset)})
        _lands_on(response, "/")
        client.submit("/deconnexion", {}, form_url="/compte")


@pytest.mark.usefixtures("no_rate_limit")
def test_the_language_link_ignores_every_bypass(client: Client) -> None:
    for target in BYPASSES:
        _lands_on(client.get("/langue/en", query_string={"next": target}), "/")
    _lands_on(client.get("/langue/fr", query_string={"next": GOOD[0]}), GOOD[0])


@pytest.mark.usefixtures("no_rate_limit")
def test_the_language_form_ignores_every_bypass(client: Client) -> None:
    UserFactory(email="ana@example.com")
    client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD})
    for target in BYPASSES:
        _lands_on(client.submit("/langue", {"code": "en", "next": target}, form_url="/compte"), "/")


@pytest.mark.usefixtures("no_rate_limit")
def test_adding_to_the_cart_ignores_every_bypass(client: Client) -> None:
    for target in BYPASSES:
        response = client.submit(
            "/panier/ajouter", {"variant_id": "0", "quantity": "1", "next": target}, form_url="/connexion"
        )
        _lands_on(response, "/panier")


@pytest.mark.usefixtures("no_rate_limit")
def test_reporting_a_review_ignores_every_bypass(app: Flask, client: Client) -> None:
    from tests.reviews.support import bought, review_now

    with app.test_request_context():
        purchase = bought()
        review_id = review_now(purchase)
    client.submit("/connexion", {"email": UserFactory().email, "password": PASSWORD})
    page = f"/produits/{purchase.product_ids[0]}"
    for target in BYPASSES:
        # No reason given: nothing is reported, the person is sent back with the message.
        response = client.submit(f"/avis/{review_id}/signaler", {"next": target}, form_url=page)
        _lands_on(response, "/#avis")
