"""Query analysis shared by both backends: English words put into French before matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from search import text

DEMO = Path(__file__).resolve().parents[2] / "demo"


def test_the_lexicon_covers_the_demo_catalogue() -> None:
    table = text.lexicon()
    kinds = {
        json.loads(line)["attributes"].get("kind")
        for line in (DEMO / "products.jsonl").read_text(encoding="utf-8").splitlines()
    }
    french = {" ".join(text.folded(word)) for alternatives in table.values() for word in alternatives}
    covered = {kind for kind in kinds if kind and " ".join(text.folded(kind)) in french}
    assert (len(table) >= 150, len(covered) >= len(kinds) // 2) == (True, True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("necklaces", [("collier",)]),
        ("strawberries", [("fraises",)]),
        ("dresses", [("robe",)]),
        ("Crime Novels", [("polar", "policier")]),
        ("children's books", [("jeunesse",)]),
        ("gold ring", [("or",), ("bague", "alliance")]),
        ("gifts for kids", [("cadeau",), ("enfant",)]),  # "cadeau" is left out when nothing has it
        # French queries are left as they are, "pain" (bread) included.
        ("pain complet", [("pain",), ("complet",)]),
        ("roman policier", [("polar", "policier")]),
        ("soupe", [("soupe",)]),
    ],
)
def test_english_words_are_put_into_french(query: str, expected: list[tuple[str, ...]]) -> None:
    assert text.groups(query) == expected


def test_the_town_file_adds_and_overrides_entries(tmp_path: Path) -> None:
    extra = tmp_path / "lexicon.txt"
    extra.write_text("# ours\nrillettes jar = rillettes\nwallet = portefeuille\n", encoding="utf-8")
    app = Flask(__name__)
    app.config["SEARCH_LEXICON_FILE"] = str(extra)
    with app.app_context():
        found = (text.groups("rillettes jars"), text.groups("wallet"), text.groups("necklace"))
    assert found == ([("rillettes",)], [("portefeuille",)], [("collier",)])


def test_a_broken_town_file_leaves_the_built_in_entries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alembic's logging set-up (run by other tests) disables the loggers that exist before it.
    monkeypatch.setattr(text.log, "disabled", False)
    broken = tmp_path / "broken.txt"
    broken.write_text("necklace collier\n", encoding="utf-8")
    app = Flask(__name__)
    app.config["SEARCH_LEXICON_FILE"] = str(broken)
    with app.app_context():
        found = text.groups("necklace")
    messages = [record.getMessage() for record in caplog.records if record.name == "search.text"]
    assert (found, [f"{broken}:1" in message for message in messages]) == ([("collier",)], [True])


def test_a_malformed_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("soap = savon\n\nfive words long phrase here = x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:3: expected"):
        text._read_lexicon(path, {})


def test_an_occasion_left_out_hands_the_head_to_a_word_rather_than_a_number() -> None:
    from search.backends import resolve

    analysed = text.analyse("cadeau 50 ans")
    assert analysed.head == 0, "the first noun, which no product has here"
    has = {"50": "50", "ans": "ans"}  # "cadeau" matches nothing
    resolved = resolve(analysed, has.get, lambda word: True, "|".join, lambda word: False)
    assert resolved is not None
    assert (resolved.groups, resolved.head, resolved.skipped) == (["50", "ans"], "ans", True)


@pytest.mark.parametrize("word", ["cadeau", "Noël", "fête", "anniversaires", "maman", "mères", "intérieur"])
def test_occasion_words_are_recognised_however_written(word: str) -> None:
    assert text.is_occasion(word)


def test_a_product_word_is_no_occasion() -> None:
    assert not any(text.is_occasion(word) for word in ("bouquet", "vin", "chaussures", "50"))


@pytest.mark.parametrize("typed", ["tshirt", "teeshirt", "tee-shirt", "tee shirt", "t-shirt", "T-shirts"])
def test_t_shirt_however_written(typed: str) -> None:
    assert text.analyse(typed).groups == [("t-shirt", "tee-shirt")]


def test_an_occasion_found_only_as_a_typo_is_left_out_but_one_found_as_typed_is_kept() -> None:
    from search.backends import resolve

    typos = {"maman~roman"}  # "maman" is only a typo of "roman" here
    has = {"maman": "maman~roman", "bijou": "bijou", "noel": "noel"}
    either = "|".join

    def typo(word: str) -> bool:
        return word in typos

    resolved = resolve(text.analyse("cadeau maman bijou"), has.get, lambda word: True, either, typo)
    assert resolved is not None
    assert (resolved.groups, resolved.head) == (["bijou"], "bijou")
    kept = resolve(text.analyse("bijou noel"), has.get, lambda word: True, either, typo)
    assert kept is not None
    assert kept.groups == ["bijou", "noel"], "a product says Noël: the word asks for it"


@pytest.mark.parametrize(
    ("typed", "text_", "ceiling", "asks"),
    [
        ("vin rouge moins de 20 €", "vin rouge", 2000, ()),
        ("sac à main à moins de 49,90€", "sac à main", 4990, ()),
        ("bouquet jusqu’à 30 euros", "bouquet", 3000, ()),
        ("montre 150 € max", "montre", 15000, ()),
        ("cadeau < 20 €", "cadeau", 2000, ()),
        ("Fromage PAS CHÈRE", "Fromage", None, ("cheap",)),
        ("petits prix bijoux sous 15e", "bijoux", 1500, ("cheap",)),
        ("cheap red wine under 20 euros", "red wine", 2000, ("cheap",)),
        ("pain click & collect", "pain", None, ("click_collect",)),
        ("vin retrait en boutique", "vin", None, ("click_collect",)),
        ("livres en point relais", "livres", None, ("relay",)),
        ("fromage livré à domicile", "fromage", None, ("delivery",)),
        ("chaussures disponibles en stock", "chaussures", None, ("in_stock",)),
        ("les dernières nouveautés livres", "livres", None, ("newest",)),
        ("livre jeunesse", "livre jeunesse", None, ()),  # a book, not "livré"
        ("jeu 8 ans", "jeu 8 ans", None, ()),  # no currency: not a price
        ("moins de 20 ans", "moins de 20 ans", None, ()),
        ("Selles-sur-Cher", "Selles-sur-Cher", None, ()),
    ],
)
def test_what_a_query_says_about_buying(
    typed: str, text_: str, ceiling: int | None, asks: tuple[str, ...]
) -> None:
    assert text.shopping_words(typed) == text.ShoppingWords(text_, ceiling, asks)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("boucher", [("boucherie",)]),  # never "boucles", its typo neighbour
        ("viande", [("viande", "boucherie")]),
        ("gâteaux", [("gateau", "patisserie")]),
        ("tisane", [("tisane", "infusion")]),
        ("caviste", [("caviste", "vin")]),
    ],
)
def test_a_trade_or_a_kind_stands_for_what_its_shops_sell(
    typed: str, expected: list[tuple[str, ...]]
) -> None:
    assert text.analyse(typed).groups == expected


@pytest.mark.parametrize(
    ("token", "edits"), [("ail", 0), ("riz", 0), ("2024", 0), ("bouqet", 1), ("bananes", 1), ("chausures", 2)]
)
def test_how_many_edits_a_typo_may_make(token: str, edits: int) -> None:
    assert text.fuzziness(token) == edits
