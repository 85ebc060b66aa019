"""A Stripe emulator for tests and development: Connect, payments and Billing here, the rest by localstripe.

``localstripe`` knows nothing of Connect, its PaymentIntents lack too much of Stripe's (kept parameters,
confirmation with a card, declines, 3-D Secure redirects, bounded refunds), and its Billing has no Prices,
no test clocks and no way to charge the emulator's cards. This package serves Stripe's HTTP API on
127.0.0.1, answers Connect, payments, money movement and Billing itself (following Stripe's documented
shapes) and forwards every other request to a localstripe child process, so the app talks to one base URL
with the official ``stripe`` library, as in production.

Run it with ``python -m devtools.stripe_emulator --port 8420``; embed it with :func:`create_app`.
"""

from devtools.stripe_emulator.app import Emulator, create_app
from devtools.stripe_emulator.core import Settings

__all__ = ["Emulator", "Settings", "create_app"]
