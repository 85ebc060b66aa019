"""Collections: scheduled by the manager from the console (audited), shown while current and while
something of them is still online, hidden cleanly otherwise; nobody else gets into the console."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

from app.audit.models import AuditEvent
from app.database import utcnow
from app.extensions import db
from app.site.models import Collection, FeaturedShop, HomeBlock, HomeBlockKind
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Client
from tests.site.support import block, fresh_home, login_manager, product_titles
from vendors.hours import TOWN_TZ
from vendors.models import Shop, ShopStatus

CONSOLE = "/gestion/accueil"


def create(client: Client, **fields: str) -> tuple[int, str]:
    data = {"title": "Noël à Bellerive", "slug": "noel", "text": "Des idées.", "kind": "products"} | fields
    response = client.submit(f"{CONSOLE}/collections/nouvelle", data)
    return response.status_code, response.headers.get("Location", "") or response.get_data(as_text=True)


def audited(action: str) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )
        or 0
    )


def test_the_manager_schedules_a_collection_and_fills_it(client: Client) -> None:
    product_id = ProductFactory(title="Boule de Noël").id
    db.session.commit()
    login_manager(client)
    today = utcnow().astimezone(TOWN_TZ).date()
    status, location = create(
        client, starts_on=today.isoformat(), ends_on=(today + dt.timedelta(days=3)).isoformat()
    )
    assert status == 302
    assert client.get("/collections/noel").status_code == 404, "empty: not shown"

    picked = client.get(f"{location}?q=boule").get_data(as_text=True)
    assert "Boule de Noël" in picked
    client.submit(f"{location}/ajouter/{product_id}", {}, form_url=location)
    page = client.get("/collections/noel").get_data(as_text=True)
    assert product_titles(page) == ["Boule de Noël"]
    home = block(fresh_home(client), "collections")
    assert home is not None
    assert 'href="/collections/noel"' in home
    assert audited("saved") >= 1
    assert audited("item_added") == 1
    collection = db.session.scalars(sa.select(Collection)).one()
    assert collection.ends_at is not None
    assert collection.ends_at.astimezone(TOWN_TZ).date() == today + dt.timedelta(days=4)


def test_inverted_dates_and_a_taken_address_are_refused(client: Client) -> None:
    login_manager(client)
    status, page = create(client, starts_on="2026-12-20", ends_on="2026-12-10")
    assert status == 200
    assert "La fin vient avant le début." in page
    assert create(client)[0] == 302
    status, page = create(client, title="Autre")
    assert status == 200
    assert "déjà prise" in page


def test_a_collection_shows_only_between_its_dates(client: Client) -> None:
    product = ProductFactory()
    now = utcnow()
    for slug, starts, ends in [
        ("passee", now - dt.timedelta(days=10), now - dt.timedelta(days=1)),
        ("future", now + dt.timedelta(days=1), None),
        ("en-cours", now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
    ]:
        collection = Collection(slug=slug, title=slug, starts_at=starts, ends_at=ends)
        db.session.add(collection)
        db.session.flush()
        collection.items.append(_item(product.id))
    db.session.commit()
    assert [client.get(f"/collections/{slug}").status_code for slug in ("passee", "future", "en-cours")] == [
        404,
        404,
        200,
    ]
    home = block(fresh_home(client), "collections") or ""
    assert "/collections/en-cours" in home
    assert "/collections/passee" not in home
    assert "/collections/future" not in home
    assert client.get("/collections/inconnue").status_code == 404


def _item(product_id: int) -> object:
    from app.site.models import CollectionItem

    return CollectionItem(product_id=product_id)


def test_items_gone_offline_are_hidden_and_a_collection_of_shops_too(client: Client) -> None:
    online, archived = ProductFactory(title="En ligne"), ProductFactory(title="Archivé")
    collection = Collection(slug="noel", title="Noël")
    collection.items = [_item(archived.id), _item(online.id)]  # type: ignore[list-item]
    db.session.add(collection)
    archived.status = archived.status.ARCHIVED
    db.session.commit()
    assert product_titles(client.get("/collections/noel").get_data(as_text=True)) == ["En ligne"]

    from app.site.models import CollectionItem, CollectionKind

    shop_id = ShopFactory(name="Le Fournil").id
    shops = Collection(slug="boulangers", title="Boulangers", kind=CollectionKind.SHOPS)
    shops.items = [CollectionItem(shop_id=shop_id)]
    db.session.add(shops)
    db.session.commit()
    assert "Le Fournil" in client.get("/collections/boulangers").get_data(as_text=True)
    db.session.execute(sa.update(Shop).where(Shop.id == shop_id).values(status=ShopStatus.SUSPENDED))
    db.session.commit()
    assert client.get("/collections/boulangers").status_code == 404


def test_the_manager_orders_blocks_and_features_shops_with_an_audit_trail(client: Client) -> None:
    shop_id = ShopFactory(name="Le Fournil").id
    db.session.commit()
    login_manager(client)
    client.submit(f"{CONSOLE}/blocs/categories/desactiver", {}, form_url=CONSOLE)
    client.submit(f"{CONSOLE}/blocs/best_shops/monter", {}, form_url=CONSOLE)
    blocks = {block.kind: block for block in db.session.scalars(sa.select(HomeBlock))}
    assert blocks[HomeBlockKind.CATEGORIES].enabled is False
    assert blocks[HomeBlockKind.BEST_SHOPS].position < blocks[HomeBlockKind.BEST_PRODUCTS].position
    assert "Le Fournil" in client.get(f"{CONSOLE}?boutique=fournil").get_data(as_text=True)
    client.submit(f"{CONSOLE}/une/{shop_id}/ajouter", {}, form_url=CONSOLE)
    assert db.session.scalars(sa.select(FeaturedShop.shop_id)).all() == [shop_id]
    assert "Le Fournil" in (block(fresh_home(client), "featured_shops") or "")
    assert (audited("block_disabled"), audited("block_moved"), audited("shop_featured")) == (1, 1, 1)
    assert client.submit(f"{CONSOLE}/blocs/inconnu/monter", {}, form_url=CONSOLE).status_code == 404
    assert client.submit(f"{CONSOLE}/une/999999/ajouter", {}, form_url=CONSOLE).status_code == 302


def test_only_managers_get_into_the_console(client: Client) -> None:
    UserFactory(email="camille@example.com")
    db.session.commit()
    assert client.get(CONSOLE).status_code == 302  # to the login page
    client.submit("/connexion", {"email": "camille@example.com", "password": PASSWORD})
    assert client.get(CONSOLE).status_code == 404
    assert client.get(f"{CONSOLE}/collections/nouvelle").status_code == 404
    assert client.post(f"{CONSOLE}/blocs/categories/desactiver").status_code in (400, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HomeBlock)) == 0


def test_a_collection_image_is_checked_and_shown(client: Client, tmp_path: Path) -> None:
    product_id = ProductFactory().id
    db.session.commit()
    login_manager(client)
    picture = io.BytesIO()
    Image.new("RGB", (900, 500), (200, 30, 40)).save(picture, format="PNG")
    picture.seek(0)
    data = {
        "title": "Fête des mères",
        "slug": "fete-des-meres",
        "kind": "products",
        "image": (picture, "fete.png"),
    }
    response = client.submit(f"{CONSOLE}/collections/nouvelle", data, content_type="multipart/form-data")
    assert response.status_code == 302
    location = response.headers["Location"]
    client.submit(f"{location}/ajouter/{product_id}", {}, form_url=location)
    collection = db.session.scalars(sa.select(Collection)).one()
    assert collection.image_path is not None
    assert collection.image_path.startswith("collections/")
    assert f"/media/{collection.card_image}" in client.get("/collections/fete-des-meres").get_data(
        as_text=True
    )

    bad = {
        "title": "Autre",
        "slug": "autre",
        "kind": "products",
        "image": (io.BytesIO(b"not a picture"), "x.png"),
    }
    page = client.submit(f"{CONSOLE}/collections/nouvelle", bad, content_type="multipart/form-data")
    assert page.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Collection)) == 1
