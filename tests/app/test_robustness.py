"""Odd input at the edge: ids beyond BIGINT, absurd page numbers, NUL bytes, amounts and dates out of
range, malformed pickup slots, mailbox ids and webhook events get a 404, a 400 or a form error, never
a 500 (tests/app/test_route_fuzz.py walks every route; these pin each case down)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import time
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

import config as settings
from app.accounts import services as accounts
from app.accounts.models import User
from app.cart import services as cart
from app.cart import slots
from app.cart.models import DeliveryMethod
from app.errors import ServiceError
from app.extensions import db
from app.forms import (
    MAX_AMOUNT_CENTS,
    MAX_INT,
    BoundedDateField,
    BoundedIntegerField,
    MoneyField,
    coerce_id,
)
from app.routing import MAX_ID, MAX_PAGE, parse_id, parse_page
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client

OVER = [str(2**63), str(2**64), "9" * 40]


def login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


# -- ids in paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*OVER, "0", "9" * 5000, "١٢"])
def test_an_id_beyond_the_database_range_is_a_404(client: Client, value: str) -> None:
    assert client.get(f"/produits/{value}").status_code == 404
    assert client.post(f"/avis/{value}/signaler").status_code in {400, 404}


def test_the_largest_bigint_is_still_an_id(app: Flask, client: Client) -> None:
    adapter = app.url_map.bind("localhost")
    assert adapter.match(f"/produits/{MAX_ID}") == ("catalog.product", {"product_id": MAX_ID})
    assert client.get(f"/produits/{MAX_ID}").status_code == 404  # no such product, asked of the database


def test_the_back_office_answers_404_for_ids_beyond_bigint(client: Client) -> None:
    owner_of(ShopFactory(slug="shop-a"), email="owner@example.com")
    login(client, "owner@example.com")
    for path in ("produits/{}", "commandes/{}", "produits/import/{}", "finances/factures/{}.pdf"):
        assert client.get("/vendeur/shop-a/" + path.format(2**64)).status_code == 404, path


# -- query arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*OVER, "-1", "0", "abc", "1" + "0" * 5000])
def test_page_numbers_and_filters_out_of_range_are_ignored_or_clamped(client: Client, value: str) -> None:
    product = ProductFactory(shop=ShopFactory(slug="shop-a"))
    owner_of(product.shop, email="owner@example.com")
    product_id, category = product.id, product.category.slug
    assert client.get(f"/boutiques/shop-a?page={value}").status_code == 200
    assert client.get(f"/produits/{product_id}?avis={value}&variante={value}").status_code == 200
    assert client.get(f"/categories/{category}?page={value}").status_code == 200
    assert client.get(f"/recherche?page={value}&prix_min={value}").status_code == 200
    login(client, "owner@example.com")
    listing = client.get(f"/vendeur/shop-a/produits?page={value}&categorie={value}")
    assert listing.status_code == 200
    assert client.get(f"/vendeur/shop-a/avis?page={value}").status_code == 200


def test_parse_page_clamps_like_the_search_page_and_parse_id_refuses() -> None:
    assert [parse_page(raw) for raw in ("3", "0", "-7", str(2**64), "-" + "9" * 30)] == [3, 1, 1, MAX_PAGE, 1]
    with pytest.raises(ValueError, match="invalid literal"):
        parse_page("deux")
    assert parse_id(str(MAX_ID)) == MAX_ID
    for raw in (str(MAX_ID + 1), "0", "-1", "1.5", "9" * 5000):
        with pytest.raises(ValueError):  # noqa: PT011 - int()'s message or ours, the caller only catches
            parse_id(raw)


def test_a_bulk_action_skips_ids_beyond_bigint(client: Client) -> None:
    owner_of(ShopFactory(slug="shop-a"), email="owner@example.com")
    login(client, "owner@example.com")
    response = client.submit(
        "/vendeur/shop-a/produits/lot",
        {"product_ids": [str(2**63), "9" * 40], "action": "archived"},
        form_url="/vendeur/shop-a/produits",
    )
    assert response.status_code == 302


def test_adding_a_variant_id_beyond_bigint_to_the_cart_says_so(client: Client) -> None:
    response = client.submit(
        "/panier/ajouter", {"variant_id": str(2**64), "quantity": "1"}, form_url="/connexion"
    )
    assert response.status_code == 302
    assert "Choisissez un article." in client.get("/panier").get_data(as_text=True)


# -- NUL bytes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/boutiques/%00", "/categories/%00", "/recherche?q=%00", "/boutiques?categorie=a%00"]
)
def test_a_nul_byte_in_a_path_or_query_is_a_400_that_says_why(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_form_a_file_name_or_json_is_a_400(client: Client) -> None:
    token = client.csrf_token("/connexion")
    form = client.post(
        "/connexion", data={"csrf_token": token, "email": "a\x00@example.com", "password": "x"}
    )
    assert form.status_code == 400
    upload = client.post("/connexion", data={"csrf_token": token, "photo": (io.BytesIO(b"x"), "a\x00.jpg")})
    assert upload.status_code == 400
    body = client.post("/webhooks/stripe", json={"id": "evt_\u0000"}, headers={"Accept": "application/json"})
    assert body.status_code == 400
    assert body.get_json()["error"]["message"].startswith("La demande contient un caractère nul")


# -- form fields ----------------------------------------------------------------------------------


class Fields(FlaskForm):
    class Meta:
        csrf = False

    price = MoneyField()
    stock = BoundedIntegerField(minimum=0)
    day = BoundedDateField()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "1000000,01", "Le montant ne peut pas dépasser"),
        ("price", "9" * 60, "Le montant ne peut pas dépasser"),
        ("stock", str(MAX_INT + 1), "Ce nombre est trop grand."),
        ("stock", str(2**64), "Ce nombre est trop grand."),
        ("stock", "-1", "Ce nombre est trop petit."),
        ("stock", "9" * 5000, "entier valide"),  # int() refuses 5000 digits; WTForms says so
        ("day", "0001-01-01", "Choisissez une date entre le"),
        ("day", "9999-12-31", "Choisissez une date entre le"),
    ],
)
def test_shared_fields_refuse_what_no_column_holds(
    app_ctx: Flask, field: str, value: str, message: str
) -> None:
    form = Fields(MultiDict({field: value}))
    assert not form.validate()
    assert any(message in str(error) for error in form.errors[field]), form.errors


def test_shared_fields_keep_sane_values(app_ctx: Flask) -> None:
    form = Fields(MultiDict({"price": "1000000", "stock": str(MAX_INT), "day": "2026-03-01"}))
    assert form.validate(), form.errors
    assert (form.price.data, form.stock.data, form.day.data) == (
        MAX_AMOUNT_CENTS,
        MAX_INT,
        dt.date(2026, 3, 1),
    )


def test_coerce_id_refuses_what_no_id_column_holds() -> None:
    assert coerce_id("12") == 12
    assert coerce_id(0) == 0
    for raw in (str(2**63), "-1", "x"):
        with pytest.raises(ValueError):  # noqa: PT011
            coerce_id(raw)


def test_a_product_priced_beyond_a_million_or_stocked_beyond_integer_is_a_form_error(client: Client) -> None:
    category_id = CategoryFactory().id
    owner_of(ShopFactory(slug="shop-a"), email="owner@example.com")
    login(client, "owner@example.com")
    data = {
        "title": "Vase",
        "category_id": str(category_id),
        "vat_bps": "2000",
        "status": "draft",
        "variants-0-sku": "V-1",
        "variants-0-price": "9" * 30,
        "variants-0-stock": str(2**63),
    }
    response = client.submit("/vendeur/shop-a/produits/nouveau", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Le montant ne peut pas dépasser" in page
    assert "Ce nombre est trop grand." in page


# -- pickup slots, statements, the dev mailbox, webhooks ------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-03-01T10:00:00", "demain"]
)
def test_a_slot_that_is_no_instant_is_refused_with_the_cart_message(app_ctx: Flask, raw: str) -> None:
    assert slots.parse_start(raw) is None
    shop = ShopFactory(click_collect=True, local_delivery=False)
    product = ProductFactory(shop=shop)
    shopper_cart = cart.open_cart(UserFactory(), None)
    cart.add(shopper_cart, product.variants[0].id, 1)
    with pytest.raises(ServiceError, match="créneaux de retrait"):
        cart.choose_delivery(shopper_cart, shop.id, DeliveryMethod.CLICK_COLLECT, pickup_slot=raw)


def test_a_slot_start_in_any_offset_is_read_in_utc() -> None:
    assert slots.parse_start("2026-03-01T10:00:00+01:00") == dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-02"), ("2026-01-01", "9999-12-31")])
def test_a_statement_period_beyond_the_calendar_is_a_form_error(client: Client, start: str, end: str) -> None:
    owner_of(ShopFactory(slug="shop-a"), email="owner@example.com")
    login(client, "owner@example.com")
    response = client.get(f"/vendeur/shop-a/finances/releve?start={start}&end={end}")
    assert response.status_code == 302
    assert "Choisissez une date entre le" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("message_id", ["🙂" * 120, "a" * 300, "..", "a.b"])  # the first two: OSError
def test_a_mailbox_id_that_no_message_has_is_a_404(client: Client, message_id: str) -> None:
    assert client.get(f"/dev/mailbox/{message_id}").status_code == 404


def _signed(client: Client, event: dict[str, Any]) -> Any:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(
        settings.EMULATOR_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("event", "missing"),
    [
        ({"id": "evt_1", "type": "account.updated", "data": {"object": {}}}, "created"),
        ({"id": "evt_2", "type": "account.updated", "created": 1_700_000_000}, "data.object"),
        ({"id": "evt_3", "type": "account.updated", "created": 10**20, "data": {"object": {}}}, "created"),
        ({"type": "account.updated", "created": 1_700_000_000, "data": {"object": {}}}, "id"),
    ],
)
def test_a_signed_event_without_its_fields_is_a_400_that_names_them(
    client: Client, event: dict[str, Any], missing: str
) -> None:
    response = _signed(client, {"object": "event", **event})
    assert response.status_code == 400
    assert missing in response.get_json()["error"]


def test_a_complete_signed_event_is_still_applied(client: Client) -> None:
    event = {
        "id": "evt_ok",
        "object": "event",
        "type": "ping",
        "created": 1_700_000_000,
        "data": {"object": {}},
    }
    response = _signed(client, event)
    assert response.status_code == 200
    assert response.get_json()["applied"] is True


@pytest.mark.parametrize("payload", [b"[]", b'"event"', b"12"])
def test_a_signed_body_that_is_no_json_object_is_a_400(client: Client, payload: bytes) -> None:
    timestamp = int(time.time())
    digest = hmac.new(
        settings.EMULATOR_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    response = client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not a JSON object" in response.get_json()["error"]


# -- codes typed --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６", "é😀"])
def test_a_two_factor_code_of_other_digits_is_a_wrong_code(app_ctx: Flask, code: str) -> None:
    """``hmac.compare_digest`` takes ASCII text only: "١٢٣٤٥٦" passed ``isdigit()`` and failed there."""
    user = UserFactory()
    with pytest.raises(ServiceError, match="Code incorrect"):
        accounts.enable_two_factor(user, pyotp.random_base32(), code)


def test_a_row_deleted_by_another_request_meanwhile_is_a_404(app: Flask, app_ctx: Flask) -> None:
    """Read again after a commit, a row another request deleted meanwhile raises ObjectDeletedError:
    the page it pointed at is gone (404), not a server error."""
    from sqlalchemy.orm.exc import ObjectDeletedError

    user = db.session.get(User, UserFactory().id)
    assert user is not None
    gone = sa.delete(User).where(User.id == user.id).execution_options(synchronize_session=False)
    db.session.execute(gone)  # as another request would have: this session is not told
    db.session.expire(user)
    with pytest.raises(ObjectDeletedError) as raised:
        _ = user.email
    with app.test_request_context("/vendeur/la-cave/commandes/1/accepter", method="POST"):
        response = app.make_response(app.handle_user_exception(raised.value))
    assert response.status_code == 404
