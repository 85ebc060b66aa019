"""A small Stripe emulator for development and tests: Connect answered here, the rest by localstripe.

``localstripe`` emulates customers, PaymentIntents, refunds, subscriptions and their webhooks, but knows
nothing of Connect. This package serves Stripe's HTTP API on 127.0.0.1, answers the Connect endpoints
itself (following Stripe's documented shapes) and forwards every other request to a localstripe child
process, so the app talks to one base URL with the official ``stripe`` library, as in production.

Run it with ``python -m devtools.stripe_emulator --port 8420``; embed it with :func:`create_app`.
"""

from devtools.stripe_emulator.app import Emulator, create_app
from devtools.stripe_emulator.core import Settings

__all__ = ["Emulator", "Settings", "create_app"]
