"""The town's dashboard on a phone: every chart is drawn (its SVG image loads under its own policy, the
page's policy untouched), its table is beside it, and the page fits 390 px."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.figures import services
from app.figures.models import Dimension, FigureBreakdown, FigureDay
from tests.e2e.helpers import Person, log_in
from tests.e2e.test_money_screens import manager_log_in
from tests.factories import PASSWORD, ShopFactory, owner_of
from tests.plugins.browser import LiveServer, _new_page, screenshot

pytestmark = pytest.mark.e2e

MANAGER = Person("gestion-chiffres@example.com", "Agnès", "Perrin", PASSWORD)
FLORIST = Person("fleurs-chiffres@example.com", "Rose", "Lenoir", PASSWORD)
PHONE_WIDTH = 390


def _a_month_of_figures(live_server: LiveServer) -> str:
    """Thirty days of rollups for three shops; the slug of the first, owned by FLORIST."""
    with live_server.app.app_context():
        today = services.today()
        shops = [
            ShopFactory(name=name, postcode=code)
            for name, code in (
                ("Fleurs de Loire", "37000"),
                ("Le Fournil du Pont", "37000"),
                ("Librairie des Quais", "37100"),
            )
        ]
        owner_of(shops[0], email=FLORIST.email, first_name=FLORIST.first_name, last_name=FLORIST.last_name)
        slug = shops[0].slug
        days = [today - dt.timedelta(days=offset) for offset in range(30)]
        db.session.execute(sa.delete(FigureDay).where(FigureDay.day.in_(days)))
        db.session.execute(sa.delete(FigureBreakdown).where(FigureBreakdown.day.in_(days)))
        for index, day in enumerate(days):
            for rank, shop in enumerate(shops):
                orders = 2 + (index * (rank + 3)) % 7
                db.session.add(
                    FigureDay(
                        day=day,
                        shop_id=shop.id,
                        category_id=shop.category_id,
                        orders=orders,
                        items=orders * 2,
                        gmv_cents=orders * (1890 + 700 * rank),
                        refunds_cents=(index % 9 == 0) * 450,
                        withdrawals=int(index % 11 == 0),
                        commission_cents=orders * (189 + 70 * rank),
                    )
                )
            for hour, count in ((9, 2), (12, 3 + index % 4), (18, 4), (21, 1 + index % 3)):
                db.session.add(
                    FigureBreakdown(day=day, dimension=Dimension.HOUR, key=f"{hour:02d}", orders=count)
                )
            for code, count in (("37000", 6), ("37100", 3), ("37200", 1 + index % 2)):
                db.session.add(FigureBreakdown(day=day, dimension=Dimension.POSTCODE, key=code, orders=count))
            for method, count in (("click_collect", 5), ("local_delivery", 4), ("home_delivery", 2)):
                db.session.add(
                    FigureBreakdown(day=day, dimension=Dimension.DELIVERY, key=method, orders=count)
                )
        db.session.commit()
        return slug


def test_the_town_dashboard_draws_its_charts_on_a_phone(chromium: Any, live_server: LiveServer) -> None:
    slug = _a_month_of_figures(live_server)
    with _new_page(chromium, live_server, "phone") as page:
        violations: list[str] = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        manager_log_in(page, live_server, MANAGER)
        page.goto("/gestion/?periode=30j")
        figures = page.get_by_test_id("town-figures")
        expect(figures).to_contain_text("Ventes TTC")
        charts = page.locator("img.figure-chart__img")
        assert charts.count() == len(services.TOWN_CHARTS)
        for index in range(charts.count()):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            page.wait_for_function("(img) => img.complete", arg=chart.element_handle())
            width = chart.evaluate("(img) => img.naturalWidth")
            shown = chart.evaluate("(img) => img.getBoundingClientRect().width")
            assert width > 0, f"chart {index} did not load"
            assert 300 <= shown <= PHONE_WIDTH
        screenshot(page, "figures-town-dashboard")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_WIDTH
        assert violations == []
        # A chart opened on its own: drawn with its own styles (pygal's style sheet applied).
        page.goto("/gestion/graphiques/boutiques.svg?periode=30j")
        fill = page.evaluate("() => getComputedStyle(document.querySelector('.background')).fill")
        assert fill in ("rgb(255, 255, 255)", "#ffffff")

    # The florist sees the same kind of chart for her own shop on her dashboard.
    with _new_page(chromium, live_server, "phone") as page:
        page.goto("/connexion")
        log_in(page, FLORIST)
        page.goto(f"/vendeur/{slug}/?periode=30j")
        figures = page.get_by_test_id("shop-period")
        expect(figures).to_contain_text("Vos chiffres")
        chart = figures.locator("img.figure-chart__img")
        chart.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=chart.element_handle())
        assert chart.evaluate("(img) => img.naturalWidth") > 0
        screenshot(page, "figures-shop-dashboard")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_WIDTH
