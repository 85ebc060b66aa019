"""Property: whatever the sequence of sales, refunds, transfers and reversals (some refused by Stripe),
every ledger transaction balances, each shop's ledger balance is exactly what it is owed, and the
platform's Stripe account holds exactly what came in less what went out."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderLine, OrderStatus, RefundReason, VendorOrder, VendorOrderStatus
from payouts import gateway, ledger
from payouts import services as payouts
from payouts.models import ShopTransfer, TransferReversal, TransferStatus
from tests.factories import ShopFactory, UserFactory

ids = itertools.count(1)


class FakeStripe:
    """Stripe's answers, some refusals on demand; records the money it moved."""

    def __init__(self) -> None:
        self.refuse_next_reversal = False
        self.refuse_next_transfer = False

    def charge_fee(self, charge_id: str) -> int:
        return 0  # the books' invariants here are those of gross amounts; fees: test_fees.py

    def refund_payment(self, intent_id: str, *, amount_cents: int, key: str, metadata: dict[str, str]) -> Any:
        return gateway.RefundResult(id=f"re_{key}", status="succeeded", amount=amount_cents)

    def create_transfer(self, **kwargs: Any) -> gateway.MoneyMove:
        if self.refuse_next_transfer:
            self.refuse_next_transfer = False
            raise gateway.StripeError("refused")
        return gateway.MoneyMove(f"tr_{next(ids)}", kwargs["amount_cents"])

    def reverse_transfer(
        self, transfer_id: str, *, amount_cents: int, key: str, metadata: dict[str, str] | None = None
    ) -> gateway.MoneyMove:
        if self.refuse_next_reversal:
            self.refuse_next_reversal = False
            raise gateway.StripeError("insufficient funds")
        return gateway.MoneyMove(f"trr_{next(ids)}", amount_cents)


@pytest.fixture
def stripe(monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    fake = FakeStripe()
    for name in ("charge_fee", "refund_payment", "create_transfer", "reverse_transfer"):
        monkeypatch.setattr(gateway, name, getattr(fake, name))
    return fake


@dataclass
class World:
    shops: list[int]
    shopper: int


@pytest.fixture
def world(app_ctx: Flask) -> World:
    shops = [ShopFactory(stripe_account_id=f"acct_{n}", stripe_payouts_enabled=True).id for n in range(2)]
    return World(shops=shops, shopper=UserFactory().id)


def paid_order(world: World, amounts: list[tuple[int, int, int]]) -> Order:
    """An order paid, one part per (shop index, goods, delivery), with its commission frozen."""
    n = next(ids)
    order = Order(
        number=f"M-2026-{n:06d}",
        checkout_token=f"token-{n}",
        user_id=world.shopper,
        status=OrderStatus.PAID,
        items_cents=sum(goods for _, goods, _ in amounts),
        delivery_cents=sum(fee for _, _, fee in amounts),
        total_cents=sum(goods + fee for _, goods, fee in amounts),
        email="a@example.com",
        full_name="A",
        reserved_until=utcnow(),
        payment_intent_id=f"pi_{n}",
        charge_id=f"ch_{n}",
        paid_at=utcnow(),
    )
    for shop_index, goods, fee in amounts:
        part = VendorOrder(
            shop_id=world.shops[shop_index],
            status=VendorOrderStatus.PAID,
            delivery_method=DeliveryMethod.HOME_DELIVERY,
            delivery_fee_cents=fee,
            delivery_vat_bps=2000,
            items_cents=goods,
            total_cents=goods + fee,
            lines=[
                OrderLine(
                    title="x", sku="x", unit_price_cents=goods, quantity=1, vat_bps=2000, total_cents=goods
                )
            ],
        )
        order.vendor_orders.append(part)
        payouts.freeze_commission(part)
    db.session.add(order)
    db.session.flush()
    payouts.record_payment(order)
    return order


money = st.integers(min_value=1, max_value=50_000)
events = st.lists(
    st.one_of(
        st.tuples(
            st.just("sale"),
            st.lists(
                st.tuples(st.integers(0, 1), money, st.integers(0, 990)),
                min_size=1,
                max_size=2,
                unique_by=lambda part: part[0],
            ),
        ),
        st.tuples(st.just("refund"), st.integers(0, 10), st.floats(0.01, 1.0)),
        st.tuples(st.just("transfer"), st.integers(0, 10)),
        st.tuples(st.just("refuse_reversal"), st.none()),
        st.tuples(st.just("refuse_transfer"), st.none()),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sequence=events)
def test_any_sequence_keeps_the_books_exact(world: World, stripe: FakeStripe, sequence: list[Any]) -> None:
    savepoint = db.session.begin_nested()
    try:
        parts: list[VendorOrder] = []
        for event in sequence:
            if event[0] == "sale":
                parts += paid_order(world, event[1]).vendor_orders
            elif event[0] == "refund" and parts:
                part = parts[event[1] % len(parts)]
                amount = max(1, int(part.remaining_cents * event[2]))
                if part.remaining_cents:
                    orders.refund(part, amount, RefundReason.WITHDRAWAL, key=f"refund-{next(ids)}")
            elif event[0] == "transfer" and parts:
                part = parts[event[1] % len(parts)]
                part.status, part.received_at = VendorOrderStatus.DELIVERED, utcnow() - dt.timedelta(days=30)
                payouts.pay_out(part.id)
            elif event[0] == "refuse_reversal":
                stripe.refuse_next_reversal = True
            elif event[0] == "refuse_transfer":
                stripe.refuse_next_transfer = True
        db.session.flush()
        check(world)
    finally:
        savepoint.rollback()


def check(world: World) -> None:
    assert ledger.unbalanced() == []
    came_in = went_out = 0
    for shop_id in world.shops:
        owed = 0
        for part in db.session.query(VendorOrder).filter_by(shop_id=shop_id):
            refunds = [r for r in part.refunds if r.stripe_refund_id]
            owed += part.total_cents - part.commission_cents - part.commission_vat_cents
            owed -= sum(r.amount_cents - r.commission_cents - r.commission_vat_cents for r in refunds)
            came_in += part.total_cents
            went_out += sum(r.amount_cents for r in refunds)
        transfers = (
            db.session.query(ShopTransfer).filter_by(shop_id=shop_id, status=TransferStatus.PAID).all()
        )
        reversed_ = sum(
            r.amount_cents
            for r in db.session.query(TransferReversal).filter(
                TransferReversal.stripe_reversal_id.is_not(None)
            )
            if r.transfer_id in {t.id for t in transfers}
        )
        owed -= sum(t.amount_cents for t in transfers) - reversed_
        went_out += sum(t.amount_cents for t in transfers) - reversed_
        held = ledger.balance(ledger.pending(shop_id)) + ledger.balance(ledger.available(shop_id))
        assert held == owed, f"shop {shop_id}"
    commission = ledger.balance(ledger.COMMISSION) + ledger.balance(ledger.COMMISSION_VAT)
    assert ledger.balance(ledger.STRIPE) == came_in - went_out
    assert ledger.balance(ledger.STRIPE) == commission + sum(
        ledger.balance(ledger.pending(s)) + ledger.balance(ledger.available(s)) for s in world.shops
    )
