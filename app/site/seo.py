"""Being found by search engines: ``/robots.txt``, ``/sitemap.xml``, and what the pages' heads carry
(canonical addresses, sharing previews, schema.org data for shops).

Every address handed to a crawler or a messaging app is absolute and built from ``PUBLIC_URL``
(``app.urls.external_url``), never from the request's Host header. Only public things are listed:
online products of open shops, open shops, live categories.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from html import escape
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, stream_with_context
from markupsafe import Markup

from app import storage
from app.catalog.cards import online as product_online
from app.catalog.models import Category, Product
from app.database import utcnow
from app.extensions import db, limiter
from app.reviews.models import RatingSubject
from app.urls import external_url
from vendors import hours
from vendors.models import Shop

blueprint = Blueprint("seo", __name__)

# The sitemaps protocol's limit per file; over it, /sitemap.xml becomes an index of numbered files.
URLS_PER_SITEMAP = 50_000
SITEMAP_MAX_AGE = 3600

# Paths crawlers have no business in: back offices, the console, a shopper's own pages, forms.
# Rules match by prefix: "/commande" covers "/commandes/…", "/mot-de-passe" the forgotten-password pages.
DISALLOWED = (
    "/gestion",
    "/vendeur",
    "/panier",
    "/compte",
    "/commande",
    "/favoris",
    "/connexion",
    "/deconnexion",
    "/inscription",
    "/confirmer",
    "/mot-de-passe",
    "/langue",
    "/avis/commande",  # a buyer's signed review links (how reviews work, /avis/comment-ca-marche, stays open)
    "/invitation",
    "/formulaire-retractation",
    "/recherche?",  # a search page per typed word and filter: endless, and thin
    "/recherche/suggestions",
    "/boutiques?",  # the directory's filters and distances
    "/dev",
)


@blueprint.route("/robots.txt")
@limiter.exempt
def robots() -> Response:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOWED), "Allow: /", ""]
    lines.append(f"Sitemap: {external_url('seo.sitemap')}")
    response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.cache_control.public = True
    response.cache_control.max_age = SITEMAP_MAX_AGE
    return response


# -- the sitemap ----------------------------------------------------------------------------------


def _lastmod(moment: dt.datetime | None) -> str:
    return (moment or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _public_products() -> sa.Select[int, dt.datetime]:
    return (
        sa.select(Product.id, Product.updated_at)
        .join(Shop, Shop.id == Product.shop_id)
        .where(product_online())
    )


def _public_shops() -> sa.Select[str, dt.datetime]:
    return sa.select(Shop.slug, Shop.updated_at).where(Shop.is_public)


def _live_categories() -> sa.Select[str, dt.datetime]:
    return sa.select(Category.slug, Category.updated_at).where(Category.archived_at.is_(None))


def _sections() -> list[tuple[Any, Callable[[Any], str], Any]]:
    """Each kind of page: its rows, the URL of a row, the order rows come in (stable across pages)."""
    return [
        (
            _live_categories(),
            lambda row: external_url("search.category", slug=row[0]),
            Category.id,
        ),
        (_public_shops(), lambda row: external_url("vendors.storefront", slug=row[0]), Shop.id),
        (
            _public_products(),
            lambda row: external_url("catalog.product", product_id=row[0]),
            Product.id,
        ),
    ]


def _count(query: sa.Select[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def url_count() -> int:
    """How many addresses the sitemap lists: the home page, then categories, shops and products."""
    return 1 + sum(_count(query) for query, _, _ in _sections())


def _entries(first: int, last: int) -> Iterator[tuple[str, str]]:
    """(loc, lastmod) of entries ``first`` to ``last`` (excluded) of the whole list, a batch at a time."""
    if first == 0:
        yield external_url("site.home"), _lastmod(None)
    offset = 1
    for query, url_of, order in _sections():
        size = _count(query)
        start, stop = max(first, offset), min(last, offset + size)
        if start < stop:
            rows = db.session.execute(
                query.order_by(order)
                .offset(start - offset)
                .limit(stop - start)
                .execution_options(yield_per=1000)
            )
            for row in rows:
                yield url_of(row), _lastmod(row[1])
        offset += size


def _urlset(first: int, last: int) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    for loc, lastmod in _entries(first, last):
        yield f"<url><loc>{escape(loc, quote=False)}</loc><lastmod>{lastmod}</lastmod></url>\n"
    yield "</urlset>\n"


def _xml(body: Iterator[str]) -> Response:
    response = Response(stream_with_context(body), mimetype="application/xml")
    response.cache_control.public = True
    response.cache_control.max_age = SITEMAP_MAX_AGE
    return response


@blueprint.route("/sitemap.xml")
@limiter.exempt
def sitemap() -> Response:
    """All public addresses in one file, or an index of numbered files when they are too many."""
    total = url_count()
    per_file = current_app.config.get("SITEMAP_URLS_PER_FILE", URLS_PER_SITEMAP)
    if total <= per_file:
        return _xml(_urlset(0, total))
    files = -(-total // per_file)
    now = _lastmod(None)

    def index() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        for number in range(1, files + 1):
            loc = escape(external_url("seo.sitemap_part", number=number), quote=False)
            yield f"<sitemap><loc>{loc}</loc><lastmod>{now}</lastmod></sitemap>\n"
        yield "</sitemapindex>\n"

    return _xml(index())


@blueprint.route("/sitemap-<int:number>.xml")
@limiter.exempt
def sitemap_part(number: int) -> Response:
    per_file = current_app.config.get("SITEMAP_URLS_PER_FILE", URLS_PER_SITEMAP)
    total = url_count()
    first = (number - 1) * per_file
    if number < 1 or first >= total or total <= per_file:
        abort(404)
    return _xml(_urlset(first, min(first + per_file, total)))


# -- what the pages' heads carry ------------------------------------------------------------------


def json_script(data: dict[str, Any]) -> Markup:
    """JSON safe inside a <script type="application/ld+json"> data block: no "</" can close it early."""
    text = (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup(text)  # noqa: S704 - escaped above for the script context


def media_url(path: str | None) -> str | None:
    """The absolute address of an uploaded photo (for previews in messaging apps)."""
    return storage.media_url(path, external=True) if path else None


def aggregate_rating(subject: RatingSubject, subject_id: int) -> dict[str, Any] | None:
    """schema.org AggregateRating of the published reviews, or None when there is none."""
    from app.reviews.views import shown_summary

    summary = shown_summary(subject, subject_id)
    if summary is None or summary.review_count <= 0:
        return None
    tenths = (summary.rating_sum * 10 * 2 + summary.review_count) // (2 * summary.review_count)  # half up
    return {
        "@type": "AggregateRating",
        "ratingValue": f"{tenths // 10}.{tenths % 10}",
        "reviewCount": summary.review_count,
        "bestRating": 5,
        "worstRating": 1,
    }


# schema.org's most precise LocalBusiness subtype for a shop's category (its slug, or a parent's).
BUSINESS_TYPES = {
    "boulangerie-patisserie": "Bakery",
    "fromagerie": "GroceryStore",
    "boucherie-charcuterie": "GroceryStore",
    "fruits-legumes": "GroceryStore",
    "epicerie-fine": "GroceryStore",
    "alimentation": "GroceryStore",
    "cafe-the": "GroceryStore",
    "chocolats-confiseries": "GroceryStore",
    "vins-spiritueux": "LiquorStore",
    "traiteur": "FoodEstablishment",
    "fleurs-plantes": "Florist",
    "art-de-la-table": "HomeGoodsStore",
    "maison-jardin": "HomeAndConstructionBusiness",
    "bricolage": "HardwareStore",
    "vetements-femme": "ClothingStore",
    "vetements-homme": "ClothingStore",
    "vetements-enfant": "ClothingStore",
    "mode": "ClothingStore",
    "chaussures": "ShoeStore",
    "bijoux": "JewelryStore",
    "livres": "BookStore",
    "jouets-jeux": "ToyStore",
    "sport-velo": "SportingGoodsStore",
    "beaute": "HealthAndBeautyBusiness",
    "cosmetiques": "HealthAndBeautyBusiness",
}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def business_type(shop: Shop) -> str:
    for category in reversed(shop.category.path if shop.category else []):
        if category.slug in BUSINESS_TYPES:
            return BUSINESS_TYPES[category.slug]
    return "Store"


def local_business(
    shop: Shop, schedule: dict[int, list[hours.Interval]], closures: Sequence[Any]
) -> dict[str, Any]:
    """schema.org LocalBusiness (its most precise subtype) of a storefront: address, position, hours
    (``schedule``, ``hours.week()``'s), the closures to come (``closures``: rows with ``starts_on`` and
    ``ends_on``, as the storefront has them), rating."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": business_type(shop),
        "@id": external_url("vendors.storefront", slug=shop.slug),
        "name": shop.name,
        "url": external_url("vendors.storefront", slug=shop.slug),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": shop.street,
            "postalCode": shop.postcode,
            "addressLocality": shop.city,
            "addressCountry": shop.country,
        },
    }
    if shop.story:
        data["description"] = shop.story[:500]
    image = media_url(shop.banner_path or shop.logo_path)
    if image:
        data["image"] = image
    if shop.logo_path:
        data["logo"] = media_url(shop.logo_path)
    if shop.phone:
        data["telephone"] = shop.phone
    if shop.email:
        data["email"] = shop.email
    if shop.latitude is not None and shop.longitude is not None:
        data["geo"] = {"@type": "GeoCoordinates", "latitude": shop.latitude, "longitude": shop.longitude}
    specs = [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": f"https://schema.org/{DAYS[day]}",
            "opens": interval.opens_at.strftime("%H:%M"),
            "closes": interval.closes_at.strftime("%H:%M"),
        }
        for day, intervals in schedule.items()
        for interval in intervals
    ]
    if specs:
        data["openingHoursSpecification"] = specs
    today = utcnow().astimezone(hours.TOWN_TZ).date()
    special = [
        {
            # Google's convention for a day closed: opens and closes at midnight.
            "@type": "OpeningHoursSpecification",
            "opens": "00:00",
            "closes": "00:00",
            "validFrom": closure.starts_on.isoformat(),
            "validThrough": closure.ends_on.isoformat(),
        }
        for closure in closures
        if closure.ends_on >= today
    ]
    if special:
        data["specialOpeningHoursSpecification"] = special
    rating = aggregate_rating(RatingSubject.SHOP, shop.id)
    if rating:
        data["aggregateRating"] = rating
    return data


def init_app(app: Flask) -> None:
    """The helpers the templates' heads use."""
    app.jinja_env.globals["absolute_url"] = external_url
    app.jinja_env.globals["absolute_media_url"] = media_url
    app.jinja_env.globals["shop_json_ld"] = lambda shop, schedule, closures: json_script(
        local_business(shop, schedule, closures)
    )
