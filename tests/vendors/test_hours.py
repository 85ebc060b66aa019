"""Opening hours: overlaps and "open now" across days, closures and daylight saving time."""

from __future__ import annotations

import datetime as dt

from vendors.hours import Interval, open_state, overlapping
from vendors.models import Closure, OpeningHours

T = dt.time


def test_overlaps() -> None:
    assert overlapping([Interval(T(9), T(13)), Interval(T(12), T(18))])
    assert not overlapping([Interval(T(9), T(12)), Interval(T(12), T(18))]), "touching ends are fine"
    assert not overlapping([Interval(T(14), T(18)), Interval(T(9), T(12))])


def _hours(*rows: tuple[int, dt.time, dt.time]) -> list[OpeningHours]:
    return [OpeningHours(weekday=day, opens_at=opens, closes_at=closes) for day, opens, closes in rows]


def test_open_state_uses_paris_time_across_daylight_saving() -> None:
    hours = _hours((6, T(8), T(13)))  # Sundays 08:00-13:00, Paris time
    # Sunday 2026-03-29, the clocks go forward: 07:30 UTC is 09:30 in Paris (UTC+2).
    state = open_state(hours, [], dt.datetime(2026, 3, 29, 7, 30, tzinfo=dt.UTC))
    assert state.open
    assert state.change_at is not None
    assert state.change_at.hour == 13
    # A week earlier (UTC+1), 06:30 UTC is 07:30 in Paris: not yet open; opens at 08:00 local.
    state = open_state(hours, [], dt.datetime(2026, 3, 22, 6, 30, tzinfo=dt.UTC))
    assert not state.open
    assert state.change_at == dt.datetime(2026, 3, 22, 7, 0, tzinfo=dt.UTC)


def test_closures_skip_to_the_next_open_day() -> None:
    hours = _hours(*[(day, T(9), T(18)) for day in range(7)])
    closures = [Closure(starts_on=dt.date(2026, 8, 1), ends_on=dt.date(2026, 8, 15), label="Congés")]
    state = open_state(hours, closures, dt.datetime(2026, 8, 3, 10, 0, tzinfo=dt.UTC))
    assert not state.open
    assert state.change_at is not None
    assert state.change_at.date() == dt.date(2026, 8, 16)


def test_a_shop_with_no_hours_never_opens() -> None:
    assert open_state([], [], dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).change_at is None


def test_kept_open_states_are_those_worked_out_anew_at_every_minute_of_two_weeks() -> None:
    """``vendors.services`` keeps each shop's state until it changes: asked every few minutes over two
    weeks (days with two intervals, a closure, a shop without hours, the clocks going back), and
    once back in time, it answers as ``open_state`` does."""
    from vendors import services

    split = _hours(*[(day, T(9), T(12, 30)) for day in range(6)], *[(day, T(14), T(19)) for day in range(6)])
    closures = [Closure(starts_on=dt.date(2026, 10, 28), ends_on=dt.date(2026, 10, 29), label="Inventaire")]
    sundays = _hours((6, T(8), T(13)))
    kept = {1: (split, closures), 2: (sundays, []), 3: ([], [])}
    start = dt.datetime(2026, 10, 20, 0, 3, tzinfo=dt.UTC)  # the clocks go back on 25 October
    times = [start + dt.timedelta(minutes=7 * step) for step in range(14 * 24 * 60 // 7)]
    times.append(start + dt.timedelta(days=3, hours=10))  # back in time
    services._known_states.clear()
    worked_out = 0
    for now in times:
        expected = {shop_id: open_state(hours, closed, now) for shop_id, (hours, closed) in kept.items()}
        before = dict(services._known_states)
        assert services._open_states(kept, now) == expected, now
        worked_out += sum(services._known_states.get(shop_id) is not before.get(shop_id) for shop_id in kept)
    assert worked_out <= 100  # of 8,643 asks: each shop once a day, and when it opens or closes
    changed = (split, [])  # a schedule changed (a new copy): worked out again at once
    services._open_states({1: changed}, dt.datetime(2026, 10, 28, 9, 0, tzinfo=dt.UTC))
    assert services._known_states[1].schedule is changed
    services._known_states.clear()
