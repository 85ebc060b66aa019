"""Visits counted without tracking: page views and cart adds per shop and day, nothing per person."""
