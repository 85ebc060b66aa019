"""The copy of one's data (GDPR articles 15 and 20): built by a job, mailed as a link valid 7 days that
only its owner can use, holding everything about them and nothing about anyone else."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from flask import Flask

from app.accounts.models import ExportStatus, PersonalDataExport
from app.database import utcnow
from app.extensions import db
from tests.accounts.personal_data_support import Shopper, shopper
from tests.plugins.application import Client, Mailbox
from tests.reviews.support import login, logout


@pytest.fixture
def two_shoppers(app: Flask, db_session: object) -> tuple[Shopper, Shopper]:
    with app.test_request_context():
        return shopper("Aurelie"), shopper("Bertrand")


def _export_link(client: Client, mailbox: Mailbox, person: Shopper) -> str:
    login(client, person.email)
    response = client.submit("/compte/mes-donnees/export", {}, form_url="/compte/mes-donnees")
    assert response.status_code == 302
    message = mailbox.last_to(person.email)
    assert message.subject == "Vos données sont prêtes"
    return mailbox.link(message, "/compte/mes-donnees/export/")


def _archive(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


def test_the_export_holds_everything_about_the_person_and_nothing_about_another(
    client: Client, mailbox: Mailbox, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    me, other = two_shoppers
    link = _export_link(client, mailbox, me)
    response = client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    files = _archive(response.data)
    assert {"LISEZMOI.txt", "donnees.json", "csv/orders.csv", "csv/order_lines.csv"} <= set(files)

    data = json.loads(files["donnees.json"])
    assert data["account"][0]["email"] == me.email
    assert data["account"][0]["last_name"] == me.last_name
    assert [order["number"] for order in data["orders"]] == [me.order_number]
    assert data["orders"][0]["phone"] == me.phone
    assert {line["title"] for line in data["order_lines"]} == {"Pain Aurelie 0", "Pain Aurelie 1"}
    assert [address["street"] for address in data["addresses"]] == [me.street]
    assert [review["title"] for review in data["reviews"]] == [me.review_title]
    assert [saved["product"] for saved in data["saved_products"]] == [me.saved_product]
    assert [followed["shop"] for followed in data["followed_shops"]] == [me.followed_shop]
    assert data["preferences"][0]["weekly_email"] is True
    assert data["login_sessions"], "the session opened to download is the person's"
    assert "emails_sent" in data
    assert "password_hash" not in files["donnees.json"].decode()
    assert b"Pain Aurelie 0" in files["csv/order_lines.csv"]

    everything = b"\n".join(files.values()).decode()
    for foreign in [*other.identifying(), other.order_number, other.review_title, other.saved_product]:
        assert foreign not in everything, foreign


def test_a_second_request_while_one_is_being_built_is_the_same_request(
    app_ctx: Flask, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    from app.accounts import personal_data

    me = two_shoppers[0]
    first = personal_data.request_export(me.user())
    second = personal_data.request_export(me.user())
    assert first.id == second.id
    assert personal_data.build_export(first.id) is True
    assert personal_data.build_export(first.id) is False, "built once, however often the job runs"


def test_the_link_expires_after_seven_days(
    client: Client, mailbox: Mailbox, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    me = two_shoppers[0]
    link = _export_link(client, mailbox, me)
    with time_machine.travel(utcnow() + dt.timedelta(days=6, hours=23), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(utcnow() + dt.timedelta(days=7, hours=1), tick=False):
        expired = client.get(link)
    assert expired.status_code == 410
    assert "expiré" in expired.get_data(as_text=True)
    assert expired.mimetype == "text/html"


def test_another_signed_in_person_gets_a_404_and_nothing_else(
    client: Client, mailbox: Mailbox, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    me, other = two_shoppers
    link = _export_link(client, mailbox, me)
    logout(client)
    login(client, other.email)
    refused = client.get(link)
    assert refused.status_code == 404
    page = refused.get_data(as_text=True)
    assert me.email not in page
    assert me.last_name not in page
    assert client.get(link[:-3] + "abc").status_code == 404, "a forged link: the same answer"
    logout(client)
    assert client.get(link).status_code == 302, "signed out: to the log-in page first"


def test_the_archive_is_kept_privately(
    app: Flask, client: Client, mailbox: Mailbox, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    me = two_shoppers[0]
    _export_link(client, mailbox, me)
    export = db.session.query(PersonalDataExport).filter_by(user_id=me.user_id).one()
    assert export.status == ExportStatus.READY
    assert export.file_key
    assert export.file_key.startswith(f"personal-data/{me.user_id}/")
    assert client.get(f"/media/{export.file_key}").status_code == 404, "no public URL serves it"


def test_the_my_data_page_offers_export_and_erasure(
    client: Client, two_shoppers: tuple[Shopper, Shopper]
) -> None:
    login(client, two_shoppers[0].email)
    page = client.get("/compte/mes-donnees").get_data(as_text=True)
    assert "Demander mes données" in page
    assert "Supprimer définitivement mon compte" in page
    assert "/compte/mes-donnees" in client.get("/compte").get_data(as_text=True)


# -- the register of processing (article 30) -------------------------------------------------------


def test_the_manager_reads_and_downloads_the_register_built_from_its_data_file(
    client: Client, db_session: object
) -> None:
    from app.accounts import processing_register
    from tests.reviews.support import login_manager

    activities = json.loads(processing_register.REGISTER_FILE.read_text(encoding="utf-8"))["activities"]
    assert {"accounts", "orders", "invoices", "emails", "reviews"} <= {item["id"] for item in activities}
    for item in activities:
        assert set(processing_register.FIELDS) <= set(item), item["id"]

    login_manager(client)
    page = client.get("/gestion/registre-des-traitements")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for item in activities:
        assert item["name"]["fr"] in text
    assert "Stripe" in text
    assert "10 ans" in text

    markdown = client.get("/gestion/registre-des-traitements.md")
    assert markdown.mimetype == "text/markdown"
    body = markdown.get_data(as_text=True)
    assert body.count("\n## ") == len(activities) + 1  # each activity, then the security measures
    assert "Durée de conservation" in body

    document = client.get("/gestion/registre-des-traitements.pdf")
    assert document.mimetype == "application/pdf"
    assert document.data.startswith(b"%PDF")


def test_the_register_is_the_managers_only(client: Client, two_shoppers: tuple[Shopper, Shopper]) -> None:
    login(client, two_shoppers[0].email)
    for url in ("/gestion/registre-des-traitements", "/gestion/registre-des-traitements.pdf"):
        assert client.get(url).status_code == 404
