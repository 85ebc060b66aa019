"""`flask demo load` loads the demo town, and a second run changes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app import demo
from app.accounts.models import Role, User
from app.extensions import db


def _people() -> list[tuple[str, Role]]:
    return [tuple(row) for row in db.session.execute(sa.select(User.email, User.role).order_by(User.email))]


def test_demo_load_is_idempotent(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load", "--no-photos"])
    assert first.exit_code == 0, first.output
    assert "people created: 2" in first.output
    assert "categories created: 30" in first.output
    assert "relay points created: 3" in first.output
    assert "shops created: 34" in first.output
    assert "products created: 550" in first.output
    assert demo.MANAGER_EMAIL in first.output
    assert demo.DEMO_PASSWORD in first.output
    people = _people()
    assert (demo.MANAGER_EMAIL, Role.MANAGER) in people
    assert (demo.SHOPPER_EMAIL, Role.SHOPPER) in people

    assert "demo orders created: 5" in first.output
    assert "reviews created: 9" in first.output

    second = runner.invoke(args=["demo", "load", "--no-photos"])
    assert second.exit_code == 0, second.output
    assert "people created: 0" in second.output
    assert "shops created: 0" in second.output
    assert "products created: 0" in second.output
    assert "demo orders created: 0" in second.output
    assert "reviews created: 0" in second.output
    assert _people() == people


def test_demo_accounts_can_log_in(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    loaded = app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"])
    assert loaded.exit_code == 0, loaded.output
    response = client.submit("/connexion", {"email": demo.SHOPPER_EMAIL, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/compte").status_code == 200


def test_demo_shops_are_open_with_an_owner_and_valid_legal_details(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    from vendors.models import Shop, ShopStatus
    from vendors.validators import normalize_siret, normalize_vat_number

    assert app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"]).exit_code == 0
    shops = list(db.session.scalars(sa.select(Shop)))
    assert len(shops) == 34
    assert all(shop.status == ShopStatus.APPROVED for shop in shops)
    assert all(len(shop.members) == 1 and shop.members[0].is_owner for shop in shops)
    for shop in shops:
        assert normalize_siret(shop.registration_number) == shop.registration_number
        assert normalize_vat_number(shop.vat_number, "FR") == shop.vat_number
    outskirts = [shop.slug for shop in shops if shop.latitude and shop.latitude > 47.42]
    assert len(outskirts) == 3, "three shops lie on the outskirts"
    assert client.get("/boutiques/fournil-saint-martin").status_code == 200
    response = client.submit(
        "/connexion", {"email": "contact@fournil-saint-martin.example", "password": demo.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/vendeur/fournil-saint-martin/").status_code == 200


def test_a_missing_data_folder_is_a_clear_error(app: Flask, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "load", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code != 0
    assert "demo data not found" in result.output


def test_demo_products_get_placeholder_photos(app: Flask, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With photos (as make run loads it), on a small copy of the data to keep the test quick."""
    import shutil
    from pathlib import Path

    from app.catalog.models import Product

    source = Path(app.config["DEMO_DATA_DIR"])
    for name in ("categories.json", "vendors.json"):
        shutil.copy(source / name, tmp_path / name)
    lines = (source / "products.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    (tmp_path / "products.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["demo", "load", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "products created: 3" in result.output
    products = list(db.session.scalars(sa.select(Product)))
    assert len(products) == 3
    media = Path(app.config["MEDIA_DIR"])
    for product in products:
        assert len(product.photos) == 1
        assert (media / product.photos[0].path).is_file()
        assert set(product.photos[0].thumbnails) == {"thumb", "card"}


def test_demo_orders_were_delivered_and_their_reviews_are_published_with_replies(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    """Demo orders are marked as such and never went through Stripe; their reviews are on the pages."""
    from app.orders.models import Order, VendorOrderStatus
    from app.reviews.models import RatingSubject, RatingSummary, Review, ReviewStatus

    assert app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"]).exit_code == 0
    orders = list(db.session.scalars(sa.select(Order).where(Order.number.like("M-DEMO-%"))))
    assert len(orders) == 5
    assert all(order.payment_intent_id is None and order.payment_status == "demo" for order in orders)
    parts = [part for order in orders for part in order.vendor_orders]
    assert all(part.status == VendorOrderStatus.DELIVERED and part.received_at for part in parts)
    assert {order.user.email for order in orders} >= {demo.SHOPPER_EMAIL}
    reviews = list(db.session.scalars(sa.select(Review)))
    assert {review.status for review in reviews} == {ReviewStatus.PUBLISHED}
    assert sum(1 for review in reviews if review.reply is not None) == 3
    shop_summary = db.session.scalars(
        sa.select(RatingSummary).where(RatingSummary.subject == RatingSubject.SHOP)
    ).all()
    assert sorted(summary.review_count for summary in shop_summary) == [1, 2]
    storefront = client.get("/boutiques/fournil-saint-martin").get_data(as_text=True)
    assert "Accueil adorable, commande prête à l’heure" in storefront
    assert "Merci pour ce mot, à très bientôt au fournil !" in storefront
    assert "Camille M." in storefront


def test_demo_orders_are_in_the_ledger_and_the_shops_statements(app: Flask, app_ctx, caplog) -> None:  # type: ignore[no-untyped-def]
    """Each demo part's sale and commission are in the ledger, dated when it was paid; a part received
    longer than the payout hold ago was released and transferred (without Stripe), the others wait.
    The shop's statement reads them with no difference against the parts."""
    import datetime as dt

    from app.orders.models import Order
    from payouts import documents, ledger
    from payouts import services as payouts
    from payouts.models import ShopTransfer, TransferStatus
    from vendors.hours import today

    assert app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"]).exit_code == 0
    parts = [
        part
        for order in db.session.scalars(sa.select(Order).where(Order.number.like("M-DEMO-%")))
        for part in order.vendor_orders
    ]
    transferred = 0
    for part in parts:
        assert part.commission_cents > 0
        due = part.total_cents - part.commission_cents - part.commission_vat_cents
        transfer = db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id))
        if part.received_at + payouts.hold() <= dt.datetime.now(dt.UTC):
            assert transfer is not None
            assert transfer.status == TransferStatus.PAID
            assert transfer.amount_cents == due
            assert ledger.balance(ledger.pending(part.shop_id), vendor_order_id=part.id) == 0
            transferred += 1
        else:
            assert transfer is None
            assert ledger.balance(ledger.pending(part.shop_id), vendor_order_id=part.id) == due
    assert 0 < transferred < len(parts)
    with caplog.at_level("ERROR"):
        for shop_id in {part.shop_id for part in parts}:
            start = today() - dt.timedelta(days=60)
            rows = {row.vendor_order_id: row for row in documents.statement(shop_id, start, today()).rows}
            for part in (part for part in parts if part.shop_id == shop_id):
                row = rows[part.id]
                assert (row.goods_cents, row.delivery_cents) == (part.items_cents, part.delivery_fee_cents)
                assert row.commission_cents == part.commission_cents
    assert not [record for record in caplog.records if "the ledger holds" in record.getMessage()]
