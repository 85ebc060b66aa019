"""CSRF tokens that differ in every response, against compression side channels (BREACH).

A page compressed with gzip or brotli leaks, through its length, whether a guess an attacker slips into
it (a search query the page repeats) matches a secret elsewhere on the page. Flask-WTF's token is the
same secret, signed, on every page of a session: enough repeated guesses would read it. So the token is
never sent as it is: in each HTML response it is XOR-ed with a fresh random pad sent beside it (``m.`` +
base64url(pad + token ⊕ pad)), and unmasked when a form or a header brings it back. The length and
content of what is compressed then change with every response. One pad serves all the forms of a
response (a listing has a few dozen): what an attacker's guess is compressed against is then random
and never seen again, which is all the defence needs.

The masking runs on the finished HTML, once, after the page cache has kept its copy (which holds a
marker, not a token) and before compression; a token sent unmasked (by a client of an older page) is
still accepted: only what responses carry matters here.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from flask import Flask, Response, current_app, g
from flask_wtf.csrf import CSRFProtect

PREFIX = "m."


def _xor(data: bytes, pad: bytes) -> bytes:
    """``data`` XOR ``pad`` (of the same length), as one integer operation rather than a loop over
    bytes."""
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(len(data), "big")


def mask(token: str) -> str:
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return PREFIX + base64.urlsafe_b64encode(pad + _xor(raw, pad)).decode().rstrip("=")


def unmask(value: str | None) -> str | None:
    """The token inside a masked value; anything else as it came (the check then refuses it)."""
    if not value or not value.startswith(PREFIX):
        return value
    encoded = value[len(PREFIX) :]
    try:
        data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return value
    half, odd = divmod(len(data), 2)
    if odd or not half:
        return value
    pad, masked = data[:half], data[half:]
    try:
        return _xor(masked, pad).decode()
    except UnicodeDecodeError:
        return value


class MaskedCSRFProtect(CSRFProtect):
    """Flask-WTF's check of every unsafe request, reading masked tokens (form field or header)."""

    def _get_csrf_token(self) -> Any:
        return unmask(super()._get_csrf_token())


def _field_name() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def _mask_response(response: Response) -> Response:
    token = g.get(_field_name())
    if not token or response.mimetype != "text/html" or response.is_streamed or response.direct_passthrough:
        return response
    if "Content-Encoding" in response.headers:
        return response
    body = response.get_data()
    raw = str(token).encode()
    if raw not in body:
        return response
    response.set_data(body.replace(raw, mask(str(token)).encode()))
    return response


def init_app(app: Flask) -> None:
    """Mask the tokens of every HTML response. Register it after the page cache's hooks are known to
    run before it (Flask runs ``after_request`` functions in the reverse order of registration) and
    after compression's, which must see the masked page."""
    app.after_request(_mask_response)
