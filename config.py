"""Settings, read from environment variables.

Every setting has an embedded default so that the app runs on a bare machine (SQLite, inline jobs,
an embedded search index, the local Stripe emulator, mail written to ``instance/outbox``). Production
(``APP_ENV=production``) refuses to start without a secret key, a PostgreSQL database, Redis (rate-limit
counters shared by every worker) and ``PUBLIC_URL``.

Links and hosts: every absolute link the app hands out (in mail, to Stripe as a return address) is built
from ``PUBLIC_URL`` (``app.urls.external_url``), never from the request's ``Host`` header, which the
sender of a request chooses. Flask's own ``SERVER_NAME`` stays unset on purpose: set, it would make Flask
route only requests for that exact host (404 for 127.0.0.1 in development, for the test client, for a
health probe). Requests for a host outside ``ALLOWED_HOSTS`` are refused with a 400 (``app.urls``).
Flask's ``TRUSTED_HOSTS`` is left unset too: its refusal happens before routing and breaks the error page.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
# The key the local Stripe emulator accepts; it opens nothing anywhere else.
EMULATOR_STRIPE_KEY = "sk_test_local_emulator"
EMULATOR_WEBHOOK_SECRET = "whsec_local_emulator"  # noqa: S105 - signs the local emulator's webhooks only
EMULATOR_PORT = 8420  # the local Stripe emulator's, unless STRIPE_EMULATOR_PORT says otherwise


class ConfigError(RuntimeError):
    """The environment does not describe a runnable application."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _engine_options(database_url: str) -> dict[str, Any]:
    """Connections are checked before use (a restarted database costs no request an error). On
    PostgreSQL, psycopg prepares a statement on its sixth run on a connection, and the app keeps them
    across read-only transactions (app/database.py): ``DATABASE_PREPARED_STATEMENTS=0`` turns that off,
    as PgBouncer in transaction pooling mode needs before its 1.21 (a prepared statement lives on one
    server connection, and the next transaction may get another)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("postgresql") and not _env_bool("DATABASE_PREPARED_STATEMENTS", True):
        options["connect_args"] = {"prepare_threshold": None}
    return options


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    try:
        return int(value) if value is not None else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    try:
        return float(value) if value is not None else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {value!r}") from exc


def _public_url(value: str) -> str:
    """The site's address as people reach it, ``scheme://host[:port][/path]``, without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_URL must look like https://bellerive-commerces.fr, got {value!r}")
    return value.strip().rstrip("/")


def _development_secret(instance_path: Path) -> str:
    """A secret generated once on this machine and kept in ``instance/``, so sessions survive restarts."""
    secret_file = instance_path / "secret_key"
    if secret_file.exists():
        return secret_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    secret_file.write_text(secret)
    secret_file.chmod(0o600)
    return secret


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from the environment (and test overrides)."""
    overrides = overrides or {}
    env = overrides.get("APP_ENV") or _env("APP_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"APP_ENV must be development, production or testing, got {env!r}")
    production = env == "production"

    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or _env("DATABASE_URL")
    secret_key = overrides.get("SECRET_KEY") or _env("SECRET_KEY")
    if production:
        if not secret_key:
            raise ConfigError("SECRET_KEY must be set in production")
        if not database_url or not database_url.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ConfigError("DATABASE_URL must point to PostgreSQL in production")
    if not secret_key:
        secret_key = _development_secret(instance_path)
    if not database_url:
        database_url = f"sqlite:///{instance_path / 'marketplace.sqlite'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask SQLAlchemy for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    redis_url = _env("REDIS_URL")
    secure_cookies = _env_bool("SECURE_COOKIES", production)
    # Where the site is reached: links in mail and Stripe's return addresses are built on it.
    configured_public_url = overrides.get("PUBLIC_URL") or _env("PUBLIC_URL")
    local_url = "http://localhost" if env == "testing" else "http://127.0.0.1:5000"
    public_url = _public_url(configured_public_url or local_url)
    # The hosts requests may name; any other Host header gets a 400. Locally, both loopback names work.
    hosts = tuple(host.strip() for host in (_env("ALLOWED_HOSTS") or "").split(",") if host.strip())
    if not hosts:
        hosts = (str(urlsplit(public_url).hostname),)
        if not production:
            hosts += tuple(host for host in ("127.0.0.1", "localhost") if host not in hosts)

    config: dict[str, Any] = {
        "APP_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": secret_key,
        "MARKETPLACE_NAME": _env("MARKETPLACE_NAME", "Bellerive Commerces"),
        # The platform's legal details, printed on its commission invoices to shops.
        "PLATFORM_LEGAL_NAME": _env("PLATFORM_LEGAL_NAME", "Bellerive Commerces SAS"),
        "PLATFORM_ADDRESS": _env(
            "PLATFORM_ADDRESS", "Hôtel de ville, 1 place de la Mairie, 37000 Bellerive-sur-Loire"
        ),
        "PLATFORM_SIRET": _env("PLATFORM_SIRET", "55210055400013"),
        "PLATFORM_VAT_NUMBER": _env("PLATFORM_VAT_NUMBER", "FR26552100554"),
        # The site's public address (see the module docstring); Flask's SERVER_NAME stays unset.
        "PUBLIC_URL": public_url,
        "ALLOWED_HOSTS": hosts,
        "PREFERRED_URL_SCHEME": urlsplit(public_url).scheme,
        # Reverse proxies in front: their X-Forwarded-For gives the client's address to the rate limits.
        # Left at 0 behind a proxy, every client shares the proxy's address, and so one limit.
        "PROXY_FIX_HOPS": _env_int("PROXY_FIX_HOPS", 0),
        # Database
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        # Sessions and cookies
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "HSTS_ENABLED": production,
        # Forms
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
        # i18n
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        # Jobs
        "REDIS_URL": redis_url,
        "RQ_QUEUES": ("default", "mail", "search", "webhooks"),
        # Visit and search-miss counters without Redis: each process writes its counts together this
        # often (seconds; 0: each at once). With REDIS_URL they go to Redis and a job moves them.
        "COUNTERS_WRITE_SECONDS": _env_float("COUNTERS_WRITE_SECONDS", 0.0 if env == "testing" else 10.0),
        # Whole public pages kept for anonymous visitors (app/pagecache.py): in Redis when there is one,
        # else in each process (at most PAGE_CACHE_ENTRIES pages); a change shows at once, time-bound
        # facts (a shop opening) after PAGE_CACHE_SECONDS at most.
        "PAGE_CACHE": _env_bool("PAGE_CACHE", env != "testing"),
        "PAGE_CACHE_SECONDS": _env_int("PAGE_CACHE_SECONDS", 60),
        "PAGE_CACHE_ENTRIES": _env_int("PAGE_CACHE_ENTRIES", 500),
        "PAGE_CACHE_REDIS_URL": redis_url,
        "PAGE_CACHE_KEY_PREFIX": _env("PAGE_CACHE_KEY_PREFIX", "marketplace:pages"),
        # Rate limits: Redis when there is one, so every web process shares the counters.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "marketplace"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # A sliding window: a fixed one lets twice the limit through across a minute's boundary, and
        # forgets a burst that straddles it.
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # The REST API's allowance per key, and per address for the public endpoints called without one.
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "300 per minute"),
        "API_PUBLIC_RATE_LIMIT": _env("API_PUBLIC_RATE_LIMIT", "60 per minute"),
        # Failed or not, log-in attempts count per client address and per (address, account) pair, so
        # no one can lock an account out from elsewhere; a locked-out person can ask for a login link.
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute; 50 per hour"),
        "LOGIN_ADDRESS_RATE_LIMIT": _env("LOGIN_ADDRESS_RATE_LIMIT", "30 per minute; 200 per hour"),
        "SIGNUP_RATE_LIMIT": _env("SIGNUP_RATE_LIMIT", "5 per minute; 30 per hour"),
        "SECOND_FACTOR_RATE_LIMIT": _env("SECOND_FACTOR_RATE_LIMIT", "5 per minute; 20 per hour"),
        "RESET_RATE_LIMIT": _env("RESET_RATE_LIMIT", "5 per minute; 20 per hour"),
        # Tokens sent by e-mail
        "CONFIRM_TOKEN_MAX_AGE": _env_int("CONFIRM_TOKEN_MAX_AGE", 60 * 60 * 48),
        "RESET_TOKEN_MAX_AGE": _env_int("RESET_TOKEN_MAX_AGE", 60 * 60),
        "LOGIN_LINK_MAX_AGE": _env_int("LOGIN_LINK_MAX_AGE", 15 * 60),
        # Personal data (GDPR): how long an export's download link lives, and the retention rules the
        # accounts' daily jobs apply (docs/operators.md); the register of processing states the same.
        "DATA_EXPORT_DAYS": _env_int("DATA_EXPORT_DAYS", 7),
        "INACTIVE_ACCOUNT_DAYS": _env_int("INACTIVE_ACCOUNT_DAYS", 3 * 365),
        "INACTIVE_ACCOUNT_NOTICE_DAYS": _env_int("INACTIVE_ACCOUNT_NOTICE_DAYS", 30),
        "GUEST_CART_DAYS": _env_int("GUEST_CART_DAYS", 30),
        "MAIL_LOG_DAYS": _env_int("MAIL_LOG_DAYS", 365),
        # Mail
        "MAIL_FROM": _env("MAIL_FROM", "Bellerive Commerces <bonjour@bellerive-commerces.example.com>"),
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": _env_int("SMTP_PORT", 587),
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _env_bool("SMTP_STARTTLS", True),
        "MAIL_OUTBOX_DIR": str(instance_path / "outbox"),
        # Uploaded photos (shop logos and banners, product photos), stored under random names
        "MEDIA_DIR": _env("MEDIA_DIR", str(instance_path / "media")),
        # Files no public URL serves (a dispute's evidence: a shopper's messages, proofs of delivery); read
        # only through the views that check who asks.
        "PRIVATE_MEDIA_DIR": _env("PRIVATE_MEDIA_DIR", str(instance_path / "private-media")),
        # Unset: the two folders above. s3://bucket/prefix?endpoint_url=...&region=...&public_url=... puts
        # the photos in an S3-compatible bucket (app/storage, docs/operators.md "Media storage"); the
        # private files then go to the same bucket's private/ prefix unless PRIVATE_MEDIA_STORAGE_URL is set.
        "MEDIA_STORAGE_URL": _env("MEDIA_STORAGE_URL"),
        "PRIVATE_MEDIA_STORAGE_URL": _env("PRIVATE_MEDIA_STORAGE_URL"),
        "MAX_CONTENT_LENGTH": _env_int("MAX_UPLOAD_BYTES", 12 * 1024 * 1024),
        "MAX_IMAGE_BYTES": 5 * 1024 * 1024,
        # Invoices, packing slips and the withdrawal form are drawn with DejaVu Sans (Debian's
        # fonts-dejavu-core): the PDF core fonts lack "€" and much of French typography.
        "PDF_FONT_DIR": _env("PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu"),
        # Demo town (``flask demo load``)
        "DEMO_DATA_DIR": _env("DEMO_DATA_DIR", str(BASE_DIR / "demo")),
        # Its past orders: this many days before today, about this many orders a day (none in tests).
        "DEMO_HISTORY_DAYS": _env_int("DEMO_HISTORY_DAYS", 0 if env == "testing" else 365),
        "DEMO_HISTORY_PER_DAY": _env_int("DEMO_HISTORY_PER_DAY", 15),
        # Search (the search domain reads these)
        "ELASTICSEARCH_URL": _env("ELASTICSEARCH_URL"),
        # The alias searches read; each reindex fills a new "<alias>-<timestamp>" index behind it.
        "ELASTICSEARCH_INDEX": _env("ELASTICSEARCH_INDEX", "products"),
        "SEARCH_INDEX_DIR": _env("SEARCH_INDEX_DIR", str(instance_path / "search-index")),
        # The town's own English -> French search words, added to search/lexicon_en_fr.txt (same format).
        "SEARCH_LEXICON_FILE": _env("SEARCH_LEXICON_FILE"),
        # Payments (the payouts domain reads these)
        "STRIPE_SECRET_KEY": _env("STRIPE_SECRET_KEY", EMULATOR_STRIPE_KEY),
        # In development the stripe library talks to the local emulator (on STRIPE_EMULATOR_PORT, as
        # `make run` starts it); in production to Stripe itself.
        "STRIPE_API_BASE": _env(
            "STRIPE_API_BASE",
            None if production else f"http://127.0.0.1:{_env_int('STRIPE_EMULATOR_PORT', EMULATOR_PORT)}",
        ),
        # The publishable key the payment page's Payment Element uses (not needed with the emulator).
        "STRIPE_PUBLISHABLE_KEY": _env("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": _env(
            "STRIPE_WEBHOOK_SECRET", None if production else EMULATOR_WEBHOOK_SECRET
        ),
        # Version of the platform terms a shop accepts when it submits its application.
        "TERMS_VERSION": _env("TERMS_VERSION", "2026-11"),
        # Payouts: a shop's part is transferred this many days after delivery or collection.
        "PAYOUT_HOLD_DAYS": _env_int("PAYOUT_HOLD_DAYS", 14),
        # A variant of an online product with this many left or fewer is "low stock" (shop's dashboard,
        # manager's follow-up lists).
        "LOW_STOCK_THRESHOLD": _env_int("LOW_STOCK_THRESHOLD", 2),
        # Who bears Stripe's fees on shoppers' payments: "platform" (its expense) or "shops" (each shop's
        # part is charged its share, in proportion to its amount).
        "STRIPE_FEES_BORNE_BY": _env("STRIPE_FEES_BORNE_BY", "platform"),
        # The commission rate when the manager has set no platform rule yet (basis points).
        "COMMISSION_DEFAULT_BPS": _env_int("COMMISSION_DEFAULT_BPS", 1000),
        # Whether the commission is given back, in proportion, when a shop refunds a shopper.
        "COMMISSION_REFUNDED": _env_bool("COMMISSION_REFUNDED", True),
        # How shops answer for a disputed payment: "hold" (their parts wait; taken back only when lost) or
        # "reverse" (what was already transferred is taken back when the funds are withdrawn).
        "DISPUTE_SHOP_LIABILITY": _env("DISPUTE_SHOP_LIABILITY", "hold"),
        # Requests made to addresses people type (webhooks, photos by URL, app/outbound.py) reach only
        # public addresses over https; on outside production, so that a receiver on 127.0.0.1 works.
        "OUTBOUND_ALLOW_PRIVATE": _env_bool("OUTBOUND_ALLOW_PRIVATE", not production),
        # Days a shop's storefront stays up after a failed subscription payment.
        "BILLING_GRACE_DAYS": _env_int("BILLING_GRACE_DAYS", 7),
        # Logs (app/logs.py): one line per request and per job, "json" (production's default, for a log
        # collector) or "console" (readable, the default elsewhere); LOG_LEVEL as in Python's logging.
        # Under tests the lines go to pytest's capture only.
        "LOG_FORMAT": _env("LOG_FORMAT", "json" if production else "console"),
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        # Errors sent to Sentry (or a compatible service) when set; sentry_sdk is imported only then.
        "SENTRY_DSN": _env("SENTRY_DSN"),
        # /metrics (app/metrics.py): with a token, only requests with "Authorization: Bearer <token>";
        # without, only clients on a loopback or private address (others get a 404).
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        # /readyz: how long each part may take to answer, in seconds (a load balancer probes often).
        "READY_TIMEOUT_SECONDS": _env_float("READY_TIMEOUT_SECONDS", 1.0),
    }
    if production and not config["SMTP_HOST"]:
        raise ConfigError("SMTP_HOST must be set in production: mail would otherwise stay in instance/outbox")
    if production and config["STRIPE_SECRET_KEY"] == EMULATOR_STRIPE_KEY:
        raise ConfigError("STRIPE_SECRET_KEY must be set in production")
    if production and not config["STRIPE_PUBLISHABLE_KEY"]:
        raise ConfigError("STRIPE_PUBLISHABLE_KEY must be set in production")
    if production and not config["STRIPE_WEBHOOK_SECRET"]:
        raise ConfigError("STRIPE_WEBHOOK_SECRET must be set in production")
    if production and not configured_public_url:
        raise ConfigError(
            "PUBLIC_URL must be set in production (the site's address, e.g. https://bellerive-commerces.fr): "
            "links in mail are built from it"
        )
    if production and not redis_url:
        raise ConfigError(
            "REDIS_URL must be set in production: rate limits kept in each worker's memory do not add up"
        )
    config.update(overrides)
    if config["STRIPE_FEES_BORNE_BY"] not in ("platform", "shops"):
        raise ConfigError(
            f"STRIPE_FEES_BORNE_BY must be 'platform' or 'shops', not {config['STRIPE_FEES_BORNE_BY']!r}"
        )
    if config["LOG_FORMAT"] not in ("json", "console"):
        raise ConfigError(f"LOG_FORMAT must be 'json' or 'console', not {config['LOG_FORMAT']!r}")
    if config["DISPUTE_SHOP_LIABILITY"] not in ("hold", "reverse"):
        raise ConfigError(
            f"DISPUTE_SHOP_LIABILITY must be 'hold' or 'reverse', not {config['DISPUTE_SHOP_LIABILITY']!r}"
        )
    return config
