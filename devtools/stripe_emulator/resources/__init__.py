"""The Stripe API resources the emulator answers itself, one module per resource family.

Connect (accounts, their links, their events) and card payments (PaymentIntents, the test PaymentMethods,
charges, refunds, disputes, the files given as their evidence) and Connect money movement (transfers and
their reversals, balances, balance transactions) are answered here, and Billing (customers, products
and prices, subscriptions, invoices, test clocks: see ``billing.py``).

To emulate another resource, add a module with a ``ROUTES`` list of
:class:`~devtools.stripe_emulator.routing.ApiRoute` and list it here; everything not routed goes to
localstripe.
"""

from __future__ import annotations

from devtools.stripe_emulator.resources import (
    account_links,
    accounts,
    balance,
    charges,
    customers,
    disputes,
    events,
    files,
    invoices,
    login_links,
    payment_intents,
    payment_methods,
    payouts,
    products,
    refunds,
    subscriptions,
    test_clocks,
    transfers,
)
from devtools.stripe_emulator.routing import ApiRoute

ROUTES: list[ApiRoute] = [
    *accounts.ROUTES,
    *login_links.ROUTES,
    *account_links.ROUTES,
    *events.ROUTES,
    *payment_intents.ROUTES,
    *payment_methods.ROUTES,
    *charges.ROUTES,
    *refunds.ROUTES,
    *disputes.ROUTES,
    *files.ROUTES,
    *transfers.ROUTES,
    *balance.ROUTES,
    *payouts.ROUTES,
    *customers.ROUTES,
    *products.ROUTES,
    *subscriptions.ROUTES,
    *invoices.ROUTES,
    *test_clocks.ROUTES,
]
