"""What a URL may carry: ids within the database's range, bounded query arguments, no NUL byte.

Every id column is a BIGINT, so an id in a path is a positive 64-bit integer or the page does not
exist; a page number or a filter id in the query string is clamped or ignored rather than handed to
the database; and a NUL byte, which no text column can store, is refused at the edge. So is a JSON
body that nests deeper than any of ours (``MAX_JSON_DEPTH``) or holds half of a UTF-16 pair (``"\ud800"``,
which no UTF-8 text can store either).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**63 - 1  # BIGINT
MAX_PAGE = 10_000  # deeper than any list goes; keeps OFFSET small

NUL = "\x00"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a decoded JSON string keeps a pair as one character
MAX_JSON_DEPTH = 32  # our deepest body (an order's lines' fields) is 4 levels


class RefusedRequest(BadRequest):
    """A 400 whose description is a message for people (the error page shows it)."""


class IdConverter(IntegerConverter):
    """Flask's ``int`` converter, bounded to the ids the database can hold (1 to 2⁶³−1): any other
    number answers 404 instead of reaching a query."""

    regex = r"[0-9]{1,19}"  # ASCII digits only; 2⁶³−1 has 19 of them

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """A ``type=`` for ``request.args.get`` / ``request.form.get(list)``: the value as an int when it
    lies within ``minimum``..``maximum``, else ValueError, so the caller's default is used (or, in a
    list, the value is left out)."""

    def parse(raw: str) -> int:
        text = raw.strip()
        if len(text) > 20:  # longer than any BIGINT; spares int() a huge string
            raise ValueError("number out of range")
        value = int(text)
        if not minimum <= value <= maximum:
            raise ValueError("number out of range")
        return value

    return parse


# An id read from a query string or a form (a filter, a variant, the rows ticked in a list).
parse_id = bounded_int(1, MAX_ID)


def parse_page(raw: str) -> int:
    """A ``type=`` for a page number: clamped to 1..``MAX_PAGE`` as the search page does, so an
    absurd page shows the first or the last one; ValueError (the default) when it is no number."""
    text = raw.strip()
    if len(text) > 20:
        if not text.lstrip("-").isdigit():
            raise ValueError("not a page number")
        return 1 if text.startswith("-") else MAX_PAGE
    return min(max(int(text), 1), MAX_PAGE)


def _has_nul(pairs: Iterable[tuple[str, list[Any]]]) -> bool:
    """Whether a key or any of the values of a MultiDict's ``lists()`` holds a NUL byte."""
    return any(
        NUL in key or any(isinstance(value, str) and NUL in value for value in values)
        for key, values in pairs
    )


NUL_REFUSED = _l("La demande contient un caractère nul, qui n’est pas accepté.")
SURROGATE_REFUSED = _l("Le texte JSON contient un caractère invalide (une moitié de paire UTF-16 seule).")
DEPTH_REFUSED = _l(
    "Le contenu JSON est imbriqué trop profondément (%(depth)d niveaux au plus).", depth=MAX_JSON_DEPTH
)


def _json_refusal(body: Any) -> Any:
    """Why a decoded JSON body is refused (a NUL byte, half of a UTF-16 pair, too deep), or None.
    Walked without recursion, so that no body can exhaust the stack here."""
    waiting: list[tuple[Any, int]] = [(body, 1)]
    while waiting:
        value, depth = waiting.pop()
        if isinstance(value, str):
            if NUL in value:
                return NUL_REFUSED
            if LONE_SURROGATE.search(value):
                return SURROGATE_REFUSED
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return DEPTH_REFUSED
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                waiting.append((key, depth))
                waiting.append((item, depth + 1))
    return None


def refuse_nul_bytes() -> None:
    """400 for a request whose path, query, form, file names or JSON body hold a NUL byte: no text
    column can store one, and no person types one. A JSON body is also refused when it nests too deep
    or holds half of a UTF-16 pair (``_json_refusal``)."""
    found = NUL in request.path or _has_nul(request.args.lists())
    if not found and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        names = [(key, [file.filename for file in files]) for key, files in request.files.lists()]
        found = _has_nul(request.form.lists()) or _has_nul(names)
    if found:
        raise RefusedRequest(NUL_REFUSED)
    if request.is_json:
        try:
            refusal = _json_refusal(request.get_json(silent=True))
        except RecursionError:  # the decoder's own limit, some thousand levels down
            refusal = DEPTH_REFUSED
        if refusal is not None:
            raise RefusedRequest(refusal)


def init_app(app: Flask) -> None:
    """Bound the ``int`` converter of every route (call before the blueprints are registered) and
    refuse NUL bytes before any view runs."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_bytes)
