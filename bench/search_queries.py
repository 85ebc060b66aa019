"""The judged French query set over the demo town, for bench/search_relevance.py.

Each query comes with its judgment: a rule over the demo data's own record of a product (title,
category, attributes as ``products.jsonl`` gives them), written from what a shopper typing the query
wants, not from what either search backend does. Grades: 3 exactly what was asked, 2 a close
alternative, 1 related, 0 not wanted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Judge = Callable[[Record], int]


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def title(record: Record, *words: str) -> bool:
    """All these words (folded) appear in the title."""
    folded = fold(record["title"])
    return all(fold(word) in folded for word in words)


def attr(record: Record, name: str) -> str:
    value = record["attributes"].get(name)
    values = value if isinstance(value, list) else [value]
    return " ".join(fold(str(item)) for item in values if item)


def label(record: Record, name: str) -> bool:
    return name in (record["attributes"].get("labels") or [])


def cat(record: Record, *slugs: str) -> bool:
    return record["category"] in slugs


def graded(*rules: tuple[int, Judge]) -> Judge:
    """The highest grade whose rule holds."""

    def judge(record: Record) -> int:
        return max((grade for grade, rule in rules if rule(record)), default=0)

    return judge


def titled(*words: str, category: str | None = None) -> Judge:
    return graded((3, lambda r: title(r, *words) and (category is None or cat(r, category))))


QUERIES: list[tuple[str, Judge]] = [
    # The issue's own examples
    (
        "chausures cuir",
        graded(
            (3, lambda r: cat(r, "chaussures") and "cuir" in attr(r, "material")),
            (1, lambda r: cat(r, "chaussures")),
        ),
    ),
    (
        "fromage de chevre",
        graded(
            (3, lambda r: cat(r, "fromagerie") and attr(r, "milk") == "chevre"),
            (1, lambda r: cat(r, "fromagerie")),
        ),
    ),
    (
        "vin rouge bio",
        graded(
            (3, lambda r: cat(r, "vins-spiritueux") and attr(r, "color") == "rouge" and label(r, "bio")),
            (2, lambda r: cat(r, "vins-spiritueux") and attr(r, "color") == "rouge"),
            (1, lambda r: cat(r, "vins-spiritueux") and label(r, "bio")),
        ),
    ),
    (
        "livre jeunesse 3-6 ans",
        graded(
            (3, lambda r: cat(r, "livres") and attr(r, "kind") == "jeunesse" and attr(r, "age") == "3-6 ans"),
            (1, lambda r: cat(r, "livres") and attr(r, "kind") == "jeunesse"),
        ),
    ),
    # Typos and missing accents
    ("baguete", titled("baguette")),
    (
        "fromagge lait cru",
        graded(
            (3, lambda r: cat(r, "fromagerie") and label(r, "lait cru")), (1, lambda r: cat(r, "fromagerie"))
        ),
    ),
    (
        "chocolat noire",
        graded(
            (3, lambda r: title(r, "chocolat noir")),
            (1, lambda r: cat(r, "chocolats-confiseries") and title(r, "chocolat")),
        ),
    ),
    (
        "bouqet de roses",
        graded((3, lambda r: title(r, "bouquet de roses")), (1, lambda r: title(r, "bouquet"))),
    ),
    ("eclair au cafe", titled("eclair au cafe")),
    (
        "the vert",
        graded((3, lambda r: title(r, "the vert")), (1, lambda r: cat(r, "cafe-the") and title(r, "the"))),
    ),
    (
        "velo electrique",
        graded(
            (3, lambda r: title(r, "velo", "electrique")),
            (1, lambda r: cat(r, "sport-velo") and title(r, "velo")),
        ),
    ),
    ("creme hydratante", titled("creme hydratante")),
    ("orchidee", graded((3, lambda r: title(r, "orchidee")))),
    # Everyday products
    ("pain", graded((3, lambda r: attr(r, "kind") == "pain"), (1, lambda r: title(r, "pain")))),
    (
        "croissant",
        graded((3, lambda r: title(r, "croissant")), (1, lambda r: attr(r, "kind") == "viennoiserie")),
    ),
    (
        "tarte aux fraises",
        graded(
            (3, lambda r: title(r, "tarte aux fraises")),
            (1, lambda r: title(r, "tarte") or title(r, "fraises")),
        ),
    ),
    (
        "fraises",
        graded(
            (3, lambda r: cat(r, "fruits-legumes") and title(r, "fraises")),
            (2, lambda r: title(r, "fraises")),
        ),
    ),
    (
        "tomates bio",
        graded(
            (3, lambda r: title(r, "tomates") and label(r, "bio")),
            (2, lambda r: title(r, "tomates")),
            (1, lambda r: cat(r, "fruits-legumes") and label(r, "bio")),
        ),
    ),
    (
        "pommes de terre",
        graded((3, lambda r: title(r, "pommes de terre")), (1, lambda r: title(r, "pommes"))),
    ),
    ("miel", graded((3, lambda r: title(r, "miel de")), (1, lambda r: title(r, "miel")))),
    (
        "savon lavande",
        graded(
            (3, lambda r: title(r, "savon", "lavande")),
            (1, lambda r: title(r, "savon") or title(r, "lavande")),
        ),
    ),
    (
        "savon bio",
        graded(
            (3, lambda r: title(r, "savon") and label(r, "bio")),
            (2, lambda r: title(r, "savon")),
            (1, lambda r: cat(r, "cosmetiques") and label(r, "bio")),
        ),
    ),
    (
        "cafe",
        graded(
            (3, lambda r: cat(r, "cafe-the") and title(r, "cafe ")),
            (2, lambda r: cat(r, "cafe-the") and title(r, "cafe")),
            (1, lambda r: title(r, "cafe")),
        ),
    ),
    ("champagne", graded((3, lambda r: title(r, "champagne")), (1, lambda r: title(r, "cremant")))),
    ("vouvray", titled("vouvray")),
    ("rillettes", titled("rillettes")),
    ("saucisses", titled("saucisses")),
    ("poulet fermier", graded((3, lambda r: title(r, "poulet fermier")), (1, lambda r: title(r, "poulet")))),
    ("quiche", titled("quiche")),
    # Fashion and objects
    (
        "bague or",
        graded(
            (3, lambda r: title(r, "bague") and "or" in attr(r, "material").split()),
            (2, lambda r: title(r, "alliance") and "or" in attr(r, "material").split()),
            (1, lambda r: title(r, "bague") or (cat(r, "bijoux") and "or" in attr(r, "material").split())),
        ),
    ),
    (
        "collier argent",
        graded(
            (3, lambda r: title(r, "collier") and "argent" in attr(r, "material")),
            (1, lambda r: cat(r, "bijoux") and "argent" in attr(r, "material")),
        ),
    ),
    (
        "sac a main cuir",
        graded(
            (3, lambda r: title(r, "sac a main")),
            (1, lambda r: title(r, "sac") and "cuir" in attr(r, "material")),
        ),
    ),
    (
        "portefeuille",
        graded(
            (3, lambda r: title(r, "portefeuille") and cat(r, "maroquinerie")),
            (1, lambda r: title(r, "porte-cartes")),
        ),
    ),
    (
        "pull laine",
        graded(
            (3, lambda r: title(r, "pull") and "laine" in attr(r, "material")),
            (1, lambda r: "laine" in attr(r, "material") and r["category"].startswith("vetements")),
        ),
    ),
    (
        "t-shirt coton bio",
        graded(
            (3, lambda r: title(r, "t-shirt") and label(r, "bio")),
            (2, lambda r: title(r, "t-shirt")),
            (1, lambda r: "coton" in attr(r, "material") and label(r, "bio")),
        ),
    ),
    ("manteau", graded((3, lambda r: title(r, "manteau")), (1, lambda r: title(r, "parka")))),
    ("robe", graded((3, lambda r: title(r, "robe") and r["category"].startswith("vetements")))),
    ("chaussons", titled("chaussons")),
    ("baskets", titled("baskets")),
    ("mug", titled("mug")),
    ("saladier", titled("saladier")),
    # DIY, toys, stationery, services
    ("perceuse", titled("perceuse")),
    (
        "peinture blanche",
        graded((3, lambda r: title(r, "peinture", "blanche")), (1, lambda r: title(r, "peinture"))),
    ),
    ("tournevis", titled("tournevis")),
    (
        "jeu de societe",
        graded(
            (3, lambda r: title(r, "jeu de societe")),
            (1, lambda r: cat(r, "jouets-jeux") and title(r, "jeu")),
        ),
    ),
    (
        "jouet en bois",
        graded(
            (3, lambda r: cat(r, "jouets-jeux") and title(r, "en bois")), (1, lambda r: cat(r, "jouets-jeux"))
        ),
    ),
    ("puzzle", titled("puzzle")),
    ("stylo", titled("stylo")),
    ("carnet", graded((3, lambda r: title(r, "carnet") and cat(r, "papeterie")))),
    (
        "faire-part mariage",
        graded(
            (3, lambda r: title(r, "faire-part de mariage")),
            (2, lambda r: cat(r, "faire-part") and title(r, "mariage")),
            (1, lambda r: cat(r, "faire-part")),
        ),
    ),
    ("revision velo", titled("revision", "velo")),
    # Books: kinds and authors
    ("bande dessinee", graded((3, lambda r: cat(r, "livres") and attr(r, "kind") == "bd"))),
    (
        "roman policier",
        graded(
            (3, lambda r: cat(r, "livres") and attr(r, "kind") == "policier"),
            (1, lambda r: cat(r, "livres") and attr(r, "kind") == "roman"),
        ),
    ),
    ("livre de cuisine", graded((3, lambda r: cat(r, "livres") and attr(r, "kind") == "cuisine"))),
    ("histoire locale", graded((3, lambda r: cat(r, "livres") and attr(r, "kind") == "histoire-locale"))),
    (
        "sophie moreau",
        graded(
            (3, lambda r: attr(r, "author") == "sophie moreau"), (1, lambda r: "sophie" in attr(r, "author"))
        ),
    ),
    # Labels and shops
    ("produits locaux", graded((3, lambda r: label(r, "local")))),
    ("fait main", graded((3, lambda r: label(r, "fait-main")))),
    ("chez pierre", graded((3, lambda r: r["vendor"] == "chez-pierre"))),
    (
        "fromagerie des halles",
        graded((3, lambda r: r["vendor"] == "fromagerie-des-halles"), (1, lambda r: cat(r, "fromagerie"))),
    ),
]
