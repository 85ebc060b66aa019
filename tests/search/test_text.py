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
        ("gifts for kids", [("gifts",), ("enfant",)]),
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
