"""The marketplace application: ``create_app()`` and the core every domain builds on.

``app/`` holds the core (extensions, db helpers, money, jobs, mail, i18n) and the shopper-facing domains
(accounts, catalog, cart and checkout, orders, reviews, the manager console, the API). Shop identity
lives in ``vendors/``, search in ``search/`` and money movements in ``payouts/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from app.extensions import babel, csrf, db, limiter, login_manager, migrate, talisman

# Content-Security-Policy: no inline script, no third-party origin; the site works offline.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def content_security_policy(app: Flask) -> dict[str, Any]:
    """The policy, plus where forms may lead: the owner's "open my payment account" button answers with
    a redirect to Stripe's hosted onboarding, and browsers apply form-action to that redirect."""
    from urllib.parse import urlsplit

    form_targets = ["'self'", "https://connect.stripe.com"]
    base = app.config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        form_targets.append(f"{parts.scheme}://{parts.netloc}")
    policy = {**CONTENT_SECURITY_POLICY, "form-action": form_targets}
    if not base:
        # Stripe itself: the payment page's Payment Element is Stripe.js in Stripe's frames.
        policy["script-src"] = ["'self'", "https://js.stripe.com"]
        policy["frame-src"] = ["https://js.stripe.com", "https://hooks.stripe.com"]
        policy["connect-src"] = ["'self'", "https://api.stripe.com"]
    from app import storage

    media_origin = storage.public_origin(app.config)  # photos served from a bucket's public address
    if media_origin:
        policy["img-src"] = [*CONTENT_SECURITY_POLICY["img-src"], media_origin]
    return policy


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration, extensions, blueprints, CLI, in that order."""
    from app.templating import Environment

    app = Flask(__name__, instance_path=str(Path(settings.BASE_DIR) / "instance"))
    app.jinja_environment = Environment  # before anything reads app.jinja_env
    app.config.update(settings.load(Path(app.instance_path), overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_FIX_HOPS"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_HOPS"],
            x_proto=app.config["PROXY_FIX_HOPS"],
            x_host=app.config["PROXY_FIX_HOPS"],
        )
    elif app.config["APP_ENV"] == "production":
        app.logger.warning(
            "PROXY_FIX_HOPS is 0: if a reverse proxy stands in front, every client has its address "
            "and they all share one rate limit. Set PROXY_FIX_HOPS to the number of proxies."
        )

    from app import logs, urls

    logs.init_app(app)  # the request id and log line, refused requests included
    urls.init_app(app)  # first: a request for a host not ours is refused before any other hook
    register_extensions(app)
    from app import routing

    routing.init_app(app)  # before the blueprints: their <int:…> ids take the bounded converter
    import_models()
    register_blueprints(app)
    import api

    api.init_app(app)  # after the blueprints: its problem documents wrap the site's error pages
    register_cli(app)
    from app import csrf_masking, pagecache

    # after_request hooks run last-registered first: the page cache keeps its copy, then the CSRF
    # tokens are masked, then the answer is compressed.
    csrf_masking.init_app(app)
    pagecache.init_app(app)
    if os.environ.get("BENCH_TIMING") == "1":  # Server-Timing headers for bench/web.py; off otherwise
        from app import timing

        timing.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import database as db_helpers
    from app import i18n, jobs, storage, templating
    from app.accounts import auth

    db.init_app(app)
    with app.app_context():
        db_helpers.protect_pool_across_forks(db.engine)
        db_helpers.keep_prepared_statements(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    i18n.install_template_gettext(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the reverse proxy; HSTS below tells browsers to stay on HTTPS
        strict_transport_security=app.config["HSTS_ENABLED"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=content_security_policy(app),
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "(self)", "camera": "()", "microphone": "()"},
    )
    from app import assets

    assets.init_app(app)  # compression, and static files under content-hashed URLs kept for a year
    auth.init_login_manager(app, login_manager)
    jobs.init_app(app)
    templating.init_app(app)
    from app import metrics

    metrics.init_app(app)  # /metrics, and request counts by endpoint
    storage.init_app(app)  # a bad MEDIA_STORAGE_URL stops the app here

    from search import outbox

    outbox.listen()
    from api.webhooks import tasks as webhook_tasks

    webhook_tasks.listen()  # events recorded by the domains are delivered to the shops' endpoints


def import_models() -> None:
    """Import every domain's models, so that the metadata (and Alembic) sees all tables."""
    import api.models
    import api.webhooks.models  # noqa: F401
    import app.accounts.models
    import app.audit.models
    import app.cart.models
    import app.catalog.models
    import app.events
    import app.favourites.models
    import app.figures.models
    import app.manager.models
    import app.ops.models
    import app.orders.models
    import app.reviews.models
    import app.site.models
    import app.visits.models  # noqa: F401
    import payouts.models  # noqa: F401
    import search.models  # noqa: F401
    import vendors.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    """Every blueprint of the app, in one explicit list."""
    from api.webhooks.admin import blueprint as webhooks_admin
    from api.webhooks.backoffice import blueprint as webhooks_backoffice
    from app.accounts.admin import blueprint as accounts_admin
    from app.accounts.views import blueprint as accounts
    from app.cart import views as cart_views
    from app.catalog.admin import blueprint as catalog_admin
    from app.catalog.backoffice import blueprint as catalog_backoffice
    from app.catalog.import_views import blueprint as catalog_imports
    from app.catalog.views import blueprint as catalog
    from app.favourites import views as favourites_views
    from app.figures.admin import blueprint as figures_admin
    from app.figures.backoffice import blueprint as figures_backoffice
    from app.manager.admin import blueprint as manager_admin
    from app.manager.backoffice import blueprint as manager_backoffice
    from app.manager.views import blueprint as manager
    from app.orders.admin import blueprint as orders_admin
    from app.orders.backoffice import blueprint as orders_backoffice
    from app.orders.views import blueprint as orders
    from app.reviews.admin import blueprint as reviews_admin
    from app.reviews.backoffice import blueprint as reviews_backoffice
    from app.reviews.views import blueprint as reviews
    from app.site import seo
    from app.site.admin import blueprint as site_admin
    from app.site.views import blueprint as site
    from payouts.admin import blueprint as payouts_admin
    from payouts.backoffice import blueprint as payouts_backoffice
    from payouts.webhooks import blueprint as stripe_webhooks
    from search.views import blueprint as search
    from vendors.admin import blueprint as vendors_admin
    from vendors.backoffice import blueprint as vendors_backoffice
    from vendors.views import blueprint as vendors_public

    blueprints = [
        site,
        accounts,
        search,
        vendors_public,
        vendors_backoffice,
        manager,
        figures_admin,
        figures_backoffice,
        manager_admin,
        manager_backoffice,
        accounts_admin,
        vendors_admin,
        catalog,
        catalog_backoffice,
        catalog_imports,
        catalog_admin,
        site_admin,
        cart_views.blueprint,
        favourites_views.blueprint,
        seo.blueprint,
        orders,
        orders_backoffice,
        orders_admin,
        reviews,
        reviews_backoffice,
        reviews_admin,
        payouts_backoffice,
        payouts_admin,
        stripe_webhooks,
        webhooks_backoffice,
        webhooks_admin,
    ]
    if app.config["APP_ENV"] != "production":
        from app.site.devtools import blueprint as dev

        blueprints.append(dev)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    cart_views.init_app(app)  # the header's cart badge, and a guest's cart kept at log-in
    favourites_views.init_app(app)  # the buttons' state, and a guest's favourites kept at log-in
    seo.init_app(app)  # the pages' canonical, sharing and schema.org helpers

    from app.site import errors

    errors.register(app)
    # Stripe webhook handlers register themselves with payouts.webhooks on import.
    from app.orders import stripe_events as orders_events  # noqa: F401
    from payouts import stripe_events as payouts_events  # noqa: F401
    from vendors import stripe_events as vendors_events  # noqa: F401


def register_cli(app: Flask) -> None:
    """The command groups, each imported when it runs (``flask <group> ...``) or is listed: a web worker
    loads none of their modules (demo data, backups, imports)."""
    from app.extensions import LazyGroup
    from app.jobs import cron_command, worker_command

    for name, target in (
        ("orders", "app.orders.tasks:orders_cli"),
        ("figures", "app.figures.tasks:figures_cli"),
        ("payouts", "payouts.tasks:payouts_cli"),
        ("reviews", "app.reviews.tasks:reviews_cli"),
        ("visits", "app.visits.tasks:visits_cli"),
        ("search", "search.cli:search"),
        ("users", "app.accounts.cli:users"),
        ("demo", "app.demo:demo"),
        ("favourites", "app.favourites.tasks:favourites_cli"),
        ("webhooks", "api.webhooks.tasks:webhooks_cli"),
        ("ops", "app.ops.cli:ops_cli"),
        ("media", "app.storage.cli:media_cli"),
    ):
        app.cli.add_command(LazyGroup(name, target))
    app.cli.add_command(worker_command)
    app.cli.add_command(cron_command)
