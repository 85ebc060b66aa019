"""CSV import and export of a shop's catalogue (format: docs/csv-format.md).

One row per variant; ``product_ref`` groups the rows of one product within the file; rows are matched
to the shop's catalogue by SKU, so importing the same file twice changes nothing.

An import has two steps, each a job (``tasks.py``): the check reads the stored file and validates every
row with the rules of the product form (``services.check_product``) without writing to the catalogue;
the apply validates again and writes everything through ``services.save_product`` in one transaction.
This module holds the reading, planning and writing; ``tasks.py`` holds the transactions and statuses.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from app import jobs, money
from app.audit import services as audit
from app.catalog.identifiers import InvalidGtin, normalize_gtin
from app.catalog.models import (
    CatalogImport,
    Category,
    ImportStatus,
    Product,
    ProductStatus,
    StockReason,
    Variant,
)
from app.catalog.services import (
    CatalogError,
    ProductData,
    VariantData,
    active_product_count,
    allowed_vat_rates,
    check_product,
    clean_attributes,
    product_limit,
    save_product,
)
from app.database import locked
from app.extensions import db
from vendors.models import Shop, ShopMember

COLUMNS = (
    "product_ref",
    "title",
    "description",
    "category",
    "status",
    "vat_rate",
    "gtin",
    "attributes",
    "sku",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "price",
    "compare_at_price",
    "stock",
    "low_stock_threshold",
    "weight_grams",
)
REQUIRED_COLUMNS = ("product_ref", "title", "category", "vat_rate", "sku", "price", "stock")
# Read from the first row of a product_ref group; the group's other rows repeat them or leave them empty.
PRODUCT_COLUMNS = ("title", "description", "category", "status", "vat_rate", "gtin", "attributes")
OPTION_COLUMN = re.compile(r"option([1-9][0-9]?)_(name|value)")
EXPORT_OPTIONS = 3  # option columns always written; more when a variant has more options

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ATTRIBUTES_LENGTH = 3000  # as the product form
MAX_OPTION_NAME = 60
MAX_OPTION_VALUE = 100
MAX_AMOUNT_CENTS = 1_000_000_000  # 10 million euros
MAX_COUNT = 1_000_000_000
MAX_STORED_ERRORS = 5000
PROGRESS_EVERY = 250  # rows between two progress updates

# A spreadsheet runs a cell starting with one of these as a formula: exported cells get a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
_ATTRIBUTE_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_ESCAPE = "\\"
_ATTRIBUTE_SPECIALS = "\\|=,"


class ImportFailed(Exception):
    """The apply could not write a product: where and why, for the report."""

    def __init__(self, line: int, column: str, message: Any) -> None:
        super().__init__(str(message))
        self.line = line
        self.column = column
        self.message = str(message)

    def as_error(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


# -- cells ----------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """What a spreadsheet must not run as a formula gets a leading quote (undone by ``unneutralise``)."""
    if cell.startswith(FORMULA_START) or _NEUTRALISED.match(cell):
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    return cell[1:] if _NEUTRALISED.match(cell) else cell


def format_amount(cents: int | None) -> str:
    """1250 -> "12,50" (the way French spreadsheets write it); None -> ""."""
    if cents is None:
        return ""
    return str(money.cents_to_decimal(cents)).replace(".", ",")


def format_rate(bps: int) -> str:
    """550 -> "5,5", 2000 -> "20"."""
    whole, fraction = divmod(bps, 100)
    return f"{whole},{fraction:02d}".rstrip("0").rstrip(",") if fraction else str(whole)


def _split_unescaped(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not escaped by a backslash; escapes are kept in the parts."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == _ESCAPE and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _escape(text: str) -> str:
    return "".join(_ESCAPE + char if char in _ATTRIBUTE_SPECIALS else char for char in text)


def parse_attributes(text: str) -> dict[str, Any]:
    """``matière=cuir|labels=bio,local|millésime=2019`` -> a product's attributes; ValueError if malformed.

    A value with a comma is a list (``labels`` always is); a whole number is a number, ``true`` and
    ``false`` are yes/no; a backslash escapes ``| = , \\`` and, before a value, keeps it as text.
    """
    facts: dict[str, Any] = {}
    for chunk in _split_unescaped(text, "|"):
        if not chunk.strip():
            continue
        pieces = _split_unescaped(chunk, "=")
        name = _unescape(pieces[0]).strip().lower()
        if len(pieces) < 2 or not name:
            raise ValueError(str(_l("« %(text)s » : écrivez nom=valeur.", text=chunk.strip()[:40])))
        if name in facts:
            raise ValueError(str(_l("« %(name)s » apparaît deux fois.", name=name)))
        raw = "=".join(pieces[1:]).strip()
        items = _split_unescaped(raw, ",")
        value: Any
        if len(items) > 1:
            value = [_unescape(item).strip() for item in items if _unescape(item).strip()]
        elif raw.startswith(_ESCAPE):
            value = _unescape(raw).strip()
        elif name == "labels":
            value = [_unescape(raw).strip()]
        elif _ATTRIBUTE_INTEGER.fullmatch(raw):
            value = int(raw)
        elif raw.lower() in {"true", "false"}:
            value = raw.lower() == "true"
        else:
            value = _unescape(raw).strip()
        facts[name] = value
    return facts


def format_attributes(attributes: dict[str, Any]) -> str:
    """The inverse of ``parse_attributes``: reading the text back gives the same attributes."""
    pairs = []
    for name, value in attributes.items():
        if isinstance(value, list | tuple):
            text = ",".join(_escape(str(item)) for item in value)
            if len(value) == 1 and name != "labels":
                text += ","  # a one-value list
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            plain = str(value)
            text = _escape(plain)
            looks_typed = _ATTRIBUTE_INTEGER.fullmatch(plain) or plain.lower() in {"true", "false"}
            if (looks_typed or name == "labels") and not text.startswith(_ESCAPE):
                text = _ESCAPE + text  # kept as text
        pairs.append(f"{_escape(str(name))}={text}")
    return "|".join(pairs)


# -- reading a file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (the header is line 1)
    cells: dict[str, str]  # every known column of the header, stripped, neutralising quote removed
    overflow: bool = False  # non-empty cells beyond the header


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    delimiter: str
    rows: list[Row]
    ignored: tuple[str, ...] = ()

    def has(self, column: str) -> bool:
        return column in self.columns

    @cached_property
    def option_numbers(self) -> list[int]:
        return sorted({int(m.group(1)) for c in self.columns if (m := OPTION_COLUMN.fullmatch(c))})


def _refuse(message: Any) -> CatalogError:
    return CatalogError(message, "file")


def decode(data: bytes) -> str:
    """UTF-8 text (a leading BOM is dropped); refused with the line where decoding fails."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _refuse(
            _l(
                "Le fichier n’est pas en UTF-8 (ligne %(line)d). Enregistrez-le au format « CSV UTF-8 ».",
                line=line,
            )
        ) from error


def sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return "," if header.count(",") > header.count(";") else ";"


def read_table(data: bytes) -> Table:
    """Check the file as a whole (size, encoding, columns, number of rows) and read its rows."""
    if len(data) > MAX_BYTES:
        raise _refuse(_l("Fichier trop lourd : %(size)d Mo au plus.", size=MAX_BYTES // (1024 * 1024)))
    text = decode(data)
    if not text.strip():
        raise _refuse(_l("Le fichier est vide."))
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _refuse(_l("Caractère invalide ligne %(line)d : est-ce bien un fichier CSV ?", line=line))
    delimiter = sniff_delimiter(text)
    # strict: a quote left open or misplaced is an error, not the rest of the file read as one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().strip("\ufeff").lower() for name in next(reader)]
        columns = _check_header(header)
        rows: list[Row] = []
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise _refuse(
                    _l(
                        "Trop de lignes : %(count)s au plus par fichier. Découpez-le en plusieurs fichiers.",
                        count=f"{MAX_ROWS:,}".replace(",", "\u202f"),
                    )
                )
            values = {
                name: unneutralise(cells[index]).strip() if index < len(cells) else ""
                for index, name in enumerate(header)
                if name in columns
            }
            overflow = any(cell.strip() for cell in cells[len(header) :])
            rows.append(Row(line=line, cells=values, overflow=overflow))
    except csv.Error as error:
        raise _refuse(
            _l("Fichier CSV illisible ligne %(line)d : %(error)s", line=reader.line_num, error=str(error))
        ) from error
    if not rows:
        raise _refuse(_l("Le fichier ne contient aucune ligne de produit."))
    ignored = tuple(name for name in header if name and name not in columns)
    return Table(columns=columns, delimiter=delimiter, rows=rows, ignored=ignored)


def _check_header(header: list[str]) -> tuple[str, ...]:
    names = [name for name in header if name]
    doubles = sorted({name for name in names if names.count(name) > 1})
    if doubles:
        raise _refuse(_l("Colonnes en double : %(columns)s.", columns=", ".join(doubles)))
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise _refuse(_l("Colonnes obligatoires manquantes : %(columns)s.", columns=", ".join(missing)))
    known = tuple(name for name in names if name in COLUMNS or OPTION_COLUMN.fullmatch(name))
    for name in known:
        found = OPTION_COLUMN.fullmatch(name)
        if found:
            pair = f"option{found.group(1)}_{'value' if found.group(2) == 'name' else 'name'}"
            if pair not in known:
                raise _refuse(
                    _l("Colonne %(missing)s manquante (%(present)s est là).", missing=pair, present=name)
                )
    return known


# -- what is in the shop now ----------------------------------------------------------------------


@dataclass
class ExistingVariant:
    id: int
    product_id: int
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    stock: int
    low_stock_threshold: int
    weight_grams: int | None


@dataclass
class ExistingProduct:
    id: int
    title: str
    description: str
    category_id: int
    vat_bps: int
    attributes: dict[str, Any]
    gtin: str | None
    status: ProductStatus
    variants: list[ExistingVariant] = field(default_factory=list)


def _existing(shop: Shop) -> tuple[dict[int, ExistingProduct], dict[str, ExistingVariant]]:
    """The shop's products and variants as plain values (two queries), variants by upper-cased SKU."""
    products = {
        row.id: ExistingProduct(
            id=row.id,
            title=row.title,
            description=row.description,
            category_id=row.category_id,
            vat_bps=row.vat_bps,
            attributes=dict(row.attributes or {}),
            gtin=row.gtin,
            status=row.status,
        )
        for row in db.session.execute(
            sa.select(
                Product.id,
                Product.title,
                Product.description,
                Product.category_id,
                Product.vat_bps,
                Product.attributes,
                Product.gtin,
                Product.status,
            ).where(Product.shop_id == shop.id)
        )
    }
    by_sku: dict[str, ExistingVariant] = {}
    for row in db.session.execute(
        sa.select(
            Variant.id,
            Variant.product_id,
            Variant.sku,
            Variant.options,
            Variant.price_cents,
            Variant.compare_at_cents,
            Variant.stock,
            Variant.low_stock_threshold,
            Variant.weight_grams,
        )
        .where(Variant.shop_id == shop.id)
        .order_by(Variant.product_id, Variant.position, Variant.id)
    ):
        variant = ExistingVariant(
            id=row.id,
            product_id=row.product_id,
            sku=row.sku,
            options=dict(row.options or {}),
            price_cents=row.price_cents,
            compare_at_cents=row.compare_at_cents,
            stock=row.stock,
            low_stock_threshold=row.low_stock_threshold,
            weight_grams=row.weight_grams,
        )
        by_sku[variant.sku.strip().upper()] = variant
        if variant.product_id in products:
            products[variant.product_id].variants.append(variant)
    return products, by_sku


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _clean_options(options: dict[str, str]) -> dict[str, str]:
    """As ``save_product`` stores them."""
    return {str(key).strip(): str(value).strip() for key, value in options.items() if str(value).strip()}


def _variant_changed(existing: ExistingVariant, data: VariantData) -> bool:
    return (
        data.sku.strip() != existing.sku
        or _canonical(_clean_options(data.options)) != _canonical(existing.options)
        or data.price_cents != existing.price_cents
        or data.compare_at_cents != existing.compare_at_cents
        or data.stock != existing.stock
        or data.low_stock_threshold != existing.low_stock_threshold
        or data.weight_grams != existing.weight_grams
    )


def _product_changed(existing: ExistingProduct, data: ProductData) -> bool:
    try:
        gtin = normalize_gtin(data.gtin) if data.gtin.strip() else None
    except InvalidGtin:
        return True
    return (
        data.title.strip() != existing.title
        or data.description.strip() != existing.description
        or data.category_id != existing.category_id
        or data.vat_bps != existing.vat_bps
        or _canonical(clean_attributes(data.attributes)) != _canonical(existing.attributes)
        or gtin != existing.gtin
        or data.status != existing.status
    )


# -- the plan: what an import will do ------------------------------------------------------------

# Where a problem found by check_product (named by form field) goes in the file.
PRODUCT_FIELD_COLUMNS = {
    "title": "title",
    "category_id": "category",
    "vat_bps": "vat_rate",
    "gtin": "gtin",
    "description": "description",
    "status": "status",
    "attributes": "attributes",
    "variants": "product_ref",
}
VARIANT_FIELD_COLUMNS = {
    "sku": "sku",
    "price": "price",
    "compare_at": "compare_at_price",
    "stock": "stock",
    "low_stock_threshold": "low_stock_threshold",
    "weight_grams": "weight_grams",
    "options": "option1_name",
}


@dataclass
class ProductPlan:
    ref: str
    first_line: int
    product_id: int | None  # None: a product to create
    data: ProductData
    variant_lines: list[int | None]  # the line of each of data.variants; None: kept as it is
    changed: bool
    rows: int
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    archived_category: bool = False

    def locate(self, field_name: str | None) -> tuple[int, str]:
        """(line, column) of a check_product/save_product field name."""
        if field_name and field_name.startswith("variants-"):
            _, index, name = field_name.split("-", 2)
            position = int(index)
            line = self.variant_lines[position] if position < len(self.variant_lines) else None
            return line or self.first_line, VARIANT_FIELD_COLUMNS.get(name, "sku")
        return self.first_line, PRODUCT_FIELD_COLUMNS.get(field_name or "", "product_ref")

    def kept_sku(self, field_name: str | None) -> str | None:
        """The SKU of an existing variant absent from the file, when the problem is about it."""
        if field_name and field_name.startswith("variants-"):
            position = int(field_name.split("-", 2)[1])
            if position < len(self.variant_lines) and self.variant_lines[position] is None:
                return self.data.variants[position].sku
        return None


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.cells: set[tuple[int, str]] = set()

    def add(self, line: int, column: str, message: Any, unless_reported: bool = False) -> None:
        if unless_reported and (line, column) in self.cells:
            return  # already explained (a value that could not be read, an unknown category…)
        self.cells.add((line, column))
        self.items.append({"line": line, "column": column, "message": str(message)})

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Plan:
    table: Table
    products: list[ProductPlan]
    errors: list[dict[str, Any]]

    @property
    def counts(self) -> dict[str, int]:
        created = [plan for plan in self.products if plan.product_id is None]
        existing = [plan for plan in self.products if plan.product_id is not None]
        return {
            "rows": len(self.table.rows),
            "products_created": len(created),
            "products_updated": sum(1 for plan in existing if plan.changed),
            "products_unchanged": sum(1 for plan in existing if not plan.changed),
            "variants_created": sum(plan.variants_created for plan in self.products),
            "variants_updated": sum(plan.variants_updated for plan in self.products),
            "variants_unchanged": sum(plan.variants_unchanged for plan in self.products),
        }

    def report(self) -> dict[str, Any]:
        return {
            "errors": self.errors[:MAX_STORED_ERRORS],
            "error_count": len(self.errors),
            "counts": self.counts,
            "ignored_columns": list(self.table.ignored),
            "delimiter": self.table.delimiter,
        }


def plan_import(shop: Shop, table: Table, progress: Callable[[int], None] | None = None) -> Plan:
    """Validate every row against the shop's catalogue and say what would change; writes nothing."""
    products, by_sku = _existing(shop)
    categories = {
        row.slug: (row.id, row.archived_at is not None)
        for row in db.session.execute(sa.select(Category.slug, Category.id, Category.archived_at))
    }
    errors = _Errors()
    first_line_of: dict[str, int] = {}
    repeated: set[int] = set()
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        if row.overflow:
            errors.add(row.line, "", _l("Plus de cellules que de colonnes dans l’en-tête."))
        sku_key = row.cells["sku"].upper()
        if sku_key:
            if sku_key in first_line_of:
                errors.add(
                    row.line, "sku", _l("Ce SKU apparaît déjà ligne %(line)d.", line=first_line_of[sku_key])
                )
                repeated.add(row.line)
            else:
                first_line_of[sku_key] = row.line
        ref = row.cells["product_ref"]
        if not ref:
            errors.add(
                row.line,
                "product_ref",
                _l("Indiquez le product_ref (le même pour toutes les déclinaisons d’un produit)."),
            )
            ref = f"\0{row.line}"  # checked alone
        groups.setdefault(ref, []).append(row)

    planner = _Planner(shop, table, products, by_sku, categories, errors, repeated)
    plans: list[ProductPlan] = []
    done = reported = 0
    for ref, rows in groups.items():
        plans.append(planner.plan(ref, rows))
        done += len(rows)
        if progress is not None and done - reported >= PROGRESS_EVERY:
            progress(done)
            reported = done
    _check_product_limit(shop, plans, products, errors)
    columns = {name: index for index, name in enumerate(("", *table.columns))}
    ordered = sorted(errors.items, key=lambda error: (error["line"], columns.get(error["column"], 0)))
    return Plan(table=table, products=plans, errors=ordered)


def _check_product_limit(
    shop: Shop, plans: list[ProductPlan], products: dict[int, ExistingProduct], errors: _Errors
) -> None:
    limit = product_limit(shop)
    if limit is None:
        return
    active = active_product_count(shop)
    for plan in plans:
        before = plan.product_id is not None and products[plan.product_id].status == ProductStatus.ACTIVE
        after = plan.data.status == ProductStatus.ACTIVE
        if after and not before:
            active += 1
            if active > limit:
                errors.add(
                    plan.first_line,
                    "status",
                    _l(
                        "Votre formule permet %(limit)d produits en ligne : mettez celui-ci en draft.",
                        limit=limit,
                    ),
                )
        elif before and not after:
            active -= 1


@dataclass
class _Planner:
    shop: Shop
    table: Table
    products: dict[int, ExistingProduct]
    by_sku: dict[str, ExistingVariant]
    categories: dict[str, tuple[int, bool]]
    errors: _Errors
    repeated: set[int]
    claimed: dict[int, tuple[str, int]] = field(default_factory=dict)

    def plan(self, ref: str, rows: list[Row]) -> ProductPlan:
        errors_before = len(self.errors)
        first = rows[0]
        for row in rows[1:]:
            for column in PRODUCT_COLUMNS:
                if self.table.has(column) and row.cells[column] and row.cells[column] != first.cells[column]:
                    self.errors.add(
                        row.line,
                        column,
                        _l(
                            "Diffère de la ligne %(line)d (même product_ref) : laissez vide ou recopiez.",
                            line=first.line,
                        ),
                    )
        existing = self._existing_product(ref, rows)
        data, archived = self._product_data(first, existing)
        variants: list[VariantData] = []
        lines: list[int | None] = []
        from_file = [(row, self._variant(row, existing)) for row in rows]
        if existing is not None:
            wanted = {row.cells["sku"].upper(): (row, variant) for row, variant in reversed(from_file)}
            for current in existing.variants:
                hit = wanted.pop(current.sku.strip().upper(), None)
                if hit is not None:
                    variants.append(replace(hit[1], id=current.id))
                    lines.append(hit[0].line)
                else:  # not in the file: kept as it is
                    variants.append(
                        VariantData(
                            id=current.id,
                            sku=current.sku,
                            options=dict(current.options),
                            price_cents=current.price_cents,
                            compare_at_cents=current.compare_at_cents,
                            stock=current.stock,
                            low_stock_threshold=current.low_stock_threshold,
                            weight_grams=current.weight_grams,
                        )
                    )
                    lines.append(None)
            new_rows = [(row, variant) for row, variant in from_file if row.cells["sku"].upper() in wanted]
        else:
            new_rows = from_file
        for row, variant in new_rows:
            variants.append(variant)
            lines.append(row.line)
        data = replace(data, variants=tuple(variants))
        plan = ProductPlan(
            ref=ref,
            first_line=first.line,
            product_id=existing.id if existing else None,
            data=data,
            variant_lines=lines,
            changed=True,
            rows=len(rows),
            archived_category=archived,
        )
        unreadable = len(self.errors) > errors_before
        self._count_changes(plan, existing, unreadable)
        if plan.changed:
            # An unchanged product is not written, so it is not held to rules made after it was saved.
            self._check(plan)
        return plan

    def _existing_product(self, ref: str, rows: list[Row]) -> ExistingProduct | None:
        owners: dict[int, int] = {}
        for row in rows:
            current = self.by_sku.get(row.cells["sku"].upper())
            if current is not None and row.line not in self.repeated:
                owners.setdefault(current.product_id, row.line)
        if not owners:
            return None
        product_id, line = next(iter(owners.items()))
        for row in rows:
            current = self.by_sku.get(row.cells["sku"].upper())
            if current is not None and current.product_id != product_id and row.line not in self.repeated:
                self.errors.add(
                    row.line,
                    "sku",
                    _l(
                        "Ce SKU appartient à un autre produit que celui de la ligne %(line)d : "
                        "donnez-lui un autre product_ref.",
                        line=line,
                    ),
                )
        if product_id in self.claimed:
            other_ref, other_line = self.claimed[product_id]
            self.errors.add(
                rows[0].line,
                "product_ref",
                _l(
                    "Ce produit est déjà modifié ligne %(line)d (product_ref « %(ref)s ») : "
                    "utilisez le même product_ref.",
                    line=other_line,
                    ref=other_ref,
                ),
            )
        else:
            self.claimed[product_id] = (ref, rows[0].line)
        return self.products.get(product_id)

    def _product_data(self, row: Row, existing: ExistingProduct | None) -> tuple[ProductData, bool]:
        cells, line, has = row.cells, row.line, self.table.has
        category_id: int | None = None
        archived = False
        slug = cells["category"].lower()
        if not slug:
            self.errors.add(line, "category", _l("Indiquez la catégorie (son identifiant)."))
        elif slug not in self.categories:
            self.errors.add(line, "category", _l("Catégorie inconnue : « %(slug)s ».", slug=slug))
        else:
            category_id, archived = self.categories[slug]
        vat_bps = -1
        if not cells["vat_rate"]:
            self.errors.add(line, "vat_rate", _l("Indiquez le taux de TVA, par exemple 20 ou 5,5."))
        else:
            try:
                vat_bps = money.parse_rate(cells["vat_rate"])
            except money.MoneyError:
                self.errors.add(line, "vat_rate", _l("Un pourcentage, par exemple 20 ou 5,5."))
        status = existing.status if existing else ProductStatus.DRAFT
        if has("status") and cells["status"]:
            try:
                status = ProductStatus(cells["status"].lower())
            except ValueError:
                self.errors.add(line, "status", _l("Statut : draft, active ou archived."))
        attributes = dict(existing.attributes) if existing else {}
        if has("attributes"):
            if len(cells["attributes"]) > MAX_ATTRIBUTES_LENGTH:
                self.errors.add(line, "attributes", _l("3 000 caractères au plus."))
            else:
                try:
                    attributes = parse_attributes(cells["attributes"])
                except ValueError as error:
                    self.errors.add(line, "attributes", str(error))
        description = existing.description if existing else ""
        if has("description"):
            description = cells["description"]
        gtin = (existing.gtin or "") if existing else ""
        if has("gtin"):
            gtin = cells["gtin"]
        data = ProductData(
            title=cells["title"],
            category_id=category_id,
            vat_bps=vat_bps,
            description=description,
            attributes=attributes,
            gtin=gtin,
            status=status,
        )
        return data, archived

    def _variant(self, row: Row, product: ExistingProduct | None) -> VariantData:
        cells, has = row.cells, self.table.has
        current = self.by_sku.get(cells["sku"].upper())
        if current is not None and (product is None or current.product_id != product.id):
            current = None
        price = self._amount(row, "price")
        compare_at = current.compare_at_cents if current else None
        if has("compare_at_price"):
            compare_at = self._amount(row, "compare_at_price") if cells["compare_at_price"] else None
        stock = self._count(row, "stock")
        threshold = current.low_stock_threshold if current else 3
        if has("low_stock_threshold") and cells["low_stock_threshold"]:
            threshold = self._count(row, "low_stock_threshold") or 0
        weight = current.weight_grams if current else None
        if has("weight_grams"):
            weight = self._count(row, "weight_grams") if cells["weight_grams"] else None
        options = dict(current.options) if current else {}
        if self.table.option_numbers:
            options = self._options(row)
        return VariantData(
            sku=cells["sku"],
            price_cents=price if price is not None else 0,
            stock=stock if stock is not None else 0,
            options=options,
            compare_at_cents=compare_at,
            low_stock_threshold=threshold,
            weight_grams=weight,
        )

    def _amount(self, row: Row, column: str) -> int | None:
        text = row.cells[column]
        if not text:
            self.errors.add(row.line, column, _l("Indiquez le prix, par exemple 12,50."))
            return None
        try:
            cents = money.parse_amount(text)
        except money.MoneyError:
            self.errors.add(row.line, column, _l("Un montant en euros, par exemple 12,50."))
            return None
        if abs(cents) > MAX_AMOUNT_CENTS:
            self.errors.add(row.line, column, _l("Montant trop élevé."))
            return None
        return cents

    def _count(self, row: Row, column: str) -> int | None:
        text = "".join(row.cells[column].split())
        if not text:
            self.errors.add(row.line, column, _l("Indiquez un nombre, par exemple 12."))
            return None
        if not _INTEGER.fullmatch(text):
            self.errors.add(row.line, column, _l("Un nombre entier, par exemple 12."))
            return None
        number = int(text)
        if abs(number) > MAX_COUNT:
            self.errors.add(row.line, column, _l("Nombre trop grand."))
            return None
        return number

    def _options(self, row: Row) -> dict[str, str]:
        options: dict[str, str] = {}
        for number in self.table.option_numbers:
            name_column, value_column = f"option{number}_name", f"option{number}_value"
            name, value = row.cells[name_column], row.cells[value_column]
            if not name and not value:
                continue
            if not name:
                self.errors.add(row.line, name_column, _l("Indiquez le nom de l’option, par exemple taille."))
            elif not value:
                self.errors.add(row.line, value_column, _l("Indiquez la valeur de l’option."))
            elif len(name) > MAX_OPTION_NAME:
                self.errors.add(
                    row.line, name_column, _l("%(count)d caractères au plus.", count=MAX_OPTION_NAME)
                )
            elif len(value) > MAX_OPTION_VALUE:
                self.errors.add(
                    row.line, value_column, _l("%(count)d caractères au plus.", count=MAX_OPTION_VALUE)
                )
            elif name.lower() in {known.lower() for known in options}:
                self.errors.add(row.line, name_column, _l("Option en double : %(name)s.", name=name))
            else:
                options[name] = value
        return options

    def _count_changes(self, plan: ProductPlan, existing: ExistingProduct | None, unreadable: bool) -> None:
        current = {variant.id: variant for variant in existing.variants} if existing else {}
        changed = existing is None or unreadable or _product_changed(existing, plan.data)
        for variant, line in zip(plan.data.variants, plan.variant_lines, strict=True):
            if line is None:
                continue
            before = current.get(variant.id) if variant.id is not None else None
            if before is None:
                plan.variants_created += 1
                changed = True
            elif unreadable or _variant_changed(before, variant):
                plan.variants_updated += 1
                changed = True
            else:
                plan.variants_unchanged += 1
        plan.changed = changed

    def _check(self, plan: ProductPlan) -> None:
        for problem in check_product(self.shop, plan.data):
            line, column = plan.locate(problem.field)
            message: Any = problem.message
            if problem.field == "category_id" and plan.archived_category:
                message = _l("Cette catégorie est archivée : choisissez-en une autre.")
            kept = plan.kept_sku(problem.field)
            if kept is not None:
                message = _l(
                    "Déclinaison %(sku)s (absente du fichier) : %(problem)s", sku=kept, problem=message
                )
            self.errors.add(line, column, message, unless_reported=True)


# -- writing --------------------------------------------------------------------------------------


def write_plan(member: ShopMember, plan: Plan, progress: Callable[[int], None] | None = None) -> None:
    """Create and update the planned products (nothing for unchanged ones); ImportFailed on a refusal.

    Runs inside the caller's transaction, which rolls everything back on failure.
    """
    done = reported = 0
    for product_plan in plan.products:
        done += product_plan.rows
        if not product_plan.changed:
            continue
        product = None
        if product_plan.product_id is not None:
            product = db.session.get(Product, product_plan.product_id)
            if product is None or product.shop_id != member.shop_id:
                raise ImportFailed(product_plan.first_line, "sku", _l("Produit introuvable."))
        try:
            save_product(member, product, product_plan.data, reason=StockReason.IMPORT)
        except CatalogError as error:
            line, column = product_plan.locate(error.field)
            raise ImportFailed(line, column, error.message) from error
        if progress is not None and done - reported >= PROGRESS_EVERY:
            progress(done)
            reported = done


# -- use cases ------------------------------------------------------------------------------------


def import_dir() -> Path:
    configured = current_app.config.get("IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def read_stored(catalog_import: CatalogImport) -> bytes:
    name = catalog_import.stored_path
    if not re.fullmatch(r"[0-9a-f]{32}\.csv", name):
        raise _refuse(_l("Fichier introuvable : importez-le de nouveau."))
    try:
        return (import_dir() / name).read_bytes()
    except OSError as error:
        raise _refuse(_l("Fichier introuvable : importez-le de nouveau.")) from error


def _display_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or "import.csv"


def start_import(member: ShopMember, upload: FileStorage) -> CatalogImport:
    """Store an uploaded CSV file and queue its check; CatalogError (field ``file``) if refused."""
    data = upload.stream.read(MAX_BYTES + 1)
    table = read_table(data)
    directory = import_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(16)}.csv"
    (directory / stored).write_bytes(data)
    catalog_import = CatalogImport(
        shop_id=member.shop_id,
        user_id=member.user_id,
        filename=_display_name(upload.filename),
        stored_path=stored,
        status=ImportStatus.UPLOADED,
        rows_total=len(table.rows),
        rows_done=0,
        report={},
    )
    db.session.add(catalog_import)
    db.session.flush()
    audit.record(member.user, "catalog_import", catalog_import.id, "uploaded", shop_id=member.shop_id)
    from app.catalog import tasks

    jobs.enqueue(tasks.check_import, catalog_import.id)
    return catalog_import


def shop_import(member: ShopMember, import_id: int, lock: bool = False) -> CatalogImport | None:
    """An import of the member's shop, or None."""
    query = sa.select(CatalogImport).where(
        CatalogImport.id == import_id, CatalogImport.shop_id == member.shop_id
    )
    return db.session.scalar(locked(query) if lock else query)


def recent_imports(member: ShopMember, limit: int = 20) -> list[CatalogImport]:
    return list(
        db.session.scalars(
            sa.select(CatalogImport)
            .where(CatalogImport.shop_id == member.shop_id)
            .order_by(CatalogImport.created_at.desc(), CatalogImport.id.desc())
            .limit(limit)
        )
    )


def can_apply(catalog_import: CatalogImport) -> bool:
    return catalog_import.status == ImportStatus.CHECKED and not catalog_import.report.get("error_count")


def apply_import(member: ShopMember, import_id: int) -> CatalogImport:
    """Queue the apply of a checked import with no errors."""
    catalog_import = shop_import(member, import_id, lock=True)
    if catalog_import is None:
        raise CatalogError(_l("Import introuvable."))
    if catalog_import.status != ImportStatus.CHECKED:
        raise CatalogError(_l("Cet import n’est pas prêt à être appliqué."))
    if catalog_import.report.get("error_count"):
        raise CatalogError(_l("Corrigez d’abord les erreurs du fichier, puis importez-le de nouveau."))
    catalog_import.status = ImportStatus.APPLYING
    catalog_import.rows_done = 0
    catalog_import.report = {**catalog_import.report, "applied_by": member.user_id}
    from app.catalog import tasks

    jobs.enqueue(tasks.apply_import, catalog_import.id)
    return catalog_import


# -- export and template --------------------------------------------------------------------------


def _header(options: int) -> list[str]:
    before = COLUMNS[: COLUMNS.index("option1_name")]
    after = COLUMNS[COLUMNS.index("option3_value") + 1 :]
    pairs = [f"option{number}_{part}" for number in range(1, options + 1) for part in ("name", "value")]
    return [*before, *pairs, *after]


def _write(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """UTF-8 with a BOM (Excel reads it right), ``;`` between cells, formulas neutralised."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def _row(
    ref: str,
    product: dict[str, str],
    sku: str,
    options: dict[str, str],
    width: int,
    variant: dict[str, str],
) -> list[str]:
    pairs: list[str] = []
    for name, value in options.items():
        pairs += [str(name), str(value)]
    pairs += [""] * (2 * width - len(pairs))
    return [
        ref,
        product["title"],
        product["description"],
        product["category"],
        product["status"],
        product["vat_rate"],
        product["gtin"],
        product["attributes"],
        sku,
        *pairs,
        variant["price"],
        variant["compare_at_price"],
        variant["stock"],
        variant["low_stock_threshold"],
        variant["weight_grams"],
    ]


def export_rows(shop: Shop) -> Iterator[tuple[Product, Variant]]:
    products = db.session.scalars(
        sa.select(Product)
        .where(Product.shop_id == shop.id)
        .order_by(Product.id)
        .options(selectinload(Product.variants), selectinload(Product.category))
    )
    for product in products:
        for variant in sorted(product.variants, key=lambda item: (item.position, item.id)):
            yield product, variant


def export_csv(shop: Shop) -> str:
    """The shop's catalogue in the import format, one row per variant; ``product_ref`` is ``P<id>``."""
    pairs = list(export_rows(shop))
    width = max([EXPORT_OPTIONS, *(len(variant.options) for _, variant in pairs)])
    rows = []
    for product, variant in pairs:
        fields = {
            "title": product.title,
            "description": product.description,
            "category": product.category.slug,
            "status": product.status.value,
            "vat_rate": format_rate(product.vat_bps),
            "gtin": product.gtin or "",
            "attributes": format_attributes(product.attributes),
        }
        numbers = {
            "price": format_amount(variant.price_cents),
            "compare_at_price": format_amount(variant.compare_at_cents),
            "stock": str(variant.stock),
            "low_stock_threshold": str(variant.low_stock_threshold),
            "weight_grams": "" if variant.weight_grams is None else str(variant.weight_grams),
        }
        rows.append(_row(f"P{product.id}", fields, variant.sku, variant.options, width, numbers))
    return _write(_header(width), rows)


def _example_category(shop: Shop) -> str:
    if shop.category is not None and shop.category.archived_at is None:
        return shop.category.slug
    first = db.session.scalar(
        sa.select(Category.slug)
        .where(Category.archived_at.is_(None))
        .order_by(Category.parent_id.is_not(None), Category.position, Category.id)
        .limit(1)
    )
    return first or ""


def template_csv(shop: Shop) -> str:
    """A file to start from: two example products, the first with two variants, ready to import."""
    rates = allowed_vat_rates(shop)
    vat = format_rate(2000 if 2000 in rates else rates[0])
    category = _example_category(shop)
    # Example content, in French like the town's shops.
    tote = {
        "title": "Tote bag en coton bio",
        "description": "Sac en toile de coton bio, cousu à la main dans notre atelier.",
        "category": category,
        "status": "draft",
        "vat_rate": vat,
        "gtin": "",
        "attributes": "matière=coton bio|labels=bio,fait-main",
    }
    notebook = {
        "title": "Carnet de notes A5",
        "description": "96 pages lignées, papier recyclé.",
        "category": category,
        "status": "draft",
        "vat_rate": vat,
        "gtin": "4006381333931",
        "attributes": "origine=France",
    }

    def numbers(price: str, compare_at: str, stock: str, weight: str) -> dict[str, str]:
        return {
            "price": price,
            "compare_at_price": compare_at,
            "stock": stock,
            "low_stock_threshold": "3",
            "weight_grams": weight,
        }

    rows = [
        _row("tote", tote, "TOTE-NATUREL", {"couleur": "naturel"}, 3, numbers("18,00", "", "12", "150")),
        _row("tote", tote, "TOTE-NOIR", {"couleur": "noir"}, 3, numbers("18,00", "22,00", "5", "150")),
        _row("carnet", notebook, "CARNET-A5", {}, 3, numbers("9,50", "", "30", "250")),
    ]
    return _write(_header(EXPORT_OPTIONS), rows)
