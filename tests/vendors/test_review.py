"""The town manager reviews shops: approve, reject, suspend, reinstate; logged and mailed."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from tests.factories import PASSWORD, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client, Mailbox
from vendors.models import Shop, ShopStatus


def login_manager(client: Client) -> None:
    secret = UserFactory(email="gestion@example.com", manager=True, two_factor=True).totp_secret
    client.submit("/connexion", {"email": "gestion@example.com", "password": PASSWORD})
    response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302


def _status(shop_id: int) -> tuple[ShopStatus, str | None]:
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    db.session.refresh(shop)
    return shop.status, shop.status_reason


def _decide(client: Client, shop_id: int, action: str, reason: str = ""):  # type: ignore[no-untyped-def]
    return client.submit(
        f"/gestion/boutiques/{shop_id}/{action}", {"reason": reason}, form_url=f"/gestion/boutiques/{shop_id}"
    )


def test_the_queue_lists_submitted_shops_with_their_details(client: Client) -> None:
    member = owner_of(ShopFactory(submitted=True, name="Fleurs de Loire"))
    shop_id = member.shop_id
    ShopFactory(name="Déjà ouverte")
    login_manager(client)
    queue = client.get("/gestion/boutiques/a-valider").get_data(as_text=True)
    assert "Fleurs de Loire" in queue
    assert "Déjà ouverte" not in queue
    page = client.get(f"/gestion/boutiques/{shop_id}").get_data(as_text=True)
    for detail in (
        "FLEURS DE LOIRE SARL",
        "97228186620119",
        "FR29972281866",
        "15 rue de la Paix",
        "Approuver",
        "Refuser",
    ):
        assert detail in page


def test_approval_opens_the_storefront_logs_and_tells_the_shop(client: Client, mailbox: Mailbox) -> None:
    member = owner_of(ShopFactory(submitted=True, slug="fleurs-de-loire"), email="owner@example.com")
    shop_id = member.shop_id
    assert client.get("/boutiques/fleurs-de-loire").status_code == 404
    login_manager(client)
    response = _decide(client, shop_id, "approuver")
    assert response.status_code == 302
    assert _status(shop_id) == (ShopStatus.APPROVED, None)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "approved"))
    assert event is not None
    assert event.actor is not None
    assert event.actor.email == "gestion@example.com"
    assert event.details == {"from_status": "submitted", "to_status": "approved"}
    message = mailbox.last_to("owner@example.com")
    assert message.subject == "Votre boutique est ouverte sur la place de marché"
    assert "/boutiques/fleurs-de-loire" in message.text
    client.submit("/deconnexion", {}, form_url="/gestion/")
    assert client.get("/boutiques/fleurs-de-loire").status_code == 200


def test_rejection_needs_a_reason_which_reaches_the_shop(client: Client, mailbox: Mailbox) -> None:
    member = owner_of(ShopFactory(submitted=True), email="owner@example.com")
    shop_id = member.shop_id
    login_manager(client)
    response = _decide(client, shop_id, "refuser")
    assert "Indiquez la raison" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(shop_id)[0] == ShopStatus.SUBMITTED
    _decide(client, shop_id, "refuser", "Le SIRET ne correspond pas à l’enseigne.")
    assert _status(shop_id) == (ShopStatus.REJECTED, "Le SIRET ne correspond pas à l’enseigne.")
    message = mailbox.last_to("owner@example.com")
    assert "Le SIRET ne correspond pas à l’enseigne." in message.text


def test_a_rejected_shop_can_be_corrected_and_sent_again(client: Client) -> None:
    member = owner_of(
        ShopFactory(status=ShopStatus.REJECTED, status_reason="Photo floue"), email="o@example.com"
    )
    slug = member.shop.slug
    client.submit("/connexion", {"email": "o@example.com", "password": PASSWORD})
    assert "Photo floue" in client.get(f"/vendeur/{slug}/").get_data(as_text=True)
    response = client.submit(f"/vendeur/{slug}/envoyer", {"accept_terms": "y"})
    assert response.status_code == 302
    assert _status(member.shop_id)[0] == ShopStatus.SUBMITTED


def test_suspension_hides_the_shop_and_reinstatement_brings_it_back(client: Client, mailbox: Mailbox) -> None:
    member = owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
    shop_id = member.shop_id
    login_manager(client)
    _decide(client, shop_id, "suspendre", "Réclamations clients en cours d’examen.")
    assert _status(shop_id)[0] == ShopStatus.SUSPENDED
    assert mailbox.last_to("owner@example.com").subject == "Votre boutique est suspendue"
    client.submit("/deconnexion", {}, form_url="/gestion/")
    assert client.get("/boutiques/la-cave").status_code == 404
    assert "la-cave" not in client.get("/boutiques").get_data(as_text=True)


def test_impossible_transitions_are_refused(client: Client) -> None:
    shop_id = owner_of(ShopFactory(draft=True)).shop_id
    login_manager(client)
    response = _decide(client, shop_id, "approuver")
    assert "n’est pas possible" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(shop_id)[0] == ShopStatus.DRAFT
    assert client.post(f"/gestion/boutiques/{shop_id}/supprimer").status_code in {400, 404}


def test_only_managers_reach_the_console(client: Client) -> None:
    shop_id = owner_of(ShopFactory(submitted=True), email="owner@example.com").shop_id
    client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD})
    for path in (
        "/gestion/",
        "/gestion/boutiques",
        "/gestion/boutiques/a-valider",
        f"/gestion/boutiques/{shop_id}",
        "/gestion/points-relais",
    ):
        assert client.get(path).status_code == 404, path
    assert _decide(client, shop_id, "approuver").status_code == 404
    assert _status(shop_id)[0] == ShopStatus.SUBMITTED


def test_the_manager_filters_the_shop_list(client: Client) -> None:
    ShopFactory(name="Boulangerie Martin", legal_name="MARTIN SAS")
    ShopFactory(name="Cave Dupont", status=ShopStatus.SUSPENDED)
    login_manager(client)
    by_text = client.get("/gestion/boutiques?q=martin").get_data(as_text=True)
    assert "Boulangerie Martin" in by_text
    assert "Cave Dupont" not in by_text
    by_status = client.get("/gestion/boutiques?statut=suspended").get_data(as_text=True)
    assert "Cave Dupont" in by_status
    assert "Boulangerie Martin" not in by_status


def test_relay_points_are_kept_by_the_manager(client: Client) -> None:
    from tests.factories import RelayPointFactory

    point = RelayPointFactory(name="Tabac du Port")
    point_id = point.id
    shop = ShopFactory(relay=True, relay_points=[point])
    shop_id = shop.id
    login_manager(client)
    created = client.submit(
        "/gestion/points-relais",
        {
            "name": "Bar des Halles",
            "street": "2 rue des Halles",
            "postcode": "37000",
            "city": "Bellerive-sur-Loire",
        },
    )
    assert created.status_code == 302
    page = client.get("/gestion/points-relais").get_data(as_text=True)
    assert "Bar des Halles" in page
    assert "Tabac du Port" in page
    client.submit(f"/gestion/points-relais/{point_id}/archiver", {}, form_url="/gestion/points-relais")
    refreshed = db.session.get(Shop, shop_id)
    assert refreshed is not None
    db.session.refresh(refreshed)
    assert refreshed.relay_points == [], "shops no longer offer a retired point"
    assert refreshed.relay is False
    bad = client.submit("/gestion/points-relais", {"name": "", "street": "", "postcode": "ABC", "city": ""})
    assert "Ce code postal n’est pas valide." in bad.get_data(as_text=True)
