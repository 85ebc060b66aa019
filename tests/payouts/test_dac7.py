"""DAC7: each seller's figures per quarter from the ledger, the de-minimis rule, the declaration built
and validated with the ``dac7`` package, reminders then withheld payouts, and each seller's statement."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
import time_machine
import xmlschema
from dac7.core import DAC7_SCHEMA
from flask import Flask

from app.extensions import db
from app.orders.models import Refund, RefundReason, RefundStatus, VendorOrder
from payouts import dac7, ledger, tasks
from payouts import services as payouts
from payouts.models import ShopTransfer, TransferStatus
from tests.catalog.test_categories import login_manager
from tests.factories import ShopFactory, owner_of
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.orders.test_documents import vendor_order
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, deliver
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator
from vendors import services as vendor_services
from vendors.hours import TOWN_TZ
from vendors.models import SellerKind, Shop, ShopMember

YEAR = 2025
SIREN = "732829320"  # a valid SIREN (Luhn)
NIF = "3023217600053"  # a valid French numéro fiscal


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment on the town's calendar."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOWN_TZ)


def sale(shop: Shop, when: dt.datetime, total_cents: int, commission_cents: int = 0) -> VendorOrder:
    """A shop's part paid at ``when``, written to the ledger as a payment writes it."""
    part = vendor_order(
        shop,
        (("Article", "", "ART-1", total_cents, 1, 2000),),
        commission_cents=commission_cents,
        commission_vat_cents=commission_cents // 5,
    )
    with time_machine.travel(when, tick=False):
        payouts.record_payment(part.order)
    return part


def refund(part: VendorOrder, when: dt.datetime, amount_cents: int) -> Refund:
    made = Refund(
        vendor_order=part,
        amount_cents=amount_cents,
        reason=RefundReason.PARTIAL,
        status=RefundStatus.SUCCEEDED,
        key=f"test-{uuid.uuid4().hex}",
    )
    db.session.add(made)
    db.session.flush()
    with time_machine.travel(when, tick=False):
        payouts.record_refund(made)
    part.refunded_cents += amount_cents
    return made


def company(shop: Shop) -> Shop:
    shop.seller_kind, shop.tax_number = SellerKind.COMPANY, SIREN
    shop.payout_account_masked = "FR •••• 2606"
    return shop


def person(shop: Shop) -> Shop:
    shop.seller_kind, shop.tax_number = SellerKind.INDIVIDUAL, NIF
    shop.seller_first_name, shop.seller_last_name = "Lucie", "Moreau"
    shop.seller_birth_date = dt.date(1984, 5, 2)
    shop.seller_birth_city, shop.seller_birth_country = "Tours", "FR"
    return shop


# -- figures --------------------------------------------------------------------------------------


def test_the_quarters_of_a_small_year_are_exact(app_ctx: Flask) -> None:
    shop = company(ShopFactory(name="Atelier Lumière"))
    sale(shop, at(2025, 2, 10), 250_000, commission_cents=25_000)  # Q1
    second = sale(shop, at(2025, 5, 10), 5_000, commission_cents=500)  # Q2
    given_back = refund(second, at(2025, 8, 1), 2_000)  # refunded in Q3, counted with its sale
    cancelled = sale(shop, at(2025, 3, 3), 4_000, commission_cents=400)  # Q1, refunded in full
    refund(cancelled, at(2025, 3, 4), 4_000)
    sale(shop, at(2025, 12, 31, 23, 30), 3_000, commission_cents=300)  # Q4, on the town's calendar
    sale(shop, at(2026, 1, 1, 0, 30), 9_999, commission_cents=999)  # next year
    other = ShopFactory()
    sale(other, at(2025, 2, 11), 7_000)  # another seller's sale is not ours

    figures = dac7.seller_year(shop, YEAR)
    quarters = [(q.sales, q.consideration_cents, q.fees_cents, q.taxes_cents) for q in figures.quarters]
    assert quarters == [
        (1, 250_000, 25_000, 5_000),
        (
            1,
            3_000,
            500 - given_back.commission_cents,
            100 - given_back.commission_vat_cents,
        ),
        (0, 0, 0, 0),
        (1, 3_000, 300, 60),
    ]
    assert (given_back.commission_cents, given_back.commission_vat_cents) == (200, 40)
    assert (figures.sales, figures.consideration_cents) == (3, 256_000)
    assert figures.reportable
    assert [seller.shop.id for seller in dac7.year_figures(YEAR)] == sorted(
        [shop.id, other.id], key=lambda shop_id: db.session.get(Shop, shop_id).name.lower()
    )


def test_sellers_under_both_thresholds_are_not_reported(app_ctx: Flask) -> None:
    small = company(ShopFactory(name="Petit"))
    for month in (1, 4):
        sale(small, at(2025, month, 5), 99_950)  # 1 999 € in two sales
    many = person(ShopFactory(name="Beaucoup"))
    for day in range(1, 31):
        sale(many, at(2025, 6, day), 1_000)  # 30 sales of 10 €
    big = company(ShopFactory(name="Gros"))
    sale(big, at(2025, 9, 9), 200_000)  # one sale of 2 000 €
    by_name = {seller.shop.name: seller for seller in dac7.year_figures(YEAR)}
    assert by_name["Petit"].below_threshold
    assert not by_name["Petit"].reportable
    assert by_name["Beaucoup"].reportable
    assert by_name["Beaucoup"].sales == 30
    assert by_name["Gros"].reportable

    built = dac7.build_declaration(YEAR, by_name.values())
    assert {seller.shop.name for seller in built.reported} == {"Beaucoup", "Gros"}
    assert "Petit" not in built.xml


def test_the_declaration_of_a_year_validates_against_the_dgfip_schema(app_ctx: Flask) -> None:
    shop = company(ShopFactory(name="Le Fournil", legal_name="LE FOURNIL SARL"))
    sale(shop, at(2025, 2, 10), 250_000, commission_cents=25_000)
    sale(shop, at(2025, 11, 2), 1_234, commission_cents=123)
    maker = person(ShopFactory(name="Céramiques Lucie"))
    for day in range(1, 31):
        sale(maker, at(2025, 7, day), 2_500, commission_cents=250)
    unknown = ShopFactory(name="Sans Données")  # reportable, its DAC7 data missing
    sale(unknown, at(2025, 4, 4), 300_000)

    built = dac7.build_declaration(YEAR, now=dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.UTC))
    xmlschema.XMLSchema10(DAC7_SCHEMA).validate(built.xml)  # raises when it does not
    assert re.fullmatch(r"DPIDAC7_2025_552100554_001_\d{14}\.xml", built.filename)
    assert [seller.shop.name for seller in built.left_out] == ["Sans Données"]
    assert "Sans Données" not in built.xml
    assert "LE FOURNIL SARL" in built.xml
    assert SIREN in built.xml
    assert "<dpi:FirstName" in built.xml
    assert "Moreau" in built.xml
    assert "1984-05-02" in built.xml
    assert "FR •••• 2606" in built.xml
    # Amounts are declared in whole euros: 2 500 € in Q1, 12,34 € rounded in Q4.
    assert re.search(r'<dpi:ConsQ1 currCode="EUR">2500</dpi:ConsQ1>', built.xml)
    assert re.search(r'<dpi:ConsQ4 currCode="EUR">12</dpi:ConsQ4>', built.xml)
    assert re.search(r"<dpi:NumbQ3>30</dpi:NumbQ3>", built.xml)


def test_the_manager_reviews_the_year_and_downloads_the_xml(app_ctx: Flask, client: Client) -> None:
    shop = company(ShopFactory(name="Atelier Lumière"))
    sale(shop, at(2025, 2, 10), 250_000, commission_cents=25_000)
    missing = ShopFactory(name="Sans Données")
    sale(missing, at(2025, 4, 4), 300_000)
    db.session.commit()
    login_manager(client)
    page = client.get("/gestion/finances/dac7?annee=2025").get_data(as_text=True)
    assert "Atelier Lumière" in page
    assert "2 500,00" in page.replace("\u202f", " ").replace("\xa0", " ")
    assert page.count('data-testid="dac7-missing"') == 1
    response = client.get("/gestion/finances/dac7/declaration.xml?annee=2025")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert "DPIDAC7_2025_552100554_001_" in response.headers["Content-Disposition"]
    xmlschema.XMLSchema10(DAC7_SCHEMA).validate(response.get_data(as_text=True))


def test_the_command_writes_the_declaration_under_the_dgfip_name(app_ctx: Flask, tmp_path: Path) -> None:
    shop = company(ShopFactory(name="Atelier Lumière"))
    sale(shop, at(2025, 2, 10), 250_000, commission_cents=25_000)
    db.session.commit()
    result = app_ctx.test_cli_runner().invoke(
        args=["payouts", "dac7", "--year", "2025", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [written] = list(tmp_path.glob("DPIDAC7_2025_552100554_001_*.xml"))
    xmlschema.XMLSchema10(DAC7_SCHEMA).validate(written.read_text(encoding="utf-8"))
    assert "1 sellers reported" in result.output


# -- reminders and withholding --------------------------------------------------------------------


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 1))
    return made


def test_two_reminders_then_payouts_are_withheld_until_the_data_is_given(
    town: Town, stripe_api: StripeEmulator, mailbox: Mailbox
) -> None:
    connect(town.books_id, stripe_api)
    books = db.session.get(Shop, town.books_id)
    assert books is not None
    start = dt.datetime.now(dt.UTC)
    for days, expected in ((0, "reminded"), (1, None), (7, "reminded"), (10, None), (14, "withheld")):
        with time_machine.travel(start + dt.timedelta(days=days)):
            done = dac7.chase_missing_data()
            db.session.commit()
        assert (
            max(done, key=lambda key: done[key]) if any(done.values()) else None,
            books.dac7_reminders,
        ) == (
            expected,
            2 if days >= 7 else 1,
        ), days
    assert books.payouts_withheld_at is not None
    owner = next(member for member in books.members if member.is_owner)
    books_id, books_email, owner_id = books.id, books.email, owner.id
    subjects = [message.subject for message in mailbox.to(books_email)]
    assert subjects.count("Informations fiscales à compléter (DAC7)") == 2
    assert subjects.count("Virements suspendus : informations fiscales manquantes (DAC7)") == 1

    order = place_and_pay(town)
    deliver(order, town.books_id)
    part = part_of(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    transfer = db.session.query(ShopTransfer).filter_by(vendor_order_id=part.id).one()
    assert (transfer.status, transfer.stripe_transfer_id) == (TransferStatus.WAITING, None)
    assert transfer.last_error == payouts.DAC7_WITHHELD
    assert ledger.balance(ledger.available(town.books_id)) > 0, "released, not sent"

    owner = db.session.get(ShopMember, owner_id)
    assert owner is not None
    vendor_services.update_tax_details(
        owner, vendor_services.TaxDetails(kind=SellerKind.COMPANY, tax_number="732 829 320")
    )
    db.session.commit()
    books = db.session.get(Shop, books_id)
    assert books is not None
    assert books.payouts_withheld_at is None
    assert books.dac7_reminders == 0
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    db.session.expire_all()
    transfer = db.session.query(ShopTransfer).filter_by(vendor_order_id=part.id).one()
    assert transfer.status == TransferStatus.PAID


def test_the_back_office_says_why_payouts_wait(
    town: Town, client: Client, stripe_api: StripeEmulator
) -> None:
    connect(town.books_id, stripe_api)
    books = db.session.get(Shop, town.books_id)
    assert books is not None
    books.payouts_withheld_at = dt.datetime.now(dt.UTC)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    db.session.commit()
    login(client, town.books_owner_email)
    page = client.get(f"/vendeur/{books.slug}/finances").get_data(as_text=True)
    assert 'data-testid="dac7-withheld"' in page
    assert "suspendu : informations fiscales (DAC7) manquantes" in page


def test_complete_data_releases_on_the_next_run_too(app_ctx: Flask) -> None:
    shop = company(ShopFactory())
    shop.payouts_withheld_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    shop.dac7_reminders = 2
    assert dac7.chase_missing_data()["released"] == 1
    assert shop.payouts_withheld_at is None


# -- the seller's statement -----------------------------------------------------------------------


def test_each_seller_gets_its_statement_once_and_only_its_shop_sees_it(
    app_ctx: Flask, client: Client, mailbox: Mailbox
) -> None:
    mine = owner_of(company(ShopFactory(name="Atelier Lumière", slug="atelier")), email="moi@example.com")
    theirs = owner_of(company(ShopFactory(name="Voisin", slug="voisin")), email="voisin@example.com")
    sale(mine.shop, at(2025, 2, 10), 250_000, commission_cents=25_000)
    sale(theirs.shop, at(2025, 3, 10), 250_000, commission_cents=25_000)
    assert dac7.send_statements(YEAR) == 2
    assert dac7.send_statements(YEAR) == 0, "once"
    db.session.commit()
    message = mailbox.last_to("moi@example.com")
    assert message.subject == "Votre relevé DAC7 2025"
    assert "1 ventes, une contrepartie de 2" in message.text
    path = mailbox.link(message, "/dac7/2025.pdf")
    assert path == "/vendeur/atelier/finances/dac7/2025.pdf"

    login(client, "moi@example.com")
    response = client.get(path)
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    assert client.get("/vendeur/voisin/finances/dac7/2025.pdf").status_code == 404
    assert "Relevé DAC7 2025" in client.get("/vendeur/atelier/finances").get_data(as_text=True)


# -- the demo town's year -------------------------------------------------------------------------


def _small_demo_data(source: Path, target: Path, shops: int = 8) -> Path:
    """The demo data cut down to its first shops and their products, for a quick load."""
    shutil.copy(source / "categories.json", target / "categories.json")
    vendors = json.loads((source / "vendors.json").read_text(encoding="utf-8"))[:shops]
    (target / "vendors.json").write_text(json.dumps(vendors, ensure_ascii=False), encoding="utf-8")
    slugs = {vendor["slug"] for vendor in vendors}
    lines = [
        line
        for line in (source / "products.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["vendor"] in slugs
    ]
    (target / "products.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_the_declaration_of_the_demo_towns_year_validates(
    app: Flask, db_session: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo shops (companies, their SIREN from the demo data) and a quarter of the demo history."""
    from app import demo
    from app.orders import demo_history
    from tests.orders.test_demo_history import _refuse_outside_calls

    data = _small_demo_data(Path(app.config["DEMO_DATA_DIR"]), tmp_path)
    with app.test_request_context("/"):
        demo.load(data, with_photos=False, with_history=False)
        with monkeypatch.context() as patched:
            _refuse_outside_calls(patched)
            demo_history.generate_history(dt.date(YEAR, 11, 1), dt.date(YEAR, 12, 31), 10, seed=5)
        db.session.expire_all()
        sellers = dac7.year_figures(YEAR)
        assert sellers, "the history sold something"
        assert all(not seller.missing for seller in sellers), "the demo shops give their DAC7 data"
        assert all(seller.quarters[0].sales == 0 for seller in sellers), "nothing before November"
        built = dac7.build_declaration(YEAR, sellers)
    xmlschema.XMLSchema10(DAC7_SCHEMA).validate(built.xml)
    assert built.reported, "some demo shops pass the thresholds in a quarter"
    assert {seller.shop.id for seller in built.reported} == {s.shop.id for s in sellers if s.reportable}
