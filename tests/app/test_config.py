"""Settings: embedded defaults in development, hard requirements in production."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    )
    settings = config.load(tmp_path)
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
