"""The shop's orders in its back office: the badge, the buttons, the documents, and nobody else's orders."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.orders.models import Order, VendorOrderStatus
from tests.orders.support import Town, checkout, fill_cart, login, make_town, only_order, part_of, pay
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def paid(client: Client, app_ctx: Flask, stripe_api: StripeEmulator) -> tuple[Town, Order]:
    town = make_town()
    fill_cart(town, (town.bread, 2), (town.novel, 1))
    login(client, "camille@example.com")
    checkout(client)
    pay(client, only_order(town.shopper_id).number)
    client.post("/deconnexion", data={"csrf_token": client.csrf_token("/")})
    return town, only_order(town.shopper_id)


def test_the_shop_sees_its_new_order_with_a_badge_and_accepts_it(
    client: Client, paid: tuple[Town, Order], mailbox: Mailbox
) -> None:
    town, order = paid
    part_id = part_of(order, town.baker_id).id
    login(client, town.baker_owner_email)
    page = client.get("/vendeur/le-fournil/commandes").get_data(as_text=True)
    assert order.number in page
    assert 'data-testid="orders-badge"' in page
    detail = f"/vendeur/le-fournil/commandes/{part_id}"
    assert "La Loire à vélo" not in client.get(detail).get_data(as_text=True), "only its own part"
    response = client.submit(f"{detail}/accepter", {}, form_url=detail)
    assert response.headers["Location"] == detail
    assert part_of(only_order(town.shopper_id), town.baker_id).status == VendorOrderStatus.ACCEPTED
    assert 'data-testid="orders-badge"' not in client.get(detail).get_data(as_text=True)
    slip = client.get(f"{detail}/bon-de-preparation.pdf")
    invoice = client.get(f"{detail}/facture.pdf")
    assert (slip.mimetype, invoice.mimetype) == ("application/pdf", "application/pdf")
    assert slip.data.startswith(b"%PDF")
    assert invoice.data.startswith(b"%PDF")


def test_a_shop_cannot_reach_another_shops_order(client: Client, paid: tuple[Town, Order]) -> None:
    town, order = paid
    books_part = part_of(order, town.books_id).id
    login(client, town.baker_owner_email)
    assert client.get(f"/vendeur/le-fournil/commandes/{books_part}").status_code == 404
    assert client.get(f"/vendeur/librairie-du-pont/commandes/{books_part}").status_code == 404
    token = client.csrf_token("/vendeur/le-fournil/commandes")
    assert (
        client.post(
            f"/vendeur/le-fournil/commandes/{books_part}/accepter", data={"csrf_token": token}
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert part_of(only_order(town.shopper_id), town.books_id).status == VendorOrderStatus.PAID


def test_a_refused_step_is_said_and_changes_nothing(client: Client, paid: tuple[Town, Order]) -> None:
    town, order = paid
    part_id = part_of(order, town.books_id).id
    login(client, town.books_owner_email)
    detail = f"/vendeur/librairie-du-pont/commandes/{part_id}"
    client.submit(f"{detail}/accepter", {}, form_url=detail)
    response = client.submit(
        f"{detail}/expedier", {"carrier": "La Poste", "tracking_number": ""}, form_url=detail
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Indiquez le numéro de suivi du colis." in page
    assert part_of(only_order(town.shopper_id), town.books_id).status == VendorOrderStatus.ACCEPTED
    refuse = client.submit(f"{detail}/refuser", {"reason": "trop tard"}, form_url=detail)
    assert "Impossible" in client.get(refuse.headers["Location"]).get_data(as_text=True)


def test_the_shopper_follows_the_order_and_gets_the_invoice(client: Client, paid: tuple[Town, Order]) -> None:
    town, order = paid
    part_id = part_of(order, town.books_id).id
    login(client, town.books_owner_email)
    detail = f"/vendeur/librairie-du-pont/commandes/{part_id}"
    client.submit(f"{detail}/accepter", {}, form_url=detail)
    client.submit(f"{detail}/expedier", {"carrier": "La Poste", "tracking_number": "6A999"}, form_url=detail)
    client.post("/deconnexion", data={"csrf_token": client.csrf_token("/")})
    login(client, "camille@example.com")
    history = client.get("/compte/commandes").get_data(as_text=True)
    assert order.number in history
    assert "expédiée" in history
    assert "6A999" in history
    page = client.get(f"/commandes/{order.number}").get_data(as_text=True)
    assert "Facture F-" in page
    invoice = client.get(f"/commandes/{order.number}/boutique/{part_id}/facture.pdf")
    assert invoice.mimetype == "application/pdf"
    other = part_of(order, town.baker_id).id
    assert client.get(f"/commandes/{order.number}/boutique/{other}/facture.pdf").status_code == 404, (
        "not invoiced yet"
    )
