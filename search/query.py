"""The backend-neutral query model and its result.

A ``SearchQuery`` says what the shopper asked (text, filters, "near me", sort, page); both backends
answer it with a ``SearchResult`` (hits with highlights, total, facets with counts, suggestions).
Filters combine with AND, and every facet count is that of the results if the value were added: a
link always narrows the results to exactly its count.

``SearchQuery.from_args`` reads the search page's URL. It never refuses: absurd values are corrected
and each correction is reported as a notice, so the page can say what it did.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask_babel import lazy_gettext as _l

from app import money
from app.catalog.identifiers import InvalidGtin, normalize_gtin
from search.text import shopping_words

MAX_QUERY_LENGTH = 200
PER_PAGE = 24
# Deeper than this, a shopper should narrow the search rather than page on (both backends stop here).
MAX_RESULT_WINDOW = 1000
MAX_RADIUS_KM = 100.0
DEFAULT_RADIUS_KM = 5.0
MAX_PRICE_CENTS = 100_000_000  # one million euros: anything above is a typing slip

SORTS = ("relevance", "price_asc", "price_desc", "newest", "distance", "rating")
DELIVERY_METHODS = ("click_collect", "local_delivery", "home_delivery", "relay")
# Price facets, in cents tax included: [from, to).
PRICE_RANGES: tuple[tuple[int | None, int | None], ...] = (
    (None, 1000),
    (1000, 2500),
    (2500, 5000),
    (5000, 10000),
    (10000, None),
)
# What the filter panel calls the delivery methods a query's words may ask for (macros/shops.html).
DELIVERY_NAMES = {
    "click_collect": _l("Retrait en boutique"),
    "local_delivery": _l("Livraison locale"),
    "home_delivery": _l("Envoi à domicile"),
    "relay": _l("Point relais"),
}
# The orders a query's words may ask for, with what the page then says.
ORDERS_ASKED = {
    "cheap": ("price_asc", _l("Les résultats sont triés du moins cher au plus cher.")),
    "newest": ("newest", _l("Les résultats sont triés du plus récent au plus ancien.")),
}
# "4 ★ et plus", "3 ★ et plus": the average of the product's published reviews.
RATING_FILTERS = (4, 3)
FACETS = ("category", "shop", "price", "labels", "delivery", "in_stock", "rating")
# Filter values are slugs and label words: nothing else is looked up.
_VALUE = re.compile(r"^[\w][\w \-']{0,79}$")
# One group of a product code as printed ("978-2-07", "061275", "8", an ISBN-10's final X).
_CODE_PART = re.compile(r"^[\d\-]+[xX]?$")
CODE_LENGTHS = (10, 13)  # an ISBN-10; an EAN-13, which an ISBN-13 is


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    category: str | None = None  # a category slug; its children are included
    shop: str | None = None  # a shop slug
    labels: tuple[str, ...] = ()  # all of them: "bio" and "local"
    delivery: tuple[str, ...] = ()  # all of them
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    in_stock: bool = False
    min_rating: int | None = None  # an average of at least this many stars
    near: tuple[float, float] | None = None
    within_km: float | None = None  # with ``near``: only shops this close
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def is_browse(self) -> bool:
        """No text: the catalogue is listed (newest first unless another order is asked)."""
        return not self.text.strip()

    @property
    def code(self) -> str | None:
        """The GTIN of the EAN or ISBN the text contains: then it alone decides what matches."""
        return product_code(self.text)

    @property
    def effective_sort(self) -> str:
        if self.sort == "distance" and self.near is None:
            return "relevance"
        if self.sort == "relevance" and self.is_browse:
            return "newest"
        return self.sort

    def with_(self, **changes: Any) -> SearchQuery:
        return replace(self, **changes)

    def understood(self) -> tuple[SearchQuery, list[Any]]:
        """This query with what its text says about buying taken out and applied
        (``search.text.shopping_words``): a ceiling ("moins de 20 €") as the highest price unless a
        lower one is set, "pas cher" and "nouveautés" as the order unless another was chosen, a
        delivery method or "en stock" as a filter. With a notice for each, so the page says so."""
        found = shopping_words(self.text)
        if found.text == self.text:
            return self, []
        changes: dict[str, Any] = {"text": found.text}
        notices: list[Any] = []
        if found.max_cents is not None:
            ceiling = min(found.max_cents, MAX_PRICE_CENTS)
            if self.price_max_cents is None or ceiling < self.price_max_cents:
                changes["price_max_cents"] = ceiling
            notices.append(
                _l("Prix jusqu’à %(price)s : le filtre est appliqué.", price=money.format_money(ceiling))
            )
        for asked in found.asks:
            if asked in ORDERS_ASKED and self.sort == "relevance" and "sort" not in changes:
                changes["sort"], notice = ORDERS_ASKED[asked]
                notices.append(notice)
            elif asked in DELIVERY_METHODS:
                delivery = changes.get("delivery", self.delivery)
                changes["delivery"] = delivery if asked in delivery else (*delivery, asked)
                notices.append(_l("Filtre appliqué : %(filter)s.", filter=DELIVERY_NAMES[asked]))
            elif asked == "in_stock":
                changes["in_stock"] = True
                notices.append(_l("Filtre appliqué : %(filter)s.", filter=_l("En stock")))
            elif asked == "delivery":
                notices.append(
                    _l("La livraison se choisit dans les filtres : livraison locale, envoi, point relais.")
                )
        return replace(self, **changes), notices

    def to_args(self) -> list[tuple[str, str]]:
        """The URL arguments of this query (the inverse of ``from_args``; "near me" is the page's)."""
        args: list[tuple[str, str]] = []
        if self.text:
            args.append(("q", self.text))
        if self.category:
            args.append(("categorie", self.category))
        if self.shop:
            args.append(("boutique", self.shop))
        args += [("label", label) for label in self.labels]
        args += [("livraison", method) for method in self.delivery]
        if self.price_min_cents is not None:
            args.append(("prix_min", _euros(self.price_min_cents)))
        if self.price_max_cents is not None:
            args.append(("prix_max", _euros(self.price_max_cents)))
        if self.in_stock:
            args.append(("en_stock", "1"))
        if self.min_rating is not None:
            args.append(("note", str(self.min_rating)))
        if self.within_km is not None:
            args.append(("rayon", f"{self.within_km:g}"))
        if self.sort != "relevance":
            args.append(("tri", self.sort))
        if self.page != 1:
            args.append(("page", str(self.page)))
        return args

    @classmethod
    def from_args(cls, args: Mapping[str, Any], near: tuple[float, float] | None = None) -> ParsedQuery:
        """The query a search page URL asks for, with a notice for every value it had to correct."""
        notices: list[Any] = []
        text = " ".join(str(args.get("q", "")).split())
        if len(text) > MAX_QUERY_LENGTH:
            text = text[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0] or text[:MAX_QUERY_LENGTH]
            notices.append(_l("Votre recherche était très longue : seuls ses premiers mots ont été gardés."))

        def value(name: str) -> str | None:
            raw = str(args.get(name, "")).strip()
            return raw if raw and _VALUE.match(raw) else None

        def values(name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
            getlist = getattr(args, "getlist", None)
            raw = getlist(name) if getlist else [args.get(name, "")]
            kept = []
            for item in raw:
                item = str(item).strip().lower()
                if item and _VALUE.match(item) and (allowed is None or item in allowed) and item not in kept:
                    kept.append(item)
            return tuple(kept[:5])

        price_min = _price(args.get("prix_min"), "prix_min", notices)
        price_max = _price(args.get("prix_max"), "prix_max", notices)
        if price_min is not None and price_max is not None and price_min > price_max:
            price_min, price_max = price_max, price_min
            notices.append(_l("Le prix minimum dépassait le maximum : nous les avons inversés."))

        sort = str(args.get("tri", "relevance"))
        if sort not in SORTS:
            sort = "relevance"
        within = _number(args.get("rayon"))
        if within is not None:
            if within <= 0:
                within = None
            elif within > MAX_RADIUS_KM:
                within = MAX_RADIUS_KM
                notices.append(_l("Le rayon est limité à %(km)d km.", km=int(MAX_RADIUS_KM)))
        if sort == "distance" and near is None:
            notices.append(_l("Indiquez où vous êtes pour trier par distance."))
        if within is not None and near is None:
            within = None
            notices.append(_l("Indiquez où vous êtes pour chercher autour de vous."))

        min_rating = _integer(args.get("note")) if args.get("note") not in (None, "") else None
        if min_rating is not None and not 1 <= min_rating <= 5:
            min_rating = None
            notices.append(_l("La note minimale va de 1 à 5 étoiles : elle est ignorée."))

        page = _integer(args.get("page")) or 1
        last_page = MAX_RESULT_WINDOW // PER_PAGE
        if page < 1:
            page = 1
        elif page > last_page:
            page = last_page
            notices.append(
                _l("Les résultats s’arrêtent à la page %(page)d : affinez votre recherche.", page=last_page)
            )
        query, understood = cls(
            text=text,
            category=value("categorie"),
            shop=value("boutique"),
            labels=values("label"),
            delivery=values("livraison", DELIVERY_METHODS),
            price_min_cents=price_min,
            price_max_cents=price_max,
            in_stock=str(args.get("en_stock", "")) in {"1", "on", "true", "oui"},
            min_rating=min_rating,
            near=near,
            within_km=within,
            sort=sort,
            page=page,
        ).understood()
        return ParsedQuery(query, notices + understood)


def product_code(text: str) -> str | None:
    """The GTIN (an ISBN-10 as its 978 EAN-13) of an EAN-13, ISBN-13 or ISBN-10 found in the text,
    printed with or without hyphens and spaces, its check digit valid; None when there is none.

    Only these lengths count: a shorter number ("75001", "2024") is a word like any other.
    """
    parts = text.split()
    for start in range(len(parts)):
        digits, found = "", None
        for part in parts[start:]:
            if not _CODE_PART.match(part):
                break
            digits += part.replace("-", "")
            if len(digits) > max(CODE_LENGTHS):
                break
            if len(digits) in CODE_LENGTHS:
                with contextlib.suppress(InvalidGtin):
                    found = normalize_gtin(digits)  # the longest run wins: "978 2070612758" is one code
        if found:
            return found
    return None


@dataclass(frozen=True)
class ParsedQuery:
    query: SearchQuery
    notices: list[Any]


def _euros(cents: int) -> str:
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents // 100},{cents % 100:02d}"


def _number(raw: Any) -> float | None:
    try:
        number = float(str(raw).replace(",", ".").strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(raw: Any) -> int | None:
    number = _number(raw)
    return int(number) if number is not None and abs(number) < 10**9 else None


def _price(raw: Any, name: str, notices: list[Any]) -> int | None:
    """Euros as typed ("12", "12,50") to cents; nonsense is dropped with a notice."""
    if raw in (None, ""):
        return None
    try:
        cents = money.parse_amount(str(raw))
    except (ValueError, ArithmeticError):
        notices.append(_l("Le prix « %(value)s » n’a pas été compris : il est ignoré.", value=str(raw)[:20]))
        return None
    if cents < 0:
        notices.append(_l("Un prix ne peut pas être négatif : il est ignoré."))
        return None
    return min(cents, MAX_PRICE_CENTS)


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    product_id: int
    score: float
    title_html: str  # the title, HTML-escaped, with <mark> around the matched words
    shop_count: int = 1  # shops offering the same GTIN among the results
    distance_km: float | None = None
    # Not a match of the words: a product of the category the matches agree on, after them on the
    # first page. The total and the facets count the matches only.
    related: bool = False


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int  # products, the same GTIN counted once
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)  # "did you mean" corrections of the text
    backend: str = ""

    def facet(self, name: str) -> list[FacetValue]:
        return self.facets.get(name, [])

    @property
    def pages(self) -> int:
        window = min(self.total, MAX_RESULT_WINDOW)
        return max(1, math.ceil(window / PER_PAGE))


def price_range_key(low: int | None, high: int | None) -> str:
    return f"{'' if low is None else low}-{'' if high is None else high}"
