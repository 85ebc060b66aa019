"""Object-level authorization: a member of shop A reaches nothing of shop B."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.factories import PASSWORD, ShopFactory, owner_of
from tests.plugins.application import Client
from vendors.models import MemberRole, ShopMember
from vendors.services import STEPS

PLACEHOLDERS = {"member_id": "1", "invitation_id": "1"}


def backoffice_urls(app: Flask, slug: str) -> list[tuple[str, str]]:
    """Every back-office URL of a shop with each of its methods: the list grows with the blueprint."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("vendors_backoffice.") or "slug" not in rule.arguments:
            continue
        for step in STEPS if "step" in rule.arguments else ("",):
            values = {name: PLACEHOLDERS.get(name, "1") for name in rule.arguments} | {
                "slug": slug,
                "step": step,
            }
            path = rule.rule
            for name, value in values.items():
                path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
            urls.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return urls


@pytest.fixture
def two_shops(client: Client) -> tuple[str, str]:
    a = owner_of(ShopFactory(slug="shop-a"), email="a@example.com")
    b = owner_of(ShopFactory(slug="shop-b"), email="b@example.com")
    assert a.shop_id != b.shop_id
    client.submit("/connexion", {"email": "a@example.com", "password": PASSWORD})
    return "shop-a", "shop-b"


def test_every_page_and_action_of_another_shop_is_a_404(app: Flask, client: Client, two_shops) -> None:  # type: ignore[no-untyped-def]
    own, other = two_shops
    urls = backoffice_urls(app, other)
    assert len(urls) >= 26, "every step, page and action of the back office"
    token = client.csrf_token(f"/vendeur/{own}/")
    for method, path in urls:
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"


def test_the_same_pages_work_for_the_member(app: Flask, client: Client, two_shops) -> None:  # type: ignore[no-untyped-def]
    own, _ = two_shops
    for method, path in backoffice_urls(app, own):
        if method == "GET":
            assert client.get(path).status_code in {200, 302}, path


def test_guests_are_sent_to_login(app: Flask, client: Client) -> None:
    ShopFactory(slug="shop-a")
    for method, path in backoffice_urls(app, "shop-a"):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302, path
            assert "/connexion" in response.headers["Location"]


def test_staff_cannot_touch_money_legal_details_settings_or_the_team(app: Flask, client: Client) -> None:
    """Staff handle orders, products, reviews and opening hours; what binds the shop is the owner's."""
    member = owner_of(ShopFactory(slug="shop-a"), email="owner@example.com")
    staff = owner_of(email="staff@example.com")
    staff.shop.members  # noqa: B018 - the staff user also owns another shop, irrelevant here
    from app.extensions import db

    db.session.add(ShopMember(shop_id=member.shop_id, user_id=staff.user_id, role=MemberRole.STAFF))
    db.session.commit()
    client.submit("/connexion", {"email": "staff@example.com", "password": PASSWORD})
    assert client.get("/vendeur/shop-a/reglages/hours").status_code == 200
    for path in (
        "/vendeur/shop-a/reglages/identity",
        "/vendeur/shop-a/reglages/legal",
        "/vendeur/shop-a/finances",
        "/vendeur/shop-a/finances/releve?start=2026-01-01&end=2026-01-31&format=csv",
        "/vendeur/shop-a/paiements",
        "/vendeur/shop-a/envoyer",
    ):
        assert client.get(path).status_code == 403, path
    token = client.csrf_token("/vendeur/shop-a/")
    for path in (
        "/vendeur/shop-a/reglages/legal",
        "/vendeur/shop-a/paiements/inscription",
        "/vendeur/shop-a/paiements/tableau-de-bord",
        "/vendeur/shop-a/finances/forfait",
        "/vendeur/shop-a/equipe/1/retirer",
        "/vendeur/shop-a/equipe",
    ):
        assert client.post(path, data={"csrf_token": token, "email": "x@example.com"}).status_code == 403, (
            path
        )
    team = client.get("/vendeur/shop-a/equipe")
    assert team.status_code == 200
    assert "Inviter une personne" not in team.get_data(as_text=True)
    from vendors.models import StaffInvitation

    assert db.session.query(StaffInvitation).count() == 0
