"""The manager's dashboard, its charts and exports, and the shop's period figures: who may see them, what
they say, and that bad input gets a notice or a 404, never an error or another shop's figures."""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import Any

import pytest
import time_machine
from flask import Flask, g
from pypdf import PdfReader

from app.cart.models import DeliveryMethod
from app.extensions import db
from app.figures import services
from app.money import format_money
from app.reviews.models import Review, ReviewKind, ReviewStatus
from tests.catalog.test_categories import login_manager
from tests.factories import ShopFactory, UserFactory, owner_of
from tests.figures.support import paid_order, rollup
from tests.orders.support import login
from tests.plugins.application import Client

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def _frozen(app_ctx: Flask, client: Client, monkeypatch: pytest.MonkeyPatch) -> Any:
    original = client.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "open", open_)
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def town(app_ctx: Flask) -> dict[str, Any]:
    """Two shops with sales this week and the week before; a returning and a new shopper."""
    florist = owner_of(ShopFactory(name="Fleurs de Loire", postcode="37000"), email="fleurs@example.com")
    books = owner_of(ShopFactory(name="Librairie des Quais", postcode="37000"), email="livres@example.com")
    anne, paul = UserFactory(), UserFactory()
    paid_order(anne.id, florist.shop, at=NOW - dt.timedelta(days=9), prices=(2000,))  # the week before
    paid_order(
        anne.id,
        florist.shop,
        at=NOW - dt.timedelta(days=2),
        prices=(4200,),
        delivery_cents=490,
        method=DeliveryMethod.LOCAL_DELIVERY,
    )
    sold = paid_order(
        paul.id, books.shop, at=NOW - dt.timedelta(days=1), prices=(1999, 1550), postcode="75011"
    )
    rollup(TODAY - dt.timedelta(days=13), TODAY)
    return {"florist": florist.shop, "books": books.shop, "books_order": sold, "paul": paul}


PAGES = (
    "/gestion/",
    "/gestion/?periode=7j",
    "/gestion/chiffres.csv?periode=7j",
    "/gestion/graphiques/ventes.svg?periode=7j",
    "/gestion/rapport-2026-11.pdf",
)


@pytest.mark.parametrize("url", PAGES)
def test_only_managers_see_the_towns_figures(client: Client, town: dict[str, Any], url: str) -> None:
    assert client.get(url).status_code == 302  # to the login page
    login(client, "fleurs@example.com")  # a shop owner: the console does not exist for them
    assert client.get(url).status_code == 404


def test_the_dashboard_compares_the_week_with_the_week_before(client: Client, town: dict[str, Any]) -> None:
    login_manager(client)
    response = client.get("/gestion/?periode=7j")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Rien en attente." in page  # the approval queue is still there
    gmv = 4200 + 490 + 1999 + 1550
    assert format_money(gmv, locale="fr") in page
    assert format_money(2000, locale="fr") in page  # the week before
    assert 'data-testid="table-boutiques"' in page
    assert "Librairie des Quais" in page
    totals = services.town_totals(TODAY - dt.timedelta(days=6), TODAY)
    assert (totals.checkouts, totals.buyers, totals.new_buyers, totals.returning_buyers) == (2, 2, 1, 1)
    assert totals.basket_cents == (gmv + 1) // 2
    assert totals.shops_selling == 2
    # Every chart's image points to its own SVG with the same period.
    for name in services.TOWN_CHARTS:
        assert f"/gestion/graphiques/{name}.svg?periode=7j" in page
    # The page itself keeps its strict policy.
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_bad_periods_give_a_notice_not_an_error(client: Client, town: dict[str, Any]) -> None:
    login_manager(client)
    for query in (
        "periode=dates&du=2026-12-01&au=2026-11-01",
        "periode=dates&du=1900-01-01&au=9999-12-31",
        "periode=dates&du=x&au=%00",
        "periode=%F0%9F%98%80",
        "periode=dates&du=2026-02-31&au=2026-03-01",
    ):
        response = client.get(f"/gestion/?{query}")
        assert response.status_code in (200, 400), query
        if response.status_code == 200:
            assert 'data-testid="period-notice"' in response.get_data(as_text=True), query
        assert client.get(f"/gestion/chiffres.csv?{query}").status_code in (200, 400)
        assert client.get(f"/gestion/graphiques/ventes.svg?{query}").status_code in (200, 400)


def test_the_csv_holds_every_table(client: Client, town: dict[str, Any]) -> None:
    login_manager(client)
    response = client.get("/gestion/chiffres.csv?periode=7j")
    assert response.mimetype == "text/csv"
    assert "chiffres-20261130-20261206.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffPériode;2026-11-30;2026-12-06\r\n")
    lines = text.splitlines()
    assert "Ventes TTC;82,39;20,00" in lines
    assert "Commandes;2;1" in lines
    assert "Librairie des Quais;35,49;1;0,00" in lines
    assert "Livraison locale;1;50" in lines
    assert "75011;1;50" in lines


def test_the_monthly_report_is_a_readable_pdf(client: Client, town: dict[str, Any]) -> None:
    login_manager(client)
    response = client.get("/gestion/rapport-2026-12.pdf")
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Rapport mensuel du commerce en ligne" in text
    assert "82,39" in text
    assert "Librairie des Quais" in text
    assert "Meilleures boutiques" in text
    last_month = client.get("/gestion/rapport-2026-11.pdf")
    assert last_month.status_code == 200
    november = "".join(page.extract_text() for page in PdfReader(io.BytesIO(last_month.data)).pages)
    assert "20,00" in november
    for wrong in ("2026-13", "2027-01", "nov", "1999-12", "2026-1x"):
        assert client.get(f"/gestion/rapport-{wrong}.pdf").status_code == 404


def test_charts_are_svg_images_with_a_policy_of_their_own(client: Client, town: dict[str, Any]) -> None:
    login_manager(client)
    for name in services.TOWN_CHARTS:
        response = client.get(f"/gestion/graphiques/{name}.svg?periode=30j")
        assert response.status_code == 200, name
        assert response.mimetype == "image/svg+xml"
        policy = response.headers["Content-Security-Policy"]
        assert "style-src 'unsafe-inline'" in policy
        assert "default-src 'none'" in policy
        svg = response.get_data(as_text=True)
        assert svg.startswith("<svg")
        assert "<script" not in svg
    assert client.get("/gestion/graphiques/inconnu.svg").status_code == 404
    assert client.get("/gestion/graphiques/ventes.svg?periode=annee").status_code == 200


def test_the_average_rating_is_of_the_reviews_published_in_the_period(town: dict[str, Any]) -> None:
    part = town["books_order"].vendor_orders[0]
    for rating, kind, line in ((5, ReviewKind.SHOP, None), (4, ReviewKind.PRODUCT, part.lines[0].id)):
        db.session.add(
            Review(
                kind=kind,
                author_id=town["paul"].id,
                vendor_order_id=part.id,
                order_line_id=line,
                shop_id=part.shop_id,
                rating=rating,
                title="Bien",
                body="Très bien",
                fingerprint=f"f{rating}",
                status=ReviewStatus.PUBLISHED,
                purchased_at=NOW - dt.timedelta(days=1),
                published_at=NOW - dt.timedelta(hours=3),
            )
        )
    db.session.commit()
    totals = services.town_totals(TODAY - dt.timedelta(days=6), TODAY)
    assert (totals.rating, totals.rating_count) == (4.5, 2)
    assert services.town_totals(TODAY - dt.timedelta(days=13), TODAY - dt.timedelta(days=7)).rating is None
    assert totals.refund_rate_bps == totals.withdrawal_rate_bps == 0


def test_the_shop_sees_its_own_period_only(client: Client, town: dict[str, Any]) -> None:
    login(client, "fleurs@example.com")
    florist, books = town["florist"], town["books"]
    page = html.unescape(client.get(f"/vendeur/{florist.slug}/?periode=7j").get_data(as_text=True))
    assert 'data-testid="shop-period"' in page
    assert format_money(4200 + 490, locale="fr") in page
    assert "Article 0" in page  # its best seller
    assert format_money(1999 + 1550, locale="fr") not in page  # the bookshop's sales
    chart = client.get(f"/vendeur/{florist.slug}/chiffres/ventes.svg?periode=7j")
    assert chart.status_code == 200
    assert chart.mimetype == "image/svg+xml"
    # Another shop's dashboard and chart do not exist for the florist.
    assert client.get(f"/vendeur/{books.slug}/?periode=7j").status_code == 404
    assert client.get(f"/vendeur/{books.slug}/chiffres/ventes.svg").status_code == 404
    figures = services.shop_period(florist.id, services.parse_period({"periode": "7j"}, TODAY))
    assert (figures.totals.orders, figures.totals.gmv_cents, figures.before.gmv_cents) == (1, 4690, 2000)
    assert (figures.totals.buyers, figures.totals.new_buyers) == (1, 0)


def test_a_sale_of_today_shows_before_the_hourly_rollup(
    app: Flask, client: Client, town: dict[str, Any]
) -> None:
    app.extensions.pop("figures_today", None)  # no dashboard of this process refreshed today yet
    florist = town["florist"]
    paid_order(town["paul"].id, florist, at=NOW - dt.timedelta(hours=1), prices=(3333,))
    login(client, "fleurs@example.com")
    page = html.unescape(client.get(f"/vendeur/{florist.slug}/?periode=7j").get_data(as_text=True))
    assert format_money(4200 + 490 + 3333, locale="fr") in page
    # The refresh is the hourly job's own rollup of today: the job finds the same rows.
    shown = services.shop_period(florist.id, services.parse_period({"periode": "7j"}, TODAY)).totals
    rollup(TODAY)
    again = services.shop_period(florist.id, services.parse_period({"periode": "7j"}, TODAY)).totals
    assert (shown.orders, shown.gmv_cents) == (again.orders, again.gmv_cents) == (2, 4690 + 3333)
