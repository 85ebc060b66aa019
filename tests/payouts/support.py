"""Shops able to receive transfers on the Stripe emulator, and the clock moved past the payout hold."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from payouts import gateway
from tests.plugins.stripe import StripeEmulator
from vendors.models import Shop


def connect(shop_id: int, stripe_api: StripeEmulator) -> str:
    """Give the shop an Express account whose onboarding is complete (payouts enabled)."""
    shop = db.session.get(Shop, shop_id)
    assert shop is not None
    account = gateway.create_express_account(
        shop_id=shop.id, email=shop.email or "shop@example.com", country="FR", business_name=shop.name
    )
    stripe_api.control("POST", f"accounts/{account.id}/complete")
    synced = gateway.retrieve_account(account.id)
    shop.stripe_account_id = account.id
    shop.stripe_charges_enabled = synced.charges_enabled
    shop.stripe_payouts_enabled = synced.payouts_enabled
    db.session.commit()
    assert shop.payouts_ready
    return account.id


def after_hold(days: int = 15) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days)


def connected_balance(account_id: str) -> int:
    balance = gateway.client().v1.balance.retrieve(options={"stripe_account": account_id}).to_dict()
    return sum(int(part["amount"]) for part in balance["available"] if part["currency"] == "eur")


def deliver(order: Order, shop_id: int) -> None:
    """The shop accepts, ships and delivers its part."""
    part = next(part for part in order.vendor_orders if part.shop_id == shop_id)
    orders.accept(part)
    orders.ship(part, "La Poste", "6A1")
    orders.mark_delivered(part)
    db.session.commit()
