"""Cart forms. Each cart button posts a few plain values (a quantity, a delivery method with its
relay point or pickup slot) that the services check one by one, with their own messages; the form
itself carries the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm


class CartForm(FlaskForm):
    """Any cart button: the CSRF token, the values are the services' to check."""
