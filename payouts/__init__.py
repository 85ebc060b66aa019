"""Payouts: everything about money moving between shoppers, shops and the platform.

Commission rules, the double-entry ledger, transfers to shops and their reversals, refunds, shop plans
and subscription billing, statements and invoices, and the Stripe gateway every payment goes through.
``orders`` calls these services to record money events; payouts never imports order services.
"""
