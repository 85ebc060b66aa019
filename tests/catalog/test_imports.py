"""CSV import and export of a shop's catalogue: format, dry run, apply in one transaction, round trip,
refusals with their line and column, the 10 000-row limit, and object-level authorization."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.catalog import imports, services, tasks
from app.catalog.models import (
    CatalogImport,
    ImportStatus,
    Product,
    ProductStatus,
    StockMovement,
    StockReason,
    Variant,
)
from app.extensions import db
from tests.factories import PASSWORD, CategoryFactory, ShopFactory, owner_of
from tests.plugins.application import Client, jobs
from vendors.models import ShopMember

SLUG = "savonnerie"
EMAIL = "owner@example.com"


@pytest.fixture(autouse=True)
def _import_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))


@pytest.fixture
def owner(client: Client) -> dict[str, int]:
    """A signed-in shop owner, the shop's category ``epicerie`` and another one, ``maison``."""
    category = CategoryFactory(slug="epicerie")
    CategoryFactory(slug="maison")
    member = owner_of(ShopFactory(slug=SLUG, category=category), email=EMAIL)
    ids = {"shop_id": member.shop_id, "member_id": member.id, "user_id": member.user_id}
    client.submit("/connexion", {"email": EMAIL, "password": PASSWORD})
    return ids


# -- helpers --------------------------------------------------------------------------------------

DEFAULTS = {
    "product_ref": "savon",
    "title": "Savon au lait d’ânesse",
    "category": "epicerie",
    "vat_rate": "20",
    "sku": "SAV-1",
    "price": "4,50",
    "stock": "10",
}


def csv_bytes(
    *rows: dict[str, str], columns: tuple[str, ...] = imports.COLUMNS, delimiter: str = ";"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = {**DEFAULTS, **row}
        writer.writerow([values.get(column, "") for column in columns])
    return buffer.getvalue().encode("utf-8")


def upload(client: Client, content: bytes, filename: str = "produits.csv") -> Any:
    url = f"/vendeur/{SLUG}/produits/import"
    # Encoded here, in memory: the test client spools a large body to a temporary file it never closes.
    boundary, body = encode_multipart(
        MultiDict(
            [("csrf_token", client.csrf_token(url)), ("file", FileStorage(io.BytesIO(content), filename))]
        )
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def run_jobs(app: Flask) -> int:
    with app.app_context():
        return jobs(app).run_all()


def latest_import() -> CatalogImport:
    found = db.session.scalars(
        sa.select(CatalogImport).order_by(CatalogImport.id.desc()).execution_options(populate_existing=True)
    ).first()
    assert found is not None
    return found


def checked(client: Client, app: Flask, content: bytes) -> CatalogImport:
    response = upload(client, content)
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs(app)
    result = latest_import()
    assert result.status == ImportStatus.CHECKED, result.report
    return result


def apply(client: Client, app: Flask, import_id: int) -> CatalogImport:
    status_url = f"/vendeur/{SLUG}/produits/import/{import_id}"
    response = client.submit(f"{status_url}/appliquer", {}, form_url=status_url)
    assert response.status_code == 302
    run_jobs(app)
    return latest_import()


def imported(client: Client, app: Flask, content: bytes) -> CatalogImport:
    result = checked(client, app, content)
    assert result.report["error_count"] == 0, result.report["errors"]
    applied = apply(client, app, result.id)
    assert applied.status == ImportStatus.APPLIED, applied.report
    return applied


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def variant(sku: str) -> Variant:
    found = db.session.scalar(
        sa.select(Variant).where(Variant.sku == sku).execution_options(populate_existing=True)
    )
    assert found is not None, sku
    return found


def errors_at(report: dict[str, Any]) -> set[tuple[int, str]]:
    return {(error["line"], error["column"]) for error in report["errors"]}


# -- template, dry run, apply ---------------------------------------------------------------------


def test_the_template_downloads_and_imports_cleanly(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    response = client.get(f"/vendeur/{SLUG}/produits/modele.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    content = response.get_data()
    assert content.startswith("\ufeff".encode())
    header = content.decode("utf-8-sig").splitlines()[0]
    assert header == ";".join(imports.COLUMNS)

    result = checked(client, app, content)
    assert result.report["error_count"] == 0, result.report["errors"]
    counts = result.report["counts"]
    assert (counts["products_created"], counts["variants_created"]) == (2, 3)
    assert count(Product) == 0, "the check is a dry run"

    applied = apply(client, app, result.id)
    assert applied.status == ImportStatus.APPLIED
    assert count(Product) == 2
    assert count(Variant) == 3
    tote = variant("TOTE-NOIR")
    assert tote.product.title == "Tote bag en coton bio"
    assert tote.options == {"couleur": "noir"}
    assert (tote.price_cents, tote.compare_at_cents, tote.stock) == (1800, 2200, 5)
    assert tote.product.attributes == {"matière": "coton bio", "labels": ["bio", "fait-main"]}
    assert len(tote.product.variants) == 2
    assert variant("CARNET-A5").product.gtin == "4006381333931"


def test_the_check_writes_nothing_and_the_apply_writes_everything(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    content = csv_bytes(
        {
            "product_ref": "ceinture",
            "title": "Ceinture en cuir",
            "description": "Cuir tanné en Touraine.\nBoucle en laiton ; taille réglable.",
            "category": "maison",
            "status": "active",
            "vat_rate": "20",
            "gtin": "0-306-40615-2",
            "attributes": "Matière=cuir|labels=bio,local|millésime=2019|fait main=true",
            "sku": "CEI-90",
            "option1_name": "taille",
            "option1_value": "90 cm",
            "price": "39,90",
            "compare_at_price": "49.90",
            "stock": "4",
            "low_stock_threshold": "1",
            "weight_grams": "220",
        },
        {
            "product_ref": "ceinture",
            "title": "",
            "category": "",
            "sku": "CEI-100",
            "option1_name": "taille",
            "option1_value": "100 cm",
            "price": "42",
            "stock": "0",
        },
        {
            "product_ref": "miel",
            "title": "Miel de châtaignier",
            "vat_rate": "5,5",
            "sku": "MIEL-500",
            "price": "12.50",
            "stock": "30",
        },
    )
    response = upload(client, content)
    status_url = response.headers["Location"]
    page = client.get(status_url).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page, "the page polls while the check runs"

    run_jobs(app)
    result = latest_import()
    assert result.status == ImportStatus.CHECKED
    assert result.report["error_count"] == 0, result.report["errors"]
    assert result.rows_done == result.rows_total == 3
    assert result.report["counts"] | {"rows": 3} == {
        "rows": 3,
        "products_created": 2,
        "products_updated": 0,
        "products_unchanged": 0,
        "variants_created": 3,
        "variants_updated": 0,
        "variants_unchanged": 0,
    }
    assert (count(Product), count(Variant), count(StockMovement)) == (0, 0, 0)
    page = client.get(status_url).get_data(as_text=True)
    assert "http-equiv" not in page
    assert "Appliquer l’import" in page

    applied = apply(client, app, result.id)
    assert applied.status == ImportStatus.APPLIED
    assert applied.applied_at is not None
    belt = variant("CEI-90").product
    assert belt.title == "Ceinture en cuir"
    assert belt.description == "Cuir tanné en Touraine.\nBoucle en laiton ; taille réglable."
    assert belt.category.slug == "maison"
    assert belt.status == ProductStatus.ACTIVE
    assert belt.vat_bps == 2000
    assert belt.gtin == "9780306406157", "an ISBN-10 is stored as its EAN-13"
    assert belt.attributes == {
        "matière": "cuir",
        "labels": ["bio", "local"],
        "millésime": 2019,
        "fait main": True,
    }
    assert [(v.sku, v.options, v.price_cents, v.compare_at_cents, v.stock) for v in belt.variants] == [
        ("CEI-90", {"taille": "90 cm"}, 3990, 4990, 4),
        ("CEI-100", {"taille": "100 cm"}, 4200, None, 0),
    ]
    assert (belt.variants[0].low_stock_threshold, belt.variants[0].weight_grams) == (1, 220)
    assert (belt.variants[1].low_stock_threshold, belt.variants[1].weight_grams) == (3, None)
    honey = variant("MIEL-500")
    assert (honey.product.vat_bps, honey.price_cents, honey.product.status) == (
        550,
        1250,
        ProductStatus.DRAFT,
    )
    movements = db.session.scalars(sa.select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.variant.sku, m.delta, m.stock_after, m.reason) for m in movements] == [
        ("CEI-90", 4, 4, StockReason.IMPORT),
        ("MIEL-500", 30, 30, StockReason.IMPORT),
    ]
    assert all(m.actor_id == owner["user_id"] for m in movements)


def test_comma_delimiter_and_bom_are_accepted(client: Client, app: Flask, owner: dict[str, int]) -> None:
    content = "\ufeff".encode() + csv_bytes({"price": "4,50"}, delimiter=",")
    result = checked(client, app, content)
    assert result.report["error_count"] == 0, result.report["errors"]
    assert result.report["delimiter"] == ","
    apply(client, app, result.id)
    assert variant("SAV-1").price_cents == 450


def test_a_reimport_updates_by_sku_and_never_duplicates(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    first = csv_bytes(
        {"sku": "SAV-1", "price": "4,50", "stock": "10"},
        {"sku": "SAV-2", "price": "5,00", "stock": "8", "option1_name": "parfum", "option1_value": "rose"},
    )
    imported(client, app, first)
    product_id = variant("SAV-1").product_id
    assert (count(Product), count(Variant), count(StockMovement)) == (1, 2, 2)

    again = checked(client, app, first)
    assert again.report["counts"]["products_unchanged"] == 1
    assert again.report["counts"]["variants_unchanged"] == 2
    apply(client, app, again.id)
    assert (count(Product), count(Variant), count(StockMovement)) == (1, 2, 2), (
        "the same file changes nothing"
    )

    # Another product_ref, a new price and stock for SAV-1, a new SKU: all stay in SAV-1's product.
    changed = csv_bytes(
        {"product_ref": "autre-ref", "sku": "SAV-1", "price": "4,90", "stock": "7"},
        {"product_ref": "autre-ref", "sku": "SAV-3", "price": "6,00", "stock": "2"},
    )
    result = checked(client, app, changed)
    counts = result.report["counts"]
    assert (counts["products_created"], counts["products_updated"]) == (0, 1)
    assert (counts["variants_created"], counts["variants_updated"], counts["variants_unchanged"]) == (1, 1, 0)
    apply(client, app, result.id)
    assert (count(Product), count(Variant)) == (1, 3)
    soap = variant("SAV-1")
    assert (soap.price_cents, soap.stock, soap.product_id) == (490, 7, product_id)
    assert variant("SAV-3").product_id == product_id
    assert variant("SAV-2").stock == 8, "a variant absent from the file is kept as it is"
    last = db.session.scalars(sa.select(StockMovement).order_by(StockMovement.id.desc())).first()
    assert last is not None
    movements = db.session.scalars(sa.select(StockMovement).where(StockMovement.variant_id == soap.id)).all()
    assert sorted(m.delta for m in movements) == [-3, 10]
    assert all(m.reason == StockReason.IMPORT for m in movements)


def test_export_then_import_changes_nothing_and_exports_are_stable(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    with app.test_request_context("/"):
        member = db.session.get(ShopMember, owner["member_id"])
        assert member is not None
        category = member.shop.category_id
        # As the forms and the demo write them: numbers, yes/no, a one-value list, tricky text.
        services.save_product(
            member,
            None,
            services.ProductData(
                title='=HYPERLINK("http://example.com")',
                category_id=category,
                vat_bps=550,
                description='- premier point\r\n- second ; « guillemets » "doubles"\n\tindenté',
                attributes={
                    "millésime": 2019,
                    "service": True,
                    "labels": ["fait-maison"],
                    "couleurs": ["rouge"],
                    "âge": "12",
                    "formule": "+33 1 23",
                    "note": "a|b=c,d\\e",
                    "étiquette": "true",
                },
                gtin="4006381333931",
                status=ProductStatus.ACTIVE,
                variants=[
                    services.VariantData(
                        sku="VIN-1",
                        price_cents=1290,
                        stock=6,
                        options={"taille": "@75 cl", "bouchon": "-liège", "étui": "'=oui", "verre": "+"},
                        compare_at_cents=1500,
                        weight_grams=0,
                    ),
                    services.VariantData(sku="VIN-2", price_cents=2400, stock=0, low_stock_threshold=0),
                ],
            ),
        )
        services.save_product(
            member,
            None,
            services.ProductData(
                title="Savon",
                category_id=category,
                vat_bps=2000,
                variants=[services.VariantData(sku="SAV-1", price_cents=450, stock=3)],
            ),
        )
        db.session.commit()
    before = (count(Product), count(Variant), count(StockMovement))
    updated_at = {v.id: v.updated_at for v in db.session.scalars(sa.select(Variant))}

    exported = client.get(f"/vendeur/{SLUG}/produits/export.csv")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    content = exported.get_data()
    assert content.startswith("\ufeff".encode())
    text = content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == 3
    assert rows[0]["product_ref"] == rows[1]["product_ref"] == f"P{variant('VIN-1').product_id}"
    # Formula injection neutralised: every cell a spreadsheet would run starts with a quote.
    assert rows[0]["title"] == '\'=HYPERLINK("http://example.com")'
    assert rows[0]["description"].startswith("'- premier point")
    assert (rows[0]["option1_value"], rows[0]["option2_value"], rows[0]["option3_value"]) == (
        "'@75 cl",
        "'-liège",
        "''=oui",
    )
    assert rows[0]["option4_name"] == "verre", "a fourth option gets its own columns"
    assert rows[0]["option4_value"] == "'+"
    assert rows[0]["vat_rate"] == "5,5"
    assert (rows[0]["price"], rows[0]["compare_at_price"], rows[0]["weight_grams"]) == ("12,90", "15,00", "0")
    for row in rows:
        assert not any(cell.startswith(imports.FORMULA_START) for cell in row.values()), row

    result = checked(client, app, content)
    assert result.report["error_count"] == 0, result.report["errors"]
    assert result.report["counts"] == {
        "rows": 3,
        "products_created": 0,
        "products_updated": 0,
        "products_unchanged": 2,
        "variants_created": 0,
        "variants_updated": 0,
        "variants_unchanged": 3,
    }
    apply(client, app, result.id)
    assert (count(Product), count(Variant), count(StockMovement)) == before
    assert {v.id: v.updated_at for v in db.session.scalars(sa.select(Variant))} == updated_at

    second = client.get(f"/vendeur/{SLUG}/produits/export.csv").get_data()
    assert second == content


def test_cells_are_neutralised_and_restored_exactly() -> None:
    for text in ["=1+1", "+33", "-5", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x", "'plain", "plain", ""]:
        written = imports.neutralise(text)
        assert not written.startswith(imports.FORMULA_START)
        assert imports.unneutralise(written) == text
    for attributes in [
        {"a": "1"},
        {"a": 1, "b": True, "c": False, "labels": ["x"], "d": ["y"], "e": ["p", "q"]},
        {"labels": "seul"},
        {"x": "a|b=c,d\\e", "y": "-7", "z": "True", "w": "007"},
    ]:
        assert imports.parse_attributes(imports.format_attributes(attributes)) == attributes


# -- refusals -------------------------------------------------------------------------------------

VALID = {"product_ref": "ok", "sku": "OK-1", "title": "Produit correct"}


@pytest.mark.parametrize(
    ("bad", "column", "message"),
    [
        ({"price": "-5,00"}, "price", "supérieur à zéro"),
        ({"price": "0"}, "price", "supérieur à zéro"),
        ({"price": "douze"}, "price", "montant"),
        ({"stock": "-1"}, "stock", "négatif"),
        ({"stock": "2,5"}, "stock", "entier"),
        ({"stock": "1000001"}, "stock", "dépasser 1000000 unités"),
        ({"gtin": "4006381333932"}, "gtin", "clé de contrôle"),
        ({"category": "inconnue"}, "category", "inconnue"),
        ({"vat_rate": "21"}, "vat_rate", "TVA"),
        ({"vat_rate": "vingt"}, "vat_rate", "pourcentage"),
        ({"status": "publié"}, "status", "draft"),
        ({"sku": "OK-1"}, "sku", "ligne 2"),
        ({"sku": "avec espace"}, "sku", "SKU"),
        ({"title": ""}, "title", "nom du produit"),
        ({"compare_at_price": "1,00"}, "compare_at_price", "prix barré"),
        ({"attributes": "sans-valeur"}, "attributes", "nom=valeur"),
        ({"option1_value": "rouge"}, "option1_name", "nom de l’option"),
    ],
)
def test_a_bad_row_is_reported_by_line_and_column_and_nothing_is_written(
    client: Client, app: Flask, owner: dict[str, int], bad: dict[str, str], column: str, message: str
) -> None:
    content = csv_bytes(VALID, {"product_ref": "bad", "sku": "BAD-1", **bad})
    result = checked(client, app, content)
    assert result.report["error_count"] >= 1
    assert (3, column) in errors_at(result.report), result.report["errors"]
    found = [e["message"] for e in result.report["errors"] if (e["line"], e["column"]) == (3, column)]
    assert any(message in text for text in found), found
    assert not imports.can_apply(result)

    status_url = f"/vendeur/{SLUG}/produits/import/{result.id}"
    page = client.get(status_url).get_data(as_text=True)
    assert f"<code>{column}</code>" in page
    assert "Appliquer l’import" not in page
    client.submit(f"{status_url}/appliquer", {}, form_url=status_url)
    run_jobs(app)
    assert latest_import().status == ImportStatus.CHECKED
    assert (count(Product), count(Variant), count(StockMovement)) == (0, 0, 0)


def test_every_error_of_the_file_is_reported(client: Client, app: Flask, owner: dict[str, int]) -> None:
    content = csv_bytes(
        {"sku": "A-1", "price": "-1", "stock": "-2", "gtin": "123", "category": "nulle-part"},
        {"product_ref": "b", "sku": "B-1", "vat_rate": "7"},
        {"product_ref": "c", "sku": "A-1"},
    )
    result = checked(client, app, content)
    assert errors_at(result.report) == {
        (2, "category"),
        (2, "gtin"),
        (2, "price"),
        (2, "stock"),
        (3, "vat_rate"),
        (4, "sku"),
    }
    assert [e["line"] for e in result.report["errors"]] == sorted(e["line"] for e in result.report["errors"])


def test_line_numbers_are_those_of_the_file(client: Client, app: Flask, owner: dict[str, int]) -> None:
    """A multi-line cell takes several lines; blank lines count too: the report says where to look."""
    content = csv_bytes({"sku": "A-1", "description": "une\ndeux\ntrois"}, {"product_ref": "b", "sku": "B-1"})
    content += b"\n\nc;C;;epicerie;;20;;;C-1;;;;;;;-1;;1;;\n"  # lines 6 and 7 are blank
    result = checked(client, app, content)
    assert errors_at(result.report) == {(8, "price")}


def test_product_columns_must_agree_within_a_product_ref(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    content = csv_bytes(
        {"sku": "A-1"},
        {"sku": "A-2", "title": "", "category": "", "vat_rate": ""},  # empty: taken from the first row
        {"sku": "A-3", "title": "Un autre nom"},
    )
    result = checked(client, app, content)
    assert errors_at(result.report) == {(4, "title")}


def test_skus_of_two_products_cannot_share_a_product_ref(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    imported(client, app, csv_bytes({"product_ref": "a", "sku": "A-1"}, {"product_ref": "b", "sku": "B-1"}))
    result = checked(
        client, app, csv_bytes({"product_ref": "x", "sku": "A-1"}, {"product_ref": "x", "sku": "B-1"})
    )
    assert errors_at(result.report) == {(3, "sku")}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "vide"),
        (b"\xef\xbb\xbf\n  \n", "vide"),
        (";".join(imports.COLUMNS).encode() + b"\n", "aucune ligne"),
        (b"product_ref;title;category;vat_rate;sku\np;t;epicerie;20;S-1\n", "manquantes : price, stock"),
        (b"product_ref;title;title;category;vat_rate;sku;price;stock\n", "double : title"),
        (
            ";".join([*imports.REQUIRED_COLUMNS, "option1_name"]).encode() + b"\n",
            "option1_value manquante",
        ),
        (
            csv_bytes(DEFAULTS) + "p2;Caf\xe9;epicerie;20;;;;;S-2;;;;;;;1;;1;;\n".encode("latin-1"),
            "pas en UTF-8 (ligne 3)",
        ),
        (
            b'product_ref;title;category;vat_rate;sku;price;stock\np;"t;c;20;s;1;1\nq;t;c;20;s;1;1\n',
            "illisible",
        ),
        (
            b"product_ref;title;category;vat_rate;sku;price;stock\np;t;c;20;s;1;1\np;t\x00;c;20;s;1;1\n",
            "ligne 3",
        ),
    ],
)
def test_files_refused_at_upload(
    client: Client, app: Flask, owner: dict[str, int], content: bytes, expected: str
) -> None:
    response = upload(client, content)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert expected in page, page[page.find("field__errors") - 200 : page.find("field__errors") + 400]
    assert count(CatalogImport) == 0
    assert jobs(app).jobs == []


def test_a_file_over_5_mb_is_refused(client: Client, app: Flask, owner: dict[str, int]) -> None:
    padding = "x" * 1000
    rows = [{"sku": f"S-{n}", "description": padding} for n in range(5300)]
    content = csv_bytes(*rows)
    assert len(content) > imports.MAX_BYTES
    page = upload(client, content).get_data(as_text=True)
    assert "5 Mo au plus" in page
    assert count(CatalogImport) == 0


def generated(rows: int) -> bytes:
    """``rows`` rows: products of two variants each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow((*imports.REQUIRED_COLUMNS, "option1_name", "option1_value"))
    for n in range(rows):
        product = n // 2
        writer.writerow(
            [
                f"p{product}",
                f"Produit {product}",
                "epicerie",
                "20",
                f"SKU-{n}",
                f"{n % 90 + 1},50",
                n % 7,
                "taille",
                "S" if n % 2 else "M",
            ]
        )
    return buffer.getvalue().encode()


def test_ten_thousand_rows_are_checked_and_one_more_is_refused(
    app: Flask, app_ctx: Flask, owner: dict[str, int], request: pytest.FixtureRequest
) -> None:
    member = db.session.get(ShopMember, owner["member_id"])
    assert member is not None
    with pytest.raises(services.CatalogError, match="10\u202f000 au plus"):
        imports.start_import(member, FileStorage(io.BytesIO(generated(10_001)), "trop.csv"))

    content = generated(10_000)
    catalog_import = imports.start_import(member, FileStorage(io.BytesIO(content), "gros.csv"))
    db.session.commit()
    started = time.perf_counter()
    jobs(app).run_all()
    elapsed = time.perf_counter() - started
    result = db.session.get(CatalogImport, catalog_import.id, populate_existing=True)
    assert result is not None
    assert result.status == ImportStatus.CHECKED
    assert result.report["error_count"] == 0, result.report["errors"][:5]
    assert result.report["counts"]["products_created"] == 5_000
    assert result.report["counts"]["variants_created"] == 10_000
    assert result.rows_done == result.rows_total == 10_000
    assert count(Product) == 0
    request.node.user_properties.append(("check_seconds_10000_rows", round(elapsed, 2)))
    assert elapsed < 60, f"checking 10 000 rows took {elapsed:.1f} s"


def test_the_check_reports_progress_as_it_goes(app_ctx: Flask, owner: dict[str, int]) -> None:
    member = db.session.get(ShopMember, owner["member_id"])
    assert member is not None
    seen: list[int] = []
    imports.plan_import(member.shop, imports.read_table(generated(1_000)), seen.append)
    assert seen == [250, 500, 750, 1000]


# -- jobs: twice, and all or nothing --------------------------------------------------------------


def test_jobs_are_safe_to_run_twice(client: Client, app: Flask, owner: dict[str, int]) -> None:
    result = checked(client, app, csv_bytes({}))
    report = result.report
    with app.app_context():
        tasks.check_import(result.id)
    assert latest_import().report == report

    applied = apply(client, app, result.id)
    assert applied.status == ImportStatus.APPLIED
    with app.app_context():
        tasks.apply_import(result.id)
        tasks.check_import(result.id)
    assert latest_import().status == ImportStatus.APPLIED
    assert (count(Product), count(Variant), count(StockMovement)) == (1, 1, 1)


def test_the_apply_is_all_or_nothing(
    client: Client, app: Flask, owner: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    content = csv_bytes({"product_ref": "a", "sku": "A-1"}, {"product_ref": "b", "sku": "B-1"})
    result = checked(client, app, content)
    saved: list[str] = []
    original = imports.save_product

    def failing_second(
        member: ShopMember, product: Product | None, data: services.ProductData, **kwargs: Any
    ) -> Product:
        if saved:
            raise services.CatalogError("refusé pour le test", "variants-0-price")
        saved.append(data.variants[0].sku)
        return original(member, product, data, **kwargs)

    monkeypatch.setattr(imports, "save_product", failing_second)
    failed = apply(client, app, result.id)
    assert saved == ["A-1"], "the first product was written, then the second refused"
    assert failed.status == ImportStatus.FAILED
    assert failed.report["errors"] == [{"line": 3, "column": "price", "message": "refusé pour le test"}]
    assert (count(Product), count(Variant), count(StockMovement)) == (0, 0, 0)
    page = client.get(f"/vendeur/{SLUG}/produits/import/{result.id}").get_data(as_text=True)
    assert "refusé pour le test" in page


def test_the_apply_reports_progress_in_its_own_transaction(
    client: Client, app: Flask, owner: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 1)
    reported: list[int] = []
    original = tasks._progress_outside
    monkeypatch.setattr(
        tasks, "_progress_outside", lambda import_id, done: (reported.append(done), original(import_id, done))
    )
    result = checked(
        client, app, csv_bytes({"product_ref": "a", "sku": "A-1"}, {"product_ref": "b", "sku": "B-1"})
    )
    applied = apply(client, app, result.id)
    assert applied.status == ImportStatus.APPLIED
    assert reported == [1, 2]
    assert applied.rows_done == 2


def test_the_apply_validates_again(client: Client, app: Flask, owner: dict[str, int]) -> None:
    import_id = checked(client, app, csv_bytes({"category": "maison"})).id
    with app.app_context():
        db.session.execute(sa.text("UPDATE categories SET archived_at = now() WHERE slug = 'maison'"))
        db.session.commit()
    failed = apply(client, app, import_id)
    assert failed.status == ImportStatus.FAILED
    assert errors_at(failed.report) == {(2, "category")}
    assert count(Product) == 0


# -- authorization --------------------------------------------------------------------------------


def _urls(app: Flask, slug: str, import_id: int) -> Iterator[tuple[str, str]]:
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("catalog_imports."):
            continue
        path = rule.rule.replace("<slug>", slug).replace("<int:import_id>", str(import_id))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_a_member_of_another_shop_gets_404_everywhere(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    other = owner_of(ShopFactory(slug="autre-boutique"), email="other@example.com")
    theirs = CatalogImport(
        shop_id=other.shop_id,
        user_id=other.user_id,
        filename="leur-fichier.csv",
        stored_path="0" * 32 + ".csv",
        status=ImportStatus.CHECKED,
        rows_total=1,
        report={"errors": [], "error_count": 0, "counts": {}},
    )
    db.session.add(theirs)
    db.session.commit()
    their_id = theirs.id
    urls = list(_urls(app, "autre-boutique", their_id))
    assert len(urls) == 6, urls
    token = client.csrf_token(f"/vendeur/{SLUG}/produits/import")
    for method, path in urls:
        response = client.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
    # Their import through our own shop's address: still not found.
    for method, path in _urls(app, SLUG, their_id):
        if str(their_id) in path:
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
    assert db.session.get(CatalogImport, their_id, populate_existing=True).status == ImportStatus.CHECKED  # type: ignore[union-attr]
    assert jobs(app).jobs == []


def test_the_pages_work_for_the_member_and_guests_are_sent_to_login(
    client: Client, app: Flask, owner: dict[str, int]
) -> None:
    page = client.get(f"/vendeur/{SLUG}/produits/import")
    assert page.status_code == 200
    assert "Aucun import" in page.get_data(as_text=True)
    checked(client, app, csv_bytes({}))
    listing = client.get(f"/vendeur/{SLUG}/produits/import").get_data(as_text=True)
    assert "produits.csv" in listing
    client.post("/deconnexion", data={"csrf_token": client.csrf_token(f"/vendeur/{SLUG}/produits/import")})
    for method, path in _urls(app, SLUG, latest_import().id):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302, path
            assert "/connexion" in response.headers["Location"]
