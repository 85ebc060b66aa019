"""Connect money movement through the emulator: transfers to shops, reversals, balances, balance transactions.

Driven over HTTP with the official stripe library, as payouts.gateway will drive it: an order's payment is
charged on the platform, each shop's part is transferred from that charge (``source_transaction``) once
delivered, reversed when refunded, and the reconciliation report reads ``/v1/balance_transactions`` and
``/v1/transfers``. One emulator serves the module: the platform's balance carries over from test to test,
so platform figures are checked as differences; each test makes its own shops, whose figures are exact.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import stripe

from tests.devtools.support import Receiver, http
from tests.plugins.stripe import Running

API_KEY = "sk_test_local_emulator"
WEBHOOK_SECRET = "whsec_emulator_transfer_tests"
_orders = itertools.count(1)


def _control(emulator: Running, path: str, body: dict[str, Any], status: int = 200) -> Any:
    answer = http("POST", f"{emulator.url}/_emulator/{path}", json_body=body)
    assert answer.status == status, answer.text
    return answer.json()


def _shop(client: stripe.StripeClient, emulator: Running, *, onboarded: bool = True) -> str:
    """An Express account for a shop, as payouts.gateway creates it; onboarded unless asked not to be."""
    account: Any = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "FR",
            "email": "fromagerie@example.fr",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"shop_id": "5"},
        }
    )
    if onboarded:
        completed = _control(emulator, f"accounts/{account.id}/complete", {})
        assert completed["capabilities"] == {"transfers": "active"}
    return str(account.id)


def _order() -> str:
    return f"M-2026-{next(_orders):06d}"


def _paid(client: stripe.StripeClient, amount: int, order: str | None = None) -> Any:
    """An order's payment, succeeded; its charge is ``latest_charge``."""
    intent: Any = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "transfer_group": order or _order(),
            "payment_method_types": ["card"],
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    return intent


def _transfer(
    client: stripe.StripeClient,
    shop: str,
    amount: int,
    charge: Any,
    *,
    vendor_order: int = 1,
    key: str | None = None,
) -> Any:
    """A shop's part of an order, transferred as the app will transfer it."""
    return client.v1.transfers.create(
        params={
            "amount": amount,
            "currency": "eur",
            "destination": shop,
            "transfer_group": charge.transfer_group,
            "source_transaction": charge.latest_charge,
            "metadata": {"vendor_order_id": str(vendor_order)},
        },
        options={"idempotency_key": key} if key else {},
    )


def _available(client: stripe.StripeClient, account: str | None = None) -> int:
    options: Any = {"stripe_account": account} if account else {}
    balance: Any = client.v1.balance.retrieve(options=options)
    (eur,) = [entry for entry in balance.available if entry.currency == "eur"]
    return int(eur.amount)


def _transactions(client: stripe.StripeClient, account: str | None = None, **params: Any) -> list[Any]:
    options: Any = {"stripe_account": account} if account else {}
    page = client.v1.balance_transactions.list(params={"limit": 100, **params}, options=options)
    return list(page.auto_paging_iter())


# --- Transfers -----------------------------------------------------------------------------------------


def test_a_transfer_from_the_orders_charge_in_stripes_shape(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    platform_before = _available(client)

    transfer = _transfer(client, shop, 3000, paid, vendor_order=41, key="vendor-order-41-transfer")

    assert transfer.id.startswith("tr_")
    assert transfer.object == "transfer"
    assert (transfer.amount, transfer.amount_reversed, transfer.currency) == (3000, 0, "eur")
    assert (transfer.destination, transfer.source_transaction) == (shop, paid.latest_charge)
    assert transfer.transfer_group == paid.transfer_group
    assert transfer.metadata.to_dict() == {"vendor_order_id": "41"}
    assert transfer.destination_payment.startswith("py_")
    assert transfer.balance_transaction.startswith("txn_")
    assert (transfer.reversed, transfer.livemode, transfer.source_type) == (False, False, "card")
    assert transfer.reversals.to_dict() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "total_count": 0,
        "url": f"/v1/transfers/{transfer.id}/reversals",
    }
    assert isinstance(transfer.created, int)
    assert client.v1.transfers.retrieve(transfer.id).to_dict() == transfer.to_dict()
    assert _available(client) == platform_before - 3000
    assert _available(client, shop) == 3000


def test_the_idempotency_key_replays_the_transfer(client: stripe.StripeClient, emulator: Running) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    first = _transfer(client, shop, 2000, paid, vendor_order=7, key="vendor-order-7-transfer")
    again = _transfer(client, shop, 2000, paid, vendor_order=7, key="vendor-order-7-transfer")

    assert again.id == first.id
    listed = client.v1.transfers.list(params={"transfer_group": paid.transfer_group}).data
    assert [t.id for t in listed] == [first.id]
    assert _available(client, shop) == 2000
    with pytest.raises(stripe.IdempotencyError):
        _transfer(client, shop, 2100, paid, vendor_order=7, key="vendor-order-7-transfer")


def test_a_transfer_may_not_exceed_what_is_left_of_its_charge(
    client: stripe.StripeClient, emulator: Running
) -> None:
    cheese, bread = _shop(client, emulator), _shop(client, emulator)
    paid = _paid(client, 5000)
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1000})
    _transfer(client, cheese, 3000, paid)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, bread, 1001, paid)
    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount")
    assert raised.value.user_message == (
        f"The transfer amount (€10.01) is greater than what is left of source_transaction "
        f"{paid.latest_charge} to transfer (€10.00)."
    )
    assert _transfer(client, bread, 1000, paid).amount == 1000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, bread, 1, paid)
    assert raised.value.code == "amount_too_large"
    assert _available(client, bread) == 1000


def test_a_transfer_from_a_charge_takes_its_currency_and_an_existing_charge(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    params: Any = {
        "amount": 100,
        "currency": "usd",
        "destination": shop,
        "source_transaction": paid.latest_charge,
    }
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.create(params=params)
    assert (raised.value.code, raised.value.param) == (
        "transfer_source_balance_parameters_mismatch",
        "currency",
    )

    params.update(currency="eur", source_transaction="ch_doesnotexist")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.create(params=params)
    assert (raised.value.code, raised.value.param) == ("resource_missing", "source_transaction")
    assert _available(client, shop) == 0


def test_a_shop_that_has_not_finished_onboarding_cannot_receive_transfers(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator, onboarded=False)
    paid = _paid(client, 5000)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, shop, 2000, paid, vendor_order=12, key="vendor-order-12-transfer")
    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == (
        "insufficient_capabilities_for_transfer",
        "destination",
    )
    assert raised.value.user_message == (
        "Your destination account needs to have at least one of the following capabilities enabled: "
        "transfers, crypto_transfers, legacy_payments"
    )
    assert client.v1.transfers.list(params={"destination": shop}).data == []

    # A refusal is not kept under its key: once the shop is onboarded, the same request goes through.
    _control(emulator, f"accounts/{shop}/complete", {})
    transfer = _transfer(client, shop, 2000, paid, vendor_order=12, key="vendor-order-12-transfer")
    assert transfer.amount == 2000

    # Requirements past due disable the account again, and its transfers.
    _control(emulator, f"accounts/{shop}/requirements", {"currently_due": ["individual.id_number"]})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, shop, 500, paid)
    assert raised.value.code == "insufficient_capabilities_for_transfer"

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, "acct_doesnotexist", 500, paid)
    assert (raised.value.code, raised.value.param) == ("resource_missing", "destination")
    assert raised.value.user_message == "No such destination: 'acct_doesnotexist'"


def test_without_a_source_transaction_the_platform_balance_must_cover_it(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    balance = _control(emulator, "balance", {"available": 1000})
    assert balance["available"] == [{"amount": 1000, "currency": "eur", "source_types": {"card": 1000}}]
    assert _available(client) == 1000

    params: Any = {"amount": 1001, "currency": "eur", "destination": shop}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.create(params=params)
    assert raised.value.code == "balance_insufficient"
    params["amount"] = 1000
    transfer: Any = client.v1.transfers.create(params=params)
    assert (transfer.source_transaction, transfer.transfer_group) == (None, None)
    assert _available(client) == 0
    assert _available(client, shop) == 1000


def test_transfers_are_listed_newest_first_by_transfer_group_and_destination(
    client: stripe.StripeClient, emulator: Running
) -> None:
    cheese, bread = _shop(client, emulator), _shop(client, emulator)
    paid, other = _paid(client, 9000), _paid(client, 2000)
    first = _transfer(client, cheese, 3000, paid, vendor_order=1)
    second = _transfer(client, bread, 2500, paid, vendor_order=2)
    third = _transfer(client, cheese, 1500, paid, vendor_order=3)
    _transfer(client, cheese, 1000, other)

    group: Any = client.v1.transfers.list(params={"transfer_group": paid.transfer_group})
    assert [t.id for t in group.data] == [third.id, second.id, first.id]
    assert (group.has_more, group.url) == (False, "/v1/transfers")
    both: Any = client.v1.transfers.list(
        params={"transfer_group": paid.transfer_group, "destination": cheese}
    )
    assert [t.id for t in both.data] == [third.id, first.id]
    page: Any = client.v1.transfers.list(params={"transfer_group": paid.transfer_group, "limit": 1})
    assert ([t.id for t in page.data], page.has_more) == ([third.id], True)
    following: Any = client.v1.transfers.list(
        params={"transfer_group": paid.transfer_group, "limit": 2, "starting_after": third.id}
    )
    assert ([t.id for t in following.data], following.has_more) == ([second.id, first.id], False)
    assert sum(t.amount for t in group.data) == 7000


def test_a_transfers_description_and_metadata_can_be_updated(
    client: stripe.StripeClient, emulator: Running
) -> None:
    transfer = _transfer(client, _shop(client, emulator), 1000, _paid(client, 1000), vendor_order=9)
    updated: Any = client.v1.transfers.update(
        transfer.id, params={"description": "Part 9", "metadata": {"settled": "yes"}}
    )
    assert updated.description == "Part 9"
    assert updated.metadata.to_dict() == {"vendor_order_id": "9", "settled": "yes"}


def test_a_transfer_and_its_balance_transactions_expand_what_they_name(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 2000)
    transfer = _transfer(client, shop, 2000, paid, vendor_order=55)

    expanded: Any = client.v1.transfers.retrieve(
        transfer.id, params={"expand": ["destination", "balance_transaction", "source_transaction"]}
    )
    assert (expanded.destination.id, expanded.destination.object) == (shop, "account")
    assert (expanded.balance_transaction.amount, expanded.balance_transaction.type) == (-2000, "transfer")
    assert expanded.source_transaction.id == paid.latest_charge
    listed = client.v1.balance_transactions.list(
        params={"source": transfer.id, "expand": ["data.source"]}
    ).data
    assert [(t.source.id, t.source.metadata.vendor_order_id) for t in listed] == [(transfer.id, "55")]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.balance_transactions.list(params={"expand": ["data.payout"]})
    assert raised.value.param == "expand"


# --- Reversals -----------------------------------------------------------------------------------------


def test_partial_then_full_reversal(client: stripe.StripeClient, emulator: Running) -> None:
    shop = _shop(client, emulator)
    transfer = _transfer(client, shop, 3000, _paid(client, 3000))
    platform_before = _available(client)

    partial: Any = client.v1.transfers.reversals.create(
        transfer.id,
        params={"amount": 1000, "metadata": {"refund_id": "4"}},
        options={"idempotency_key": "refund-4-reversal"},
    )
    assert partial.id.startswith("trr_")
    assert partial.object == "transfer_reversal"
    assert (partial.amount, partial.currency, partial.transfer) == (1000, "eur", transfer.id)
    assert partial.balance_transaction.startswith("txn_")
    assert partial.destination_payment_refund.startswith("pyr_")
    assert partial.source_refund is None
    assert partial.metadata.to_dict() == {"refund_id": "4"}
    replayed: Any = client.v1.transfers.reversals.create(
        transfer.id,
        params={"amount": 1000, "metadata": {"refund_id": "4"}},
        options={"idempotency_key": "refund-4-reversal"},
    )
    assert replayed.id == partial.id
    after_partial: Any = client.v1.transfers.retrieve(transfer.id)
    assert (after_partial.amount_reversed, after_partial.reversed) == (1000, False)
    assert [r.id for r in after_partial.reversals.data] == [partial.id]
    assert after_partial.reversals.total_count == 1

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 2001})
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount")

    rest: Any = client.v1.transfers.reversals.create(transfer.id)  # all that is left
    assert rest.amount == 2000
    reversed_: Any = client.v1.transfers.retrieve(transfer.id)
    assert (reversed_.amount_reversed, reversed_.reversed) == (3000, True)
    assert [r.id for r in reversed_.reversals.data] == [rest.id, partial.id]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 1})
    assert raised.value.code == "amount_too_large"
    assert raised.value.user_message == f"Transfer {transfer.id} has already been reversed in full."

    listed = client.v1.transfers.reversals.list(transfer.id).data
    assert [r.id for r in listed] == [rest.id, partial.id]
    assert client.v1.transfers.reversals.retrieve(transfer.id, partial.id).to_dict() == partial.to_dict()
    assert _available(client) == platform_before + 3000
    assert _available(client, shop) == 0


def test_a_reversed_amount_can_be_transferred_again_from_its_charge(
    client: stripe.StripeClient, emulator: Running
) -> None:
    cheese, bread = _shop(client, emulator), _shop(client, emulator)
    paid = _paid(client, 4000)
    wrong = _transfer(client, cheese, 4000, paid)
    client.v1.transfers.reversals.create(wrong.id, params={"amount": 1500})
    assert _transfer(client, bread, 1500, paid).amount == 1500
    with pytest.raises(stripe.InvalidRequestError):
        _transfer(client, bread, 1, paid)


def test_a_reversal_needs_the_money_still_in_the_shops_balance(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    transfer = _transfer(client, shop, 3000, _paid(client, 3000))

    # Its money has gone to the shop's bank: the payout leaves nothing to reverse.
    balance = _control(emulator, f"accounts/{shop}/balance", {"available": 0})
    assert balance["available"] == [{"amount": 0, "currency": "eur", "source_types": {"card": 0}}]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 1000})
    assert (raised.value.code, raised.value.param) == ("balance_insufficient", "amount")
    assert raised.value.user_message == (
        f"Insufficient funds in the connected account {shop} to reverse this transfer: its available "
        "balance is €0.00, the reversal €10.00."
    )
    unchanged: Any = client.v1.transfers.retrieve(transfer.id)
    assert (unchanged.amount_reversed, unchanged.reversals.total_count) == (0, 0)

    # New sales put money back: what is there can be reversed, no more.
    _control(emulator, f"accounts/{shop}/balance", {"available": 500})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 501})
    assert client.v1.transfers.reversals.create(transfer.id, params={"amount": 500}).amount == 500
    assert _available(client, shop) == 0


def test_a_payout_takes_the_shops_available_balance(client: stripe.StripeClient, emulator: Running) -> None:
    shop = _shop(client, emulator)
    first = _transfer(client, shop, 1200, _paid(client, 1200))
    second = _transfer(client, shop, 800, _paid(client, 800))

    payout = _control(emulator, f"accounts/{shop}/payout", {})
    assert payout["id"].startswith("po_")
    assert (payout["object"], payout["amount"], payout["status"], payout["automatic"]) == (
        "payout",
        2000,
        "paid",
        True,
    )
    assert _available(client, shop) == 0
    options: Any = {"stripe_account": shop}
    assert [p.id for p in client.v1.payouts.list(options=options).data] == [payout["id"]]
    assert client.v1.payouts.retrieve(payout["id"], options=options).amount == 2000
    taken = _transactions(client, shop, payout=payout["id"])
    assert [(t.type, t.amount) for t in taken] == [("payout", -2000), ("payment", 800), ("payment", 1200)]
    assert [t.source for t in taken] == [payout["id"], second.destination_payment, first.destination_payment]
    _control(emulator, f"accounts/{shop}/payout", {}, status=400)  # nothing left to pay out


# --- Failing transfers on demand -----------------------------------------------------------------------


def test_the_next_transfer_to_a_shop_can_be_made_to_fail(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    ordered = _control(emulator, f"accounts/{shop}/fail_transfers", {"code": "account_closed"})
    assert ordered == {
        "account": shop,
        "code": "account_closed",
        "message": "The destination account has been closed.",
        "status": 400,
        "remaining": 1,
    }

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _transfer(client, shop, 2000, paid, vendor_order=21, key="vendor-order-21-transfer")
    assert (raised.value.http_status, raised.value.code) == (400, "account_closed")
    assert raised.value.user_message == "The destination account has been closed."
    assert _available(client, shop) == 0

    # The app's retry, with the same key, goes through.
    retried = _transfer(client, shop, 2000, paid, vendor_order=21, key="vendor-order-21-transfer")
    assert retried.amount == 2000
    assert _available(client, shop) == 2000


def test_transfers_can_fail_until_cleared(client: stripe.StripeClient, emulator: Running) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    _control(
        emulator,
        f"accounts/{shop}/fail_transfers",
        {"code": "transfers_not_allowed", "count": None, "message": "Paused for review."},
    )
    for _ in range(3):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            _transfer(client, shop, 1000, paid)
        assert (raised.value.code, raised.value.user_message) == (
            "transfers_not_allowed",
            "Paused for review.",
        )
    assert _control(emulator, f"accounts/{shop}/fail_transfers", {"code": None}) == {
        "account": shop,
        "code": None,
    }
    assert _transfer(client, shop, 1000, paid).amount == 1000


def test_a_transfer_can_be_made_to_fail_with_a_server_error(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    _control(emulator, f"accounts/{shop}/fail_transfers", {"code": "api_error", "status": 500})
    params: Any = {
        "amount": 1000,
        "currency": "eur",
        "destination": shop,
        "source_transaction": paid.latest_charge,
    }
    with pytest.raises(stripe.APIError) as raised:
        client.v1.transfers.create(params=params, options={"max_network_retries": 0})
    assert raised.value.http_status == 500
    assert client.v1.transfers.list(params={"destination": shop}).data == []


# --- Balances and balance transactions -----------------------------------------------------------------


def test_balances_and_balance_transactions_follow_every_movement_exactly(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    platform_before = _available(client)

    # Stripe's fee on the charge (1.5 % + €0.25, EEA cards) stays with Stripe, the refund included.
    paid = _paid(client, 10000)
    assert _available(client) == platform_before + 10000 - 175
    refund: Any = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1500})
    assert _available(client) == platform_before + 8500 - 175
    transfer = _transfer(client, shop, 6000, paid)
    assert (_available(client), _available(client, shop)) == (platform_before + 2500 - 175, 6000)
    reversal: Any = client.v1.transfers.reversals.create(transfer.id, params={"amount": 2000})
    assert (_available(client), _available(client, shop)) == (platform_before + 4500 - 175, 4000)

    # The platform's newest four transactions are these four movements, each named by its object.
    charge: Any = client.v1.charges.retrieve(paid.latest_charge)
    recent = client.v1.balance_transactions.list(params={"limit": 4}).data
    assert [(t.type, t.reporting_category, t.amount, t.source) for t in recent] == [
        ("transfer_refund", "transfer_reversal", 2000, reversal.id),
        ("transfer", "transfer", -6000, transfer.id),
        ("refund", "refund", -1500, refund.id),
        ("charge", "charge", 10000, charge.id),
    ]
    assert [t.id for t in recent] == [
        reversal.balance_transaction,
        transfer.balance_transaction,
        refund.balance_transaction,
        charge.balance_transaction,
    ]
    assert [(t.fee, t.net) for t in recent] == [(0, 2000), (0, -6000), (0, -1500), (175, 9825)]
    assert [detail.to_dict() for detail in recent[3].fee_details] == [
        {
            "amount": 175,
            "application": None,
            "currency": "eur",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    for transaction in recent:
        assert transaction.object == "balance_transaction"
        assert transaction.currency == "eur"
        assert transaction.fee_details == ([] if transaction.fee == 0 else recent[3].fee_details)
        assert (transaction.status, transaction.available_on) == ("available", transaction.created)
        assert client.v1.balance_transactions.retrieve(transaction.id).to_dict() == transaction.to_dict()

    # The whole ledger adds up to the balance, on the platform and on the shop.
    assert sum(t.net for t in _transactions(client)) == _available(client)
    shop_ledger = _transactions(client, shop)
    assert [(t.type, t.reporting_category, t.amount, t.source) for t in shop_ledger] == [
        ("payment_refund", "refund", -2000, reversal.destination_payment_refund),
        ("payment", "charge", 6000, transfer.destination_payment),
    ]
    assert sum(t.net for t in shop_ledger) == 4000

    balance: Any = client.v1.balance.retrieve(options={"stripe_account": shop})
    assert balance.to_dict() == {
        "object": "balance",
        "available": [{"amount": 4000, "currency": "eur", "source_types": {"card": 4000}}],
        "livemode": False,
        "pending": [{"amount": 0, "currency": "eur", "source_types": {"card": 0}}],
    }

    # Filters, and what belongs to the other side stays there.
    assert [t.id for t in _transactions(client, source=charge.id)] == [charge.balance_transaction]
    assert all(t.type == "refund" for t in _transactions(client, type="refund"))
    assert refund.balance_transaction in {t.id for t in _transactions(client, type="refund")}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.balance_transactions.retrieve(charge.balance_transaction, options={"stripe_account": shop})
    assert raised.value.http_status == 404
    expanded: Any = client.v1.charges.retrieve(paid.latest_charge, params={"expand": ["balance_transaction"]})
    assert (expanded.balance_transaction.id, expanded.balance_transaction.amount) == (
        charge.balance_transaction,
        10000,
    )


def test_a_declined_card_moves_no_money(client: stripe.StripeClient) -> None:
    before = _available(client)
    intent: Any = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "eur", "payment_method_types": ["card"]}
    )
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa_chargeDeclined"})
    failed: Any = client.v1.charges.retrieve(raised.value.json_body["error"]["charge"])  # type: ignore[index]
    assert (failed.status, failed.balance_transaction) == ("failed", None)
    assert _available(client) == before


def test_an_unknown_stripe_account_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        client.v1.balance.retrieve(options={"stripe_account": "acct_doesnotexist"})
    assert raised.value.http_status == 403
    assert raised.value.error is not None
    assert raised.value.error.code == "account_invalid"


# --- Events --------------------------------------------------------------------------------------------


def _event(receiver: Receiver, event_type: str, object_id: str) -> Any:
    delivery = receiver.wait_for(lambda e: e["type"] == event_type and e["data"]["object"]["id"] == object_id)
    return stripe.Webhook.construct_event(
        delivery.payload, delivery.headers["Stripe-Signature"], WEBHOOK_SECRET
    )


def test_transfers_send_signed_events(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    shop = _shop(client, emulator)
    paid = _paid(client, 5000)
    transfer = _transfer(client, shop, 3000, paid, vendor_order=33, key="vendor-order-33-transfer")
    reversal: Any = client.v1.transfers.reversals.create(transfer.id, params={"amount": 1000})
    client.v1.transfers.update(transfer.id, params={"metadata": {"note": "partly refunded"}})
    payout = _control(emulator, f"accounts/{shop}/payout", {})

    created = _event(receiver, "transfer.created", transfer.id)
    assert created.data.object.transfer_group == paid.transfer_group
    assert created.data.object.metadata.to_dict() == {"vendor_order_id": "33"}
    assert created.data.object.balance_transaction == transfer.balance_transaction
    assert created.request.idempotency_key == "vendor-order-33-transfer"
    assert "account" not in created  # the platform's own event
    reversed_ = _event(receiver, "transfer.reversed", transfer.id)
    assert (reversed_.data.object.amount_reversed, reversed_.data.object.reversed) == (1000, False)
    assert reversed_.data.object.reversals.data[0].id == reversal.id
    assert reversed_.data.previous_attributes.amount_reversed == 0
    updated = _event(receiver, "transfer.updated", transfer.id)
    assert updated.data.previous_attributes.metadata.to_dict() == {"note": None}
    assert updated.data.object.metadata.note == "partly refunded"
    paid_out = _event(receiver, "payout.paid", payout["id"])
    assert (paid_out.account, paid_out.data.object.amount) == (shop, 2000)
    refunded_charge = _event(receiver, "charge.succeeded", paid.latest_charge)
    assert refunded_charge.data.object.balance_transaction.startswith("txn_")
