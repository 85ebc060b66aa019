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
