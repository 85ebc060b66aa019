"""The manager's category tree (``/gestion/categories``): create, rename, move, two levels at most,
commission rates, archive and restore; nobody else gets in."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalog.models import Category
from app.extensions import db
from payouts.commission import category_rate as rate
from payouts.commission import today
from payouts.models import CommissionRule, RuleScope
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client

CATEGORIES = "/gestion/categories"


def login_manager(client: Client, email: str = "gestion@example.com") -> int:
    """A new manager with a second factor, logged in (a TOTP code is good once: one manager a login)."""
    manager = UserFactory(email=email, manager=True, two_factor=True)
    manager_id, secret = manager.id, manager.totp_secret
    client.submit("/connexion", {"email": email, "password": PASSWORD})
    response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return int(manager_id)


def logout(client: Client) -> None:
    client.submit("/deconnexion", {}, form_url="/compte")


def field_errors(page: str, field_id: str) -> list[str]:
    found = re.search(rf'<ul class="field__errors" id="{re.escape(field_id)}-error">(.*?)</ul>', page, re.S)
    if found is None:
        return []
    return [html.unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def by_slug(slug: str) -> Category:
    db.session.expire_all()
    category = db.session.scalar(sa.select(Category).where(Category.slug == slug))
    assert category is not None, slug
    return category


def create(client: Client, name: str, slug: str, parent_id: int = 0, commission: str = "") -> int:
    response = client.submit(
        CATEGORIES, {"name": name, "slug": slug, "parent_id": str(parent_id), "commission": commission}
    )
    return response.status_code


def edit(client: Client, category_id: int, **fields: str) -> tuple[int, str]:
    url = f"{CATEGORIES}/{category_id}"
    current = db.session.get(Category, category_id)
    assert current is not None
    data = {
        "name": current.name,
        "slug": current.slug,
        "parent_id": str(current.parent_id or 0),
        "commission": "",
        **fields,
    }
    response = client.submit(url, data)
    return response.status_code, response.get_data(as_text=True)


def act(client: Client, category_id: int, action: str) -> int:
    return client.submit(f"{CATEGORIES}/{category_id}/{action}", {}, form_url=CATEGORIES).status_code


def test_the_manager_creates_a_tree_with_a_commission_rate(client: Client) -> None:
    manager_id = login_manager(client)
    assert create(client, "Papeterie", "papeterie") == 302
    stationery = by_slug("papeterie")
    assert (stationery.name, stationery.parent_id, rate(stationery.id)) == ("Papeterie", None, None)
    assert create(client, "Carnets", "carnets", parent_id=stationery.id, commission="8,5") == 302
    notebooks = by_slug("carnets")
    assert notebooks.parent_id == stationery.id
    assert rate(notebooks.id) == 850
    assert create(client, "Stylos", "stylos", parent_id=stationery.id, commission="12 %") == 302
    assert rate(by_slug("stylos").id) == 1200
    assert by_slug("stylos").position > notebooks.position

    page = html.unescape(client.get(CATEGORIES).get_data(as_text=True)).replace("\u00a0", " ")
    assert "Catégorie ajoutée." in page
    assert page.index("Papeterie") < page.index("Carnets") < page.index("Stylos")
    assert "commission 8,5 %" in page
    # The edit form gives the rate back as it was typed.
    form = client.get(f"{CATEGORIES}/{notebooks.id}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="commission"[^>]*value="8,5"', form)

    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "commission_rule",
            AuditEvent.details["target"].as_integer() == notebooks.id,
        )
    )
    assert event is not None
    assert event.actor_id == manager_id
    assert event.details["rate_bps"] == 850


@pytest.mark.parametrize(
    ("commission", "message"),
    [
        ("cent", "Un pourcentage, par exemple 12 ou 8,5."),
        ("101", "Un pourcentage, par exemple 12 ou 8,5."),
        ("8,555", "Un pourcentage, par exemple 12 ou 8,5."),
        ("-2", "Un pourcentage, par exemple 12 ou 8,5."),
    ],
)
def test_a_bad_commission_rate_is_refused(client: Client, commission: str, message: str) -> None:
    login_manager(client)
    response = client.submit(
        CATEGORIES, {"name": "Livres", "slug": "livres", "parent_id": "0", "commission": commission}
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "commission") == [message]
    assert db.session.scalar(sa.select(Category).where(Category.slug == "livres")) is None


def test_a_slug_is_checked_and_unique(client: Client) -> None:
    CategoryFactory(slug="livres", name="Livres")
    login_manager(client)
    response = client.submit(CATEGORIES, {"name": "Livres anciens", "slug": "livres", "parent_id": "0"})
    assert field_errors(response.get_data(as_text=True), "slug") == [
        "Cette adresse est déjà prise : choisissez-en une autre."
    ]
    response = client.submit(
        CATEGORIES, {"name": "Livres anciens", "slug": "Livres Anciens!", "parent_id": "0"}
    )
    assert field_errors(response.get_data(as_text=True), "slug") == [
        "Lettres minuscules, chiffres et tirets seulement."
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == 1


def test_the_manager_renames_and_moves_a_category(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    gifts = CategoryFactory(slug="cadeaux", name="Cadeaux")
    db.session.add(
        CommissionRule(scope=RuleScope.CATEGORY, category_id=gifts.id, rate_bps=1000, effective_from=today())
    )
    db.session.commit()
    stationery_id, gifts_id = stationery.id, gifts.id
    login_manager(client)

    status, _ = edit(client, gifts_id, name="Idées cadeaux", slug="idees-cadeaux", commission="10")
    assert status == 302
    renamed = by_slug("idees-cadeaux")
    assert (renamed.id, renamed.name, rate(renamed.id)) == (gifts_id, "Idées cadeaux", 1000)
    assert client.get("/categories/cadeaux").status_code == 404
    assert client.get("/categories/idees-cadeaux").status_code == 200

    status, _ = edit(client, gifts_id, parent_id=str(stationery_id), commission="")
    assert status == 302
    moved = by_slug("idees-cadeaux")
    assert moved.parent_id == stationery_id
    assert rate(moved.id) is None, "an empty rate removes the category's own commission"
    assert [category.slug for category in moved.path] == ["papeterie", "idees-cadeaux"]

    # And back to the first level.
    assert edit(client, gifts_id, parent_id="0")[0] == 302
    assert by_slug("idees-cadeaux").parent_id is None


def test_a_third_level_is_refused(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    notebooks = CategoryFactory(slug="carnets", name="Carnets", parent=stationery)
    books = CategoryFactory(slug="livres", name="Livres")
    stationery_id, notebooks_id, books_id = stationery.id, notebooks.id, books.id
    login_manager(client)

    # A subcategory is not offered as a parent, and is refused if sent anyway.
    page = client.get(CATEGORIES).get_data(as_text=True)
    parents = re.search(r'<select[^>]*id="parent_id"[^>]*>(.*?)</select>', page, re.S)
    assert parents is not None
    offered = re.findall(r'<option[^>]*value="(\d+)"', parents.group(1))
    assert str(stationery_id) in offered
    assert str(notebooks_id) not in offered
    response = client.submit(
        CATEGORIES, {"name": "Carnets à spirale", "slug": "spirale", "parent_id": str(notebooks_id)}
    )
    assert response.status_code == 200
    [error] = field_errors(response.get_data(as_text=True), "parent_id")
    assert error in {"N'est pas un choix valide.", "Une sous-catégorie ne peut pas en contenir d’autres."}
    assert db.session.scalar(sa.select(Category).where(Category.slug == "spirale")) is None

    # A category that has children stays at the first level.
    status, page = edit(client, stationery_id, parent_id=str(books_id))
    assert status == 200
    assert field_errors(page, "parent_id") == [
        "Une catégorie qui a des sous-catégories reste au premier niveau."
    ]
    assert by_slug("papeterie").parent_id is None

    # A category cannot be its own parent (it is not offered on its own form).
    status, page = edit(client, books_id, parent_id=str(books_id))
    assert status == 200
    assert field_errors(page, "parent_id")
    assert by_slug("livres").parent_id is None


def test_categories_move_up_and_down_among_their_siblings(client: Client) -> None:
    first = CategoryFactory(slug="a-premiere", name="Première", position=1)
    second = CategoryFactory(slug="b-deuxieme", name="Deuxième", position=2)
    first_id, second_id = first.id, second.id
    login_manager(client)
    assert act(client, second_id, "monter") == 302
    assert by_slug("b-deuxieme").position < by_slug("a-premiere").position
    page = client.get(CATEGORIES).get_data(as_text=True)
    assert page.index("Deuxième") < page.index("Première")
    assert act(client, second_id, "descendre") == 302
    assert by_slug("a-premiere").position < by_slug("b-deuxieme").position
    assert client.submit(f"{CATEGORIES}/{first_id}/supprimer", {}, form_url=CATEGORIES).status_code == 404


def test_archiving_hides_a_category_from_shops_and_shoppers(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    notebooks = CategoryFactory(slug="carnets", name="Carnets", parent=stationery)
    pens = CategoryFactory(slug="stylos", name="Stylos", parent=stationery)
    shop = ShopFactory(slug="la-boussole")
    ProductFactory(shop=shop, category=notebooks, title="Carnet de voyage")
    ProductFactory(shop=shop, category=pens, title="Stylo plume")
    owner_of(shop, email="owner@example.com")
    notebooks_id, stationery_id = notebooks.id, stationery.id

    login_manager(client)
    assert act(client, notebooks_id, "archiver") == 302
    assert by_slug("carnets").archived_at is not None
    assert "archivée" in client.get(CATEGORIES).get_data(as_text=True)
    logout(client)

    # Shoppers: the archived category's page is gone, and its products leave the parent's page.
    assert client.get("/categories/carnets").status_code == 404
    parent_page = client.get("/categories/papeterie").get_data(as_text=True)
    assert "Stylo plume" in parent_page
    assert "Carnet de voyage" not in parent_page
    assert 'href="/categories/carnets"' not in parent_page
    # The product itself stays online, in its category.
    assert "Carnet de voyage" in client.get("/boutiques/la-boussole").get_data(as_text=True)

    # Shops: no longer a choice for a product.
    client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD})
    form = client.get("/vendeur/la-boussole/produits/nouveau").get_data(as_text=True)
    choices = re.search(r'<select[^>]*id="category_id"[^>]*>(.*?)</select>', form, re.S)
    assert choices is not None
    assert "Stylos" in choices.group(1)
    assert "Carnets" not in choices.group(1)
    assert f'value="{notebooks_id}"' not in choices.group(1)
    logout(client)

    # Archiving a parent archives its children; restoring brings the parent back first.
    login_manager(client, "gestion2@example.com")
    assert act(client, stationery_id, "archiver") == 302
    assert by_slug("stylos").archived_at is not None
    assert client.get("/categories/papeterie").status_code == 404
    assert act(client, notebooks_id, "retablir") == 302
    assert by_slug("carnets").archived_at is not None, "its parent is still archived"
    assert "Rétablissez d’abord la catégorie parente." in html.unescape(
        client.get(CATEGORIES).get_data(as_text=True)
    )
    assert act(client, stationery_id, "retablir") == 302
    assert act(client, notebooks_id, "retablir") == 302
    assert by_slug("carnets").archived_at is None
    assert client.get("/categories/carnets").status_code == 200


def test_an_archived_category_is_not_offered_as_a_parent(client: Client) -> None:
    archived = CategoryFactory(slug="ancienne", name="Ancienne")
    archived_id = archived.id
    login_manager(client)
    act(client, archived_id, "archiver")
    page = client.get(CATEGORIES).get_data(as_text=True)
    parents = re.search(r'<select[^>]*id="parent_id"[^>]*>(.*?)</select>', page, re.S)
    assert parents is not None
    assert f'value="{archived_id}"' not in parents.group(1)


def test_only_managers_get_in(client: Client) -> None:
    category = CategoryFactory(slug="papeterie", name="Papeterie")
    category_id = category.id
    urls = [
        ("GET", CATEGORIES),
        ("POST", CATEGORIES),
        ("GET", f"{CATEGORIES}/{category_id}"),
        ("POST", f"{CATEGORIES}/{category_id}"),
        *[
            ("POST", f"{CATEGORIES}/{category_id}/{action}")
            for action in ("monter", "descendre", "archiver", "retablir")
        ],
    ]
    data = {"name": "Piratée", "slug": "piratee", "parent_id": "0", "commission": "99"}

    token = client.csrf_token("/connexion")
    for method, url in urls:  # guests are asked to log in
        response = client.open(url, method=method, data={"csrf_token": token, **data})
        assert response.status_code == 302, f"{method} {url}: {response.status_code}"
        assert "/connexion" in response.headers["Location"]

    owner_of(email="owner@example.com")
    UserFactory(email="client@example.com")
    for email in ("owner@example.com", "client@example.com"):
        client.submit("/connexion", {"email": email, "password": PASSWORD})
        token = client.csrf_token("/compte")
        for method, url in urls:
            response = client.open(url, method=method, data={"csrf_token": token, **data})
            assert response.status_code == 404, f"{email}: {method} {url} answered {response.status_code}"
        logout(client)

    category = by_slug("papeterie")
    assert (category.name, category.archived_at, rate(category.id)) == ("Papeterie", None, None)
    assert db.session.scalar(sa.select(Category).where(Category.slug == "piratee")) is None


def test_a_product_left_in_an_archived_category_links_to_no_missing_page(client: Client) -> None:
    stationery = CategoryFactory(slug="papeterie", name="Papeterie")
    notebooks = CategoryFactory(slug="carnets", name="Carnets", parent=stationery)
    product_id = ProductFactory(category=notebooks, title="Carnet de voyage").id
    notebooks_id = notebooks.id
    login_manager(client)
    assert act(client, notebooks_id, "archiver") == 302
    logout(client)

    page = client.get(f"/produits/{product_id}").get_data(as_text=True)
    assert "Carnet de voyage" in page, "products keep their archived category and stay online"
    for href in sorted(set(re.findall(r'href="(/categories/[^"]+)"', page))):
        assert client.get(href).status_code == 200, f"the product page links to {href}"
