"""Accounts: people, their credentials and roles.

Sign-up with e-mail confirmation, log in and out, password reset, change of e-mail and password,
TOTP two-factor authentication with recovery codes, and the role of each person (shopper, manager;
shop membership as owner or staff lives with the shops in ``vendors``).
"""
