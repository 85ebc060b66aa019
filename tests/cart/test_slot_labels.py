"""The cart's pickup-slot picker reads as Babel writes days and times, in French and in English, one
option per slot grouped by day, the chosen one selected, also for a week of opening hours."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import cast

import pytest
import time_machine
from flask import Flask
from flask_babel import format_date, format_time

from app.cart import services
from app.cart.slots import Slot
from app.extensions import db
from tests.cart.test_cart import add, cart_of
from tests.cart.test_pickup_slots import TUESDAY, hours, paris
from tests.factories import ProductFactory, ShopFactory
from tests.plugins.application import Client
from vendors.hours import TOWN_TZ
from vendors.models import Shop

OPTGROUP = re.compile(r'<optgroup label="([^"]*)">(.*?)</optgroup>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>(.*?)</option>')


@pytest.fixture
def week_of_slots(client: Client) -> Iterator[int]:
    """Two shops open every day 09:00-12:00 and 14:00-19:00, both in the cart; Tuesday 08:45."""
    with time_machine.travel(paris(TUESDAY, "08:45"), tick=False):
        variants = []
        for name in ("Le Fournil", "La Boussole"):
            shop = cast(
                Shop,
                ShopFactory(
                    name=name,
                    click_collect=True,
                    click_collect_prep_minutes=60,
                    opening_hours=[h for day in range(7) for h in hours(day, "09:00-12:00", "14:00-19:00")],
                ),
            )
            product = ProductFactory(shop=shop, variants=[{"price_cents": 450, "stock": 10}])
            db.session.commit()
            variants.append((shop.id, product.variants[0].id))
        for _shop_id, variant_id in variants:
            add(client, variant_id)
        yield variants[0][0]


def picker(page: str, shop_id: int) -> list[tuple[str, list[tuple[str, bool, str]]]]:
    select = page.split(f'<select id="pickup-slot-{shop_id}"', 1)[1].split("</select>", 1)[0]
    return [
        (
            html.unescape(day),
            [(value, bool(chosen), html.unescape(label)) for value, chosen, label in OPTION.findall(options)],
        )
        for day, options in OPTGROUP.findall(select)
    ]


def as_babel_writes(app: Flask, language: str, slots: list[Slot], chosen: dt.datetime | None) -> list:
    """The picker as the page wrote it with Babel's date and time filters, one call per label."""
    days: dict[dt.date, list[tuple[str, bool, str]]] = {}
    with app.test_request_context(headers={"Accept-Language": language}):
        for slot in slots:
            label = f"{format_time(slot.start, 'short')}\u00a0– {format_time(slot.end, 'short')}"
            days.setdefault(slot.start.astimezone(TOWN_TZ).date(), []).append(
                (slot.start.isoformat(), slot.start == chosen, label)
            )
        return [(format_date(day, "EEEE d MMMM"), options) for day, options in days.items()]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_picker_labels_are_babels_own(
    app: Flask, client: Client, week_of_slots: int, language: str
) -> None:
    with time_machine.travel(paris(TUESDAY, "08:45"), tick=False):
        cart = cart_of(client)
        chosen = paris(TUESDAY, "15:30").astimezone(dt.UTC)
        services.choose_delivery(cart, week_of_slots, "click_collect", pickup_slot=chosen.isoformat())
        db.session.commit()
        part = next(part for part in services.summary(cart).parts if part.shop.id == week_of_slots)
        page = client.get("/panier", headers={"Accept-Language": language}).get_data(as_text=True)
    shown = picker(page, week_of_slots)
    assert shown == as_babel_writes(app, language, part.slots, chosen)
    assert (len(shown), sum(len(options) for _day, options in shown)) == (7, 7 * 16 - 2)
    assert sum(selected for _day, options in shown for _value, selected, _label in options) == 1


def test_the_labels_read_as_before(client: Client, week_of_slots: int) -> None:
    with time_machine.travel(paris(TUESDAY, "08:45"), tick=False):
        french = picker(client.get("/panier").get_data(as_text=True), week_of_slots)
        english = picker(
            client.get("/panier", headers={"Accept-Language": "en"}).get_data(as_text=True), week_of_slots
        )
    assert (french[0][0], french[0][1][0][2], french[1][0]) == (
        "mardi 1 décembre",
        "10:00\u00a0– 10:30",
        "mercredi 2 décembre",
    )
    assert (english[0][0], english[0][1][0][2].replace("\u202f", " ")) == (
        "Tuesday 1 December",
        "10:00 AM\u00a0– 10:30 AM",
    )
