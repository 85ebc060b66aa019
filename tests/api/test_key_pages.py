"""Keys are made in the back office's "Outils et API" page by the shop's owner (the manager's in the
console), shown once, stored hashed, and revoked there."""

from __future__ import annotations

import hashlib
import re

import pyotp
import sqlalchemy as sa
from flask import Flask

from api.models import ApiKey
from app.accounts.models import User
from app.extensions import db
from tests.api.support import World, call
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client
from vendors.models import MemberRole, ShopMember

TOKEN = re.compile(r'<code class="api-token">(mk_test_[A-Za-z0-9_-]{43})</code>')


def signed_in(app: Flask, email: str, secret: str | None = None) -> Client:
    app.test_client_class = Client
    client: Client = app.test_client()  # type: ignore[assignment]
    response = client.submit("/connexion", {"email": email, "password": PASSWORD})
    if secret is not None:
        response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return client


def test_the_owner_makes_a_key_seen_once_and_revokes_it(app: Flask, world: World) -> None:
    owner = signed_in(app, "owner@example.com")
    page = owner.get("/vendeur/fournil/outils")
    assert page.status_code == 200
    assert "Outils et API" in page.get_data(as_text=True)
    made = owner.submit(
        "/vendeur/fournil/outils",
        {"action": "create", "new-name": "Caisse du comptoir", "new-scopes": ["stock:write", "catalog:read"]},
    )
    assert made.status_code == 200
    found = TOKEN.search(made.get_data(as_text=True))
    assert found, "the token is shown on the answer to its creation"
    token = found.group(1)
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "Caisse du comptoir"))
    assert key is not None
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(db.session.execute(sa.select(ApiKey.__table__)).all()), "stored hashed only"
    assert sorted(key.scopes) == ["catalog:read", "stock:write"]
    assert key.prefix == token[:16]
    assert call(owner, "GET", "/shop", token).status_code == 200
    again = owner.get("/vendeur/fournil/outils").get_data(as_text=True)
    assert token not in again, "never shown again"
    assert key.prefix in again
    revoked = owner.submit("/vendeur/fournil/outils", {"action": "revoke", "revoke-key_id": str(key.id)})
    assert revoked.status_code == 302
    assert call(owner, "GET", "/shop", token).status_code == 401


def test_the_owner_cannot_give_a_town_scope_nor_revoke_another_shops_key(app: Flask, world: World) -> None:
    owner = signed_in(app, "owner@example.com")
    refused = owner.submit(
        "/vendeur/fournil/outils", {"action": "create", "new-name": "X", "new-scopes": ["town:read"]}
    )
    assert refused.status_code == 200
    assert not TOKEN.search(refused.get_data(as_text=True))
    owner.submit(
        "/vendeur/fournil/outils", {"action": "revoke", "revoke-key_id": str(world.key_ids["other"])}
    )
    assert call(owner, "GET", "/shop", world.keys["other"]).status_code == 200, "still valid"


def test_staff_may_not_open_the_page(app: Flask, world: World) -> None:
    staff = UserFactory(email="vendeuse@example.com")
    db.session.add(ShopMember(shop_id=world.shop_id, user_id=staff.id, role=MemberRole.STAFF))
    db.session.commit()
    assert signed_in(app, "vendeuse@example.com").get("/vendeur/fournil/outils").status_code == 403


def test_the_manager_makes_a_read_only_town_key(app: Flask, world: World) -> None:
    manager = db.session.scalar(sa.select(User).where(User.email == "gestion@example.com"))
    assert manager is not None
    console = signed_in(app, "gestion@example.com", str(manager.totp_secret))
    made = console.submit("/gestion/api", {"action": "create", "new-name": "Site de l’office de tourisme"})
    found = TOKEN.search(made.get_data(as_text=True))
    assert found
    token = found.group(1)
    assert call(console, "GET", "/town/shops", token).status_code == 200
    assert call(console, "GET", "/shop", token).status_code == 403
    assert (
        call(
            console, "POST", "/stock", token, {"lines": [{"sku": "PAIN-1", "delta": -1, "reason": "count"}]}
        ).status_code
        == 403
    )
