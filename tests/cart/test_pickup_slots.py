"""Click & collect pickup slots: cut from the opening hours in the town's time, after the preparation
time, closures skipped, right on the days the clocks change; chosen in the cart and checked again."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator

import pytest
import time_machine

from app.cart import services
from app.cart.models import Cart, DeliveryMethod
from app.cart.slots import Slot, is_available, pickup_slots
from app.extensions import db
from tests.cart.test_cart import add, cart_of, flashes
from tests.factories import ProductFactory, ShopFactory
from tests.plugins.application import Client
from vendors.hours import TOWN_TZ
from vendors.models import Closure, OpeningHours, Shop

TUESDAY = dt.date(2026, 12, 1)
SPRING_FORWARD = dt.date(2026, 3, 29)  # last Sunday of March: 02:00 becomes 03:00
FALL_BACK = dt.date(2026, 10, 25)  # last Sunday of October: 03:00 becomes 02:00 again


def paris(day: dt.date, at: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(at), tzinfo=TOWN_TZ)


def hours(weekday: int, *intervals: str) -> list[OpeningHours]:
    """``hours(1, "09:00-12:00", "14:00-16:00")``: Tuesday's intervals."""
    return [
        OpeningHours(
            weekday=weekday,
            opens_at=dt.time.fromisoformat(interval.split("-")[0]),
            closes_at=dt.time.fromisoformat(interval.split("-")[1]),
        )
        for interval in intervals
    ]


def a_shop(
    opening_hours: list[OpeningHours], prep_minutes: int = 0, closures: list[Closure] | None = None
) -> Shop:
    """A shop in memory: the slots need only its hours, closures and preparation time."""
    return Shop(
        name="Le Fournil",
        click_collect=True,
        click_collect_prep_minutes=prep_minutes,
        opening_hours=opening_hours,
        closures=closures or [],
    )


def local(slots: list[Slot]) -> list[str]:
    """Each slot as the shopper reads it, on the town's clock."""
    return [
        f"{slot.start.astimezone(TOWN_TZ):%a %H:%M}-{slot.end.astimezone(TOWN_TZ):%H:%M}" for slot in slots
    ]


# -- computing the slots ---------------------------------------------------------------------------


def test_half_hours_inside_each_interval_around_the_lunch_break() -> None:
    # The morning closes at 12:15: 11:30-12:00 is the last slot that fits whole.
    shop = a_shop(hours(1, "09:00-12:15", "14:00-16:00"))
    slots = pickup_slots(shop, paris(TUESDAY, "07:00"), days=1)
    assert local(slots) == [
        "Tue 09:00-09:30",
        "Tue 09:30-10:00",
        "Tue 10:00-10:30",
        "Tue 10:30-11:00",
        "Tue 11:00-11:30",
        "Tue 11:30-12:00",
        "Tue 14:00-14:30",
        "Tue 14:30-15:00",
        "Tue 15:00-15:30",
        "Tue 15:30-16:00",
    ]
    # Winter in Paris is UTC+1: the first slot starts at 08:00 UTC, in UTC.
    assert (slots[0].start, slots[0].start.utcoffset(), slots[0].value) == (
        dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC),
        dt.timedelta(0),
        "2026-12-01T08:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("now", "prep_minutes", "first"),
    [
        ("09:10", 60, "Tue 10:30-11:00"),  # ready at 10:10: the 10:00 slot is too soon
        ("09:00", 60, "Tue 10:00-10:30"),  # ready at 10:00 sharp: that slot is fine
        ("11:20", 60, "Tue 14:00-14:30"),  # ready during the lunch break
        ("15:00", 120, "Wed 09:00-09:30"),  # ready after closing: tomorrow morning
        ("20:00", 0, "Wed 09:00-09:30"),  # nothing left today even without preparing
    ],
)
def test_the_preparation_time_pushes_the_first_slot(now: str, prep_minutes: int, first: str) -> None:
    shop = a_shop(hours(1, "09:00-12:00", "14:00-16:00") + hours(2, "09:00-12:00"), prep_minutes)
    assert local(pickup_slots(shop, paris(TUESDAY, now), days=2))[0] == first


def test_closure_days_are_skipped_and_the_window_is_seven_days() -> None:
    every_day = [row for day in range(7) for row in hours(day, "09:00-10:00")]
    closure = Closure(starts_on=TUESDAY + dt.timedelta(days=1), ends_on=TUESDAY + dt.timedelta(days=2))
    slots = pickup_slots(a_shop(every_day, closures=[closure]), paris(TUESDAY, "07:00"))
    # Tuesday, then Saturday to Monday: Wednesday and Thursday are closed, next Tuesday is too far.
    assert sorted({slot.day for slot in slots}) == [
        TUESDAY,
        dt.date(2026, 12, 4),
        dt.date(2026, 12, 5),
        dt.date(2026, 12, 6),
        dt.date(2026, 12, 7),
    ]


def test_a_shop_without_opening_hours_has_no_slot() -> None:
    assert pickup_slots(a_shop([]), paris(TUESDAY, "07:00")) == []


def test_the_town_calendar_decides_what_today_is() -> None:
    # 23:30 UTC on Monday is already Tuesday 00:30 in Paris: Tuesday's slots are today's.
    shop = a_shop(hours(0, "09:00-10:00") + hours(1, "09:00-10:00"))
    slots = pickup_slots(shop, dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), days=1)
    assert local(slots) == ["Tue 09:00-09:30", "Tue 09:30-10:00"]


def test_slots_keep_their_local_hours_across_the_clock_changes() -> None:
    # Sunday 09:00 is 08:00 UTC the day before the spring change, 07:00 UTC from that day on.
    shop = a_shop(hours(5, "09:00-10:00") + hours(6, "09:00-10:00"))
    slots = pickup_slots(shop, paris(SPRING_FORWARD - dt.timedelta(days=1), "06:00"), days=2)
    assert [(slot.start.hour, slot.day.isoformat()) for slot in slots] == [
        (8, "2026-03-28"),
        (8, "2026-03-28"),
        (7, "2026-03-29"),
        (7, "2026-03-29"),
    ]
    assert local(slots) == ["Sat 09:00-09:30", "Sat 09:30-10:00", "Sun 09:00-09:30", "Sun 09:30-10:00"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # 01:00-04:00 lasts two real hours when 02:00 jumps to 03:00…
        (SPRING_FORWARD, ["01:00", "01:30", "03:00", "03:30"]),
        # …and four when 03:00 goes back to 02:00: 02:00 and 02:30 come twice, an hour apart.
        (FALL_BACK, ["01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00", "03:30"]),
    ],
)
def test_the_night_of_a_clock_change_has_real_half_hours(day: dt.date, expected: list[str]) -> None:
    shop = a_shop(hours(6, "01:00-04:00"))
    slots = pickup_slots(shop, paris(day, "00:00"), days=1)
    assert (
        [f"{slot.start.astimezone(TOWN_TZ):%H:%M}" for slot in slots],
        {slot.end - slot.start for slot in slots},
        all(earlier.end == later.start for earlier, later in itertools.pairwise(slots)),
    ) == (expected, {dt.timedelta(minutes=30)}, True)


def test_is_available_only_for_the_start_of_an_open_slot() -> None:
    shop = a_shop(hours(1, "09:00-12:00"), prep_minutes=60)
    now = paris(TUESDAY, "08:00")
    assert (
        is_available(shop, paris(TUESDAY, "10:00"), now),
        is_available(shop, paris(TUESDAY, "10:00").astimezone(dt.UTC), now),
        is_available(shop, paris(TUESDAY, "10:15"), now),
        is_available(shop, paris(TUESDAY, "12:00"), now),
        is_available(shop, paris(TUESDAY, "10:00"), paris(TUESDAY, "09:30")),  # now too soon
    ) == (True, True, False, False, False)


# -- choosing one in the cart ----------------------------------------------------------------------


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    """Tuesday 1 December 2026, 08:45 in Bellerive (07:45 UTC): with an hour to prepare, the bakery's
    first slot is 10:00."""
    with time_machine.travel(paris(TUESDAY, "08:45"), tick=False) as traveller:
        yield traveller


@pytest.fixture
def bakery(client: Client, frozen: time_machine.Coordinates) -> dict[str, int]:
    """A bakery open Tuesday 09:00-12:00 and 14:00-16:00, an hour to prepare an order, that also
    delivers in town; its bread in the cart."""
    shop = ShopFactory(
        name="Le Fournil",
        click_collect=True,
        click_collect_prep_minutes=60,
        local_delivery=True,
        home_delivery=False,
        opening_hours=hours(1, "09:00-12:00", "14:00-16:00"),
    )
    bread = ProductFactory(shop=shop, title="Pain au levain", variants=[{"price_cents": 450, "stock": 10}])
    db.session.commit()
    ids = {"shop": shop.id, "bread": bread.variants[0].id}
    add(client, ids["bread"], 1)
    return ids


def part_of(cart: Cart) -> services.ShopPart:
    return services.summary(cart).parts[0]


def text(page: str) -> str:
    return re.sub(r"\s+", " ", page.replace("\u202f", " ").replace("\xa0", " ").replace("&nbsp;", " "))


def test_the_cart_offers_the_slots_and_takes_one(client: Client, bakery: dict[str, int]) -> None:
    cart = cart_of(client)
    part = part_of(cart)
    assert (local(part.slots[:2]), part.pickup_slot, part.chosen) == (
        ["Tue 10:00-10:30", "Tue 10:30-11:00"],
        None,
        None,
    )
    services.choose_delivery(cart, bakery["shop"], "click_collect", pickup_slot="2026-12-01T09:30:00+00:00")
    summary = services.summary(cart)
    part = summary.parts[0]
    assert (part.pickup_slot, local([part.chosen_slot] if part.chosen_slot else []), summary.ready) == (
        dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        ["Tue 10:30-11:00"],
        True,
    )


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        ("2026-12-01T08:30:00+00:00", "Ce créneau de retrait n’est plus disponible"),  # 09:30: too soon
        ("2026-12-01T09:15:00+00:00", "Ce créneau de retrait n’est plus disponible"),  # not a slot
        ("2026-12-01T11:30:00+00:00", "Ce créneau de retrait n’est plus disponible"),  # lunch break
        ("2026-12-08T09:00:00+00:00", "Ce créneau de retrait n’est plus disponible"),  # in 8 days
        ("2026-12-01T10:00:00", "Choisissez un des créneaux de retrait proposés."),  # no time zone
        ("demain midi", "Choisissez un des créneaux de retrait proposés."),
    ],
)
def test_a_slot_that_is_not_offered_is_refused(
    client: Client, bakery: dict[str, int], slot: str, message: str
) -> None:
    cart = cart_of(client)
    with pytest.raises(services.CartError, match=message) as refused:
        services.choose_delivery(cart, bakery["shop"], "click_collect", pickup_slot=slot)
    assert (refused.value.field, cart.deliveries) == ("pickup_slot", [])


def test_click_and_collect_without_a_slot_is_not_ready(client: Client, bakery: dict[str, int]) -> None:
    cart = cart_of(client)
    services.choose_delivery(cart, bakery["shop"], "click_collect")
    summary = services.summary(cart)
    assert ([str(problem) for problem in summary.problems], summary.ready) == (
        ["Choisissez un créneau de retrait chez Le Fournil."],
        False,
    )


@pytest.mark.parametrize(
    "later",
    [
        paris(TUESDAY, "11:00"),  # the 10:00 slot has passed
        paris(TUESDAY, "09:30"),  # it has not, but an hour is no longer there to prepare
    ],
)
def test_a_slot_that_passed_must_be_chosen_again(
    client: Client, bakery: dict[str, int], frozen: time_machine.Coordinates, later: dt.datetime
) -> None:
    cart = cart_of(client)
    services.choose_delivery(cart, bakery["shop"], "click_collect", pickup_slot=paris(TUESDAY, "10:00"))
    db.session.commit()
    assert services.summary(cart).ready
    frozen.move_to(later)
    summary = services.summary(cart)
    assert (
        summary.parts[0].pickup_slot,
        summary.parts[0].chosen.method if summary.parts[0].chosen else None,
        [str(problem) for problem in summary.problems],
        summary.ready,
    ) == (None, DeliveryMethod.CLICK_COLLECT, ["Choisissez un créneau de retrait chez Le Fournil."], False)


def test_another_method_clears_the_slot(client: Client, bakery: dict[str, int]) -> None:
    cart = cart_of(client)
    delivery = services.choose_delivery(
        cart, bakery["shop"], "click_collect", pickup_slot=paris(TUESDAY, "10:00")
    )
    services.choose_delivery(cart, bakery["shop"], "local_delivery", pickup_slot=paris(TUESDAY, "10:00"))
    summary = services.summary(cart)
    assert (delivery.pickup_slot, summary.parts[0].pickup_slot, summary.ready) == (None, None, True)


def test_click_and_collect_is_not_possible_without_any_slot(
    client: Client, frozen: time_machine.Coordinates
) -> None:
    shop = ShopFactory(name="Le Fournil", click_collect=True, local_delivery=True, opening_hours=[])
    bread = ProductFactory(shop=shop, variants=[{"price_cents": 450, "stock": 10}])
    db.session.commit()
    shop_id, bread_id = shop.id, bread.variants[0].id
    add(client, bread_id, 1)
    cart = cart_of(client)
    option = part_of(cart).options[0]
    with pytest.raises(services.CartError, match="Aucun créneau de retrait dans les 7 prochains jours"):
        services.choose_delivery(cart, shop_id, "click_collect")
    assert (option.method, option.available, part_of(cart).slots) == (DeliveryMethod.CLICK_COLLECT, False, [])


# -- the cart page ---------------------------------------------------------------------------------


def test_the_cart_page_posts_a_slot_from_the_picker(client: Client, bakery: dict[str, int]) -> None:
    page = text(client.get("/panier").get_data(as_text=True))
    picker = re.search(r'<select id="pickup-slot-\d+" name="pickup_slot">(.*?)</select>', page, re.S)
    assert picker is not None
    groups = re.findall(r'<optgroup label="([^"]+)">', picker.group(1))
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', picker.group(1))
    assert (groups, options[:3]) == (
        ["mardi 1 décembre"],
        [
            ("", "Choisissez un créneau"),
            ("2026-12-01T09:00:00+00:00", "10:00 – 10:30"),
            ("2026-12-01T09:30:00+00:00", "10:30 – 11:00"),
        ],
    )

    response = client.submit(
        f"/panier/livraison/{bakery['shop']}",
        {"method": "click_collect", "pickup_slot": "2026-12-01T13:00:00+00:00"},
        form_url="/panier",
    )
    assert (response.status_code, response.location) == (302, f"/panier#boutique-{bakery['shop']}")
    page = client.get("/panier").get_data(as_text=True)
    assert (
        re.search(r'<option value="2026-12-01T13:00:00\+00:00" selected>', page) is not None,
        "Retrait le mardi 1 décembre, 14:00 – 14:30" in text(page),
        'href="/commande"' in page,
    ) == (True, True, True)
    db.session.expire_all()
    assert [d.pickup_slot for d in cart_of(client).deliveries] == [
        dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)
    ]


def test_the_page_says_when_a_slot_is_no_longer_offered(client: Client, bakery: dict[str, int]) -> None:
    response = client.submit(
        f"/panier/livraison/{bakery['shop']}",
        {"method": "click_collect", "pickup_slot": "2026-12-01T07:30:00+00:00"},
        form_url="/panier",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert (
        flashes(page),
        cart_of(client).deliveries,
    ) == (["Ce créneau de retrait n’est plus disponible : choisissez-en un autre."], [])


def test_posting_a_slot_needs_the_csrf_token(client: Client, bakery: dict[str, int]) -> None:
    response = client.post(
        f"/panier/livraison/{bakery['shop']}",
        data={"method": "click_collect", "pickup_slot": "2026-12-01T09:00:00+00:00"},
    )
    assert (response.status_code, cart_of(client).deliveries) == (400, [])


def test_the_picker_speaks_the_shoppers_language(client: Client, bakery: dict[str, int]) -> None:
    page = text(client.get("/panier", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert ('<optgroup label="Tuesday 1 December">' in page, "10:00 AM – 10:30 AM" in page) == (True, True)


def test_the_picker_goes_away_once_another_method_is_chosen(client: Client, bakery: dict[str, int]) -> None:
    client.submit(f"/panier/livraison/{bakery['shop']}", {"method": "local_delivery"}, form_url="/panier")
    page = client.get("/panier").get_data(as_text=True)
    assert ('name="pickup_slot"' in page, 'href="/commande"' in page) == (False, True)
