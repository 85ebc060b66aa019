"""Product identifiers: GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) and ISBN, check digits by python-stdnum."""

from __future__ import annotations

# python-stdnum is imported where a code is checked: its utilities pull in pydoc and more (about
# 10 MB), which a worker serving pages seldom needs.


class InvalidGtin(ValueError):
    """Not a GTIN, EAN or ISBN, or a wrong check digit."""


def normalize_gtin(text: str) -> str | None:
    """The GTIN as digits (an ISBN-10 becomes its EAN-13), None for an empty value; InvalidGtin otherwise."""
    compact = "".join(text.split()).replace("-", "")
    if not compact:
        return None
    from stdnum import ean, isbn
    from stdnum.exceptions import ValidationError

    if len(compact) == 10:
        try:
            return str(isbn.to_isbn13(isbn.validate(compact)))
        except ValidationError as error:
            raise InvalidGtin(f"invalid ISBN-10: {error}") from error
    try:
        return str(ean.validate(compact))
    except ValidationError as error:
        raise InvalidGtin(f"invalid GTIN: {error}") from error
