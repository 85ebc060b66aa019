"""Money rules: exact sums, one rounding rule (half up to the cent), no floats, localised display."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import Babel, force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from app.money import (
    VAT_RATES_BPS,
    MoneyError,
    allocate,
    apply_rate,
    cents_to_decimal,
    format_money,
    format_rate,
    parse_amount,
    parse_rate,
    rate_share,
    round_cents,
    split_gross,
    vat_breakdown,
    vat_in_gross,
)

# No example database on disk, no deadline: these are pure functions on big integers.
PROPERTY = settings(database=None, deadline=None)

VAT_RATES = sorted({rate for rates in VAT_RATES_BPS.values() for rate in rates})
CENTS = st.integers(min_value=-(10**15), max_value=10**15)
# Far beyond the 28 digits of Decimal's default context, to prove no precision is lost on the way.
HUGE_CENTS = st.integers(min_value=-(10**40), max_value=10**40)
ANY_CENTS = st.one_of(CENTS, HUGE_CENTS)
ANY_BPS = st.integers(min_value=0, max_value=10_000)

# Typed as Any so the wrong-type calls below read as what they are: deliberate misuse.
A_FLOAT: Any = 12.5
A_BOOL: Any = True
A_DECIMAL: Any = Decimal("12.5")


def half_up(value: Fraction) -> int:
    """Reference rounding, independent of Decimal: nearest integer, halves away from zero."""
    magnitude = int(abs(value) + Fraction(1, 2))  # int() floors non-negative fractions
    return magnitude if value >= 0 else -magnitude


def spaces_normalised(text: str) -> str:
    """Babel puts no-break spaces (U+00A0, U+202F) in French output; compare with plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# --------------------------------------------------------------------------------------------------
# Rounding


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("2.4999"), 2),
        (Decimal("-2.4999"), -2),
        (Decimal("0.5"), 1),
        (Decimal("-0.5"), -1),
        (Decimal("0"), 0),
        (Decimal("123456789012345678901234567890123.5"), 123456789012345678901234567890124),
        (7, 7),
    ],
)
def test_round_cents_rounds_half_away_from_zero(amount: Decimal | int, expected: int) -> None:
    assert round_cents(amount) == expected


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_round_cents_refuses_non_finite_amounts(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        round_cents(amount)


# --------------------------------------------------------------------------------------------------
# Rates


@pytest.mark.parametrize(
    ("cents", "bps", "expected"),
    [
        (1000, 2000, 200),
        (1999, 550, 110),  # 109.945
        (149, 1000, 15),  # 14.9
        (144, 1000, 14),  # 14.4
        (1, 5000, 1),  # 0.5
        (-1, 5000, -1),  # -0.5, half away from zero
        (1234, 0, 0),
        (1234, 10_000, 1234),
    ],
)
def test_apply_rate_examples(cents: int, bps: int, expected: int) -> None:
    assert apply_rate(cents, bps) == expected


@PROPERTY
@given(cents=ANY_CENTS, bps=ANY_BPS)
def test_apply_rate_rounds_the_exact_fraction_half_up(cents: int, bps: int) -> None:
    exact = Fraction(cents * bps, 10_000)
    assert Fraction(rate_share(cents, bps)) == exact
    assert apply_rate(cents, bps) == half_up(exact)


def test_rate_shares_sum_before_rounding() -> None:
    # Three lines of 0.3333 cent each: rounded per line they vanish, rounded per group they make 1.
    shares = [rate_share(1, 3333) for _ in range(3)]
    assert [round_cents(share) for share in shares] == [0, 0, 0]
    assert round_cents(sum(shares, Decimal(0))) == 1


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_rates_outside_0_to_100_percent_are_refused(bps: int) -> None:
    with pytest.raises(ValueError, match="bps"):
        apply_rate(1000, bps)


# --------------------------------------------------------------------------------------------------
# VAT in tax-inclusive prices


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        (1200, 2000, 200),  # 1200 × 0.2 / 1.2
        (1000, 550, 52),  # 550 000 / 10 550 = 52.13
        (999, 2000, 167),  # 1 998 000 / 12 000 = 166.5 exactly -> half up
        (-999, 2000, -167),  # a refund mirrors the sale
        (2100, 1000, 191),  # 190.91
        (1210, 2100, 210),  # Belgian 21 %: 2 541 000 / 12 100
        (1000, 0, 0),  # VAT franchise
        (0, 2000, 0),
    ],
)
def test_vat_in_gross_examples(gross: int, rate: int, vat: int) -> None:
    assert vat_in_gross(gross, rate) == vat


@pytest.mark.parametrize(
    ("gross", "rate", "expected"),
    [
        # VAT is the rounded part (166.5 -> 167), net is what is left: not (833, 166).
        (999, 2000, (832, 167)),
        (-999, 2000, (-832, -167)),
        (1200, 2000, (1000, 200)),
        (2100, 1000, (1909, 191)),
        (1000, 0, (1000, 0)),
    ],
)
def test_split_gross_examples(gross: int, rate: int, expected: tuple[int, int]) -> None:
    assert split_gross(gross, rate) == expected


@PROPERTY
@given(gross=ANY_CENTS, rate=st.sampled_from(VAT_RATES))
def test_split_gross_parts_sum_exactly_to_gross(gross: int, rate: int) -> None:
    net, vat = split_gross(gross, rate)
    assert net + vat == gross
    assert vat == vat_in_gross(gross, rate)
    assert abs(vat) <= abs(gross)
    assert vat * gross >= 0  # same sign as the gross, or zero


@PROPERTY
@given(gross=ANY_CENTS, rate=ANY_BPS)
def test_vat_in_gross_rounds_the_exact_fraction_half_up(gross: int, rate: int) -> None:
    assert vat_in_gross(gross, rate) == half_up(Fraction(gross * rate, 10_000 + rate))


def test_vat_breakdown_example_is_ordered_by_rate_descending() -> None:
    lines = [(1000, 550), (1200, 2000), (500, 0), (999, 2000)]
    breakdown = vat_breakdown(lines)
    assert breakdown == {2000: (2199, 367), 550: (1000, 52), 0: (500, 0)}
    assert list(breakdown) == [2000, 550, 0]


def test_vat_breakdown_of_no_lines_is_empty() -> None:
    assert vat_breakdown([]) == {}


@PROPERTY
@given(lines=st.lists(st.tuples(CENTS, st.sampled_from(VAT_RATES)), max_size=30))
def test_vat_breakdown_totals_are_sums_of_per_line_vat(lines: list[tuple[int, int]]) -> None:
    breakdown = vat_breakdown(iter(lines))
    rates = sorted({rate for _, rate in lines}, reverse=True)
    assert list(breakdown) == rates
    for rate in rates:
        group = [gross for gross, line_rate in lines if line_rate == rate]
        assert breakdown[rate] == (sum(group), sum(vat_in_gross(gross, rate) for gross in group))
    assert sum(vat for _, vat in breakdown.values()) == sum(vat_in_gross(g, r) for g, r in lines)


# --------------------------------------------------------------------------------------------------
# Allocation


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # tie: earlier index first
        (-100, [1, 1, 1], [-34, -33, -33]),
        (10, [0, 1, 1], [0, 5, 5]),
        (5, [1, 0, 3], [1, 0, 4]),  # 1.25, 0, 3.75: the leftover cent goes to the largest remainder
        (0, [1, 2], [0, 0]),
        (1000, [7], [1000]),
    ],
)
def test_allocate_examples(total: int, weights: list[int], expected: list[int]) -> None:
    assert allocate(total, weights) == expected


@pytest.mark.parametrize(("weights", "message"), [([], "empty"), ([-1, 2], "negative"), ([0, 0], "zero")])
def test_allocate_refuses_bad_weights(weights: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(100, weights)


@PROPERTY
@given(
    total=CENTS,
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(any),
)
def test_allocate_splits_exactly_and_fairly(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - Fraction(total * weight, weight_sum)) < 1
        assert part * total >= 0  # refunds split into refunds
        if weight == 0:
            assert part == 0
    assert allocate(-total, weights) == [-part for part in parts]


# --------------------------------------------------------------------------------------------------
# Parsing user input


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12,50", 1250),
        ("12.50", 1250),
        ("12", 1200),
        ("1 234,50", 123450),
        (" 0,5 ", 50),
        ("1\u202f234,50", 123450),  # as babel formats French
        ("1.234,50", 123450),
        ("1,234.50", 123450),
        ("1 234 567,89", 123456789),
        ("-3,20", -320),
        ("+3", 300),
        (",5", 50),
        ("0", 0),
    ],
)
def test_parse_amount_examples(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "1,234",  # three decimals in a two-decimal currency
        "12,505",
        "nan",
        "inf",
        "-Infinity",
        "12,",
        "1,2,3",
        "12.50.3",
        "1,234,567",  # grouping without a decimal mark: is it 1234567 or a typo?
        "1 23,50",
        "12 €",
        "1" * 65,
    ],
)
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_parse_amount_follows_the_currency_precision() -> None:
    assert parse_amount("1234", "JPY") == 1234
    assert parse_amount("1,234", "BHD") == 1234  # three decimals in Bahraini dinars
    with pytest.raises(MoneyError, match="decimals"):
        parse_amount("12,5", "JPY")


def test_unknown_currency_is_a_programming_error_not_a_user_error() -> None:
    with pytest.raises(ValueError, match="currency") as raised:
        parse_amount("12", "ZZZ")
    assert not isinstance(raised.value, MoneyError)


@PROPERTY
@given(cents=CENTS, locale=st.sampled_from(["fr_FR", "en_US"]))
def test_parse_amount_reads_back_localised_amounts(cents: int, locale: str) -> None:
    text = format_decimal(cents_to_decimal(cents), format="#,##0.00", locale=locale)
    assert parse_amount(text) == cents
    plain = str(cents_to_decimal(cents))
    assert parse_amount(plain) == cents
    assert parse_amount(plain.replace(".", ",")) == cents


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("5,5", 550),
        ("5.5", 550),
        ("20", 2000),
        ("2,1", 210),
        ("12.34", 1234),
        ("0", 0),
        ("100", 10_000),
        ("5,5 %", 550),  # as format_rate writes it
    ],
)
def test_parse_rate_examples(text: str, bps: int) -> None:
    assert parse_rate(text) == bps


@pytest.mark.parametrize("text", ["", "abc", "5,555", "-5", "100,01", "101", "nan"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_rate(text)


@PROPERTY
@given(bps=ANY_BPS, locale=st.sampled_from(["fr_FR", "en_US"]))
def test_parse_rate_reads_back_formatted_rates(bps: int, locale: str) -> None:
    assert parse_rate(format_rate(bps, locale)) == bps


# --------------------------------------------------------------------------------------------------
# Display


def test_format_money_in_french_and_english() -> None:
    french = format_money(1250, locale="fr_FR")
    assert "12,50" in french
    assert "€" in french
    assert spaces_normalised(format_money(123450, locale="fr_FR")) == "1 234,50 €"
    assert format_money(1250, locale="en") == "€12.50"
    assert format_money(-1250, locale="en") == "-€12.50"


def test_format_money_defaults_to_french_outside_flask() -> None:
    assert spaces_normalised(format_money(1250)) == "12,50 €"


def test_format_money_uses_the_flask_babel_locale() -> None:
    app = Flask(__name__)
    Babel(app, default_locale="en")
    with app.app_context():
        assert format_money(1250) == "€12.50"
        assert format_rate(550) == "5.5%"
        with force_locale("fr_FR"):
            assert spaces_normalised(format_money(1250)) == "12,50 €"


def test_format_money_ignores_a_flask_app_without_babel() -> None:
    with Flask(__name__).app_context():
        assert spaces_normalised(format_money(1250)) == "12,50 €"


@pytest.mark.parametrize(
    ("bps", "french", "english"),
    [
        (550, "5,5 %", "5.5%"),
        (2000, "20 %", "20%"),
        (210, "2,1 %", "2.1%"),
        (1234, "12,34 %", "12.34%"),
        (1, "0,01 %", "0.01%"),
        (0, "0 %", "0%"),
        (10_000, "100 %", "100%"),
    ],
)
def test_format_rate(bps: int, french: str, english: str) -> None:
    assert spaces_normalised(format_rate(bps, "fr_FR")) == french
    assert format_rate(bps, "en") == english


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (1250, "EUR", "12.50"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (1250, "JPY", "1250"),
        (10**30 + 1, "EUR", "10000000000000000000000000000.01"),
    ],
)
def test_cents_to_decimal_is_exact(cents: int, currency: str, text: str) -> None:
    value = cents_to_decimal(cents, currency)
    assert isinstance(value, Decimal)
    assert str(value) == text


# --------------------------------------------------------------------------------------------------
# No floats, no bools


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: apply_rate(A_FLOAT, 2000), id="apply_rate-cents"),
        pytest.param(lambda: apply_rate(1250, A_FLOAT), id="apply_rate-bps"),
        pytest.param(lambda: apply_rate(A_BOOL, 2000), id="apply_rate-bool"),
        pytest.param(lambda: rate_share(A_DECIMAL, 2000), id="rate_share-decimal"),
        pytest.param(lambda: vat_in_gross(A_FLOAT, 2000), id="vat_in_gross"),
        pytest.param(lambda: split_gross(1250, A_FLOAT), id="split_gross"),
        pytest.param(lambda: vat_breakdown([(A_FLOAT, 2000)]), id="vat_breakdown"),
        pytest.param(lambda: allocate(A_FLOAT, [1, 1]), id="allocate-total"),
        pytest.param(lambda: allocate(100, [A_FLOAT, 1]), id="allocate-weight"),
        pytest.param(lambda: allocate(100, [A_BOOL, 1]), id="allocate-bool-weight"),
        pytest.param(lambda: round_cents(A_FLOAT), id="round_cents-float"),
        pytest.param(lambda: round_cents(A_BOOL), id="round_cents-bool"),
        pytest.param(lambda: parse_amount(A_FLOAT), id="parse_amount"),
        pytest.param(lambda: parse_rate(A_FLOAT), id="parse_rate"),
        pytest.param(lambda: format_money(A_FLOAT), id="format_money"),
        pytest.param(lambda: format_rate(A_FLOAT), id="format_rate"),
        pytest.param(lambda: cents_to_decimal(A_FLOAT), id="cents_to_decimal"),
    ],
)
def test_floats_and_bools_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        call()
