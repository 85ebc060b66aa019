"""A small Stripe emulator for development and tests: Connect and card payments here, the rest by localstripe.

``localstripe`` emulates customers, subscriptions and their webhooks, but knows nothing of Connect, and
its PaymentIntents lack too much of Stripe's (kept parameters, confirmation with a card, declines,
3-D Secure redirects, bounded refunds). This package serves Stripe's HTTP API on 127.0.0.1, answers
Connect and payments itself (following Stripe's documented shapes) and forwards every other request to
a localstripe child process, so the app talks to one base URL with the official ``stripe`` library, as
in production.

Run it with ``python -m devtools.stripe_emulator --port 8420``; embed it with :func:`create_app`.
"""

from devtools.stripe_emulator.app import Emulator, create_app
from devtools.stripe_emulator.core import Settings

__all__ = ["Emulator", "Settings", "create_app"]
