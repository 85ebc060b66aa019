"""Settings: embedded defaults in development, hard requirements in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

import config

POSTGRES = "postgresql://app@db.internal/marketplace"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "APP_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "SMTP_HOST",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_PUBLISHABLE_KEY",
        "PUBLIC_URL",
        "ALLOWED_HOSTS",
        "PROXY_FIX_HOPS",
        "DATABASE_PREPARED_STATEMENTS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_development_uses_the_embedded_defaults(tmp_path: Path) -> None:
    settings = config.load(tmp_path)
    assert settings["APP_ENV"] == "development"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'marketplace.sqlite'}"
    assert settings["REDIS_URL"] is None
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["ELASTICSEARCH_URL"] is None
    assert settings["STRIPE_API_BASE"].startswith("http://127.0.0.1:")
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert set(settings["ALLOWED_HOSTS"]) == {"127.0.0.1", "localhost"}
    assert "SERVER_NAME" not in settings, "Flask's SERVER_NAME would route only one host"


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    first = config.load(tmp_path)["SECRET_KEY"]
    second = config.load(tmp_path)["SECRET_KEY"]
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_a_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _production(monkeypatch, DATABASE_URL=POSTGRES, SMTP_HOST="smtp.internal", STRIPE_SECRET_KEY="sk_live_x")
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(tmp_path)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("url", [None, "sqlite:////tmp/x.sqlite", "mysql://db/x"])
def test_production_refuses_anything_but_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None
) -> None:
    _production(monkeypatch, SECRET_KEY="s" * 40, SMTP_HOST="smtp.internal", STRIPE_SECRET_KEY="sk_live_x")
    if url:
        monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(config.ConfigError, match="PostgreSQL"):
        config.load(tmp_path)


def test_production_with_everything_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _production(
        monkeypatch,
        SECRET_KEY="s" * 40,
        DATABASE_URL=POSTGRES,
        SMTP_HOST="smtp.internal",
        STRIPE_SECRET_KEY="sk_live_x",
        STRIPE_PUBLISHABLE_KEY="pk_live_x",
        STRIPE_WEBHOOK_SECRET="whsec_live_x",
        REDIS_URL="redis://cache.internal:6379/0",
        PUBLIC_URL="https://bellerive-commerces.fr/",
    )
    settings = config.load(tmp_path)
    assert settings["PUBLIC_URL"] == "https://bellerive-commerces.fr"
    assert settings["PREFERRED_URL_SCHEME"] == "https"
    assert settings["ALLOWED_HOSTS"] == ("bellerive-commerces.fr",), "no loopback host in production"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db.internal/marketplace"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["HSTS_ENABLED"] is True
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"
    assert settings["STRIPE_API_BASE"] is None, "production talks to Stripe itself"


def test_production_needs_smtp_and_a_real_stripe_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, SECRET_KEY="s" * 40, DATABASE_URL=POSTGRES)
    with pytest.raises(config.ConfigError, match="SMTP_HOST"):
        config.load(tmp_path)
    monkeypatch.setenv("SMTP_HOST", "smtp.internal")
    with pytest.raises(config.ConfigError, match="STRIPE_SECRET_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    with pytest.raises(config.ConfigError, match="STRIPE_PUBLISHABLE_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_live_x")
    with pytest.raises(config.ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        config.load(tmp_path)


def test_a_bad_value_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(config.ConfigError, match="SMTP_PORT"):
        config.load(tmp_path)
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(config.ConfigError, match="APP_ENV"):
        config.load(tmp_path)


FULL_PRODUCTION = {
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": POSTGRES,
    "SMTP_HOST": "smtp.internal",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_live_x",
}


def test_production_needs_the_public_address_and_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _production(monkeypatch, **FULL_PRODUCTION, REDIS_URL="redis://cache.internal:6379/0")
    with pytest.raises(config.ConfigError, match="PUBLIC_URL"):
        config.load(tmp_path)
    monkeypatch.setenv("PUBLIC_URL", "https://bellerive-commerces.fr")
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(config.ConfigError, match="REDIS_URL"):
        config.load(tmp_path)


@pytest.mark.parametrize(
    "url", ["bellerive-commerces.fr", "ftp://bellerive-commerces.fr", "https://", "https://x.fr/?a=1"]
)
def test_a_public_address_that_is_not_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(config.ConfigError, match="PUBLIC_URL"):
        config.load(tmp_path)


def test_allowed_hosts_are_read_from_a_comma_separated_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", " bellerive-commerces.fr, .bellerive-commerces.fr ,")
    assert config.load(tmp_path)["ALLOWED_HOSTS"] == ("bellerive-commerces.fr", ".bellerive-commerces.fr")


def test_production_without_proxy_hops_says_so_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    from app import create_app

    # The rate limiter is one object for every app of the process: keep it on the test run's storage,
    # not on the production Redis named below, or the tests after this one would try to reach it.
    limiter_storage = {
        "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        "RATELIMIT_STORAGE_OPTIONS": app.config["RATELIMIT_STORAGE_OPTIONS"],
    }
    _production(
        monkeypatch,
        **FULL_PRODUCTION,
        REDIS_URL="redis://cache.internal:6379/0",
        PUBLIC_URL="https://bellerive-commerces.fr",
    )
    with caplog.at_level("WARNING"):
        create_app(limiter_storage)
    assert "PROXY_FIX_HOPS is 0" in caplog.text
    caplog.clear()
    monkeypatch.setenv("PROXY_FIX_HOPS", "1")
    with caplog.at_level("WARNING"):
        create_app(limiter_storage)
    assert "PROXY_FIX_HOPS" not in caplog.text


def test_prepared_statements_can_be_turned_off_for_pgbouncer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    assert config.load(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "0")
    assert config.load(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_pre_ping": True,
        "connect_args": {"prepare_threshold": None},
    }
