"""Periods from the page's arguments: whatever is asked, a bounded period and a notice, never an error."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from app.figures.services import MAX_DAYS, Period, parse_month, parse_period

TODAY = dt.date(2026, 12, 6)


@pytest.fixture(autouse=True)
def _request(app: Flask) -> object:
    with app.test_request_context():
        yield


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("7j", dt.date(2026, 11, 30), TODAY),
        ("30j", dt.date(2026, 11, 7), TODAY),
        ("mois", dt.date(2026, 12, 1), TODAY),
        ("mois-dernier", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        ("annee", dt.date(2026, 1, 1), TODAY),
    ],
)
def test_the_usual_periods(key: str, start: dt.date, end: dt.date) -> None:
    period = parse_period({"periode": key}, TODAY)
    assert (period.start, period.end, period.key, period.notices) == (start, end, key, ())


def test_last_month_in_january_is_last_years_december() -> None:
    period = parse_period({"periode": "mois-dernier"}, dt.date(2027, 1, 3))
    assert (period.start, period.end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_the_previous_period_has_the_same_length_just_before() -> None:
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    previous = period.previous()
    assert (previous.start, previous.end, previous.days) == (dt.date(2026, 10, 2), dt.date(2026, 10, 31), 30)


def test_chosen_dates() -> None:
    period = parse_period({"periode": "dates", "du": "2026-03-01", "au": "2026-03-31"}, TODAY)
    assert (period.start, period.end, period.notices) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), ())
    assert period.args() == {"periode": "dates", "du": "2026-03-01", "au": "2026-03-31"}


def test_inverted_dates_are_swapped_with_a_notice() -> None:
    period = parse_period({"periode": "dates", "du": "2026-03-31", "au": "2026-03-01"}, TODAY)
    assert (period.start, period.end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert "inversées" in period.notices[0]


def test_a_huge_range_is_cut_to_its_last_year_with_a_notice() -> None:
    period = parse_period({"periode": "dates", "du": "2001-01-01", "au": "2026-06-30"}, TODAY)
    assert period.end == dt.date(2026, 6, 30)
    assert period.days == MAX_DAYS
    assert any("au plus" in notice for notice in period.notices)


@pytest.mark.parametrize(
    ("start", "end"),
    [("1000-01-01", "1000-01-02"), ("9999-12-30", "9999-12-31"), ("0001-01-01", "9999-12-31")],
)
def test_dates_out_of_bounds_are_brought_back(start: str, end: str) -> None:
    period = parse_period({"periode": "dates", "du": start, "au": end}, TODAY)
    assert dt.date(2000, 1, 1) <= period.start <= period.end <= TODAY
    assert period.days <= MAX_DAYS
    assert period.notices


@pytest.mark.parametrize(
    "args",
    [
        {"periode": "dates", "du": "hier", "au": "2026-01-01"},
        {"periode": "dates", "du": "2026-02-30", "au": "2026-03-01"},
        {"periode": "dates"},
        {"periode": "dates", "du": "2026-01-01" * 100, "au": "2026-01-02"},
        {"periode": "siècle"},
    ],
)
def test_unreadable_input_falls_back_to_the_last_30_days(args: dict[str, str]) -> None:
    period = parse_period(args, TODAY)
    assert (period.start, period.end) == (dt.date(2026, 11, 7), TODAY)
    assert period.notices


def test_months_of_the_report() -> None:
    assert parse_month("2026-11", TODAY) == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert parse_month("2024-02", TODAY) == Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for wrong in ("2026-13", "2026-00", "2027-01", "1999-12", "abcd", "2026-11-01", "-1-1", "2026"):
        assert parse_month(wrong, TODAY) is None
