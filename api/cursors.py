"""Opaque cursors for the lists: the sort key of the last item sent, base64url-encoded JSON.

A cursor survives rows being added or changed between pages (unlike an offset); one that does not decode
is a 422 naming ``cursor``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from api.problems import problem
from app.extensions import db


def encode(*values: Any) -> str:
    plain = [value.isoformat() if isinstance(value, dt.datetime) else value for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _refused() -> Exception:
    return problem(
        422,
        errors=[
            {
                "field": "cursor",
                "in": "query",
                "message": str(_l("Curseur non valable : reprenez la liste depuis le début.")),
            }
        ],
    )


def decode_id(cursor: str) -> int:
    """A cursor made of an id."""
    values = _values(cursor)
    if len(values) != 1 or not _is_id(values[0]):
        raise _refused()
    return int(values[0])


def decode_time_id(cursor: str) -> tuple[dt.datetime, int]:
    """A cursor made of a UTC time and an id."""
    values = _values(cursor)
    if len(values) != 2 or not isinstance(values[0], str) or not _is_id(values[1]):
        raise _refused()
    try:
        when = dt.datetime.fromisoformat(values[0])
    except ValueError:
        raise _refused() from None
    if when.tzinfo is None:
        raise _refused()
    return when.astimezone(dt.UTC), int(values[1])


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _values(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _refused() from None
    if not isinstance(values, list):
        raise _refused()
    return values


def page(
    query: sa.Select[Any], sort: tuple[Any, ...], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Up to ``limit`` rows of ``query`` in the order of ``sort`` (an id column, or a UTC time column then
    the id), after ``cursor``; with the cursor of the next page, None on the last."""
    if cursor:
        if len(sort) == 2:
            after, after_id = decode_time_id(cursor)
            query = query.where(
                sa.tuple_(*sort) > sa.tuple_(sa.literal(after, sort[0].type), sa.literal(after_id))
            )
        else:
            query = query.where(sort[0] > decode_id(cursor))
    found = list(db.session.scalars(query.order_by(*sort).limit(limit + 1)).unique())
    items = found[:limit]
    if len(found) <= limit:
        return items, None
    return items, encode(*(getattr(items[-1], column.key) for column in sort))
