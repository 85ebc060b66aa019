"""One contract, two backends: every test here runs against tantivy and Elasticsearch (noida-db)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from search.backends import SearchBackend
from search.backends.elastic import ElasticsearchBackend
from search.backends.embedded import TantivyBackend
from search.query import SearchQuery
from tests.plugins.search import BACKENDS, drop, make_backend
from tests.search.catalogue import CENTRE, PETIT_PRINCE_GTIN, catalogue, doc, ids


@pytest.fixture(scope="module", params=BACKENDS)
def indexed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchBackend]:
    """The contract catalogue, indexed once per backend for the whole module (tests only read it)."""
    backend = make_backend(request.param, request, tmp_path_factory.mktemp("contract") / "index")
    documents = catalogue()
    backend.rebuild([documents[:9], documents[9:]])
    yield backend
    drop(backend)


def search(backend: SearchBackend, text: str = "", **filters: object) -> list[int]:
    """The products matching the words (related products that may follow them left aside)."""
    result = backend.search(SearchQuery(text=text, **filters))  # type: ignore[arg-type]
    return [hit.product_id for hit in result.hits if not hit.related]


# -- French text --------------------------------------------------------------------------------


def test_plural_and_singular_find_the_same_products(indexed: SearchBackend) -> None:
    assert set(search(indexed, "chaussure")) == set(search(indexed, "chaussures"))


def test_accents_are_optional(indexed: SearchBackend) -> None:
    assert set(search(indexed, "chevre")) == {5, 6, 17}


def test_stop_words_do_not_have_to_match(indexed: SearchBackend) -> None:
    assert set(search(indexed, "fromage de chèvre")) == set(search(indexed, "fromage chèvre"))


def test_elided_articles_are_stripped(indexed: SearchBackend) -> None:
    assert search(indexed, "l'huile")[0] == 8


def test_a_typo_still_finds_the_product(indexed: SearchBackend) -> None:
    assert search(indexed, "chausures cuir")[0] == 1


def test_two_typos_in_a_long_word(indexed: SearchBackend) -> None:
    assert 6 in search(indexed, "Saint-Maur tourraine")


def test_a_title_match_ranks_above_a_description_match(indexed: SearchBackend) -> None:
    found = search(indexed, "cuir")
    # Product 3 mentions leather only in its description ("fil de cuir").
    assert found.index(1) < found.index(3)


def test_in_stock_ranks_above_sold_out_for_the_same_words(indexed: SearchBackend) -> None:
    found = search(indexed, "cuir")
    assert found.index(1) < found.index(4)  # leather shoes in stock, leather sandals sold out


def test_every_word_ranks_first_whatever_the_stock(indexed: SearchBackend) -> None:
    assert search(indexed, "sandales cuir chaussures")[0] == 4


def test_all_but_one_word_must_match_beyond_two_words(indexed: SearchBackend) -> None:
    found = search(indexed, "vin rouge bio")
    assert found[0] == 9  # red and organic


def test_vin_rouge_bio_keeps_red_wines_that_are_not_organic(indexed: SearchBackend) -> None:
    assert 10 in search(indexed, "vin rouge bio")


def test_without_both_words_the_head_noun_must_match(indexed: SearchBackend) -> None:
    # No leather wine: the wines follow (the head noun), never the leather goods.
    assert set(search(indexed, "vin cuir")) == {9, 10, 11}
    assert set(search(indexed, "cuir vin")) == {1, 3, 4}


def test_a_word_nothing_has_gives_no_result(indexed: SearchBackend) -> None:
    assert search(indexed, "vin zzyzzx") == []


def test_an_occasion_nothing_has_is_left_out(indexed: SearchBackend) -> None:
    # What the wine is for is no product's word: the wines, rather than nothing.
    wines = set(search(indexed, "vin"))
    assert wines == {9, 10, 11}
    assert set(search(indexed, "vin anniversaire")) == wines
    assert set(search(indexed, "idée cadeau vin pour Noël")) == wines
    assert set(search(indexed, "chaussures taille 42")) == set(search(indexed, "chaussures")) != set()


def test_an_occasion_alone_or_beside_a_word_nothing_has_finds_nothing(indexed: SearchBackend) -> None:
    assert search(indexed, "cadeau") == []
    assert search(indexed, "idée cadeau anniversaire") == []
    assert search(indexed, "zzyzzx anniversaire") == [], "the unknown word still decides"


def test_titles_come_back_escaped_with_marks(indexed: SearchBackend) -> None:
    hit = indexed.search(SearchQuery(text="crottin")).hits[0]
    assert hit.title_html == "<mark>Crottin</mark> de Chavignol"


def test_special_characters_are_text_not_syntax(indexed: SearchBackend) -> None:
    for text in [
        'cuir" OR 1=1 --',
        "title:cuir AND (",
        "*:*",
        "cuir~ ^2 [a TO z] \\ / {}",
        "'; DROP TABLE products; --",
    ]:
        result = indexed.search(SearchQuery(text=text))
        assert all(isinstance(hit.product_id, int) for hit in result.hits), text


# -- collapse by GTIN ---------------------------------------------------------------------------


def test_the_same_book_at_three_bookshops_shows_once_with_its_shop_count(indexed: SearchBackend) -> None:
    result = indexed.search(SearchQuery(text="petit prince"))
    matches = [hit for hit in result.hits if not hit.related]
    assert [(hit.product_id in {12, 13, 14}, hit.shop_count) for hit in matches] == [(True, 3)]


def test_the_total_counts_a_shared_book_once(indexed: SearchBackend) -> None:
    assert indexed.search(SearchQuery(category="livres")).total == 2


def test_a_shop_filter_counts_only_that_shops_copy(indexed: SearchBackend) -> None:
    result = indexed.search(SearchQuery(text="petit prince", shop="le-chat-qui-lit"))
    assert [(hit.product_id, hit.shop_count) for hit in result.hits] == [(14, 1)]


def test_the_browse_total_is_products_not_offers(indexed: SearchBackend) -> None:
    assert indexed.search(SearchQuery()).total == len(catalogue()) - 2


# -- product codes ------------------------------------------------------------------------------


def offers(backend: SearchBackend, text: str, **filters: object) -> list[tuple[int, int]]:
    result = backend.search(SearchQuery(text=text, **filters))  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return [(hit.product_id, hit.shop_count) for hit in result.hits]


def test_an_ean_13_finds_its_product(indexed: SearchBackend) -> None:
    assert offers(indexed, "9782263162404") == [(15, 1)]


def test_an_isbn_13_with_hyphens_finds_the_book_once_with_its_shops(indexed: SearchBackend) -> None:
    found = offers(indexed, "978-2-07-061275-8")
    assert [(product_id in {12, 13, 14}, shops) for product_id, shops in found] == [(True, 3)]


def test_an_isbn_10_finds_its_978_book(indexed: SearchBackend) -> None:
    assert offers(indexed, "2263162402") == [(15, 1)]
    assert offers(indexed, "2 263 16240 2") == [(15, 1)]
    found = offers(indexed, "2-07-061275-9")
    assert [(product_id in {12, 13, 14}, shops) for product_id, shops in found] == [(True, 3)]


def test_a_code_with_a_shop_filter_finds_that_shops_copy(indexed: SearchBackend) -> None:
    assert offers(indexed, "9782070612758", shop="le-chat-qui-lit") == [(14, 1)]


def test_an_unknown_valid_code_finds_nothing(indexed: SearchBackend) -> None:
    # A valid ISBN no shop sells: nothing, rather than products sharing some of its digits.
    assert offers(indexed, "978-0-306-40615-7") == []
    assert indexed.count(SearchQuery(text="9780306406157")) == 0


def test_a_wrong_check_digit_is_searched_as_text(indexed: SearchBackend) -> None:
    query = SearchQuery(text="9782070612759")
    assert query.code is None
    assert not {12, 13, 14} & set(ids(indexed.search(query)))
    # An ISBN-10 with a wrong check digit is words like any other: the title still finds the book.
    assert search(indexed, "2-07-061275-1 petit prince") == search(indexed, "petit prince")


def test_a_code_decides_whatever_words_come_with_it(indexed: SearchBackend) -> None:
    found = offers(indexed, "Le Petit Prince 978 2 07 061275 8")
    assert [(product_id in {12, 13, 14}, shops) for product_id, shops in found] == [(True, 3)]
    assert offers(indexed, "petit prince 9782263162404") == [(15, 1)]
    assert indexed.search(SearchQuery(text="livre 9782070612758")).hits[0].title_html == "Le Petit Prince"


# -- facets -------------------------------------------------------------------------------------


def test_facets_count_the_results(indexed: SearchBackend) -> None:
    facets = indexed.search(SearchQuery(text="chèvre")).facets
    assert {value.value: value.count for value in facets["shop"]} == {
        "fromagerie-des-halles": 2,
        "ferme-des-coteaux": 1,
    }


def test_category_facet_has_both_levels(indexed: SearchBackend) -> None:
    facets = indexed.search(SearchQuery()).facets
    counts = {value.value: value.count for value in facets["category"]}
    assert (counts["alimentation"], counts["vins-spiritueux"], counts["livres"]) == (9, 3, 4)


def test_label_facet(indexed: SearchBackend) -> None:
    counts = {value.value: value.count for value in indexed.search(SearchQuery()).facets["labels"]}
    assert counts == {"bio": 4, "local": 2, "lait cru": 1}


def test_price_facets_are_ranges_of_the_lowest_price(indexed: SearchBackend) -> None:
    counts = {
        value.value: value.count
        for value in indexed.search(SearchQuery(category="vins-spiritueux")).facets["price"]
    }
    assert counts == {"1000-2500": 3}


def test_delivery_and_stock_facets(indexed: SearchBackend) -> None:
    facets = indexed.search(SearchQuery(category="chaussures")).facets
    assert (
        {value.value: value.count for value in facets["delivery"]},
        [(value.value, value.count) for value in facets["in_stock"]],
    ) == ({"click_collect": 4}, [("1", 3)])


@pytest.mark.parametrize(
    ("facet", "value", "field"),
    [
        ("labels", "bio", "labels"),
        ("delivery", "home_delivery", "delivery"),
        ("category", "fromagerie", "category"),
        ("shop", "cave-des-vignerons", "shop"),
    ],
)
def test_following_a_facet_gives_exactly_its_count(
    indexed: SearchBackend, facet: str, value: str, field: str
) -> None:
    counts = {item.value: item.count for item in indexed.search(SearchQuery()).facets[facet]}
    narrowed = SearchQuery(**{field: (value,) if field in ("labels", "delivery") else value})  # type: ignore[arg-type]
    assert indexed.search(narrowed).total == counts[value]


def test_filters_combine(indexed: SearchBackend) -> None:
    assert set(search(indexed, labels=("bio",), category="vins-spiritueux")) == {9, 11}


def test_in_stock_filter(indexed: SearchBackend) -> None:
    assert 4 not in search(indexed, "sandales", in_stock=True)


def test_price_range_is_inclusive(indexed: SearchBackend) -> None:
    assert set(search(indexed, category="vins-spiritueux", price_min_cents=1350, price_max_cents=1590)) == {
        9,
        10,
    }


def test_unknown_filter_values_find_nothing(indexed: SearchBackend) -> None:
    result = indexed.search(SearchQuery(category="n-existe-pas", labels=("inconnu",)))
    assert (result.total, result.hits) == (0, [])


# -- near me ------------------------------------------------------------------------------------


def test_within_a_radius_leaves_the_outskirts_out(indexed: SearchBackend) -> None:
    found = set(search(indexed, near=CENTRE, within_km=2.0))
    assert (16 in found, 17 in found, 1 in found) == (False, False, True)


def test_sort_by_distance_puts_the_nearest_shop_first(indexed: SearchBackend) -> None:
    result = indexed.search(SearchQuery(text="chèvre", near=CENTRE, sort="distance"))
    distances = [hit.distance_km for hit in result.hits]
    assert (ids(result)[-1], distances == sorted(distances)) == (17, True)  # type: ignore[type-var]


def test_distances_are_kilometres(indexed: SearchBackend) -> None:
    hit = indexed.search(SearchQuery(text="yaourts", near=CENTRE, sort="distance")).hits[0]
    assert hit.distance_km == pytest.approx(7.0, abs=0.5)


# -- sorts and pages ----------------------------------------------------------------------------


def test_sort_by_price(indexed: SearchBackend) -> None:
    assert search(indexed, category="chaussures", sort="price_asc") == [3, 4, 1, 2]


def test_sort_by_price_descending(indexed: SearchBackend) -> None:
    assert search(indexed, category="chaussures", sort="price_desc") == [2, 1, 4, 3]


def test_browsing_lists_the_newest_first(indexed: SearchBackend) -> None:
    assert search(indexed, category="vins-spiritueux") == [11, 10, 9]


def test_pages_do_not_overlap_and_cover_everything(indexed: SearchBackend) -> None:
    pages = [search(indexed, page=page, per_page=4) for page in (1, 2, 3, 4, 5)]
    seen = [product for page in pages for product in page]
    assert (len(seen), len(set(seen))) == (15, 15)


def test_a_page_past_the_end_is_empty(indexed: SearchBackend) -> None:
    result = indexed.search(SearchQuery(text="cuir", page=40))
    assert (result.hits, result.total > 0) == ([], True)


# -- suggestions --------------------------------------------------------------------------------


def test_autocomplete_completes_the_last_word(indexed: SearchBackend) -> None:
    assert indexed.autocomplete("chaus") == ["Chaussures de ville en cuir"]


def test_autocomplete_needs_every_word(indexed: SearchBackend) -> None:
    assert indexed.autocomplete("le petit pr") == ["Le Petit Prince"]


def test_autocomplete_ignores_case_and_accents(indexed: SearchBackend) -> None:
    assert indexed.autocomplete("SAINTE-MAU") == ["Sainte-Maure-de-Touraine AOP"]


def test_corrections_propose_a_word_products_have(indexed: SearchBackend) -> None:
    assert indexed.corrections(["chevvre", "chaussurres"]) == {
        "chevvre": "chevre",
        "chaussurres": "chaussures",
    }


def test_no_correction_for_words_that_exist(indexed: SearchBackend) -> None:
    assert indexed.corrections(["fromage", "zzzzzzzz"]) == {}


# -- writing ------------------------------------------------------------------------------------


def test_upsert_replaces_and_delete_removes(search_backend: SearchBackend) -> None:
    search_backend.upsert([doc(1, "Bottes de pluie", "cordonnerie", "chaussures", 3900)])
    search_backend.upsert([doc(1, "Bottes de neige", "cordonnerie", "chaussures", 4900)])
    before = ids(search_backend.search(SearchQuery(text="bottes")))
    search_backend.delete([1])
    after = ids(search_backend.search(SearchQuery(text="bottes")))
    assert (before, ids(search_backend.search(SearchQuery(text="pluie"))), after) == ([1], [], [])


def test_a_word_is_found_once_a_product_has_it_and_not_after(search_backend: SearchBackend) -> None:
    search_backend.upsert([doc(1, "Bottes de pluie", "cordonnerie", "chaussures", 3900)])
    before = search(search_backend, "sabots")  # nothing has it, not even as a typo
    search_backend.upsert([doc(2, "Sabots", "cordonnerie", "chaussures", 2900)])
    found = search(search_backend, "sabots")
    search_backend.delete([2])
    assert (before, found, search(search_backend, "sabots")) == ([], [2], [])


def test_a_word_written_by_another_process_is_found(search_backend: SearchBackend) -> None:
    if not isinstance(search_backend, TantivyBackend):
        pytest.skip("one server: every client reads what any wrote")
    reader = TantivyBackend(search_backend.directory)  # another process's copy of the same index
    search_backend.upsert([doc(1, "Bottes de pluie", "cordonnerie", "chaussures", 3900)])
    before = search(reader, "sabots")
    search_backend.upsert([doc(2, "Sabots", "cordonnerie", "chaussures", 2900)])
    assert (before, search(reader, "sabots")) == ([], [2])


def test_rebuild_swaps_in_a_new_version(search_backend: SearchBackend) -> None:
    search_backend.rebuild([[doc(1, "Bottes de pluie", "cordonnerie", "chaussures", 3900)]])
    first = search_backend.status()
    search_backend.rebuild([[doc(2, "Sabots", "cordonnerie", "chaussures", 2900)]])
    second = search_backend.status()
    assert (first.index != second.index, second.documents, search(search_backend, "sabots")) == (True, 1, [2])


def test_an_older_copy_never_overwrites_a_newer_one(elasticsearch_url: str) -> None:
    backend = ElasticsearchBackend(elasticsearch_url, alias="test-versions")
    try:
        index = backend.ensure_index()
        backend._bulk(
            backend._actions(index, [doc(1, "Bottes neuves", "cordonnerie", "chaussures", 3900)], 200)
        )
        backend._bulk(
            backend._actions(index, [doc(1, "Bottes anciennes", "cordonnerie", "chaussures", 3900)], 100)
        )
        assert search(backend, "neuves") == [1]
    finally:
        backend.drop()


def test_a_shared_gtin_collapses_across_upserts(search_backend: SearchBackend) -> None:
    search_backend.upsert([doc(12, "Le Petit Prince", "quais", "livres", 890, gtin=PETIT_PRINCE_GTIN)])
    search_backend.upsert([doc(13, "Le Petit Prince", "boussole", "livres", 890, gtin=PETIT_PRINCE_GTIN)])
    result = search_backend.search(SearchQuery(text="prince"))
    assert ([hit.shop_count for hit in result.hits], result.total) == ([2], 1)


# -- ratings --------------------------------------------------------------------------------------


@pytest.fixture
def rated(search_backend: SearchBackend) -> SearchBackend:
    """Cheeses with their reviews' averages: the best, two ties on the average, a poor one, none."""
    search_backend.upsert(
        [
            doc(1, "Crottin fermier", "fromagerie", "fromagerie", 390, rating=4.5, review_count=10),
            doc(2, "Sainte-Maure fermier", "fromagerie", "fromagerie", 1150, rating=5.0, review_count=1),
            doc(3, "Comté fermier", "fromagerie", "fromagerie", 2890, rating=0.0, review_count=0),
            doc(4, "Tomme fermière", "ferme", "fromagerie", 900, rating=4.5, review_count=3),
            doc(5, "Brie fermier", "fromagerie", "fromagerie", 1290, rating=3.2, review_count=5),
            doc(6, "Bleu fermier", "ferme", "fromagerie", 990, rating=2.0, review_count=2),
        ]
    )
    return search_backend


def test_sort_by_rating_puts_the_best_average_first_then_the_most_reviewed(rated: SearchBackend) -> None:
    assert search(rated, sort="rating") == [2, 1, 4, 5, 6, 3]


def test_sort_by_rating_applies_to_a_text_search_too(rated: SearchBackend) -> None:
    assert search(rated, "fermier", sort="rating")[:2] == [2, 1]


def test_four_stars_and_up_keeps_averages_of_four_or_more(rated: SearchBackend) -> None:
    assert set(search(rated, min_rating=4)) == {1, 2, 4}


def test_three_stars_and_up(rated: SearchBackend) -> None:
    assert set(search(rated, min_rating=3)) == {1, 2, 4, 5}


def test_the_rating_facet_counts_what_its_filter_finds(rated: SearchBackend) -> None:
    counts = {value.value: value.count for value in rated.search(SearchQuery()).facets["rating"]}
    narrowed = {stars: rated.search(SearchQuery(min_rating=int(stars))).total for stars in counts}
    assert (counts, narrowed) == ({"4": 3, "3": 4}, {"4": 3, "3": 4})


# -- English words over the French catalogue ----------------------------------------------------


def test_an_english_phrase_finds_what_its_french_words_find(indexed: SearchBackend) -> None:
    found = search(indexed, "goat cheese")
    assert (found, {5, 6} <= set(found[:3])) == (search(indexed, "fromage de chèvre"), True)


def test_a_plural_english_phrase_finds_the_red_wines_only(indexed: SearchBackend) -> None:
    found = search(indexed, "red wines")
    assert set(found[:2]) == {9, 10}  # then the white wine, which is a wine


def test_english_words_find_french_titles(indexed: SearchBackend) -> None:
    assert (
        search(indexed, "olive oil")[:1],
        set(search(indexed, "leather sandals")[:1]),
        {
            hit.shop_count
            for hit in indexed.search(SearchQuery(text="childrens books")).hits
            if not hit.related
        },
    ) == ([8], {4}, {3})


def test_an_english_word_never_finds_its_typo_neighbours(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Savon au lait d'ânesse", "ferme", "fromagerie", 650),
                doc(2, "Soupe de potiron", "ferme", "fromagerie", 550),
                doc(3, "Portefeuille en cuir", "cordonnerie", "chaussures", 4500),
                doc(4, "Galette des rois", "ferme", "fromagerie", 1800),
                doc(5, "Fraises gariguette", "ferme", "fromagerie", 450),
            ]
        ]
    )
    found = {text: search(search_backend, text) for text in ["soap", "wallets", "strawberries", "soupe"]}
    assert found == {"soap": [1], "wallets": [3], "strawberries": [5], "soupe": [2]}


def test_autocomplete_folds_accents_of_the_titles(indexed: SearchBackend) -> None:
    assert (indexed.autocomplete("legu"), indexed.autocomplete("COMTE")) == (
        ["Panier de légumes de saison"],
        ["Comté 18 mois"],
    )


@pytest.mark.parametrize("typed", ["🧀🧀", "--", "x" * 1000])
def test_autocomplete_of_no_word_is_empty(indexed: SearchBackend, typed: str) -> None:
    assert indexed.autocomplete(typed) == []


# -- typos: a fallback for words nothing has as typed ---------------------------------------------


def test_a_word_no_product_has_finds_nothing(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(
                    1, "Coffret bien-être", "ferme", "fromagerie", 3900, description="Pour se faire du bien."
                ),
                doc(2, "Bière blonde", "cave", "vins", 450, in_stock=False),
            ]
        ]
    )
    search_backend.delete([2])
    # "bien" is a typo away from the stem of "bière", not from the word: no product, no guess.
    found = {typed: search_backend.search(SearchQuery(text=typed)) for typed in ["bière", "biere", "bieres"]}
    assert {typed: (ids(result), result.total) for typed, result in found.items()} == {
        "bière": ([], 0),
        "biere": ([], 0),
        "bieres": ([], 0),
    }


def test_an_exact_word_never_pulls_in_its_typo_neighbours(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Marteau de menuisier", "cordonnerie", "chaussures", 2500),
                doc(2, "Manteau en laine", "cordonnerie", "chaussures", 12900),
                doc(3, "Chinon rouge 2020", "cave", "vins", 1350),
                doc(4, "Chino en coton", "cordonnerie", "chaussures", 5900),
            ]
        ]
    )
    found = {typed: search(search_backend, typed) for typed in ["marteau", "manteau", "chinon", "chino"]}
    assert found == {"marteau": [1], "manteau": [2], "chinon": [3], "chino": [4]}


def test_a_real_typo_still_finds_its_products(indexed: SearchBackend) -> None:
    # The cheeses say "fromage" in their descriptions only.
    assert (search(indexed, "chausures")[:1], {5, 6, 7} <= set(search(indexed, "fromgae"))) == ([1], True)


def test_a_typo_must_keep_the_first_letter(indexed: SearchBackend) -> None:
    # One edit from "fromage" and "chaussures", but not on the first letter.
    assert (search(indexed, "vromage"), search(indexed, "shaussures")) == ([], [])


def test_a_word_under_seven_letters_allows_one_typo_only(search_backend: SearchBackend) -> None:
    search_backend.rebuild([[doc(1, "Crayons de couleur", "quais", "livres", 900)]])
    # "crayns" is one edit from "crayons"; "croyan" two from "crayon", too many at six letters.
    assert (search(search_backend, "crayns"), search(search_backend, "croyan")) == ([1], [])


def test_a_word_only_a_replaced_copy_had_falls_back_to_typos(search_backend: SearchBackend) -> None:
    search_backend.upsert([doc(1, "Bottes de pluie", "cordonnerie", "chaussures", 3900)])
    search_backend.upsert([doc(1, "Bottes de neige", "cordonnerie", "chaussures", 4900)])
    search_backend.upsert([doc(2, "Plume d'oie", "quais", "livres", 1900)])
    # No product says "pluie" any more: it is a typo of "plume", not an exact word with no product.
    assert search(search_backend, "pluie") == [2]


def test_near_me_a_word_sold_only_further_away_finds_nothing_nearby(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Pain de campagne", "ferme", "fromagerie", 450),
                doc(2, "La paix des braves", "quais", "livres", 1900),
                doc(3, "Main de Fatma", "quais", "livres", 2500),
            ]
        ]
    )
    nearby = SearchQuery(text="pain", near=CENTRE, within_km=1.0, sort="distance")
    # Bread is sold 7 km away: nearby, "paix" and "main" are not taken for it.
    assert (ids(search_backend.search(nearby)), search(search_backend, "pain")) == ([], [1])


# -- ranking: every word, the head noun, related products ---------------------------------------


def test_related_products_of_the_category_follow_the_matches(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Roquefort", "fromagerie", "fromagerie", 650, kind="fromage"),
                doc(2, "Comté 18 mois", "fromagerie", "fromagerie", 550, kind="fromage"),
                doc(3, "Beurre demi-sel", "fromagerie", "fromagerie", 450, kind="beurre"),
                doc(4, "Chinon rouge 2020", "cave", "vins", 1400),
                doc(5, "Portefeuille en cuir", "cordonnerie", "chaussures", 4500),
            ]
        ]
    )
    result = search_backend.search(SearchQuery(text="roquefort"))
    shown = [(hit.product_id, hit.related) for hit in result.hits]
    # The other cheese first (same kind), then the rest of the category; never another category.
    assert shown == [(1, False), (2, True), (3, True)]
    # The total and the facets count what matches the words.
    assert (result.total, [(f.value, f.count) for f in result.facet("category")]) == (
        1,
        [("alimentation", 1), ("fromagerie", 1)],
    )
    by_price = search_backend.search(SearchQuery(text="roquefort", sort="price_asc"))
    assert [hit.product_id for hit in by_price.hits] == [1]


def test_a_typed_form_beats_a_word_its_stem_merges_with(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Fromage frais", "fromagerie", "fromagerie", 450),
                doc(2, "Tarte aux fraises", "fromagerie", "fromagerie", 450),
            ]
        ]
    )
    # tantivy's French stemmer gives both "frais"; Elasticsearch's lighter one keeps them apart.
    assert (search(search_backend, "fraises")[0], search(search_backend, "frais")[0]) == (2, 1)


def test_a_common_label_beats_a_rare_word_of_a_description(search_backend: SearchBackend) -> None:
    labelled = [doc(n, f"Terrine {n}", "ferme", "fromagerie", 900, labels=["local"]) for n in range(1, 6)]
    described = doc(6, "Guide des coteaux", "quais", "livres", 1500, description="Un guide local et vivant.")
    search_backend.rebuild([[*labelled, described]])
    assert search(search_backend, "local")[-1] == 6


def test_a_shop_name_weighs_less_than_a_title(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Tomme de chèvre", "fromagerie", "fromagerie", 900),
                doc(2, "Panier des Halles", "ferme", "fromagerie", 1500),
            ]
        ]
    )
    # "Fromagerie des Halles" sells the cheese; the basket is named after the market hall.
    assert search(search_backend, "halles") == [2, 1]


def test_every_word_in_the_title_ranks_first(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Chinon 2020", "cave", "vins", 1400, facts=["rouge"], description="Un vin de Loire."),
                doc(2, "Vin rouge de Loire", "cave", "vins", 900),
            ]
        ]
    )
    assert search(search_backend, "vin rouge") == [2, 1]


def test_the_head_noun_is_never_left_out(search_backend: SearchBackend) -> None:
    search_backend.rebuild(
        [
            [
                doc(1, "Pull en laine", "cordonnerie", "chaussures", 6900),
                doc(2, "Pull en coton", "cordonnerie", "chaussures", 4900),
                doc(3, "Écharpe en laine", "cordonnerie", "chaussures", 3900),
            ]
        ]
    )
    assert (search(search_backend, "pull laine"), search(search_backend, "wool sweater")) == ([1, 2], [1, 2])


def test_stop_words_go_before_accents_are_folded(indexed: SearchBackend) -> None:
    assert search(indexed, "crottin où chavignol à") == search(indexed, "crottin chavignol") == [5]
