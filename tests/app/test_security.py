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
    page = client.submit("/connexion", {"email": "ana@example.com", "password": "y"}).get_data(as_text=True)
    assert "Trop de tentatives" in page
    assert "Envoyer le lien de connexion" in page, "the owner is offered a way in"


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


# -- the Host header: links in mail never follow it, and requests for other hosts are refused ------


def test_a_request_for_another_host_is_refused(client: Client) -> None:
    response = client.get("/", base_url="http://evil.example")
    assert response.status_code == 400
    assert "La demande n’a pas pu être traitée." in response.get_data(as_text=True)
    assert client.get("/", headers={"Host": "evil.example:80"}).status_code == 400
    for allowed in ("http://localhost", "http://127.0.0.1:5000"):
        assert client.get("/", base_url=allowed).status_code == 200, allowed


def test_the_health_check_answers_whatever_the_host(client: Client) -> None:
    """Load balancers often probe a server by its address."""
    assert client.get("/healthz", base_url="http://10.0.0.7:8000").status_code in (200, 503)


def test_a_reset_requested_for_another_host_mails_nothing(client: Client, mailbox) -> None:  # type: ignore[no-untyped-def]
    UserFactory(email="ana@example.com")
    token = client.csrf_token("/mot-de-passe-oublie")
    response = client.post(
        "/mot-de-passe-oublie",
        data={"csrf_token": token, "email": "ana@example.com"},
        base_url="http://evil.example",
    )
    assert response.status_code == 400
    assert mailbox.to("ana@example.com") == []


def test_links_in_mail_lead_to_the_public_address_whatever_the_request(
    app: Flask,
    client: Client,
    mailbox,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://bellerive-commerces.example")
    UserFactory(email="ana@example.com")
    # Asked on "localhost", with a forged forwarded host (no proxy is trusted here).
    client.submit(
        "/mot-de-passe-oublie", {"email": "ana@example.com"}, headers={"X-Forwarded-Host": "evil.example"}
    )
    text = mailbox.last_to("ana@example.com").text
    assert "https://bellerive-commerces.example/mot-de-passe/" in text
    assert "evil.example" not in text
    assert "localhost" not in text


def test_links_built_outside_a_request_use_the_public_address(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs and commands (review requests under cron) build the same links as pages do."""
    from app.urls import external_url

    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://bellerive-commerces.example/ville")
    with app.app_context():
        assert external_url("accounts.login") == "https://bellerive-commerces.example/ville/connexion"
        assert (
            external_url("catalog.product", product_id=7, _anchor="avis")
            == "https://bellerive-commerces.example/ville/produits/7#avis"
        )
