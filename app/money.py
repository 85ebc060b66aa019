"""The one place for cents, basis points, VAT-inclusive splits, rounding and formatting.

Conventions, so that every shop, order and payout agrees to the cent:

* amounts are ``int`` in minor units (cents for EUR); rates are ``int`` basis points (1000 = 10 %);
* floats are refused everywhere (``TypeError``): they cannot represent cents exactly;
* ``Decimal`` is only used inside this module for intermediate maths;
* there is one rounding rule, ROUND_HALF_UP to the cent, applied in :func:`round_cents` only;
* consumer prices are tax-inclusive (TTC), so VAT is *extracted* from gross amounts, per line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

import flask_babel
from babel import Locale
from babel.numbers import NumberPattern, format_currency, format_percent, get_currency_precision, is_currency
from flask import current_app, has_app_context

__all__ = [
    "BPS_PER_UNIT",
    "DEFAULT_CURRENCY",
    "DEFAULT_LOCALE",
    "VAT_RATES_BPS",
    "MoneyError",
    "allocate",
    "apply_rate",
    "cents_to_decimal",
    "format_money",
    "format_rate",
    "parse_amount",
    "parse_rate",
    "rate_share",
    "round_cents",
    "split_gross",
    "vat_breakdown",
    "vat_in_gross",
]

DEFAULT_CURRENCY = "EUR"
DEFAULT_LOCALE = "fr_FR"
BPS_PER_UNIT = 10_000  # 10 000 bps = 100 %

# Standard, intermediate, reduced, super-reduced and zero rates. 0 covers shops under the VAT
# franchise (« franchise en base de TVA ») and exempt goods.
VAT_RATES_BPS: dict[str, tuple[int, ...]] = {"FR": (2000, 1000, 550, 210, 0), "BE": (2100, 1200, 600, 0)}

# User input longer than this is refused before any parsing: no legitimate amount needs it, and it
# keeps int() away from its digit limit.
_MAX_INPUT_LENGTH = 64
_RATE_DECIMALS = 2  # decimals of a percent that fit in basis points

# Characters people (and babel, for fr/de/ch locales) put between groups of thousands.
_SPACE_SEPARATORS = " \u00a0\u202f\u2009'\u2019"
_SIGNS = {"-": True, "\u2212": True, "+": False}
_NUMBER_RE = re.compile(
    r"(?P<int>"
    r"[0-9]+"  # 1234, tried first so that "1,234" reads as a decimal
    r"|[0-9]{1,3}(?:(?P<sep>[.," + re.escape(_SPACE_SEPARATORS) + r"])[0-9]{3})(?:(?P=sep)[0-9]{3})*"  # 1 234
    r")?"
    r"(?:(?P<mark>[.,])(?P<frac>[0-9]+))?"  # ,50
)
_NON_FINITE = {"nan", "snan", "inf", "infinity", "\u221e"}
_PERCENT_SUFFIX_RE = re.compile(r"\s*%\Z")


class MoneyError(ValueError):
    """Bad money input from a user (amount or rate); the message is plain English, translated by callers."""


# --------------------------------------------------------------------------------------------------
# Argument checks: money bugs are cheaper to catch at the call than in a payout reconciliation.


def _require_int(value: object, name: str) -> int:
    """Refuse floats, bools and Decimals where cents or basis points are expected."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _require_bps(value: object, name: str = "bps") -> int:
    """A rate is an int between 0 and 100 % (0..10 000 bps)."""
    bps = _require_int(value, name)
    if not 0 <= bps <= BPS_PER_UNIT:
        raise ValueError(f"{name} must be between 0 and {BPS_PER_UNIT}, got {bps}")
    return bps


def _require_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value


@lru_cache(maxsize=64)
def _currency_precision(currency: str) -> int:
    """Decimals of a currency (2 for EUR, 0 for JPY), refusing codes babel does not know."""
    if not is_currency(currency):
        raise ValueError(f"unknown currency code {currency!r}")
    return get_currency_precision(currency)


def _precision(currency: object) -> int:
    return _currency_precision(_require_str(currency, "currency"))


# --------------------------------------------------------------------------------------------------
# Exact Decimal helpers and the single rounding point.


def _scaled(units: int, decimals: int) -> Decimal:
    """``units × 10^-decimals`` built from its digits, so it is exact whatever the context precision."""
    return Decimal((int(units < 0), tuple(int(d) for d in str(abs(units))), -decimals))


def _ratio(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` precise enough that :func:`round_cents` rounds it like the exact fraction.

    The quotient is truncated (ROUND_DOWN) and keeps at least one decimal, so it can never cross
    the ½ boundary: truncation preserves the first decimal digit, which alone decides half-up rounding.
    """
    assert denominator > 0
    digits = len(str(abs(numerator))) + len(str(denominator)) + 2
    return Context(prec=digits, rounding=ROUND_DOWN).divide(Decimal(numerator), Decimal(denominator))


def round_cents(amount: Decimal | int) -> int:
    """Round an amount in cents to a whole cent, half away from zero: the only rounding in the project.

    Accepts ``int`` too because ``sum()`` of an empty list of shares is ``0``.
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"amount must be a Decimal or an int, got {type(amount).__name__}")
    if isinstance(amount, int):
        return amount
    if not amount.is_finite():
        raise ValueError(f"cannot round a non-finite amount: {amount}")
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------------
# Parsing user input.


def _split_number(text: object, what: str) -> tuple[bool, str, str]:
    """Split user input into (negative, integer digits, fraction digits), or raise MoneyError.

    Accepts ``,`` or ``.`` as the decimal mark and spaces, apostrophes, or the other mark as
    thousands separators ("1 234,50", "1.234,50", "1,234.50"). A lone separator followed by three
    digits ("1,234") is read as a decimal mark, so it is refused when the currency has fewer decimals
    instead of being silently read as a thousand.
    """
    raw = _require_str(text, "text").strip()
    if not raw:
        raise MoneyError(f"{what} is required")
    if len(raw) > _MAX_INPUT_LENGTH:
        raise MoneyError(f"{what} is too long")
    negative = False
    if raw[0] in _SIGNS:
        negative = _SIGNS[raw[0]]
        raw = raw[1:].lstrip()
    if raw.casefold() in _NON_FINITE:
        raise MoneyError(f"{what} must be a finite number")
    match = _NUMBER_RE.fullmatch(raw)
    if match is None or not (match["int"] or match["frac"]):
        raise MoneyError(f"{what} is not a number")
    separator, mark = match["sep"], match["mark"]
    if separator in {".", ","} and (mark is None or mark == separator):
        raise MoneyError(f"{what} is ambiguous: use one decimal separator")
    integer = match["int"] or "0"
    if separator:
        integer = integer.replace(separator, "")
    return negative, integer, match["frac"] or ""


def parse_amount(text: str, currency: str = DEFAULT_CURRENCY) -> int:
    """Read an amount typed by a user ("12,50", "12.50", "1 234,50") into minor units.

    Negative amounts are accepted; callers decide whether they make sense. Digits beyond the
    currency's precision are refused rather than rounded, so nobody loses a cent without seeing it.
    """
    precision = _precision(currency)
    negative, integer, fraction = _split_number(text, "amount")
    if len(fraction) > precision:
        raise MoneyError("amount has too many decimals")
    cents = int(integer) * 10**precision + int(fraction.ljust(precision, "0") or "0")
    return -cents if negative else cents


def parse_rate(text: str) -> int:
    """Read a percentage typed by a user ("5,5", "5.5 %", "20") into basis points (550, 2000)."""
    raw = _PERCENT_SUFFIX_RE.sub("", _require_str(text, "text").strip())
    negative, integer, fraction = _split_number(raw, "rate")
    if len(fraction) > _RATE_DECIMALS:
        raise MoneyError("rate has too many decimals")
    bps = int(integer) * 10**_RATE_DECIMALS + int(fraction.ljust(_RATE_DECIMALS, "0"))
    if negative and bps:
        raise MoneyError("rate must be between 0 and 100 %")
    if bps > BPS_PER_UNIT:
        raise MoneyError("rate must be between 0 and 100 %")
    return bps


# --------------------------------------------------------------------------------------------------
# Rates and VAT.


def rate_share(cents: int, bps: int) -> Decimal:
    """Exact, unrounded ``cents × bps / 10 000``, so callers can sum lines and round once per group."""
    return _scaled(_require_int(cents, "cents") * _require_bps(bps), 4)


def apply_rate(cents: int, bps: int) -> int:
    """``cents × bps / 10 000`` rounded once (commissions, discounts, VAT on a net amount)."""
    return round_cents(rate_share(cents, bps))


def vat_in_gross(gross_cents: int, rate_bps: int) -> int:
    """VAT contained in a tax-inclusive (TTC) amount: ``gross × rate / (1 + rate)``, rounded per line."""
    gross = _require_int(gross_cents, "gross_cents")
    rate = _require_bps(rate_bps, "rate_bps")
    return round_cents(_ratio(gross * rate, BPS_PER_UNIT + rate))


def split_gross(gross_cents: int, rate_bps: int) -> tuple[int, int]:
    """(net, vat) of a tax-inclusive amount; net is the difference so that net + vat == gross exactly."""
    vat = vat_in_gross(gross_cents, rate_bps)
    return gross_cents - vat, vat


def vat_breakdown(lines: Iterable[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Per-rate (gross total, VAT total) of (gross_cents, rate_bps) lines, VAT rounded per line.

    Ordered by rate descending, as French and Belgian invoices print their VAT summary.
    """
    totals: dict[int, tuple[int, int]] = {}
    for gross, rate in lines:
        vat = vat_in_gross(gross, rate)
        gross_total, vat_total = totals.get(rate, (0, 0))
        totals[rate] = (gross_total + gross, vat_total + vat)
    return {rate: totals[rate] for rate in sorted(totals, reverse=True)}


# --------------------------------------------------------------------------------------------------
# Allocation.


def allocate(total_cents: int, weights: Sequence[int]) -> list[int]:
    """Split a total proportionally to integer weights, parts summing exactly to the total.

    Largest-remainder method on exact integers: every part is its share rounded down, then the
    cents left over go to the largest remainders, earlier index first on ties. A negative total
    (a refund) is split like its absolute value and negated, so every part has the total's sign.
    Zero weights always get 0.
    """
    total = _require_int(total_cents, "total_cents")
    checked = [_require_int(weight, "weight") for weight in weights]
    if not checked:
        raise ValueError("weights must not be empty")
    if any(weight < 0 for weight in checked):
        raise ValueError("weights must not be negative")
    weight_sum = sum(checked)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    magnitude = abs(total)
    floors_and_remainders = [divmod(magnitude * weight, weight_sum) for weight in checked]
    parts = [floor for floor, _ in floors_and_remainders]
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda index: (-floors_and_remainders[index][1], index))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return [-part for part in parts] if total < 0 else parts


# --------------------------------------------------------------------------------------------------
# Display.


def cents_to_decimal(cents: int, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Exact major-unit value (1250 -> Decimal("12.50")) for display and APIs expecting decimal strings."""
    return _scaled(_require_int(cents, "cents"), _precision(currency))


def _resolve_locale(locale: str | None) -> Locale | str:
    """The explicit locale, else the request's (Flask-Babel), else French."""
    if locale is not None:
        return _require_str(locale, "locale")
    if has_app_context() and "babel" in current_app.extensions:
        current = flask_babel.get_locale()
        if current is not None:
            return current
    return DEFAULT_LOCALE


def format_money(cents: int, currency: str = DEFAULT_CURRENCY, locale: str | None = None) -> str:
    """Localised amount: "12,50 €" in French, "€12.50" in English."""
    return _formatted(_require_int(cents, "cents"), currency, str(_resolve_locale(locale)))


@lru_cache(maxsize=8192)
def _formatted(cents: int, currency: str, locale: str) -> str:
    # Pages show the same few hundred prices over and over; Babel's formatting is a good part of a
    # listing's time. The result depends on these three values only.
    return format_currency(cents_to_decimal(cents, currency), currency, locale=locale)


@lru_cache(maxsize=64)
def _percent_pattern(locale: Locale) -> NumberPattern:
    """The locale's percent pattern, showing up to two decimals without trailing zeros."""
    pattern = copy.copy(locale.percent_formats[None])
    pattern.frac_prec = (0, _RATE_DECIMALS)
    return pattern


def format_rate(bps: int, locale: str | None = None) -> str:
    """Localised percentage: 550 -> "5,5 %" in French, "5.5%" in English."""
    value = _scaled(_require_bps(bps), 4)
    parsed = Locale.parse(_resolve_locale(locale))
    return format_percent(value, format=_percent_pattern(parsed), locale=parsed)
