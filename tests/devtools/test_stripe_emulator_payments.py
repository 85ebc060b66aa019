"""Checkout payments through the emulator, as the app makes them with the official stripe library.

PaymentIntents created and confirmed server-side with Stripe's test cards, 3-D Secure through the
emulator's page (plain HTTP) or its control endpoint, cancellation, partial refunds, and the webhooks
they cause. One emulator serves the module; each test makes its own PaymentIntents.
"""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from tests.devtools.support import Receiver, http
from tests.plugins.stripe import Running

API_KEY = "sk_test_local_emulator"
WEBHOOK_SECRET = "whsec_emulator_payment_tests"
RETURN_URL = "http://127.0.0.1:5000/checkout/M-2026-000123/return?step=pay"
_orders = itertools.count(1)


def _order_params(amount: int = 2350) -> dict[str, Any]:
    number = f"M-2026-{next(_orders):06d}"
    return {
        "amount": amount,
        "currency": "eur",
        "transfer_group": number,
        "description": f"Commande {number}",
        "receipt_email": "camille@example.fr",
        "metadata": {"order_id": number[-3:], "order_number": number},
        "payment_method_types": ["card"],
    }


def _intent(client: stripe.StripeClient, amount: int = 2350) -> Any:
    params: Any = _order_params(amount)
    return client.v1.payment_intents.create(
        params=params, options={"idempotency_key": params["transfer_group"]}
    )


def _confirm(client: stripe.StripeClient, intent_id: str, card: str, key: str | None = None) -> Any:
    return client.v1.payment_intents.confirm(
        intent_id,
        params={"payment_method": card, "return_url": RETURN_URL},
        options={"idempotency_key": key or f"{intent_id}-{card}"},
    )


def _paid(client: stripe.StripeClient, amount: int = 5000) -> Any:
    intent = _intent(client, amount)
    paid = _confirm(client, intent.id, "pm_card_visa")
    assert paid.status == "succeeded"
    return paid


def _control(emulator: Running, intent_id: str, body: dict[str, Any]) -> Any:
    answer = http(
        "POST", f"{emulator.url}/_emulator/payment_intents/{intent_id}/authenticate", json_body=body
    )
    assert answer.status == 200, answer.text
    return answer.json()


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- Creating -------------------------------------------------------------------------------------------


def test_creates_a_payment_intent_with_what_localstripe_would_refuse(client: stripe.StripeClient) -> None:
    params = _order_params()
    intent: Any = client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]

    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
    assert intent.status == "requires_payment_method"
    assert (intent.amount, intent.currency, intent.amount_received) == (2350, "eur", 0)
    assert intent.transfer_group == params["transfer_group"]
    assert intent.description == params["description"]
    assert intent.receipt_email == "camille@example.fr"
    assert intent.metadata.to_dict() == params["metadata"]
    assert intent.payment_method_types == ["card"]
    assert intent.automatic_payment_methods is None
    assert intent.latest_charge is None
    assert intent.next_action is None
    assert intent.last_payment_error is None
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.capture_method == "automatic_async"
    assert client.v1.payment_intents.retrieve(intent.id).to_dict() == intent.to_dict()


def test_an_idempotency_key_returns_the_same_payment_intent(client: stripe.StripeClient) -> None:
    params: Any = _order_params()
    options: Any = {"idempotency_key": f"order-{params['transfer_group']}"}
    first = client.v1.payment_intents.create(params=params, options=options)
    again = client.v1.payment_intents.create(params=params, options=options)

    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    listed = client.v1.payment_intents.list(params={"limit": 100}).data
    assert [i.id for i in listed if i.transfer_group == params["transfer_group"]] == [first.id]

    other: Any = {**params, "amount": 999}
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params=other, options=options)


def test_refuses_what_stripe_refuses(client: stripe.StripeClient) -> None:
    base: Any = _order_params()
    changes: list[tuple[dict[str, Any], str, str | None]] = [
        ({"amount": 20}, "amount", "amount_too_small"),
        ({"currency": None}, "currency", "parameter_missing"),
        ({"receipt_email": "not-an-email"}, "receipt_email", "email_invalid"),
        ({"colour": "blue"}, "colour", "parameter_unknown"),
        ({"return_url": RETURN_URL}, "return_url", None),  # only with confirm=true
    ]
    for change, param, code in changes:
        wrong: Any = {**base, **change}
        with pytest.raises(stripe.InvalidRequestError) as raised:
            client.v1.payment_intents.create(params=wrong)
        assert (raised.value.param, raised.value.code) == (param, code)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_doesnotexist0000")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


# --- Confirming -----------------------------------------------------------------------------------------


def test_a_card_that_pays_makes_a_succeeded_charge_carrying_the_transfer_group(
    client: stripe.StripeClient,
) -> None:
    intent = _intent(client)
    paid: Any = _confirm(client, intent.id, "pm_card_visa")

    assert paid.status == "succeeded"
    assert paid.amount_received == 2350
    assert paid.next_action is None
    assert paid.last_payment_error is None
    assert isinstance(paid.latest_charge, str)
    assert paid.latest_charge.startswith("ch_")
    # A test id names a card: the PaymentIntent holds the PaymentMethod made from it.
    assert re.fullmatch(r"pm_\w{24}", paid.payment_method)
    method: Any = client.v1.payment_methods.retrieve(paid.payment_method)
    assert (method.type, method.card.brand, method.card.last4) == ("card", "visa", "4242")

    charge: Any = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (2350, 2350, 0)
    assert charge.transfer_group == intent.transfer_group
    assert charge.payment_intent == intent.id
    assert charge.payment_method == paid.payment_method
    assert charge.description == intent.description
    assert charge.receipt_email == "camille@example.fr"
    assert charge.metadata.to_dict() == intent.metadata.to_dict()
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.outcome.type == "authorized"

    expanded: Any = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    assert expanded.latest_charge.to_dict() == charge.to_dict()
    assert client.v1.payment_intents.retrieve(intent.id).latest_charge == charge.id
    listed = client.v1.charges.list(params={"transfer_group": intent.transfer_group}).data
    assert [c.id for c in listed] == [charge.id]

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _confirm(client, intent.id, "pm_card_visa", key="again")
    assert raised.value.code == "payment_intent_unexpected_state"


def test_a_declined_card_is_a_card_error_and_another_card_can_pay(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    with pytest.raises(stripe.CardError) as raised:
        _confirm(client, intent.id, "pm_card_visa_chargeDeclined", key="decline-1")

    error = raised.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.user_message == "Your card was declined."
    assert error.error is not None
    assert error.error.type == "card_error"
    assert error.error.decline_code == "generic_decline"
    failed_intent: Any = error.error.payment_intent
    assert failed_intent.id == intent.id
    assert failed_intent.status == "requires_payment_method"
    assert error.error.charge == failed_intent.latest_charge

    declined: Any = client.v1.payment_intents.retrieve(intent.id)
    assert declined.status == "requires_payment_method"
    assert declined.payment_method is None
    assert declined.last_payment_error.code == "card_declined"
    assert declined.last_payment_error.decline_code == "generic_decline"
    assert declined.last_payment_error.type == "card_error"
    assert declined.last_payment_error.payment_method.card.last4 == "0002"
    failed_charge: Any = client.v1.charges.retrieve(declined.latest_charge)
    assert (failed_charge.status, failed_charge.paid, failed_charge.failure_code) == (
        "failed",
        False,
        "card_declined",
    )
    assert failed_charge.outcome.reason == "generic_decline"

    # The stripe library retrying with the same key gets the same answer, and charges nothing more.
    with pytest.raises(stripe.CardError) as replayed:
        _confirm(client, intent.id, "pm_card_visa_chargeDeclined", key="decline-1")
    assert replayed.value.headers is not None
    assert replayed.value.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.charges.list(params={"payment_intent": intent.id}).data) == 1

    paid: Any = _confirm(client, intent.id, "pm_card_visa", key="second-attempt")
    assert paid.status == "succeeded"
    assert paid.last_payment_error is None
    assert paid.latest_charge != failed_charge.id
    charges = client.v1.charges.list(params={"payment_intent": intent.id}).data
    assert [(c.id, c.status) for c in charges] == [
        (paid.latest_charge, "succeeded"),
        (failed_charge.id, "failed"),
    ]


def test_confirming_with_an_unknown_payment_method_names_it(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _confirm(client, intent.id, "pm_doesnotexist")
    assert (raised.value.param, raised.value.code) == ("payment_method", "resource_missing")
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_create_and_confirm_in_one_request(client: stripe.StripeClient) -> None:
    params: Any = {
        **_order_params(),
        "payment_method": "pm_card_mastercard",
        "confirm": True,
        "expand": ["latest_charge"],
    }
    intent: Any = client.v1.payment_intents.create(params=params)
    assert intent.status == "succeeded"
    assert intent.latest_charge.payment_method_details.card.brand == "mastercard"


def test_updates_and_confirms_what_was_updated(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    updated: Any = client.v1.payment_intents.update(
        intent.id,
        params={
            "amount": 2600,
            "metadata": {"order_number": "", "note": "x"},
            "payment_method": "pm_card_visa",
        },
    )
    assert (updated.amount, updated.status) == (2600, "requires_confirmation")
    assert updated.metadata.to_dict() == {"order_id": intent.metadata.order_id, "note": "x"}

    paid: Any = client.v1.payment_intents.confirm(intent.id)
    assert (paid.status, paid.amount_received) == ("succeeded", 2600)
    assert client.v1.payment_intents.update(intent.id, params={"description": "Payée"}).description == "Payée"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.update(intent.id, params={"amount": 100})
    assert raised.value.code == "payment_intent_unexpected_state"


# --- 3-D Secure ---------------------------------------------------------------------------------------------


def test_a_card_asking_for_3d_secure_redirects_to_the_emulator_page(
    client: stripe.StripeClient, emulator: Running
) -> None:
    intent = _intent(client)
    pending: Any = _confirm(client, intent.id, "pm_card_authenticationRequired")

    assert pending.status == "requires_action"
    action = pending.next_action.to_dict()
    assert set(action) == {"type", "redirect_to_url"}
    assert action["type"] == "redirect_to_url"
    assert action["redirect_to_url"]["return_url"] == RETURN_URL
    assert re.fullmatch(re.escape(emulator.url) + r"/3d_secure/[\w-]{20,}", action["redirect_to_url"]["url"])
    assert pending.latest_charge is None
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


def test_authenticating_through_the_control_endpoint(client: stripe.StripeClient, emulator: Running) -> None:
    intent = _intent(client)
    pending: Any = _confirm(client, intent.id, "pm_card_authenticationRequired")

    answered = _control(emulator, intent.id, {"success": True})
    assert answered["status"] == "succeeded"
    assert answered["next_action"] is None
    paid: Any = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    assert paid.status == "succeeded"
    assert paid.latest_charge.id == answered["latest_charge"]
    assert paid.latest_charge.payment_method_details.card.three_d_secure.result == "authenticated"
    assert paid.latest_charge.transfer_group == intent.transfer_group

    # The page of that attempt now only sends the shopper back, with the outcome.
    visit = http("GET", pending.next_action.redirect_to_url.url)
    assert visit.status == 302
    assert _query(visit.headers["Location"])["redirect_status"] == ["succeeded"]

    nothing_pending = http(
        "POST",
        f"{emulator.url}/_emulator/payment_intents/{intent.id}/authenticate",
        json_body={"success": True},
    )
    assert nothing_pending.status == 400
    assert nothing_pending.json()["error"]["code"] == "payment_intent_unexpected_state"


def test_failing_authentication_leaves_the_payment_to_another_card(
    client: stripe.StripeClient, emulator: Running
) -> None:
    intent = _intent(client)
    _confirm(client, intent.id, "pm_card_authenticationRequired")

    answered = _control(emulator, intent.id, {"success": False})
    assert answered["status"] == "requires_payment_method"
    failed: Any = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    assert failed.latest_charge is None  # no charge is attempted without authentication
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    assert failed.last_payment_error.payment_method.card.last4 == "3184"

    assert _confirm(client, intent.id, "pm_card_visa").status == "succeeded"


def test_the_3d_secure_page_completes_the_payment(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    url = _confirm(client, intent.id, "pm_card_authenticationRequired").next_action.redirect_to_url.url

    page = http("GET", url)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    for label in ("Authentifier", "Complete", "Échouer", "Fail", "23.50 EUR", "3184"):
        assert label in page.text
    assert "<script" not in page.text
    assert not re.search(r'(src|href)="', page.text)

    answer = http("POST", url, form={"action": "complete"})
    assert answer.status == 303
    location = answer.headers["Location"]
    assert location.startswith("http://127.0.0.1:5000/checkout/M-2026-000123/return?step=pay&")
    assert _query(location) == {
        "step": ["pay"],
        "payment_intent": [intent.id],
        "payment_intent_client_secret": [intent.client_secret],
        "redirect_status": ["succeeded"],
    }
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_the_3d_secure_page_fails_the_payment(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    url = _confirm(client, intent.id, "pm_card_authenticationRequired").next_action.redirect_to_url.url

    answer = http("POST", url, form={"action": "fail"})
    assert answer.status == 303
    assert _query(answer.headers["Location"])["redirect_status"] == ["failed"]
    failed: Any = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"

    # The page served its attempt: a second answer changes nothing.
    again = http("POST", url, form={"action": "complete"})
    assert again.status == 303
    assert _query(again.headers["Location"])["redirect_status"] == ["failed"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    assert http("POST", url, form={"action": "maybe"}).status == 400
    assert http("GET", url.rsplit("/", 1)[0] + "/unknown-token").status == 404


def test_without_return_url_stripe_js_would_authenticate(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    pending: Any = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_threeDSecure2Required"}
    )
    assert pending.status == "requires_action"
    assert pending.next_action.type == "use_stripe_sdk"
    page_url = pending.next_action.use_stripe_sdk.stripe_js

    answer = http("POST", page_url, form={"action": "complete"})
    assert answer.status == 200
    assert "succeeded" in answer.text
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_a_card_declined_after_authentication(client: stripe.StripeClient, emulator: Running) -> None:
    intent = _intent(client)
    _confirm(client, intent.id, "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds")
    answered = _control(emulator, intent.id, {})  # success by default
    assert answered["status"] == "requires_payment_method"
    assert answered["last_payment_error"]["decline_code"] == "insufficient_funds"
    charge: Any = client.v1.charges.retrieve(answered["latest_charge"])
    assert charge.status == "failed"


# --- Canceling ------------------------------------------------------------------------------------------


def test_an_unpaid_payment_intent_is_canceled(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    canceled: Any = client.v1.payment_intents.cancel(intent.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"
    assert canceled.canceled_at >= intent.created

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _confirm(client, intent.id, "pm_card_visa")
    assert raised.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(intent.id)


def test_canceling_while_authenticating_voids_the_page(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    url = _confirm(client, intent.id, "pm_card_authenticationRequired").next_action.redirect_to_url.url
    assert client.v1.payment_intents.cancel(intent.id).status == "canceled"

    answer = http("POST", url, form={"action": "complete"})
    assert answer.status == 303
    assert _query(answer.headers["Location"])["redirect_status"] == ["failed"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "canceled"


def test_a_paid_payment_intent_cannot_be_canceled(client: stripe.StripeClient) -> None:
    paid = _paid(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.cancel(paid.id)
    assert raised.value.code == "payment_intent_unexpected_state"
    assert "status of succeeded" in str(raised.value.user_message)
    assert client.v1.payment_intents.retrieve(paid.id).status == "succeeded"


# --- Refunds --------------------------------------------------------------------------------------------


def test_partial_refunds_down_to_nothing_left(client: stripe.StripeClient) -> None:
    paid = _paid(client, amount=5000)

    first: Any = client.v1.refunds.create(
        params={
            "payment_intent": paid.id,
            "amount": 1500,
            "reason": "requested_by_customer",
            "metadata": {"refund_id": "7"},
        },
        options={"idempotency_key": "refund-7"},
    )
    assert first.id.startswith("re_")
    assert (first.object, first.status, first.amount, first.currency) == ("refund", "succeeded", 1500, "eur")
    assert first.reason == "requested_by_customer"
    assert first.metadata.to_dict() == {"refund_id": "7"}
    assert (first.payment_intent, first.charge) == (paid.id, paid.latest_charge)
    replayed = client.v1.refunds.create(
        params={
            "payment_intent": paid.id,
            "amount": 1500,
            "reason": "requested_by_customer",
            "metadata": {"refund_id": "7"},
        },
        options={"idempotency_key": "refund-7"},
    )
    assert replayed.id == first.id

    second = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 2000})
    charge: Any = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (3500, False)
    listed = client.v1.refunds.list(params={"payment_intent": paid.id}).data
    assert [r.id for r in listed] == [second.id, first.id]
    assert client.v1.refunds.retrieve(first.id).to_dict() == first.to_dict()

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 2000})
    assert raised.value.http_status == 400
    assert raised.value.param == "amount"
    assert raised.value.user_message == (
        "Refund amount (€20.00) is greater than unrefunded amount on charge (€15.00)"
    )

    rest: Any = client.v1.refunds.create(params={"charge": paid.latest_charge})
    assert rest.amount == 1500
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1})
    assert raised.value.code == "charge_already_refunded"
    assert client.v1.payment_intents.retrieve(paid.id).status == "succeeded"


def test_an_unpaid_payment_intent_has_nothing_to_refund(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 100})
    assert raised.value.param == "payment_intent"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": _paid(client).id, "reason": "because"})
    assert raised.value.param == "reason"


# --- Webhooks -------------------------------------------------------------------------------------------


def _event(receiver: Receiver, event_type: str, object_id: str) -> Any:
    delivery = receiver.wait_for(lambda e: e["type"] == event_type and e["data"]["object"]["id"] == object_id)
    return stripe.Webhook.construct_event(
        delivery.payload, delivery.headers["Stripe-Signature"], WEBHOOK_SECRET
    )


def test_payments_send_signed_webhooks_with_the_transfer_group(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    declined = _intent(client)
    with pytest.raises(stripe.CardError):
        _confirm(client, declined.id, "pm_card_visa_chargeDeclined")
    paid = _confirm(client, declined.id, "pm_card_visa")
    refund = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 500})
    abandoned = _intent(client)
    client.v1.payment_intents.cancel(abandoned.id)

    created = _event(receiver, "payment_intent.created", declined.id)
    assert created.data.object.status == "requires_payment_method"
    failed = _event(receiver, "payment_intent.payment_failed", declined.id)
    assert failed.data.object.status == "requires_payment_method"
    assert failed.data.object.last_payment_error.code == "card_declined"
    assert failed.data.object.transfer_group == declined.transfer_group
    succeeded = _event(receiver, "payment_intent.succeeded", declined.id)
    assert succeeded.data.object.status == "succeeded"
    assert succeeded.data.object.transfer_group == declined.transfer_group
    assert succeeded.data.object.metadata.to_dict() == declined.metadata.to_dict()
    assert succeeded.data.object.latest_charge == paid.latest_charge
    assert succeeded.request.id.startswith("req_")
    assert succeeded.request.idempotency_key == f"{declined.id}-pm_card_visa"
    charge_event = _event(receiver, "charge.succeeded", paid.latest_charge)
    assert charge_event.data.object.transfer_group == declined.transfer_group
    refunded = _event(receiver, "charge.refunded", paid.latest_charge)
    assert refunded.data.object.amount_refunded == 500
    assert refunded.data.previous_attributes.amount_refunded == 0
    assert _event(receiver, "refund.created", refund.id).data.object.amount == 500
    assert _event(receiver, "payment_intent.canceled", abandoned.id).data.object.status == "canceled"

    kept = client.v1.events.retrieve(succeeded.id)
    assert kept.data.object.id == declined.id


def test_authentication_events(client: stripe.StripeClient, emulator: Running, receiver: Receiver) -> None:
    intent = _intent(client)
    _confirm(client, intent.id, "pm_card_authenticationRequired")
    action = _event(receiver, "payment_intent.requires_action", intent.id)
    assert action.data.object.next_action.type == "redirect_to_url"
    _control(emulator, intent.id, {"success": False})
    failed = _event(receiver, "payment_intent.payment_failed", intent.id)
    assert failed.data.object.last_payment_error.code == "payment_intent_authentication_failure"
    assert failed.request.id is None  # the cardholder's doing, not an API request


def test_localstripe_still_sends_its_own_events(client: stripe.StripeClient, receiver: Receiver) -> None:
    params: Any = {"amount": 500, "currency": "eur", "interval": "month", "product": {"name": "Panier"}}
    plan = client.v1.plans.create(params=params)
    _event(receiver, "plan.created", plan.id)


def test_unexpandable_properties_are_refused(client: stripe.StripeClient) -> None:
    intent = _intent(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve(intent.id, params={"expand": ["customer_account"]})
    assert raised.value.param == "expand"


def test_a_refund_of_the_refund_fail_card_is_answered_succeeded_then_fails(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    intent = _intent(client, 4000)
    paid = _confirm(client, intent.id, "pm_card_refundFail")
    assert paid.status == "succeeded"
    refund: Any = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1500})
    assert refund.status == "succeeded"  # as Stripe answers; the failure comes after
    failed = _event(receiver, "refund.failed", refund.id)
    assert failed.data.object.status == "failed"
    assert failed.data.object.failure_reason == "expired_or_canceled_card"
    assert _event(receiver, "refund.updated", refund.id).data.previous_attributes.status == "succeeded"
    now = client.v1.refunds.retrieve(refund.id)
    assert (now.status, now.failure_balance_transaction is not None) == ("failed", True)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    movements = [
        (t.type, t.amount)
        for t in client.v1.balance_transactions.list(params={"limit": 100}).data
        if t.source == refund.id
    ]
    assert sorted(movements) == [("refund", -1500), ("refund_failure", 1500)]
