"""Vendors: the identity of each shop.

Onboarding, legal details, opening hours, the public storefront, staff and their roles, Stripe Connect
onboarding, and the shop's back-office shell and dashboard.
"""
