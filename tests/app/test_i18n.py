"""French by default, English complete, and the language switch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def test_the_template_holds_every_string_of_the_source(tmp_path: Path) -> None:
    """`make messages` was run after the last change of a translatable string."""
    extracted = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - our own babel, fixed arguments
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--omit-header",
            "-o",
            str(extracted),
            "app",
            "vendors",
            "search",
            "payouts",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    in_source = {message.id for message in _catalogue(extracted) if message.id}
    in_template = {message.id for message in _catalogue(TRANSLATIONS / "messages.pot") if message.id}
    assert sorted(map(str, in_source - in_template)) == [], "run `make messages` and translate"


def test_the_english_catalogue_is_complete_and_keeps_placeholders() -> None:
    template = _catalogue(TRANSLATIONS / "messages.pot")
    english = _catalogue(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    assert len(template) > 100
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = english.get(message.id)
        if translated is None or translated.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        if not all(targets):
            problems.append(f"empty: {message.id!r}")
        for target in targets:
            if sorted(set(PLACEHOLDER.findall(target))) != sorted(set(PLACEHOLDER.findall(sources[-1]))):
                problems.append(f"placeholders differ: {message.id!r}")
    assert problems == []


def test_every_catalogue_passes_the_checks_pybabel_compile_makes() -> None:
    """`pybabel compile` refuses a catalogue whose format placeholders disagree (a French "25 % de" reads
    as the conversion "% d"): the same checks here, so a clone's `make translations` cannot fail."""
    problems = []
    for path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        catalogue = _catalogue(path)
        for message, errors in catalogue.check():
            problems.extend(f"{path.parent.parent.name}: {message.id!r}: {error}" for error in errors)
    assert problems == []


def test_french_is_the_default(client: Client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Créer un compte" in page


def test_an_english_browser_gets_english(client: Client) -> None:
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Create an account" in page


def test_the_switch_changes_the_language_and_comes_back_to_the_page(client: Client) -> None:
    response = client.get("/langue/en?next=/connexion")
    assert response.headers["Location"] == "/connexion"
    assert "Log in" in client.get("/connexion").get_data(as_text=True)
    client.get("/langue/fr")
    assert "Se connecter" in client.get("/connexion").get_data(as_text=True)


def test_the_switch_ignores_unknown_languages_and_foreign_targets(client: Client) -> None:
    response = client.get("/langue/de?next=https://evil.example.net/")
    assert response.headers["Location"] == "/"
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


def test_a_signed_in_person_keeps_their_language(client: Client) -> None:
    UserFactory(email="ana@example.com", locale="en")
    client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD})
    assert '<html lang="en">' in client.get("/compte").get_data(as_text=True)
    client.get("/langue/fr")
    assert '<html lang="en">' in client.get("/compte").get_data(as_text=True), "a GET saves nothing"
    response = client.submit("/langue", {"code": "fr", "next": "/compte"}, form_url="/compte")
    assert response.headers["Location"] == "/compte"
    client.submit("/deconnexion", {}, form_url="/compte")
    client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD})
    assert '<html lang="fr">' in client.get("/compte").get_data(as_text=True), "the switch was saved"


def test_the_signed_in_switch_is_a_form_with_a_token(client: Client) -> None:
    UserFactory(email="ana@example.com")
    client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD})
    page = client.get("/compte").get_data(as_text=True)
    assert 'action="/langue"' in page
    assert 'data-testid="lang-en"' in page
    assert client.post("/langue", data={"code": "en"}).status_code == 400, "no CSRF token"
    assert '<html lang="fr">' in client.get("/compte").get_data(as_text=True)


def test_mail_goes_out_in_the_recipients_language(client: Client, mailbox) -> None:  # type: ignore[no-untyped-def]
    UserFactory(email="ana@example.com", locale="en")
    client.submit("/mot-de-passe-oublie", {"email": "ana@example.com"})
    message = mailbox.last_to("ana@example.com")
    assert message.subject == "Reset your password"
    assert "Hello" in message.text


def test_templates_follow_a_forced_language_within_a_request(app) -> None:  # type: ignore[no-untyped-def]
    """The templates' catalogue is found once per request and language: a mail rendered in another
    language inside a French request is in that language, and the page after it in French again."""
    from flask import render_template_string
    from flask_babel import force_locale, refresh

    template = "{{ _('Fermé') }} / {{ ngettext('%(num)d produit', '%(num)d produits', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert render_template_string(template) == "Fermé / 2 produits"
        with force_locale("en"):
            assert render_template_string(template) == "Closed / 2 products"
        assert render_template_string(template) == "Fermé / 2 produits"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template) == "Closed / 2 products"
        refresh()
        assert render_template_string(template) == "Closed / 2 products"


def test_template_strings_keep_jinjas_newstyle_gettext(app) -> None:  # type: ignore[no-untyped-def]
    """``_`` and ``gettext`` in templates (kept once translated, see app.i18n) give what Jinja's newstyle
    gettext gives: the translation taken as markup, its variables escaped into it, ``%%`` always a
    ``%``; unescaped where autoescaping is off; the same from Python (``markup_gettext``)."""
    from flask import render_template_string

    from app.i18n import markup_gettext, markup_ngettext

    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        for _ in range(2):  # translated, then kept
            assert (
                render_template_string("{{ _('100%%') }} {{ gettext('<b>gras</b>') }}") == "100% <b>gras</b>"
            )
        assert render_template_string("{{ _('<b>%(x)s</b>', x='<i>') }}") == "<b>&lt;i&gt;</b>"
        unescaped = "{% autoescape false %}{{ _('<b>%(x)s</b> %%', x='<i>') }}{% endautoescape %}"
        assert render_template_string(unescaped) == "<b><i></b> %"
        assert markup_gettext("<b>%(x)s</b>", x="<i>") == "<b>&lt;i&gt;</b>"
        assert markup_ngettext("%(num)d produit", "%(num)d produits", 3) == "3 produits"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string("{{ _('Fermé') }}") == "Closed"
        assert markup_gettext("Fermé") == "Closed"
