"""Security headers, a Content-Security-Policy with no inline script, CSRF on every form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from tests.factories import PASSWORD, UserFactory
from tests.plugins.application import Client

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def test_every_page_sends_the_security_headers(client: Client) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_templates_have_no_inline_script_or_style() -> None:
    """The CSP forbids them: any inline script or style would silently not run."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        # A JSON-LD data block is not executed, so the CSP leaves it alone; any other inline script runs.
        if re.search(r"<script(?![^>]*\b(?:src=|type=\"application/ld\+json\"))[^>]*>", text):
            offenders.append(f"{template.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template.name}: inline event handler")
        if re.search(r"<style|\sstyle\s*=", text):
            offenders.append(f"{template.name}: inline style")
    assert offenders == []


def test_pages_use_no_third_party_origin(client: Client) -> None:
    page = client.get("/inscription").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_a_form_without_csrf_token_gets_a_friendly_400(client: Client) -> None:
    response = client.post("/connexion", data={"email": "a@example.com", "password": "x"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Formulaire expiré" in page
    assert "Traceback" not in page


def test_a_csrf_failure_answers_json_to_api_clients(client: Client) -> None:
    response = client.post("/connexion", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_logging_out_needs_a_post_with_a_token(client: Client) -> None:
    UserFactory(email="ana@example.com")
    client.submit("/connexion", {"email": "ana@example.com", "password": PASSWORD})
    assert client.get("/deconnexion").status_code == 405
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/compte").status_code == 200, "still logged in"


def test_unknown_pages_get_a_friendly_404(client: Client) -> None:
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Cette page n’existe pas ou plus." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/dev/mailbox"])
def test_development_pages_do_not_exist_in_production(path: str, app: Flask) -> None:
    production_rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert path in production_rules, "registered in development and tests"
    from app import register_blueprints

    production = Flask("production-check")
    production.config["APP_ENV"] = "production"
    register_blueprints(production)
    assert path not in {rule.rule for rule in production.url_map.iter_rules()}


def test_login_is_rate_limited(client: Client) -> None:
    statuses = [
        client.submit("/connexion", {"email": "ana@example.com", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    assert "Trop de tentatives" in client.submit(
        "/connexion", {"email": "x@example.com", "password": "y"}
    ).get_data(as_text=True)


def test_an_unexpected_error_shows_a_friendly_500_without_a_trace(
    database_url: str,
    services,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app import create_app
    from tests.plugins.application import test_config

    application = create_app(test_config(database_url, services, tmp_path, PROPAGATE_EXCEPTIONS=False))

    @application.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = application.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Une erreur est survenue de notre côté" in page
    assert "secret internals" not in page
    assert "Traceback" not in page
