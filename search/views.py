"""The search page behind the header's search box, and its autocomplete."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, urlencode

import nh3
from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from app import i18n, money
from app.catalog import services as catalog
from app.catalog.cards import Card
from app.catalog.views import product_card
from app.database import utcnow
from app.extensions import limiter
from app.routing import parse_page
from app.templating import format_km
from search import misses, services
from search.query import (
    DEFAULT_RADIUS_KM,
    DELIVERY_METHODS,
    PRICE_RANGES,
    SORTS,
    FacetValue,
    Hit,
    SearchQuery,
    price_range_key,
)
from vendors import geo
from vendors import services as shops

blueprint = Blueprint("search", __name__)

CATEGORY_SHOPS = 12  # shops shown on a category page; the directory lists them all


@blueprint.app_template_filter("highlighted")
@lru_cache(maxsize=4096)
def highlighted(title_html: str) -> Markup:
    """A hit's title: escaped by the backend with <mark> around matches; nothing else survives. The
    same titles come back page after page: each is cleaned once per process (a page cleans two dozen)."""
    return Markup(nh3.clean(title_html, tags={"mark"}, attributes={}))  # noqa: S704 - sanitised here


@blueprint.app_template_global()
def result_card(hit: Hit, product: Card, near: tuple[float, float] | None) -> Markup:
    """A result's card: its product's, the title's matches marked, and under it the shops that sell it
    (how many, or the one) and, when the visitor said where they are, how far it is. Written here
    rather than in the template: a page draws two dozen, and each step of a template costs a call."""
    note: str | Markup = product.shop.name
    if hit.shop_count > 1:
        note = i18n.markup_ngettext("dans %(num)d boutique", "dans %(num)d boutiques", hit.shop_count)
    km = geo.distance_from(near, product.shop.latitude, product.shop.longitude)
    if km is not None:
        note = escape(note) + SEPARATOR + i18n.markup_gettext("%(km)s km", km=format_km(km))
    return product_card(product, title=highlighted(hit.title_html), note=note)


SEPARATOR = Markup(" · ")


@blueprint.app_template_global()
def price_text(key: str) -> str:
    """A price facet's label, from its key ("-1000", "1000-2500", "5000-"; cents)."""
    low, high = key.split("-")
    if not low:
        return gettext("moins de %(price)s", price=money.format_money(int(high)))
    if not high:
        return gettext("%(price)s et plus", price=money.format_money(int(low)))
    return gettext("%(low)s à %(high)s", low=money.format_money(int(low)), high=money.format_money(int(high)))


# A results page links to itself with one change for each facet value: the same few words are quoted
# again and again.
_quoted = lru_cache(maxsize=2048)(quote_plus)


def _page_url(query: SearchQuery, place: list[tuple[str, str]], base: str = "", **changes: Any) -> str:
    """The search page for ``query`` with ``changes``; any change but the page goes back to page 1.
    ``base``: the search page's path, when the caller has it (a page links to it for every facet)."""
    if "page" not in changes:
        changes["page"] = 1
    args = query.with_(**changes).to_args() + place
    return (base or url_for("search.results")) + ("?" + urlencode(args, quote_via=_quoted) if args else "")


# Stands for a facet's value while a page works out the link that chooses it: no value a link carries
# can hold it (a NUL is refused in any argument), and its space is "+" in a query string but "%20" in a
# path, so that it is found only where the value is a query argument.
_CHOSEN = "\x00 chosen \x00"
_CHOSEN_QUOTED = quote_plus(_CHOSEN)


class PageLinks:
    """A results page's links to itself: ``page_url(**changes)`` for any change, and
    ``page_url.choosing(field, value)`` for a facet's value, set (category, shop) or added (labels,
    delivery). A page links to each of dozens of values: the link is worked out once per facet, with a
    stand-in for the value, and each value is put in its place."""

    def __init__(self, link: Callable[..., str]) -> None:
        self._link = link
        self._around: dict[str, tuple[str, str] | None] = {}

    def __call__(self, **changes: Any) -> str:
        return self._link(**changes)

    def choosing(self, field: str, value: str, current: Any = None) -> str:
        """The link that chooses ``value`` in ``field`` (``current``: the field's value now, a tuple
        for the fields that take several)."""
        if field not in self._around:
            url = self._link(**{field: self._changed(current, _CHOSEN)})
            before, found, after = url.partition(_CHOSEN_QUOTED)
            self._around[field] = (before, after) if found and _CHOSEN_QUOTED not in after else None
        around = self._around[field]
        if around is None:  # the value is not a query argument (a category page's path): the long way
            return self._link(**{field: self._changed(current, value)})
        return around[0] + _quoted(value) + around[1]

    @staticmethod
    def _changed(current: Any, value: str) -> Any:
        return (*current, value) if isinstance(current, tuple) else value


@blueprint.app_template_global()
def facet_link(label: Any, count: int, url: str) -> Markup:
    """A facet's value in the filters: its label and how many results it has, linking to ``url``."""
    return Markup(_facet_item(url, label, count))  # noqa: S704 - escaped there


def _facet_item(url: str, label: Any, count: int) -> str:
    return f'<li><a href="{escape(url)}">{escape(label)} <span class="muted">{count:d}</span></a></li>'


@blueprint.app_template_global()
def facet_links(
    page_url: PageLinks,
    field: str,
    values: Iterable[FacetValue],
    current: Any = None,
    label: Mapping[str, Any] | Callable[[str], Any] | None = None,
) -> Markup:
    """A facet's values in the filters, but those already chosen (``current``): each with its label and
    how many results it has, linking to the page that chooses it. Written here rather than in the
    template: a results page draws a few dozen."""
    chosen = current if isinstance(current, tuple) else (current,)
    items = []
    for value in values:
        if value.value in chosen:
            continue
        if label is None:
            name = value.value
        elif callable(label):
            name = label(value.value)
        else:
            name = label.get(value.value, value.value)
        items.append(_facet_item(page_url.choosing(field, value.value, current), name, value.count))
    return Markup("".join(items))  # noqa: S704 - escaped by _facet_item


# Each price facet as the inclusive bounds of a link (``to`` is exclusive in the facet).
PRICE_LINKS: dict[str, dict[str, int | None]] = {
    price_range_key(low, high): {
        "price_min_cents": low,
        "price_max_cents": None if high is None else high - 1,
    }
    for low, high in PRICE_RANGES
}


@blueprint.route("/recherche")
def results() -> tuple[str, int] | str:
    near, street = geo.point_from_args(request.args)
    parsed = SearchQuery.from_args(request.args, near=near)
    query = parsed.query
    # Where "near me" is travels with every link of the page, as typed or as the browser gave it.
    place: list[tuple[str, str]] = []
    if street:
        place.append(("depuis", street))
    elif near is not None:
        place += [("lat", f"{near[0]:.5f}"), ("lon", f"{near[1]:.5f}")]
    base = url_for("search.results")
    context: dict[str, Any] = {
        "query": query,
        "notices": parsed.notices,
        "street": street,
        "street_unknown": bool(street) and near is None,
        "near": near,
        "place": place,
        "page_url": PageLinks(lambda **changes: _page_url(query, place, base, **changes)),
        "price_links": PRICE_LINKS,
        "sorts": SORTS,
        "delivery_methods": DELIVERY_METHODS,
        "default_radius": DEFAULT_RADIUS_KM,
        "street_names": geo.street_names(),
    }
    try:
        page = services.search_page(query)
    except services.SearchUnavailable:
        return render_template("search/results.html", page=None, unavailable=True, **context), 503
    misses.record(query, page.result.total)
    return render_template("search/results.html", page=page, unavailable=False, **context)


def _category_page_url(
    query: SearchQuery, place: list[tuple[str, str]], base: str = "", **changes: Any
) -> str:
    """A category page's link: another category is that category's page, no category the search page.
    ``base``: this category's page's path, when the caller has it."""
    if "page" not in changes:
        changes["page"] = 1
    changed = query.with_(**changes)
    if not changed.category:
        return _page_url(query, place, **changes)
    args = [(name, value) for name, value in changed.to_args() if name != "categorie"] + place
    if not base or changed.category != query.category:
        base = url_for("search.category", slug=changed.category)
    return base + ("?" + urlencode(args, quote_via=_quoted) if args else "")


@blueprint.route("/categories/<slug>")
def category(slug: str) -> str:
    """A category's page: its products and its children's, with the search page's facets and sorts, and
    its shops. While search cannot answer (or has not indexed the category yet) the database lists them."""
    found = catalog.category_with_children(slug)
    if found is None:
        abort(404)
    category, children = found
    near, street = geo.point_from_args(request.args)
    parsed = SearchQuery.from_args(request.args, near=near)
    query = parsed.query.with_(category=category.slug)
    place: list[tuple[str, str]] = []
    if street:
        place.append(("depuis", street))
    elif near is not None:
        place += [("lat", f"{near[0]:.5f}"), ("lon", f"{near[1]:.5f}")]
    try:
        page: services.SearchPage | None = services.search_page(query)
    except services.SearchUnavailable:
        page = None
    browsing = query == SearchQuery(category=category.slug, near=near, page=query.page)
    db_page = None
    if page is None or (browsing and not page.result.total):
        db_page = catalog.public_products(
            categories=[category, *children], page=request.args.get("page", 1, type=parse_page)
        )
    form_action = url_for("search.category", slug=category.slug)
    return render_template(
        "search/category.html",
        category=category,
        children=children,
        shops=shops.category_shops([category.id, *category.child_ids], near, utcnow(), CATEGORY_SHOPS),
        db_page=db_page,
        query=query,
        notices=parsed.notices,
        street=street,
        street_unknown=bool(street) and near is None,
        near=near,
        place=place,
        page_url=PageLinks(lambda **changes: _category_page_url(query, place, form_action, **changes)),
        form_action=form_action,
        price_links=PRICE_LINKS,
        sorts=SORTS,
        delivery_methods=DELIVERY_METHODS,
        default_radius=DEFAULT_RADIUS_KM,
        street_names=geo.street_names(),
        page=page,
        unavailable=False,
    )


@blueprint.route("/recherche/suggestions")
@limiter.limit("120 per minute")
def suggestions() -> Response:
    """Categories, shops, words and titles completing what is typed in the header's box (JSON, for
    site.js): each with its kind, the kind's label and where choosing it leads."""
    prefix = request.args.get("q", "")
    return jsonify(
        {
            "query": prefix[:200],
            "suggestions": [
                {
                    "text": suggestion.text,
                    "kind": suggestion.kind,
                    "label": str(services.SUGGESTION_LABELS[suggestion.kind]),
                    "url": _suggestion_url(suggestion),
                }
                for suggestion in services.suggestions(prefix)
            ],
        }
    )


def _suggestion_url(suggestion: services.Suggestion) -> str:
    if suggestion.kind == "category":
        return url_for("search.category", slug=suggestion.target)
    if suggestion.kind == "shop":
        return url_for("vendors.storefront", slug=suggestion.target)
    return url_for("search.results", q=suggestion.target)
