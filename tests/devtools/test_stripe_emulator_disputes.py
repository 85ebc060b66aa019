"""Disputes through the emulator, driven with the official stripe library as payouts.disputes drives it:
the dispute test card opens one, evidence is submitted, the network decides (``/_emulator``), and the
platform's balance follows: the amount and the fee withdrawn, the amount reinstated when won."""

from __future__ import annotations

import io
from typing import Any

import pytest
import stripe

from tests.devtools.support import Receiver, http
from tests.plugins.stripe import Running

WEBHOOK_SECRET = "whsec_emulator_dispute_tests"


def _control(emulator: Running, path: str, body: dict[str, Any], status: int = 200) -> Any:
    answer = http("POST", f"{emulator.url}/_emulator/{path}", json_body=body)
    assert answer.status == status, answer.text
    return answer.json()


def _available(client: stripe.StripeClient) -> int:
    balance: Any = client.v1.balance.retrieve()
    return sum(int(entry.amount) for entry in balance.available if entry.currency == "eur")


def _disputed(client: stripe.StripeClient, amount: int) -> Any:
    params: Any = {
        "amount": amount,
        "currency": "eur",
        "payment_method_types": ["card"],
        "payment_method": "pm_card_createDispute",
        "confirm": True,
    }
    intent: Any = client.v1.payment_intents.create(params=params)
    assert intent.status == "succeeded"
    (dispute,) = client.v1.disputes.list(params={"payment_intent": intent.id}).data
    return dispute


def _events(receiver: Receiver, dispute_id: str) -> list[str]:
    return [
        d.event["type"]
        for d in receiver.deliveries
        if d.event["type"].startswith("charge.dispute.") and d.event["data"]["object"]["id"] == dispute_id
    ]


def test_the_dispute_card_opens_a_dispute_in_stripes_shape_and_withdraws_amount_and_fee(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    before = _available(client)
    dispute = _disputed(client, 4500)

    assert dispute.id.startswith("dp_")
    assert (dispute.object, dispute.amount, dispute.currency) == ("dispute", 4500, "eur")
    assert (dispute.reason, dispute.status) == ("fraudulent", "needs_response")
    assert dispute.evidence_details.due_by > dispute.created
    (withdrawal,) = dispute.balance_transactions
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-4500, 2000, -6500)
    assert withdrawal.source == dispute.id
    charge: Any = client.v1.charges.retrieve(dispute.charge)
    assert charge.disputed is True
    # The charge's own balance transaction (and its fee, if any) plus the withdrawal.
    charge_txn: Any = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert _available(client) == before + int(charge_txn.net) - 6500
    receiver.wait_for(lambda e: e["type"] == "charge.dispute.funds_withdrawn")
    assert _events(receiver, dispute.id) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]


def test_evidence_submitted_then_won_reinstates_the_amount_but_not_the_fee(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    dispute = _disputed(client, 3000)

    updated: Any = client.v1.disputes.update(
        dispute.id,
        params={
            "evidence": {"shipping_tracking_number": "6A123", "uncategorized_text": "Remis en main propre."},
            "submit": True,
        },
    )
    assert updated.status == "under_review"
    assert updated.evidence.shipping_tracking_number == "6A123"
    assert updated.evidence_details.submission_count == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute.id, params={"evidence": {"customer_name": "X"}})

    before = _available(client)
    won = _control(emulator, f"disputes/{dispute.id}/close", {"status": "won"})
    assert won["status"] == "won"
    assert [t["net"] for t in won["balance_transactions"]] == [-5000, 3000]
    assert _available(client) == before + 3000
    receiver.wait_for(
        lambda e: e["type"] == "charge.dispute.closed" and e["data"]["object"]["id"] == dispute.id
    )
    assert _events(receiver, dispute.id) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    ]
    # Closed: nothing more can happen to it.
    _control(emulator, f"disputes/{dispute.id}/close", {"status": "lost"}, status=400)


def test_the_fee_returned_on_win_and_its_amount_are_settings(
    client: stripe.StripeClient, emulator: Running
) -> None:
    _control(emulator, "disputes/settings", {"fee": 1500, "fee_returned_on_win": True})
    try:
        dispute = _disputed(client, 1000)
        won = _control(emulator, f"disputes/{dispute.id}/close", {"status": "won"})
        assert [t["net"] for t in won["balance_transactions"]] == [-2500, 2500]
    finally:
        _control(emulator, "disputes/settings", {"fee": 2000, "fee_returned_on_win": False})
    _control(emulator, "disputes/settings", {"fee": -1}, status=400)


def test_accepting_a_dispute_loses_it_and_bad_evidence_is_refused_by_name(
    client: stripe.StripeClient, emulator: Running
) -> None:
    dispute = _disputed(client, 2000)
    unknown: Any = {"evidence": {"favourite_colour": "blue"}}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.disputes.update(dispute.id, params=unknown)
    assert refused.value.param == "evidence[favourite_colour]"

    before = _available(client)
    lost: Any = client.v1.disputes.close(dispute.id)
    assert lost.status == "lost"
    assert _available(client) == before, "a lost dispute moves no more money"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute.id, params={"evidence": {"customer_name": "X"}})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.retrieve("dp_unknown")


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _upload(client: stripe.StripeClient, content: bytes, name: str) -> Any:
    upload = io.BytesIO(content)
    upload.name = name
    params: Any = {"purpose": "dispute_evidence", "file": upload}
    return client.v1.files.create(params=params)


def test_files_are_uploaded_in_stripes_shape_and_named_in_the_evidence(client: stripe.StripeClient) -> None:
    proof = _upload(client, PDF, "delivery.pdf")
    assert proof.id.startswith("file_")
    assert (proof.object, proof.purpose, proof.type, proof.size) == (
        "file",
        "dispute_evidence",
        "pdf",
        len(PDF),
    )
    assert proof.filename == "delivery.pdf"
    assert client.v1.files.retrieve(proof.id).size == len(PDF)
    photo = _upload(client, PNG, "parcel.png")
    assert photo.type == "png"

    dispute = _disputed(client, 3000)
    evidence: Any = {"shipping_documentation": proof.id, "uncategorized_file": photo.id}
    updated: Any = client.v1.disputes.update(dispute.id, params={"evidence": evidence, "submit": True})
    assert updated.status == "under_review"
    assert updated.evidence.shipping_documentation == proof.id
    assert updated.evidence.uncategorized_file == photo.id


def test_files_of_other_types_and_evidence_naming_unknown_files_are_refused(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _upload(client, b"GIF89a" + b"\x00" * 20, "cat.gif")
    assert refused.value.param == "file"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _upload(client, b"%PDF-" + b"x" * (5 * 1024 * 1024), "huge.pdf")
    assert refused.value.param == "file"
    without_file: Any = {"purpose": "dispute_evidence"}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.files.create(params=without_file)
    assert refused.value.param == "file"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.files.retrieve("file_unknown")

    dispute = _disputed(client, 2500)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.disputes.update(dispute.id, params={"evidence": {"receipt": "file_unknown"}})
    assert refused.value.param == "evidence[receipt]"
