"""Card PaymentMethods: Stripe's test ids (``pm_card_visa``...) and the ``pm_...`` objects made from them.

As in Stripe's test mode, a test id names a card rather than an object: each use of one makes a new
PaymentMethod, whose id the PaymentIntent then holds, and which can be retrieved and used again. Each
card behaves at confirmation as Stripe's documentation of test cards says: it succeeds, is declined with
a given code, or asks for 3-D Secure first. Only card payments are emulated; PaymentMethods created with
``POST /v1/payment_methods`` go on to localstripe, and the emulator's PaymentIntents do not know them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import NotHandled, no_such
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id


@dataclass(frozen=True)
class Decline:
    """How the issuer refuses a charge: the error's ``code`` and ``decline_code``, the charge's outcome."""

    code: str
    decline_code: str
    message: str
    seller_message: str
    outcome_type: str = "issuer_declined"


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str = "visa"
    funding: str = "credit"
    country: str = "US"
    authentication: bool = False  # 3-D Secure on every payment
    decline: Decline | None = None  # after authentication, for a card that asks for both
    charges_only: bool = False  # declined when charged, but attaching it to a customer succeeds
    refund_fails: bool = False  # the charge succeeds; a refund of it succeeds, then fails

    def attach_decline(self) -> Decline | None:
        """Why attaching it to a customer fails: Stripe checks the card then, as a charge would."""
        if self.decline is None or self.authentication or self.charges_only:
            return None
        return self.decline


_NO_DETAILS = "The bank did not return any further details with this decline."
GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.", _NO_DETAILS)
INSUFFICIENT_FUNDS = Decline(
    "card_declined",
    "insufficient_funds",
    "Your card has insufficient funds.",
    "The bank returned the decline code `insufficient_funds`.",
)

# https://docs.stripe.com/testing: the PaymentMethod ids of the test cards.
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("4242424242424242"),
    "pm_card_visa_debit": TestCard("4000056655665556", funding="debit"),
    "pm_card_mastercard": TestCard("5555555555554444", brand="mastercard"),
    "pm_card_amex": TestCard("378282246310005", brand="amex"),
    "pm_card_fr": TestCard("4000002500000003", country="FR"),
    "pm_card_createDispute": TestCard("4000000000000259"),  # disputed right after it succeeds
    "pm_card_visa_chargeDeclined": TestCard("4000000000000002", decline=GENERIC_DECLINE),
    "pm_card_chargeCustomerFail": TestCard("4000000000000341", decline=GENERIC_DECLINE, charges_only=True),
    "pm_card_visa_chargeDeclinedInsufficientFunds": TestCard("4000000000009995", decline=INSUFFICIENT_FUNDS),
    "pm_card_visa_chargeDeclinedLostCard": TestCard(
        "4000000000009987",
        decline=Decline(
            "card_declined",
            "lost_card",
            "Your card was declined.",
            "The bank returned the decline code `lost_card`.",
        ),
    ),
    "pm_card_visa_chargeDeclinedStolenCard": TestCard(
        "4000000000009979",
        decline=Decline(
            "card_declined",
            "stolen_card",
            "Your card was declined.",
            "The bank returned the decline code `stolen_card`.",
        ),
    ),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "4000000000000069",
        decline=Decline(
            "expired_card",
            "expired_card",
            "Your card has expired.",
            "The bank returned the decline code `expired_card`.",
        ),
    ),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard(
        "4000000000000127",
        decline=Decline(
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
            "The bank returned the decline code `incorrect_cvc`.",
        ),
    ),
    "pm_card_chargeDeclinedProcessingError": TestCard(
        "4000000000000119",
        decline=Decline(
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
            "The bank returned the decline code `processing_error`.",
        ),
    ),
    "pm_card_refundFail": TestCard("4000000000005126", refund_fails=True),
    "pm_card_authenticationRequired": TestCard("4000002760003184", country="DE", authentication=True),
    "pm_card_threeDSecure2Required": TestCard("4000000000003220", authentication=True),
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": TestCard(
        "4000008260003178", country="GB", authentication=True, decline=INSUFFICIENT_FUNDS
    ),
}
_DISPLAY_BRAND = {"amex": "american_express"}


def resolve(state: State, payment_method: str, *, param: str = "payment_method") -> StripeObject:
    """The PaymentMethod a request names: one of the emulator's, or a new one made from a test id."""
    if payment_method in state.payment_methods:
        return state.payment_methods.get(payment_method)
    card = TEST_CARDS.get(payment_method)
    if card is None:
        raise no_such("PaymentMethod", payment_method, param=param)
    now = state.now()
    obj: StripeObject = {
        "id": new_id("pm", 24),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": None},
            "country": card.country,
            "display_brand": _DISPLAY_BRAND.get(card.brand, card.brand),
            "exp_month": 12,
            "exp_year": dt.datetime.fromtimestamp(now, dt.UTC).year + 3,
            "fingerprint": hashlib.sha256(card.number.encode()).hexdigest()[:16],
            "funding": card.funding,
            "generated_from": None,
            "last4": card.number[-4:],
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }
    state.cards[obj["id"]] = payment_method
    return state.payment_methods.add(obj)


def card_of(state: State, payment_method: StripeObject) -> TestCard:
    return TEST_CARDS[state.cards[payment_method["id"]]]


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        name = call.args["payment_method"]
        if name not in state.payment_methods and name not in TEST_CARDS:
            raise NotHandled  # one made in localstripe
        p.expand_list(call.params)
        p.check_known(call.params, ())
        return resolve(state, name)


ROUTES = [ApiRoute("GET", "/v1/payment_methods/<payment_method>", retrieve)]
