"""``make run`` serves the demo town on SQLite (the embedded default): every public page, the shop's
back office and the manager's console answer there too, not only on PostgreSQL as the rest of the
suite runs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import flask_migrate
import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app, demo
from app.catalog.models import Product
from app.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import MIGRATIONS_DIR, Client, Services
from tests.plugins.application import test_config as app_config
from vendors.models import Shop

SHOPS = 6


@pytest.fixture
def sqlite_app(services: Services, tmp_path: Path) -> Any:
    data = tmp_path / "demo"
    data.mkdir()
    source = Path(__file__).resolve().parents[2] / "demo"
    shutil.copy(source / "categories.json", data / "categories.json")
    vendors = json.loads((source / "vendors.json").read_text(encoding="utf-8"))[:SHOPS]
    (data / "vendors.json").write_text(json.dumps(vendors, ensure_ascii=False), encoding="utf-8")
    slugs = {vendor["slug"] for vendor in vendors}
    lines = [
        line
        for line in (source / "products.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["vendor"] in slugs
    ]
    (data / "products.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = app_config(f"sqlite:///{tmp_path / 'app.sqlite'}", services, tmp_path, DEMO_HISTORY_DAYS=20)
    application: Flask = create_app(config)
    application.test_client_class = Client
    with application.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        with application.test_request_context("/"):
            demo.load(data, with_photos=False)
        db.session.commit()
        UserFactory(email="chiffres@example.com", manager=True, two_factor=True)
        db.session.commit()
    # Requests run as a browser's would: each in its own application context.
    yield application
    with application.app_context():
        db.engine.dispose()


def test_the_demo_town_answers_on_sqlite(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        shop = db.session.scalars(sa.select(Shop).order_by(Shop.id)).first()
        assert shop is not None
        product = db.session.scalars(sa.select(Product).where(Product.shop_id == shop.id)).first()
        assert product is not None
        shop_slug, product_id, secret = shop.slug, product.id, _totp_secret()
    client: Any = sqlite_app.test_client()
    pages = [
        "/",
        "/boutiques",
        f"/boutiques/{shop_slug}",
        f"/produits/{product_id}",
        "/categories/alimentation",
        "/recherche?q=pain",
        "/recherche?q=necklace",
        "/panier",
        "/sitemap.xml",
        "/robots.txt",
    ]
    answers = {page: client.get(page).status_code for page in pages}
    assert answers == dict.fromkeys(pages, 200)

    # The manager's console reads the figures of the generated history.
    client.submit("/connexion", {"email": "chiffres@example.com", "password": PASSWORD})
    assert client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    manager_pages = ["/gestion/", "/gestion/commandes", "/gestion/suivi", "/gestion/accueil"]
    found = {page: client.get(page).status_code for page in manager_pages}
    assert found == dict.fromkeys(manager_pages, 200), found
    page = client.get("/gestion/?periode=30j").get_data(as_text=True)
    assert re.search(r"Commandes</t[hd]>\s*<td>[1-9]", page), "the history's orders are counted"

    # The shop's back office, with its figures and what to do today.
    owner: Any = sqlite_app.test_client()
    owner.submit("/connexion", {"email": f"contact@{shop_slug}.example", "password": demo.DEMO_PASSWORD})
    shop_pages = [
        f"/vendeur/{shop_slug}/",
        f"/vendeur/{shop_slug}/commandes",
        f"/vendeur/{shop_slug}/produits",
    ]
    found = {page: owner.get(page).status_code for page in shop_pages}
    assert found == dict.fromkeys(shop_pages, 200), found


def _totp_secret() -> str:
    from app.accounts.models import User

    manager = db.session.scalar(sa.select(User).where(User.email == "chiffres@example.com"))
    assert manager is not None
    return str(manager.totp_secret)
