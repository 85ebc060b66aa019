"""The automatic checks a review goes through before it is published.

They never refuse a review and never judge its rating: a review that trips one waits in the
manager's queue instead of going online at once, and the manager publishes or rejects it. A bad
rating is published like a good one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.reviews.models import Review

MIN_BODY_CHARACTERS = 20
MIN_BODY_WORDS = 3
# The same text already posted this many times (by anyone) holds the next copy.
DUPLICATE_LIMIT = 2

BANNED_WORDS_FILE = Path(__file__).with_name("banned_words.txt")

LINK = re.compile(
    r"(?:https?://|www\.|\b[\w-]+\.(?:com|fr|net|org|info|biz|io|be|eu|shop|store|xyz|ly|co|me)\b)",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# French and Belgian numbers, written with or without spaces, dots or dashes.
PHONE = re.compile(r"(?:\+|00)3[23][\s.-]?[1-9](?:[\s.-]?\d{2}){4}|\b0[1-9](?:[\s.-]?\d{2}){4}\b")
WORD = re.compile(r"\w+")

# Codes stored on the review, and what the manager's queue says about each.
CHECKS = {
    "too_short": _l("Texte très court"),
    "link": _l("Lien ou adresse de site"),
    "personal_data": _l("Adresse e-mail ou numéro de téléphone"),
    "banned_word": _l("Mot injurieux ou grossier"),
    "duplicate": _l("Même texte publié plusieurs fois"),
    "reported": _l("Signalé"),
    "edited_after_rejection": _l("Modifié après un refus"),
}


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(WORD.findall(plain))


def fingerprint(text: str) -> str:
    return hashlib.sha256(fold(text).encode()).hexdigest()


@cache
def banned_words() -> frozenset[str]:
    lines = BANNED_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line) for line in lines if line.strip() and not line.startswith("#"))


def _too_short(title: str, body: str) -> bool:
    text = body.strip()
    return len(text) < MIN_BODY_CHARACTERS or len(WORD.findall(text)) < MIN_BODY_WORDS


def _link(title: str, body: str) -> bool:
    return any(LINK.search(EMAIL.sub(" ", text)) for text in (title, body))


def _personal_data(title: str, body: str) -> bool:
    return any(EMAIL.search(text) or PHONE.search(text) for text in (title, body))


def _banned_word(title: str, body: str) -> bool:
    words = set(fold(f"{title} {body}").split())
    return not words.isdisjoint(banned_words())


TEXT_CHECKS: dict[str, Callable[[str, str], bool]] = {
    "too_short": _too_short,
    "link": _link,
    "personal_data": _personal_data,
    "banned_word": _banned_word,
}


def copies(text_fingerprint: str, excluding: int | None = None) -> int:
    """How many reviews already carry this text."""
    query = sa.select(sa.func.count()).select_from(Review).where(Review.fingerprint == text_fingerprint)
    if excluding is not None:
        query = query.where(Review.id != excluding)
    return int(db.session.scalar(query) or 0)


def check(title: str, body: str, review_id: int | None = None) -> list[str]:
    """The codes of the checks this text trips, in ``CHECKS`` order; empty: publish it."""
    found = [code for code, tripped in TEXT_CHECKS.items() if tripped(title, body)]
    if copies(fingerprint(body), excluding=review_id) >= DUPLICATE_LIMIT:
        found.append("duplicate")
    return found


def labels(codes: list[str]) -> list[object]:
    return [CHECKS.get(code, code) for code in codes]
