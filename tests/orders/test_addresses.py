"""The shopper's saved delivery addresses on ``/compte/commandes``: listed, each with its delete button (a
POST with its CSRF token), and only the shopper's own can be deleted."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.models import Address
from app.extensions import db
from tests.factories import UserFactory
from tests.orders.support import login
from tests.plugins.application import Client

HISTORY = "/compte/commandes"


def address(user_id: int, street: str) -> int:
    saved = Address(
        user_id=user_id,
        full_name="Camille Martin",
        street=street,
        postcode="37000",
        city="Bellerive-sur-Loire",
    )
    db.session.add(saved)
    db.session.commit()
    return saved.id


def delete_url(address_id: int) -> str:
    return f"/compte/adresses/{address_id}/supprimer"


def remaining() -> set[int]:
    return set(db.session.scalars(sa.select(Address.id).execution_options(populate_existing=True)))


@pytest.fixture
def people(client: Client) -> dict[str, int]:
    """Camille (signed in) with two saved addresses, and a neighbour with one."""
    camille = UserFactory(email="camille@example.com").id
    neighbour = UserFactory(email="voisin@example.com").id
    ids = {
        "home": address(camille, "15 rue de la Paix"),
        "work": address(camille, "2 place du Marché"),
        "neighbour": address(neighbour, "9 allée des Tilleuls"),
    }
    login(client, "camille@example.com")
    return ids


def test_the_saved_addresses_are_listed_each_with_its_delete_button(
    client: Client, people: dict[str, int]
) -> None:
    page = html.unescape(client.get(HISTORY).get_data(as_text=True))
    section = re.search(r'<section class="panel" id="adresses">(.*?)</section>', page, re.S)
    assert section is not None, "the addresses are on the page"
    listed = section.group(1)
    assert "15 rue de la Paix" in listed
    assert "2 place du Marché" in listed
    assert "9 allée des Tilleuls" not in page, "never another shopper's"
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', listed, re.S)
    assert {action for action, _ in forms} == {delete_url(people["home"]), delete_url(people["work"])}
    assert all('name="csrf_token"' in body and "Supprimer" in body for _, body in forms)


def test_deleting_an_address_removes_it_and_only_it(client: Client, people: dict[str, int]) -> None:
    response = client.submit(delete_url(people["home"]), {}, form_url=HISTORY)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{HISTORY}#adresses")
    assert remaining() == {people["work"], people["neighbour"]}
    page = html.unescape(client.get(HISTORY).get_data(as_text=True))
    assert "Adresse supprimée." in page
    assert "15 rue de la Paix" not in page
    assert "2 place du Marché" in page

    # The same click again finds nothing left to delete.
    assert client.submit(delete_url(people["home"]), {}, form_url=HISTORY).status_code == 404
    assert remaining() == {people["work"], people["neighbour"]}


def test_another_shoppers_address_is_not_found_and_kept(client: Client, people: dict[str, int]) -> None:
    assert client.submit(delete_url(people["neighbour"]), {}, form_url=HISTORY).status_code == 404
    assert client.submit(delete_url(999_999), {}, form_url=HISTORY).status_code == 404
    assert remaining() == set(people.values())


def test_deleting_needs_a_post_with_its_csrf_token_and_a_signed_in_shopper(
    app: Flask, client: Client, people: dict[str, int]
) -> None:
    assert client.get(delete_url(people["home"])).status_code == 405
    assert client.post(delete_url(people["home"]), data={}).status_code == 400
    assert client.post(delete_url(people["home"]), data={"csrf_token": "forged"}).status_code == 400
    assert remaining() == set(people.values())

    guest = app.test_client()
    response = guest.post(delete_url(people["home"]), data={})
    assert response.status_code in (302, 400)
    assert remaining() == set(people.values())
