"""A small schema.org validator for the JSON-LD the pages emit, with no network.

It knows only the types and properties the site relies on, copied from the schema.org definitions
(https://schema.org/<Type>: each property's expected types, each type's parents), plus the properties
search engines require for their rich results. A property that is not defined on the type or one of
its parents, a value of the wrong type, or a required property missing is a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

TEXT, URL, NUMBER, INTEGER, TIME, DATE = "Text", "URL", "Number", "Integer", "Time", "Date"

# type -> (parents, {property: expected types})
TYPES: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "Thing": (
        (),
        {
            "name": (TEXT,),
            "description": (TEXT,),
            "url": (URL,),
            "image": (URL, "ImageObject"),
            "sameAs": (URL,),
        },
    ),
    "Intangible": (("Thing",), {}),
    "StructuredValue": (("Intangible",), {}),
    "Organization": (
        ("Thing",),
        {
            "address": ("PostalAddress", TEXT),
            "aggregateRating": ("AggregateRating",),
            "email": (TEXT,),
            "telephone": (TEXT,),
            "logo": (URL, "ImageObject"),
        },
    ),
    "Place": (
        ("Thing",),
        {
            "address": ("PostalAddress", TEXT),
            "aggregateRating": ("AggregateRating",),
            "geo": ("GeoCoordinates", "GeoShape"),
            "openingHoursSpecification": ("OpeningHoursSpecification",),
            "specialOpeningHoursSpecification": ("OpeningHoursSpecification",),
            "telephone": (TEXT,),
            "logo": (URL, "ImageObject"),
        },
    ),
    "LocalBusiness": (("Organization", "Place"), {"openingHours": (TEXT,), "priceRange": (TEXT,)}),
    "Store": (("LocalBusiness",), {}),
    "FoodEstablishment": (("LocalBusiness",), {"servesCuisine": (TEXT,)}),
    "Bakery": (("FoodEstablishment",), {}),
    "HealthAndBeautyBusiness": (("LocalBusiness",), {}),
    "HomeAndConstructionBusiness": (("LocalBusiness",), {}),
    **{
        store: (("Store",), {})
        for store in (
            "BookStore",
            "ClothingStore",
            "Florist",
            "GroceryStore",
            "HardwareStore",
            "HomeGoodsStore",
            "JewelryStore",
            "LiquorStore",
            "ShoeStore",
            "SportingGoodsStore",
            "ToyStore",
        )
    },
    "Product": (
        ("Thing",),
        {
            "offers": ("Offer",),
            "aggregateRating": ("AggregateRating",),
            "category": (TEXT, URL),
            "sku": (TEXT,),
            "gtin": (TEXT,),
            "gtin8": (TEXT,),
            "gtin12": (TEXT,),
            "gtin13": (TEXT,),
            "gtin14": (TEXT,),
            "brand": ("Brand", "Organization"),
        },
    ),
    "Offer": (
        ("Intangible",),
        {
            "price": (NUMBER, TEXT),
            "priceCurrency": (TEXT,),
            "availability": ("ItemAvailability",),
            "sku": (TEXT,),
            "seller": ("Organization", "Person"),
            "url": (URL,),
        },
    ),
    "Rating": (
        ("Intangible",),
        {"ratingValue": (NUMBER, TEXT), "bestRating": (NUMBER, TEXT), "worstRating": (NUMBER, TEXT)},
    ),
    "AggregateRating": (("Rating",), {"reviewCount": (INTEGER,), "ratingCount": (INTEGER,)}),
    "PostalAddress": (
        ("StructuredValue",),
        {
            "streetAddress": (TEXT,),
            "postalCode": (TEXT,),
            "addressLocality": (TEXT,),
            "addressRegion": (TEXT,),
            "addressCountry": (TEXT, "Country"),
        },
    ),
    "GeoCoordinates": (("StructuredValue",), {"latitude": (NUMBER, TEXT), "longitude": (NUMBER, TEXT)}),
    "OpeningHoursSpecification": (
        ("StructuredValue",),
        {
            "dayOfWeek": ("DayOfWeek",),
            "opens": (TIME,),
            "closes": (TIME,),
            "validFrom": (DATE,),
            "validThrough": (DATE,),
        },
    ),
}

ENUMERATIONS = {
    "ItemAvailability": {
        "InStock",
        "OutOfStock",
        "PreOrder",
        "BackOrder",
        "Discontinued",
        "InStoreOnly",
        "LimitedAvailability",
        "OnlineOnly",
        "SoldOut",
    },
    "DayOfWeek": {
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "PublicHolidays",
    },
}

# What search engines need for a rich result (Google's "required" and the "recommended" we promise).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Product": ("name", "offers", "image", "description"),
    "Offer": ("price", "priceCurrency", "availability"),
    "LocalBusiness": ("name", "address", "url"),
    "PostalAddress": ("streetAddress", "postalCode", "addressLocality", "addressCountry"),
    "GeoCoordinates": ("latitude", "longitude"),
    "AggregateRating": ("ratingValue", "reviewCount"),
    "OpeningHoursSpecification": ("opens", "closes"),
}


def ancestors(type_name: str) -> list[str]:
    found: list[str] = []
    todo = [type_name]
    while todo:
        current = todo.pop()
        if current not in found:
            found.append(current)
            todo.extend(TYPES[current][0])
    return found


def is_a(type_name: str, wanted: str) -> bool:
    return type_name in TYPES and wanted in ancestors(type_name)


def _property_types(type_name: str, name: str) -> tuple[str, ...] | None:
    for kind in ancestors(type_name):
        if name in TYPES[kind][1]:
            return TYPES[kind][1][name]
    return None


def _matches(value: Any, expected: str, path: str, problems: list[str]) -> bool:
    if expected in ENUMERATIONS:
        return isinstance(value, str) and value.removeprefix("https://schema.org/") in ENUMERATIONS[expected]
    if expected in TYPES or expected in {"ImageObject", "Brand", "Person", "Country", "GeoShape"}:
        if not isinstance(value, dict):
            return False
        kind = value.get("@type")
        if expected not in TYPES:
            return kind == expected
        if not (isinstance(kind, str) and is_a(kind, expected)):
            return False
        problems.extend(validate(value, path))
        return True
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return False
    if expected == TEXT:
        return isinstance(value, str) and value != ""
    if expected == URL:
        return isinstance(value, str) and re.fullmatch(r"https?://[^\s/]+(/\S*)?", value) is not None
    if expected == NUMBER:
        return isinstance(value, (int, float)) or re.fullmatch(r"-?\d+(\.\d+)?", str(value)) is not None
    if expected == INTEGER:
        return isinstance(value, int)
    if expected == TIME:
        return (
            isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?", value) is not None
        )
    if expected == DATE:
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return False
        return True
    raise AssertionError(f"unknown expected type {expected}")


def validate(data: dict[str, Any], path: str = "$") -> list[str]:
    """The problems of one JSON-LD object (and of the objects inside it)."""
    problems: list[str] = []
    kind = data.get("@type")
    if not isinstance(kind, str) or kind not in TYPES:
        return [f"{path}: unknown @type {kind!r}"]
    for required_of, names in REQUIRED.items():
        if is_a(kind, required_of):
            problems.extend(f"{path}: {kind} needs {name}" for name in names if name not in data)
    for name, value in data.items():
        if name in {"@context", "@type", "@id"}:
            continue
        expected = _property_types(kind, name)
        if expected is None:
            problems.append(f"{path}.{name}: not a property of {kind}")
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            where = f"{path}.{name}[{index}]" if isinstance(value, list) else f"{path}.{name}"
            if not any(_matches(item, option, where, problems) for option in expected):
                problems.append(f"{where}: {item!r} is not a {' or '.join(expected)}")
    return problems
