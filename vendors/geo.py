"""Where shops are: a small built-in street lookup for the demo town, and distances."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

EARTH_RADIUS_KM = 6371.0088
# The town centre (place Plumereau), used when a shopper asks for "near me" without a position.
TOWN_CENTRE = (47.396, 0.686)

# Streets of Bellerive-sur-Loire and a point on each (the centroid of its shops). A shop on another
# street enters its latitude and longitude by hand.
STREETS: dict[str, tuple[float, float]] = {
    "avenue de Grammont": (47.405339, 0.671791),
    "boulevard Béranger": (47.397763, 0.685937),
    "place Plumereau": (47.397565, 0.690823),
    "place de la Victoire": (47.394493, 0.688372),
    "place du Marché": (47.400632, 0.668498),
    "quai du Port": (47.393791, 0.672211),
    "rue Bretonneau": (47.390085, 0.674150),
    "rue Colbert": (47.404209, 0.687833),
    "rue Nationale": (47.382414, 0.686197),
    "rue de la Paix": (47.392288, 0.676580),
    "rue de la Scellerie": (47.396085, 0.684183),
    "rue des Halles": (47.402112, 0.698672),
    "rue des Tanneurs": (47.390085, 0.688532),
    "rue du Commerce": (47.396238, 0.696676),
    "rue du Grand Marché": (47.388996, 0.673645),
}


def _key(text: str) -> str:
    """Lower case, no accents, no house number, single spaces: how people type street names."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9 ]", " ", ascii_text.lower()).split()
    while words and (words[0].isdigit() or words[0] in {"bis", "ter"}):
        words.pop(0)
    return " ".join(words)


_INDEX = {_key(name): point for name, point in STREETS.items()}


def locate(street: str) -> tuple[float, float] | None:
    """The point of a street of the demo town, from an address line like "15 rue de la Paix"."""
    return _INDEX.get(_key(street))


def street_names() -> list[str]:
    return sorted(STREETS)


def point_from_args(args: Mapping[str, Any]) -> tuple[tuple[float, float] | None, str]:
    """Where "near me" is, from a page's URL: coordinates from the browser (``lat``, ``lon``), or a
    street of the town typed by hand (``depuis``). Returns the point (or None) and the street typed."""
    try:
        latitude = float(args["lat"])
        longitude = float(args["lon"])
    except (KeyError, TypeError, ValueError):
        pass
    else:
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            return (latitude, longitude), ""
    street = str(args.get("depuis", "")).strip()[:200]
    if street:
        return locate(street), street
    return None, ""


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), precise to metres at a town's scale."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def distance_from(
    near: tuple[float, float] | None, latitude: float | None, longitude: float | None
) -> float | None:
    """How far a place is from ``near``, in km; None without a point or without the place's position."""
    if near is None or latitude is None or longitude is None:
        return None
    return distance_km(near, (latitude, longitude))
