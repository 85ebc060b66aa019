"""Stripe Connect Express for shops, through the official library and the local emulator over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.parse
from typing import Any

import sqlalchemy as sa

import config as settings
from app.audit.models import AuditEvent
from app.extensions import db
from payouts.models import StripeEvent
from tests.devtools.support import http
from tests.factories import PASSWORD, ShopFactory, owner_of
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.models import Shop


def _owner_logged_in(client: Client, slug: str = "la-cave") -> int:
    shop_id = owner_of(ShopFactory(slug=slug, name="La Cave"), email="owner@example.com").shop_id
    assert (
        client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD}).status_code == 302
    )
    return shop_id


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    db.session.refresh(shop)
    return shop


def _start_onboarding(client: Client, slug: str = "la-cave") -> str:
    response = client.submit(
        f"/vendeur/{slug}/paiements/inscription", {}, form_url=f"/vendeur/{slug}/paiements"
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response.headers["Location"]


def _complete_on_stripe(link: str) -> str:
    """What the owner does on Stripe's hosted page; returns where Stripe sends them back."""
    page = http("GET", link)
    assert page.status == 200
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert session is not None
    answer = http("POST", link, form={"session": session.group(1), "action": "complete"})
    assert answer.status == 303
    return str(answer.headers["Location"])


def _deliver(client: Client, payload: bytes, signature: str) -> Any:
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def _sign(payload: bytes, secret: str = settings.EMULATOR_WEBHOOK_SECRET) -> str:
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_onboarding_creates_one_express_account_and_links_to_stripe(
    client: Client, stripe_api: StripeEmulator
) -> None:
    shop_id = _owner_logged_in(client)
    link = _start_onboarding(client)
    assert link.startswith(f"{stripe_api.url}/connect/onboarding/")
    shop = _shop(shop_id)
    account_id = shop.stripe_account_id
    assert account_id is not None
    assert account_id.startswith("acct_")
    assert shop.stripe_payouts_enabled is False
    assert "external_account" in shop.stripe_requirements

    again = _start_onboarding(client)
    assert again != link, "a fresh link each time: they expire within minutes"
    assert _shop(shop_id).stripe_account_id == account_id, "never a second account"

    page = client.get("/vendeur/la-cave/paiements").get_data(as_text=True)
    assert 'data-testid="stripe-requirements"' in page
    assert "Compléter mon inscription Stripe" in page


def test_back_from_stripe_the_shop_sees_its_payouts_enabled(
    client: Client, stripe_api: StripeEmulator
) -> None:
    shop_id = _owner_logged_in(client)
    back = _complete_on_stripe(_start_onboarding(client))
    path = urllib.parse.urlsplit(back).path
    assert path == "/vendeur/la-cave/paiements/retour"
    response = client.get(path, follow_redirects=True)
    assert "Votre compte de paiement est prêt" in response.get_data(as_text=True)
    shop = _shop(shop_id)
    assert (shop.stripe_details_submitted, shop.stripe_charges_enabled, shop.stripe_payouts_enabled) == (
        True,
        True,
        True,
    )
    assert shop.stripe_requirements == []

    dashboard = client.submit(
        "/vendeur/la-cave/paiements/tableau-de-bord", {}, form_url="/vendeur/la-cave/paiements"
    )
    assert dashboard.status_code == 303
    assert dashboard.headers["Location"] == f"{stripe_api.url}/connect/express/{shop.stripe_account_id}"


def test_the_express_dashboard_needs_a_finished_onboarding(
    client: Client, stripe_api: StripeEmulator
) -> None:
    _owner_logged_in(client)
    _start_onboarding(client)
    response = client.submit(
        "/vendeur/la-cave/paiements/tableau-de-bord",
        {},
        form_url="/vendeur/la-cave/paiements",
        follow_redirects=True,
    )
    assert "Terminez d’abord l’inscription auprès de Stripe." in response.get_data(as_text=True)


def test_account_updated_webhooks_keep_the_shop_in_sync_once_each(
    client: Client, stripe_api: StripeEmulator
) -> None:
    shop_id = _owner_logged_in(client)
    _complete_on_stripe(_start_onboarding(client))
    account_id = _shop(shop_id).stripe_account_id
    enabled = stripe_api.webhooks.wait_for(
        lambda e: e["type"] == "account.updated" and e["account"] == account_id
    )
    response = _deliver(client, enabled.payload, enabled.headers["Stripe-Signature"])
    assert response.get_json() == {"received": True, "applied": True}
    assert _shop(shop_id).stripe_payouts_enabled is True

    # Stripe asks for more: payouts stop until the shop answers.
    stripe_api.control(
        "POST", f"accounts/{account_id}/requirements", {"currently_due": ["individual.verification.document"]}
    )
    disabled = stripe_api.webhooks.wait_for(
        lambda e: (
            e["type"] == "account.updated"
            and e["account"] == account_id
            and e["data"]["object"]["payouts_enabled"] is False
        )
    )
    assert (
        _deliver(client, disabled.payload, disabled.headers["Stripe-Signature"]).get_json()["applied"] is True
    )
    shop = _shop(shop_id)
    assert shop.stripe_payouts_enabled is False
    assert shop.stripe_requirements == ["individual.verification.document"]
    page = client.get("/vendeur/la-cave/").get_data(as_text=True)
    assert "Stripe attend encore 1 information." in page

    # The same event again is recognised and changes nothing.
    replay = _deliver(client, disabled.payload, disabled.headers["Stripe-Signature"])
    assert replay.get_json() == {"received": True, "applied": False}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 2
    actions = list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject_id == shop_id)))
    assert "payouts_disabled" in actions


def test_an_older_event_arriving_late_changes_nothing(client: Client, stripe_api: StripeEmulator) -> None:
    shop_id = _owner_logged_in(client)
    _complete_on_stripe(_start_onboarding(client))
    client.get("/vendeur/la-cave/paiements/retour")
    account_id = _shop(shop_id).stripe_account_id
    stale: dict[str, Any] = {
        "id": "evt_stale_1",
        "object": "event",
        "type": "account.updated",
        "created": int(time.time()) - 3600,
        "account": account_id,
        "data": {
            "object": {
                "id": account_id,
                "object": "account",
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "requirements": {
                    "currently_due": ["external_account"],
                    "past_due": [],
                    "disabled_reason": "requirements.past_due",
                },
            }
        },
    }
    payload = json.dumps(stale).encode()
    assert _deliver(client, payload, _sign(payload)).get_json()["applied"] is True
    assert _shop(shop_id).stripe_payouts_enabled is True, "the newer state stands"


def test_a_webhook_with_a_bad_signature_is_refused(client: Client) -> None:
    payload = json.dumps(
        {"id": "evt_forged", "type": "account.updated", "created": 0, "data": {"object": {}}}
    )
    forged = _deliver(client, payload.encode(), _sign(payload.encode(), secret="whsec_not_ours"))
    assert forged.status_code == 400
    assert _deliver(client, payload.encode(), "").status_code == 400
    assert db.session.get(StripeEvent, "evt_forged") is None


def test_stripe_down_gives_a_clear_message_and_saves_nothing(client: Client) -> None:
    shop_id = _owner_logged_in(client)  # the test app points Stripe at a closed port
    response = client.submit(
        "/vendeur/la-cave/paiements/inscription",
        {},
        form_url="/vendeur/la-cave/paiements",
        follow_redirects=True,
    )
    assert "Stripe ne répond pas pour le moment" in response.get_data(as_text=True)
    assert _shop(shop_id).stripe_account_id is None
