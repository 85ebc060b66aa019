"""Template helpers: a shop's name after "de" and "à" as French writes it, and only in French."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

from app.templating import a_shop, de_shop


@pytest.mark.parametrize(
    ("name", "after_de", "after_a"),
    [
        ("Le Fournil", "du Fournil", "au Fournil"),
        ("Les Jardins de Flore", "des Jardins de Flore", "aux Jardins de Flore"),
        ("La Boussole", "de La Boussole", "à La Boussole"),
        ("L’Atelier Floral", "de L’Atelier Floral", "à L’Atelier Floral"),
        ("L'Atelier Floral", "de L'Atelier Floral", "à L'Atelier Floral"),
        ("LE FOURNIL", "du FOURNIL", "au FOURNIL"),
        ("le fournil", "du fournil", "au fournil"),
        ("les\u00a0Halles", "des Halles", "aux Halles"),
        ("Atelier Terre et Feu", "d’Atelier Terre et Feu", "à Atelier Terre et Feu"),
        ("Épicerie Fine", "d’Épicerie Fine", "à Épicerie Fine"),
        ("Lebrun Fleurs", "de Lebrun Fleurs", "à Lebrun Fleurs"),
        ("Lesage", "de Lesage", "à Lesage"),
        ("Le", "de Le", "à Le"),
        ("Chez Pierre", "de Chez Pierre", "à Chez Pierre"),
        ("Maison Gâtard", "de Maison Gâtard", "à Maison Gâtard"),
        (" Le Fournil ", "du Fournil", "au Fournil"),
    ],
)
def test_a_shop_name_after_de_and_a_contracts_as_in_french(name: str, after_de: str, after_a: str) -> None:
    assert (de_shop(name), a_shop(name)) == (after_de, after_a)


def test_other_languages_get_the_name_alone(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert (de_shop("Le Fournil"), a_shop("Les Halles")) == ("Le Fournil", "Les Halles")
    with app.test_request_context(), force_locale("fr"):
        assert de_shop("Le Fournil") == "du Fournil"


def test_templates_have_the_filters(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        rendered = render_template_string("{{ 'Le Fournil'|de_shop }} · {{ 'Les Halles'|a_shop }}")
    assert rendered == "du Fournil · aux Halles"


def test_template_globals_overlay_the_environments_and_follow_it(app: Flask) -> None:
    """A template's globals (app.templating.Environment): its own first, then the environment's, the
    environment's added later seen too; their keys a set-like view, as imports compare them."""
    template = app.jinja_env.from_string("{{ greeting }} {{ mine }}", globals={"mine": "b"})
    app.jinja_env.globals["greeting"] = "a"
    try:
        assert template.render() == "a b"
        assert {"greeting", "mine", "url_for"} <= set(template.globals.keys())
        assert {"greeting", "mine", "nowhere"} - template.globals.keys() == {"nowhere"}
        template.globals["greeting"] = "c"  # the template's own, the environment's untouched
        assert template.render() == "c b"
        assert app.jinja_env.globals["greeting"] == "a"
    finally:
        del app.jinja_env.globals["greeting"]


def test_an_imported_macro_sees_the_globals_of_its_own_template(app: Flask) -> None:
    from jinja2 import DictLoader

    loader = app.jinja_env.loader
    app.jinja_env.loader = DictLoader({"m.html": "{% macro hello() %}{{ _('Fermé') }}{% endmacro %}"})
    try:
        with app.test_request_context("/", headers={"Accept-Language": "en"}):
            page = app.jinja_env.from_string("{% from 'm.html' import hello %}{{ hello() }}")
            assert page.render() == "Closed"
    finally:
        app.jinja_env.loader = loader
