"""Click & collect pickup slots: half hours inside the shop's opening hours, once the order is ready.

Opening hours are wall-clock times in the town's zone. Each interval's ends are placed on the town's
calendar and converted to UTC before cutting it into half hours, so a slot always lasts 30 real
minutes, also on the days the clocks change (the night of the change has one hour fewer or more).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from babel import dates
from flask_babel import get_locale
from markupsafe import Markup, escape

from vendors.hours import TOWN_TZ, Closed, Hours, closed_on, week
from vendors.models import Shop

SLOT_LENGTH = dt.timedelta(minutes=30)
DAYS_AHEAD = 7  # how far ahead a shopper can book: today and the six days after


@dataclass(frozen=True)
class Slot:
    """Half an hour to collect an order; ``start`` and ``end`` are aware UTC datetimes."""

    start: dt.datetime
    end: dt.datetime

    @property
    def day(self) -> dt.date:
        """The day on the town's calendar (the cart page groups the slots by it)."""
        return self.start.astimezone(TOWN_TZ).date()

    @property
    def value(self) -> str:
        """The slot as the cart form posts it back: its start, ISO 8601 in UTC."""
        return self.start.isoformat()


def parse_start(text: str) -> dt.datetime | None:
    """A slot start as the cart form posts it (ISO 8601 with its offset), in UTC; None when it is not
    an instant at all: malformed, without an offset, or beyond the calendar once moved to UTC (year 1
    or 9999 with an offset)."""
    try:
        start = dt.datetime.fromisoformat(text.strip())
        return start.astimezone(dt.UTC) if start.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def pickup_slots(
    shop: Shop,
    now: dt.datetime,
    days: int = DAYS_AHEAD,
    schedule: tuple[Sequence[Hours], Sequence[Closed]] | None = None,
) -> list[Slot]:
    """The slots from today (in the town) for ``days`` days, closures skipped, the first one starting
    no earlier than ``now`` plus the shop's preparation time. ``now`` is any aware datetime.
    ``schedule``: the shop's opening hours and closures as read already (plain rows, see
    ``vendors.services.shop_schedules``); else the shop's own."""
    opening, closures = schedule if schedule is not None else (shop.opening_hours, shop.closures)
    earliest = now + dt.timedelta(minutes=shop.click_collect_prep_minutes)
    intervals = week(opening)
    today = now.astimezone(TOWN_TZ).date()
    slots: list[Slot] = []
    for offset in range(days):
        day = today + dt.timedelta(days=offset)
        if closed_on(closures, day):
            continue
        for interval in intervals[day.weekday()]:
            start = dt.datetime.combine(day, interval.opens_at, tzinfo=TOWN_TZ).astimezone(dt.UTC)
            closes = dt.datetime.combine(day, interval.closes_at, tzinfo=TOWN_TZ).astimezone(dt.UTC)
            while start + SLOT_LENGTH <= closes:
                if start >= earliest:
                    slots.append(Slot(start, start + SLOT_LENGTH))
                start += SLOT_LENGTH
    return slots


def pickup_days(slots: Iterable[Slot], chosen: dt.datetime | None) -> list[tuple[str, Markup]]:
    """The cart's slot picker: for each day, its name ("mardi 1 décembre") and its ``<option>``s, in
    the reader's language and on the town's clock.

    A week of half hours is hundreds of options that repeat the same few days and times of day, and
    Babel's formatting is slow: each label is formatted once per language for the life of the process,
    and the options are joined here rather than looped over in the template."""
    locale = str(get_locale())
    days: dict[dt.date, list[str]] = {}
    for slot in slots:
        day, value, hours = _option(locale, slot.start, slot.end)
        selected = " selected" if slot.start == chosen else ""
        days.setdefault(day, []).append(f'<option value="{value}"{selected}>{hours}</option>')
    # Escaped in _option: the value, and the hours (Markup); the rest is literal.
    return [(_day(locale, day), Markup("".join(options))) for day, options in days.items()]  # noqa: S704


@functools.lru_cache(maxsize=16384)
def _option(locale: str, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, Markup, Markup]:
    """A slot's day on the town's calendar, its form value (escaped) and its hours: the same half hours
    come back on every cart page of the week."""
    wall_start, wall_end = start.astimezone(TOWN_TZ), end.astimezone(TOWN_TZ)
    return wall_start.date(), escape(start.isoformat()), _hours(locale, wall_start.time(), wall_end.time())


def hours_label(slot: Slot) -> Markup:
    """A slot's hours ("10:00 – 10:30") in the reader's language, on the town's clock."""
    start, end = slot.start.astimezone(TOWN_TZ), slot.end.astimezone(TOWN_TZ)
    return _hours(str(get_locale()), start.time(), end.time())


@functools.lru_cache(maxsize=4096)
def _hours(locale: str, start: dt.time, end: dt.time) -> Markup:
    return Markup("{}&nbsp;– {}").format(_short_time(locale, start), _short_time(locale, end))


@functools.lru_cache(maxsize=1024)
def _short_time(locale: str, wall_clock: dt.time) -> str:
    return dates.format_time(wall_clock, "short", locale=locale)


@functools.lru_cache(maxsize=1024)
def _day(locale: str, day: dt.date) -> str:
    return dates.format_date(day, "EEEE d MMMM", locale=locale)


def is_available(shop: Shop, slot_start: dt.datetime, now: dt.datetime) -> bool:
    """Whether ``slot_start`` (an aware datetime) begins one of the shop's slots as of ``now``."""
    return any(slot.start == slot_start for slot in pickup_slots(shop, now))
