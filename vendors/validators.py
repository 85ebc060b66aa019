"""Business identifiers of French and Belgian shops: SIRET, Belgian enterprise number, VAT numbers.

Pure functions, no Flask. Each ``normalize_*`` returns the canonical form (separators removed,
country prefix upper-case) or raises :class:`InvalidIdentifier` with a short English message that
callers translate. Check digits catch typing mistakes, not fraud: a valid number may still not exist.

* SIRET (France): 14 digits, Luhn over all 14. La Poste's establishments (SIREN 356000000) use
  another rule instead: their digits sum to a multiple of 5; its head office, 356 000 000 00048,
  passes Luhn. The SIREN prefix is deliberately not checked on its own (the demo data's are not Luhn-valid).
* Numéro d'entreprise (Belgium, BCE/KBO): 10 digits starting with 0 or 1, the last two being
  ``97 - (first eight % 97)``. The old 9-digit form gets its leading 0 back.
* VAT: ``FR`` + 2-character key + SIREN, the numeric key being ``(12 + 3 × (SIREN % 97)) % 97``;
  ``BE`` + the enterprise number.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "InvalidIdentifier",
    "format_be_enterprise_number",
    "fr_vat_key",
    "normalize_be_enterprise_number",
    "normalize_siret",
    "normalize_tax_number",
    "normalize_vat_number",
    "siren_of",
    "vat_matches_registration",
]

Country = Literal["FR", "BE"]

# People paste identifiers as printed on invoices: "732 829 320 00074", "0403.170.701", "FR-40-…".
_SEPARATORS_RE = re.compile(r"[\s.\-]+")
# Nothing legitimate is longer; refusing early keeps error messages about format, not about noise.
_MAX_INPUT_LENGTH = 64

_SIRET_RE = re.compile(r"[0-9]{14}")
_SIREN_RE = re.compile(r"[0-9]{9}")
_BE_NUMBER_RE = re.compile(r"[01]?[0-9]{9}")
# French VAT keys are two digits, or two characters of this alphabet (no I, no O) for some entities.
_FR_VAT_RE = re.compile(r"(?P<key>[0-9A-HJ-NP-Z]{2})(?P<siren>[0-9]{9})")

LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE_SIRET = "35600000000048"


class InvalidIdentifier(ValueError):
    """A business identifier typed by a user is malformed or fails its check; the message is English."""


def _compact(text: object, what: str) -> str:
    """Strip spaces, dots and dashes and upper-case, refusing non-strings and empty input."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    if len(text) > _MAX_INPUT_LENGTH:
        raise InvalidIdentifier(f"{what} is too long")
    compact = _SEPARATORS_RE.sub("", text).upper()
    if not compact:
        raise InvalidIdentifier(f"{what} is required")
    return compact


def _luhn_valid(digits: str) -> bool:
    """Luhn (mod 10): double every second digit from the right; the total must end in 0."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mod97_valid(digits: str) -> bool:
    """Belgian rule: the last two digits are 97 minus the first eight modulo 97."""
    return int(digits[-2:]) == 97 - int(digits[:-2]) % 97


# --------------------------------------------------------------------------------------------------
# France


def normalize_siret(text: str) -> str:
    """The 14 digits of a SIRET, or InvalidIdentifier."""
    siret = _compact(text, "SIRET")
    if not _SIRET_RE.fullmatch(siret):
        raise InvalidIdentifier("SIRET must be 14 digits")
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_HEAD_OFFICE_SIRET:
        valid = sum(int(digit) for digit in siret) % 5 == 0
    else:
        valid = _luhn_valid(siret)
    if not valid:
        raise InvalidIdentifier("SIRET check digit is wrong")
    return siret


def siren_of(siret: str) -> str:
    """The SIREN (company) part of a SIRET (establishment): its first 9 digits."""
    return normalize_siret(siret)[:9]


def fr_vat_key(siren: str) -> str:
    """The numeric French VAT key of a SIREN, two digits: ``(12 + 3 × (SIREN % 97)) % 97``."""
    digits = _compact(siren, "SIREN")
    if not _SIREN_RE.fullmatch(digits):
        raise InvalidIdentifier("SIREN must be 9 digits")
    return f"{(12 + 3 * (int(digits) % 97)) % 97:02d}"


def _normalize_fr_vat(compact: str) -> str:
    body = compact.removeprefix("FR")
    match = _FR_VAT_RE.fullmatch(body)
    if match is None:
        raise InvalidIdentifier("French VAT number must be FR, a 2-character key and the 9-digit SIREN")
    key, siren = match["key"], match["siren"]
    if key.isdigit() and key != fr_vat_key(siren):
        raise InvalidIdentifier("French VAT number check digits are wrong")
    return f"FR{key}{siren}"


# --------------------------------------------------------------------------------------------------
# Belgium


def _be_digits(compact: str, what: str) -> str:
    """10 checked digits from a compacted Belgian number (BE prefix and the 9-digit form accepted)."""
    body = compact.removeprefix("BE")
    if not _BE_NUMBER_RE.fullmatch(body):
        raise InvalidIdentifier(f"{what} must be 10 digits starting with 0 or 1")
    digits = body.zfill(10)
    if not _mod97_valid(digits):
        raise InvalidIdentifier(f"{what} check digits are wrong")
    return digits


def normalize_be_enterprise_number(text: str) -> str:
    """The 10 digits of a Belgian enterprise number (BCE/KBO), or InvalidIdentifier."""
    return _be_digits(_compact(text, "Enterprise number"), "Enterprise number")


def format_be_enterprise_number(digits: str) -> str:
    """The printed form of an enterprise number: "0403.170.701"."""
    number = normalize_be_enterprise_number(digits)
    return f"{number[:4]}.{number[4:7]}.{number[7:]}"


# --------------------------------------------------------------------------------------------------
# VAT numbers and consistency with the registration


def _require_country(country: object) -> Country:
    """FR or BE; anything else is a programming error, not bad user input."""
    if country == "FR":
        return "FR"
    if country == "BE":
        return "BE"
    raise ValueError(f"country must be 'FR' or 'BE', got {country!r}")


def normalize_vat_number(text: str, country: Country) -> str:
    """The canonical VAT number ("FR40303265045", "BE0403170701") of a shop in ``country``.

    The country prefix may be omitted or lower-case; a prefix of another country is refused.
    """
    checked_country = _require_country(country)
    compact = _compact(text, "VAT number")
    if checked_country == "FR":
        return _normalize_fr_vat(compact)
    return "BE" + _be_digits(compact, "Belgian VAT number")


def vat_matches_registration(vat: str, registration: str, country: Country) -> bool:
    """Whether a VAT number belongs to the registered business (SIRET in France, BCE number in Belgium).

    Both must be valid: an invalid one raises InvalidIdentifier, so validate each field first.
    """
    checked_country = _require_country(country)
    vat_number = normalize_vat_number(vat, checked_country)
    if checked_country == "FR":
        return vat_number[4:] == siren_of(registration)
    return vat_number[2:] == normalize_be_enterprise_number(registration)


# --------------------------------------------------------------------------------------------------
# Tax identification numbers (DAC7), checked with python-stdnum


def normalize_tax_number(text: str, country: Country, *, company: bool) -> str:
    """The TIN a seller is reported under: a company's SIREN (France) or enterprise number (Belgium),
    a person's numéro fiscal (France, 13 digits) or national register number (Belgium, 11 digits)."""
    # python-stdnum is imported when a number is checked: a worker serving pages seldom needs it.
    from stdnum import exceptions as stdnum_errors
    from stdnum.be import nn as be_national_number
    from stdnum.fr import nif as fr_nif
    from stdnum.fr import siren as fr_siren

    checked_country = _require_country(country)
    compact = _compact(text, "Tax number")
    try:
        if checked_country == "FR":
            return str(fr_siren.validate(compact) if company else fr_nif.validate(compact))
        if company:
            return normalize_be_enterprise_number(compact)
        return str(be_national_number.validate(compact))
    except stdnum_errors.InvalidChecksum as error:
        raise InvalidIdentifier("Tax number check digits are wrong") from error
    except stdnum_errors.ValidationError as error:
        raise InvalidIdentifier(f"Tax number is malformed: {error}") from error
