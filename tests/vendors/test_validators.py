"""Business identifiers: SIRET, Belgian enterprise number and VAT numbers, normalised and checked.

Every literal below was checked by hand; the arithmetic is in the comments.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import config
from vendors.validators import (
    InvalidIdentifier,
    format_be_enterprise_number,
    fr_vat_key,
    normalize_be_enterprise_number,
    normalize_siret,
    normalize_vat_number,
    siren_of,
    vat_matches_registration,
)

PROPERTY = settings(database=None, deadline=None)

DIGITS = "0123456789"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` Luhn-valid (computed independently of the module)."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # these positions are doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def be_number(first_eight: int) -> str:
    return f"{first_eight:08d}{97 - first_eight % 97:02d}"


sirets = (
    st.text(DIGITS, min_size=13, max_size=13)
    .filter(lambda payload: not payload.startswith("356000000"))  # La Poste has its own rule
    .map(lambda payload: payload + luhn_check_digit(payload))
)
sirens = st.text(DIGITS, min_size=9, max_size=9)
be_numbers = st.integers(min_value=0, max_value=19_999_999).map(be_number)


# --------------------------------------------------------------------------------------------------
# SIRET


@pytest.mark.parametrize(
    "siret",
    [
        # Luhn, doubling every second digit from the right:
        # 4 + 5(7×2) + 0 + 0 + 0 + 0 + 2 + 6(3×2) + 9 + 4(2×2) + 8 + 4(2×2) + 3 + 5(7×2) = 50
        "73282932000074",
        # The demo bakery (demo/vendors.json): Luhn total 60, though its SIREN 972281866 fails Luhn.
        "97228186620119",
        # SIREN 303265045: 1 + 2 + 0 + 0 + 0 + 1(5×2) + 4 + 0 + 5 + 3(6×2) + 2 + 6 + 0 + 6 = 30
        "30326504500011",
        # La Poste's head office: Luhn total 4 + 8 + 3(6×2) + 5 + 6(3×2) = 30 (its digits sum to 26).
        "35600000000048",
        # A La Poste establishment: digits sum to 3 + 5 + 6 + 1 = 15, though Luhn gives 16.
        "35600000000010",
    ],
)
def test_valid_sirets(siret: str) -> None:
    assert normalize_siret(siret) == siret


@pytest.mark.parametrize(
    "siret",
    [
        "73282932000075",  # Luhn total 51
        # La Poste establishments do not use Luhn: this one passes it (total 20) but its digits sum to 19.
        "35600000000014",
        "35600000000011",  # digit sum 16
    ],
)
def test_sirets_with_a_wrong_check_digit(siret: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"^SIRET check digit is wrong$"):
        normalize_siret(siret)


@pytest.mark.parametrize(
    "text",
    [
        "732 829 320 00074",
        "732.829.320.00074",
        "732-829-320-00074",
        " 732\u00a0829\u202f320\t00074 ",  # no-break spaces, as pasted from a PDF invoice
    ],
)
def test_siret_separators_are_removed(text: str) -> None:
    assert normalize_siret(text) == "73282932000074"


@pytest.mark.parametrize(
    "text",
    [
        "7328293200007",  # 13 digits
        "732829320000740",  # 15 digits
        "7328293200007A",
        "732829320/00074",
        # The same digits in Arabic-Indic script: str.isdigit() would accept them.
        "\u0667\u0663\u0662\u0668\u0662\u0669\u0663\u0662\u0660\u0660\u0660\u0660\u0667\u0664",
    ],
)
def test_siret_format_errors(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"^SIRET must be 14 digits$"):
        normalize_siret(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "SIRET is required"), (" . - ", "SIRET is required"), ("7" * 65, "SIRET is too long")],
)
def test_siret_empty_or_too_long(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"^{message}$"):
        normalize_siret(text)


def test_non_strings_are_a_programming_error() -> None:
    with pytest.raises(TypeError):
        normalize_siret(73282932000074)  # type: ignore[arg-type]


def test_siren_of() -> None:
    assert siren_of("732 829 320 00074") == "732829320"
    with pytest.raises(InvalidIdentifier):
        siren_of("73282932000075")


@PROPERTY
@given(
    siret=sirets, position=st.integers(min_value=0, max_value=13), delta=st.integers(min_value=1, max_value=9)
)
def test_a_siret_with_any_one_digit_changed_fails(siret: str, position: int, delta: int) -> None:
    assert normalize_siret(siret) == siret
    changed = siret[:position] + str((int(siret[position]) + delta) % 10) + siret[position + 1 :]
    assume(not changed.startswith("356000000"))
    with pytest.raises(InvalidIdentifier, match="check digit"):
        normalize_siret(changed)


# --------------------------------------------------------------------------------------------------
# Belgian enterprise number


@pytest.mark.parametrize(
    "text",
    [
        "0403.170.701",
        "0403170701",
        "0403 170 701",
        "BE 0403.170.701",
        "be0403170701",
        "403.170.701",
        "403170701",
    ],
)
def test_be_enterprise_number_normalisation(text: str) -> None:
    # 04031707 % 97 = 96 (97 × 41 563 = 4 031 611), and 97 - 96 = 01.
    assert normalize_be_enterprise_number(text) == "0403170701"


def test_another_be_enterprise_number() -> None:
    # 02022399 % 97 = 46 (97 × 20 849 = 2 022 353), and 97 - 46 = 51.
    assert normalize_be_enterprise_number("0202.239.951") == "0202239951"


@pytest.mark.parametrize("text", ["0403.170.702", "0403.170.700", "1403.170.701"])
def test_be_enterprise_number_check_digits(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"^Enterprise number check digits are wrong$"):
        normalize_be_enterprise_number(text)


@pytest.mark.parametrize("text", ["2403.170.701", "04031707", "04031707011", "0403.17O.701", "FR0403170701"])
def test_be_enterprise_number_format(text: str) -> None:
    with pytest.raises(
        InvalidIdentifier, match=r"^Enterprise number must be 10 digits starting with 0 or 1$"
    ):
        normalize_be_enterprise_number(text)


def test_format_be_enterprise_number() -> None:
    assert format_be_enterprise_number("0403170701") == "0403.170.701"
    assert format_be_enterprise_number("BE 403170701") == "0403.170.701"
    with pytest.raises(InvalidIdentifier):
        format_be_enterprise_number("0403170702")


@PROPERTY
@given(number=be_numbers)
def test_generated_be_numbers_pass(number: str) -> None:
    assert normalize_be_enterprise_number(number) == number
    formatted = format_be_enterprise_number(number)
    assert normalize_be_enterprise_number(formatted) == number
    assert normalize_be_enterprise_number(f"be {formatted}") == number
    assert normalize_vat_number(f"BE{number}", "BE") == f"BE{number}"
    assert vat_matches_registration(f"BE {formatted}", formatted, "BE")


@PROPERTY
@given(number=be_numbers, wrong=st.integers(min_value=0, max_value=99))
def test_be_numbers_with_other_check_digits_fail(number: str, wrong: int) -> None:
    assume(f"{wrong:02d}" != number[-2:])
    with pytest.raises(InvalidIdentifier, match="check digits"):
        normalize_be_enterprise_number(number[:-2] + f"{wrong:02d}")


# --------------------------------------------------------------------------------------------------
# VAT numbers


@pytest.mark.parametrize(
    ("siren", "key"),
    [
        # 303265045 % 97 = 74 (97 × 3 126 443 = 303 264 971); 12 + 3 × 74 = 234; 234 % 97 = 40.
        ("303265045", "40"),
        # 972281866 % 97 = 38 (97 × 10 023 524 = 972 281 828); 12 + 3 × 38 = 126; 126 % 97 = 29.
        ("972281866", "29"),
        # 0 % 97 = 0; 12 + 0 = 12.
        ("000000000", "12"),
        # 111151326 % 97 = 93 (97 × 1 145 889 = 111 151 233); 12 + 3 × 93 = 291 = 3 × 97: zero-padded "00".
        ("111151326", "00"),
    ],
)
def test_fr_vat_key(siren: str, key: str) -> None:
    assert fr_vat_key(siren) == key


@pytest.mark.parametrize("siren", ["30326504", "3032650450", "30326504A"])
def test_fr_vat_key_needs_a_siren(siren: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"^SIREN must be 9 digits$"):
        fr_vat_key(siren)


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("FR40303265045", "FR", "FR40303265045"),
        ("fr 40 303 265 045", "FR", "FR40303265045"),
        ("FR40.303.265.045", "FR", "FR40303265045"),
        ("40303265045", "FR", "FR40303265045"),
        ("FR29972281866", "FR", "FR29972281866"),
        ("FR00111151326", "FR", "FR00111151326"),
        # Keys with letters (no I or O) are accepted on their format alone.
        ("FRK7303265045", "FR", "FRK7303265045"),
        ("fr ab 303265045", "FR", "FRAB303265045"),
        ("BE0403170701", "BE", "BE0403170701"),
        ("be 0403.170.701", "BE", "BE0403170701"),
        ("0403170701", "BE", "BE0403170701"),
        ("BE403170701", "BE", "BE0403170701"),  # the old 9-digit form
    ],
)
def test_vat_normalisation(text: str, country: str, expected: str) -> None:
    assert normalize_vat_number(text, country) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "country", "message"),
    [
        ("FR41303265045", "FR", "French VAT number check digits are wrong"),
        ("FR40303265046", "FR", "French VAT number check digits are wrong"),
        ("FR4030326504", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("FR403032650450", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("FRIO303265045", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("FR303265045", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("BE0403170701", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("DE40303265045", "FR", "French VAT number must be FR, a 2-character key and the 9-digit SIREN"),
        ("BE0403170702", "BE", "Belgian VAT number check digits are wrong"),
        ("BE2403170701", "BE", "Belgian VAT number must be 10 digits starting with 0 or 1"),
        ("FR40303265045", "BE", "Belgian VAT number must be 10 digits starting with 0 or 1"),
        ("BE04031707011", "BE", "Belgian VAT number must be 10 digits starting with 0 or 1"),
        ("", "FR", "VAT number is required"),
        ("F" * 65, "BE", "VAT number is too long"),
    ],
)
def test_vat_errors(text: str, country: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"^{message}$"):
        normalize_vat_number(text, country)  # type: ignore[arg-type]


def test_vat_country_must_be_supported() -> None:
    with pytest.raises(ValueError, match="country") as raised:
        normalize_vat_number("DE123456789", "DE")  # type: ignore[arg-type]
    assert not isinstance(raised.value, InvalidIdentifier)


@PROPERTY
@given(siren=sirens)
def test_vat_key_round_trips(siren: str) -> None:
    key = fr_vat_key(siren)
    assert len(key) == 2
    assert key.isdigit()
    vat = f"FR{key}{siren}"
    assert normalize_vat_number(vat, "FR") == vat
    assert normalize_vat_number(f"{key} {siren[:3]} {siren[3:6]} {siren[6:]}", "FR") == vat


@PROPERTY
@given(siren=sirens, key=st.integers(min_value=0, max_value=99))
def test_any_other_numeric_vat_key_fails(siren: str, key: int) -> None:
    assume(f"{key:02d}" != fr_vat_key(siren))
    with pytest.raises(InvalidIdentifier, match="check digits"):
        normalize_vat_number(f"FR{key:02d}{siren}", "FR")


# --------------------------------------------------------------------------------------------------
# VAT number against the registration


@pytest.mark.parametrize(
    ("vat", "registration", "country", "expected"),
    [
        ("FR40303265045", "303 265 045 00011", "FR", True),
        ("40303265045", "30326504500011", "FR", True),
        ("FR29972281866", "97228186620119", "FR", True),
        ("FR40303265045", "73282932000074", "FR", False),
        ("BE0403170701", "0403.170.701", "BE", True),
        ("be403170701", "BE 0403 170 701", "BE", True),
        ("BE0403170701", "0202.239.951", "BE", False),
    ],
)
def test_vat_matches_registration(vat: str, registration: str, country: str, expected: bool) -> None:
    assert vat_matches_registration(vat, registration, country) is expected  # type: ignore[arg-type]


def test_vat_matches_registration_needs_valid_numbers() -> None:
    with pytest.raises(InvalidIdentifier, match="SIRET"):
        vat_matches_registration("FR40303265045", "30326504500012", "FR")
    with pytest.raises(InvalidIdentifier, match="VAT"):
        vat_matches_registration("FR41303265045", "30326504500011", "FR")


def test_every_demo_shop_has_valid_identifiers(tmp_path: Path) -> None:
    """The demo loader can run these validators without tripping on its own data."""
    settings_ = config.load(tmp_path, {"APP_ENV": "testing", "SECRET_KEY": "test"})
    vendors = json.loads((Path(settings_["DEMO_DATA_DIR"]) / "vendors.json").read_text(encoding="utf-8"))
    assert vendors
    for vendor in vendors:
        legal, country = vendor["legal"], vendor["address"]["country"]
        if country == "FR":
            assert normalize_siret(legal["siret"]) == legal["siret"]
        else:
            normalize_be_enterprise_number(legal["siret"])
        if legal.get("vat_number"):
            assert normalize_vat_number(legal["vat_number"], country) == legal["vat_number"]
            assert vat_matches_registration(legal["vat_number"], legal["siret"], country)
