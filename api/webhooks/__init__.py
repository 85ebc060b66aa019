"""Outbound webhooks: shops and the town manager hear about orders, returns, stock and reviews."""
