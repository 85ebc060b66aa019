"""Opening hours: the weekly schedule, closures, and "open now" in the town's time zone."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from app.database import utcnow

TOWN_TZ = ZoneInfo("Europe/Paris")
WEEKDAYS = range(7)  # 0 = Monday, as datetime.weekday()


def today() -> dt.date:
    """The town's day: deadlines, statements, counters and forms' defaults go by it (it begins an hour
    or two before UTC's)."""
    return utcnow().astimezone(TOWN_TZ).date()


class Hours(Protocol):
    """An opening-hours row: the model, or a plain row of its columns (the home page reads those)."""

    @property
    def weekday(self) -> int: ...
    @property
    def opens_at(self) -> dt.time: ...
    @property
    def closes_at(self) -> dt.time: ...


class Closed(Protocol):
    """A closure: the model or a plain row of its dates."""

    @property
    def starts_on(self) -> dt.date: ...
    @property
    def ends_on(self) -> dt.date: ...


ClosedT = TypeVar("ClosedT", bound=Closed)


@dataclass(frozen=True)
class Interval:
    opens_at: dt.time
    closes_at: dt.time

    def overlaps(self, other: Interval) -> bool:
        return self.opens_at < other.closes_at and other.opens_at < self.closes_at


def overlapping(intervals: list[Interval]) -> bool:
    """Whether any two intervals of one day overlap (touching ends do not: 12:00-12:00 is fine)."""
    ordered = sorted(intervals, key=lambda interval: interval.opens_at)
    return any(first.overlaps(second) for first, second in itertools.pairwise(ordered))


def week(hours: Sequence[Hours]) -> dict[int, list[Interval]]:
    schedule: dict[int, list[Interval]] = {day: [] for day in WEEKDAYS}
    for row in sorted(hours, key=lambda row: (row.weekday, row.opens_at)):
        schedule[row.weekday].append(Interval(row.opens_at, row.closes_at))
    return schedule


def closed_on(closures: Sequence[ClosedT], day: dt.date) -> ClosedT | None:
    return next((closure for closure in closures if closure.starts_on <= day <= closure.ends_on), None)


@dataclass(frozen=True)
class OpenState:
    open: bool
    # When it closes (if open) or next opens (if closed), in the town's time; None if never in 2 weeks.
    change_at: dt.datetime | None
    # Days between today and change_at on the town's calendar: 0 today, 1 tomorrow…
    days_ahead: int = 0


def open_state(hours: Sequence[Hours], closures: Sequence[Closed], at: dt.datetime) -> OpenState:
    """Open or closed at ``at`` (any aware datetime), computed on the town's clock."""
    local = at.astimezone(TOWN_TZ)
    schedule = week(hours)
    if not closed_on(closures, local.date()):
        for interval in schedule[local.weekday()]:
            if interval.opens_at <= local.time() < interval.closes_at:
                closes = dt.datetime.combine(local.date(), interval.closes_at, tzinfo=TOWN_TZ)
                return OpenState(True, closes, 0)
    for offset in range(15):
        day = local.date() + dt.timedelta(days=offset)
        if closed_on(closures, day):
            continue
        for interval in schedule[day.weekday()]:
            opens = dt.datetime.combine(day, interval.opens_at, tzinfo=TOWN_TZ)
            if opens > local:
                return OpenState(False, opens, offset)
    return OpenState(False, None)
