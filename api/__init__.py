"""The REST API (``/api/v1``): flask-smorest views over the domains' services, described by an OpenAPI
3.1 document generated from the schemas (``/api/v1/openapi.json``) and a documentation page made from
it (``/api/v1/docs``). API keys and idempotency are the package's own state (``api.models``).

No domain imports this package: it calls their services, as the back office does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

PREFIX = "/api/v1"
DEFAULTS: dict[str, Any] = {
    "API_TITLE": "Bellerive Commerces API",
    "API_VERSION": "1.1.0",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    # Per key (or per address for the public endpoints without a key), set in config.py; counted in
    # Redis when configured, as the site's other limits.
    "API_RATE_LIMIT": "300 per minute",
    "API_PUBLIC_RATE_LIMIT": "60 per minute",
}


def init_app(app: Flask) -> None:
    """Configure the ``Api`` on the app and register its blueprints, errors and back-office pages.
    Called after the site's blueprints: the problem documents wrap the site's error handlers."""
    from api import problems
    from api.auth import rate_limit, rate_limit_key
    from api.backoffice import blueprint as backoffice_blueprint
    from api.docs import blueprint as docs_blueprint
    from api.spec import create_api
    from api.town_admin import blueprint as town_admin_blueprint
    from app.extensions import csrf, limiter

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    smorest = create_api(app)
    for blueprint in _blueprints():
        csrf.exempt(blueprint)  # keys, not cookies: no cross-site request can carry one
        limiter.limit(rate_limit, key_func=rate_limit_key)(blueprint)
        smorest.register_blueprint(blueprint)
    app.register_blueprint(docs_blueprint)
    app.register_blueprint(backoffice_blueprint)
    app.register_blueprint(town_admin_blueprint)
    problems.install(app)
    app.extensions["marketplace-api"] = smorest


def _blueprints() -> list[Any]:
    from api.catalog import blueprint as catalog
    from api.orders import blueprint as orders
    from api.public import blueprint as public
    from api.returns import blueprint as returns
    from api.reviews import blueprint as reviews
    from api.stock import blueprint as stock
    from api.town import blueprint as town

    return [catalog, stock, orders, returns, reviews, public, town]
