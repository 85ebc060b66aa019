"""The search page and its autocomplete, through HTTP, on the embedded index."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.catalog.models import Category
from app.extensions import db
from search import tasks, views
from search.backends import SearchBackend
from search.query import SearchQuery
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.plugins.application import Client

TITLE = re.compile(r'class="product-card__title">(.*?)</span>', re.S)
FACET = re.compile(r'<a href="(/recherche\?[^"]*)"[^>]*>([^<]*?) <span class="muted">(\d+)</span></a>')


def titles(page: str, related: bool = False) -> list[str]:
    """The titles of the products found (or, with ``related``, of those shown after them)."""
    matches, _, after = page.partition('class="search__related"')
    found = TITLE.findall(after if related else matches)
    return [html.unescape(re.sub(r"<[^>]+>", "", title)).strip() for title in found]


@pytest.fixture
def town(app: Flask, client: Client, search_index: SearchBackend) -> dict[str, object]:
    """A few shops and products, indexed as the outbox job would."""
    cheese = CategoryFactory(slug="fromagerie", name="Fromagerie")
    books = CategoryFactory(slug="livres", name="Livres")
    halles = ShopFactory(slug="fromagerie-des-halles", name="Fromagerie des Halles", category=cheese)
    made = {
        "crottin": ProductFactory(
            shop=halles, category=cheese, title="Crottin de Chavignol", attributes={"milk": "chèvre"}
        ),
        "comte": ProductFactory(
            shop=halles,
            category=cheese,
            title="Comté 18 mois",
            attributes={"milk": "vache", "labels": ["lait cru"]},
            variants=[{"price_cents": 2890}],
        ),
    }
    for number in range(3):
        shop = ShopFactory(slug=f"librairie-{number}", name=f"Librairie {number}", category=books)
        made[f"prince-{number}"] = ProductFactory(
            shop=shop, category=books, title="Le Petit Prince", gtin="9782070612758"
        )
    with app.app_context():
        tasks.drain()  # the factories ran outside a request: their outbox rows wait for a drain
    return made


def test_results_show_highlighted_titles(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?q=crottin").get_data(as_text=True)
    assert "<mark>Crottin</mark> de Chavignol" in page


def test_a_book_sold_by_three_shops_is_one_card(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?q=petit+prince").get_data(as_text=True)
    assert (titles(page), "dans 3 boutiques" in page) == (["Le Petit Prince"], True)


def test_following_a_facet_narrows_to_its_count(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche").get_data(as_text=True)
    url, label, count = next(found for found in FACET.findall(page) if found[1] == "lait cru")
    narrowed = client.get(html.unescape(url)).get_data(as_text=True)
    assert (label, count, titles(narrowed)) == ("lait cru", "1", ["Comté 18 mois"])


def test_facets_are_plain_links_that_keep_the_query(client: Client, town: dict[str, object]) -> None:
    # No product says "fromage" here: the shop and the category say "fromagerie".
    page = client.get("/recherche?q=fromagerie").get_data(as_text=True)
    links = [html.unescape(url) for url, _label, _count in FACET.findall(page)]
    assert len(links) >= 3, "category, shop, price and more facets are links"
    assert all("q=fromagerie" in link for link in links)


def test_a_typo_finds_the_product(client: Client, town: dict[str, object]) -> None:
    assert titles(client.get("/recherche?q=crotin").get_data(as_text=True)) == ["Crottin de Chavignol"]


def test_nothing_found_offers_a_correction_and_other_products(
    client: Client, town: dict[str, object]
) -> None:
    page = client.get("/recherche?q=chavignolle+fermierrrrr").get_data(as_text=True)
    assert ("Aucun produit ne correspond." in page, "Essayez plutôt" in page, "À découvrir" in page) == (
        True,
        True,
        True,
    )


def test_the_correction_link_finds_something(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?q=chavignolle+fermierrrrr").get_data(as_text=True)
    link = html.unescape(re.search(r'class="did-you-mean">.*?<a href="([^"]+)"', page, re.S).group(1))  # type: ignore[union-attr]
    assert titles(client.get(link).get_data(as_text=True)) == ["Crottin de Chavignol"]


def test_near_a_street_shows_distances(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?q=crottin&depuis=rue+Colbert&tri=distance").get_data(as_text=True)
    assert re.search(r"· \d+,\d km", page)


@pytest.mark.parametrize(
    "query",
    [
        "q=",
        "q=" + "fromage " * 150,
        "q=%22%27%3B+DROP+TABLE+products%3B+--",
        "q=title%3A*+AND+(+OR+%5B+%7D+~+%5E+%5C",
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "prix_min=-20&prix_max=abc",
        "prix_min=50&prix_max=10",
        "prix_min=1e308&prix_max=99999999999999999999",
        "categorie=n-existe-pas&boutique=%3Cb%3E&label=inconnu&livraison=teleportation",
        "page=10000",
        "page=-3",
        "page=abc",
        "tri=nimporte&rayon=-5",
        "rayon=100000&lat=47.39&lon=0.68",
        "lat=nan&lon=inf&tri=distance",
        "depuis=rue+qui+n+existe+pas&rayon=2",
    ],
)
def test_bad_input_never_breaks_the_page(client: Client, town: dict[str, object], query: str) -> None:
    response = client.get(f"/recherche?{query}")
    page = response.get_data(as_text=True)
    assert (response.status_code, "<script>alert" in page) == (200, False)


def test_corrections_are_said(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?prix_min=50&prix_max=10&page=10000").get_data(as_text=True)
    assert ("nous les avons inversés" in page, "affinez votre recherche" in page) == (True, True)


def test_autocomplete_answers_json(client: Client, town: dict[str, object]) -> None:
    response = client.get("/recherche/suggestions?q=crot")
    assert response.get_json() == {
        "query": "crot",
        "suggestions": [
            {"text": "crottin", "kind": "word", "label": "Recherche", "url": "/recherche?q=crottin"},
            {
                "text": "Crottin de Chavignol",
                "kind": "product",
                "label": "Produit",
                "url": "/recherche?q=Crottin+de+Chavignol",
            },
        ],
    }


def test_autocomplete_ignores_a_single_letter(client: Client, town: dict[str, object]) -> None:
    assert client.get("/recherche/suggestions?q=c").get_json()["suggestions"] == []


def test_a_backend_that_does_not_answer_gives_a_clear_page(
    client: Client, town: dict[str, object], search_index: SearchBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(query: object) -> object:
        raise ConnectionError("Elasticsearch does not answer")

    monkeypatch.setattr(search_index, "search", down)
    response = client.get("/recherche?q=crottin")
    assert (response.status_code, "momentanément indisponible" in response.get_data(as_text=True)) == (
        503,
        True,
    )


def test_an_isbn_printed_on_a_book_finds_it(client: Client, town: dict[str, object]) -> None:
    page = client.get("/recherche?q=2-07-061275-9").get_data(as_text=True)
    assert (titles(page), "dans 3 boutiques" in page) == (["Le Petit Prince"], True)


def test_an_unknown_code_offers_no_correction(client: Client, town: dict[str, object]) -> None:
    # Dropping the code would find the crottin: a code is exact, so nothing stands in for it.
    page = client.get("/recherche?q=crottin+9780306406157").get_data(as_text=True)
    assert ("Aucun produit ne correspond." in page, "Essayez plutôt" in page) == (True, False)


# -- suggestions of every kind ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_suggestions(app: Flask) -> None:
    """Each test's shops and products, not those a previous test left in the per-process cache."""
    app.extensions.pop("search_suggestions", None)


@pytest.fixture
def pantry(app: Flask, town: dict[str, object]) -> dict[str, object]:
    """The town, with a dairy whose products say "fromage" and "crème" only in their descriptions."""
    dairy = CategoryFactory(slug="cremerie", name="Crèmerie")
    shop = ShopFactory(slug="la-fromagerie-du-marche", name="La Fromagerie du Marché", category=dairy)
    made = dict(town)
    made["cream"] = ProductFactory(
        shop=shop, category=dairy, title="Crème fraîche d'Isigny", description="Crème crue, 20 cl."
    )
    for name in ("Brie de Meaux", "Saint-Nectaire", "Reblochon"):
        made[name] = ProductFactory(
            shop=shop, category=dairy, title=name, description=f"{name}, fromage au lait de vache."
        )
    with app.app_context():
        tasks.drain()
    return made


def suggested(client: Client, typed: str) -> list[tuple[str, str]]:
    response = client.get("/recherche/suggestions", query_string={"q": typed})
    assert response.status_code == 200
    return [(item["kind"], item["text"]) for item in response.get_json()["suggestions"]]


def test_fro_suggests_the_category_the_shops_and_the_word(client: Client, pantry: dict[str, object]) -> None:
    assert suggested(client, "fro") == [
        ("category", "Fromagerie"),
        ("shop", "La Fromagerie du Marché"),
        ("shop", "Fromagerie des Halles"),
        ("word", "fromage"),
    ]


def test_suggestions_ignore_accents(client: Client, pantry: dict[str, object]) -> None:
    assert suggested(client, "crem") == [
        ("category", "Crèmerie"),
        ("word", "crème"),
        ("product", "Crème fraîche d'Isigny"),
    ]


def test_a_shop_prefix_suggests_its_storefront(client: Client, pantry: dict[str, object]) -> None:
    response = client.get("/recherche/suggestions?q=librairie 1")
    assert [(item["kind"], item["text"], item["url"]) for item in response.get_json()["suggestions"]] == [
        ("shop", "Librairie 1", "/boutiques/librairie-1")
    ]


def test_a_category_prefix_suggests_its_page(client: Client, pantry: dict[str, object]) -> None:
    response = client.get("/recherche/suggestions?q=LIVR")
    assert response.get_json()["suggestions"] == [
        {"text": "Livres", "kind": "category", "label": "Catégorie", "url": "/categories/livres"}
    ]


def test_suggestions_come_once_and_at_most_eight(client: Client, pantry: dict[str, object]) -> None:
    for number in range(12):
        ProductFactory(title=f"Fromage frais {number}", description="Fromage frais.")
    with client.application.app_context():
        tasks.drain()
    found = suggested(client, "fr")
    assert (len(found), len({text.casefold() for _kind, text in found})) == (8, 8)


@pytest.mark.parametrize("typed", ["", "f", "é", "x" * 1000, "🧀🧀", "🧀 " * 400, "%%", "- '"])
def test_odd_input_suggests_nothing_and_never_fails(
    client: Client, pantry: dict[str, object], typed: str
) -> None:
    response = client.get("/recherche/suggestions", query_string={"q": typed})
    assert (response.status_code, response.get_json()["suggestions"]) == (200, [])


def test_a_plural_is_not_suggested_beside_its_singular(client: Client, pantry: dict[str, object]) -> None:
    ProductFactory(title="Plateau apéritif", description="Trois fromages affinés.")
    with client.application.app_context():
        tasks.drain()
    assert [text for kind, text in suggested(client, "froma") if kind == "word"] == ["fromage"]


def test_words_complete_only_a_single_word(client: Client, pantry: dict[str, object]) -> None:
    # "fromage" is no completion of "lait fro": no product title has both, so nothing is suggested.
    assert suggested(client, "lait fro") == []


def test_the_english_interface_names_categories_in_english(
    app: Flask, client: Client, town: dict[str, object]
) -> None:
    cheese = db.session.scalar(sa.select(Category).where(Category.slug == "fromagerie"))
    assert cheese is not None
    cheese.name_en = "Cheese shop"
    db.session.commit()
    app.extensions.pop("search_suggestions", None)  # the suggestions' vocabulary, read once a minute
    english = {"Accept-Language": "en"}
    page = client.get("/recherche?q=crottin", headers=english).get_data(as_text=True)
    suggested = client.get("/recherche/suggestions?q=chees", headers=english).get_json()["suggestions"]
    french = client.get("/recherche/suggestions?q=chees").get_json()["suggestions"]
    categories = [found["text"] for found in suggested if found["kind"] == "category"]
    assert ("Cheese shop" in page, categories) == (True, ["Cheese shop"])
    assert [found for found in french if found["kind"] == "category"] == []


FACET_QUERIES = [
    SearchQuery(),
    SearchQuery(
        text="pain d'épices & co",
        shop="fournil",
        labels=("bio", "fait main"),
        delivery=("pickup",),
        price_min_cents=500,
        in_stock=True,
        sort="price_asc",
        page=3,
    ),
    SearchQuery(category="livres", text="100 % + 50 = ?", min_rating=4, within_km=2.0, near=(47.2, -1.55)),
    # What stands for a value while its link is worked out, typed by someone: the long way is taken.
    SearchQuery(text=views._CHOSEN, labels=(views._CHOSEN,)),
]
FACET_PLACES = [[], [("depuis", "rue du Port")], [("lat", "47.20000"), ("lon", "-1.55000")]]
FACET_VALUES = ["livres", "lait cru", "é&=+?#%/", "boulangerie-patisserie", "livres"]


@pytest.mark.parametrize("query", FACET_QUERIES)
@pytest.mark.parametrize("place", FACET_PLACES)
def test_a_facet_value_links_where_the_long_way_does(
    app: Flask, query: SearchQuery, place: list[tuple[str, str]]
) -> None:
    """Each value of a facet is put in a link worked out once: the same link as building it whole."""
    with app.test_request_context():
        pages = {
            "search": views.PageLinks(
                lambda **changes: views._page_url(query, place, "/recherche", **changes)
            ),
            "category": views.PageLinks(
                lambda **changes: views._category_page_url(query, place, "/categories/livres", **changes)
            ),
        }
        for name, page_url in pages.items():
            for field in ("category", "shop", "labels", "delivery"):
                current = getattr(query, field)
                for value in FACET_VALUES:
                    changed = (*current, value) if isinstance(current, tuple) else value
                    assert page_url.choosing(field, value, current) == page_url(**{field: changed}), (
                        name,
                        field,
                    )


def test_a_ceiling_typed_in_the_box_becomes_the_price_filter(client: Client, town: dict[str, object]) -> None:
    page = html.unescape(client.get("/recherche?q=fromagerie+moins+de+20+euros").get_data(as_text=True))
    assert titles(page) == ["Crottin de Chavignol"], "12,50 € in, the 28,90 € Comté out"
    assert "Prix jusqu’à 20,00\xa0€ : le filtre est appliqué." in page
    assert "prix_max=20" in page, "the links of the page keep the filter"


def test_pas_cher_sorts_the_cheapest_first(client: Client, town: dict[str, object]) -> None:
    page = html.unescape(client.get("/recherche?q=fromagerie+pas+cher").get_data(as_text=True))
    assert titles(page) == ["Crottin de Chavignol", "Comté 18 mois"]
    assert "Les résultats sont triés du moins cher au plus cher." in page
    chosen = html.unescape(
        client.get("/recherche?q=fromagerie+pas+cher&tri=price_desc").get_data(as_text=True)
    )
    assert titles(chosen) == ["Comté 18 mois", "Crottin de Chavignol"], "an order chosen stays"


def test_delivery_and_stock_words_become_filters(client: Client, town: dict[str, object]) -> None:
    typed = client.get("/recherche?q=fromagerie+click+and+collect+en+stock").get_data(as_text=True)
    page = html.unescape(typed)
    assert "Filtre appliqué : Retrait en boutique." in page
    assert "Filtre appliqué : En stock." in page
    assert "livraison=click_collect" in page, "the page's links keep the filters"
    assert "en_stock=1" in page
    asked = client.get("/recherche?q=fromagerie&livraison=click_collect&en_stock=1").get_data(as_text=True)
    assert titles(page) == titles(asked), "as if the filters had been chosen"


def test_an_occasion_word_is_never_corrected_into_a_product(
    app: Flask, client: Client, town: dict[str, object]
) -> None:
    ProductFactory(title="Cadenas laiton")
    with app.app_context():
        tasks.drain()
    assert "Cadenas laiton" in titles(client.get("/recherche?q=cadenaz").get_data(as_text=True))
    page = client.get("/recherche?q=id%C3%A9e+cadeau").get_data(as_text=True)
    assert "did-you-mean" not in page, "a gift is not a padlock"


def test_two_delivery_methods_typed_are_both_applied(app: Flask) -> None:
    with app.test_request_context("/"):
        query, notices = SearchQuery(text="livres click and collect point relais").understood()
        asked, _ = SearchQuery(text="livres", delivery=("relay",)).understood()
    assert (query.text, query.delivery) == ("livres", ("click_collect", "relay"))
    assert len(notices) == 2
    assert asked.delivery == ("relay",), "a query without such words is left as it is"
