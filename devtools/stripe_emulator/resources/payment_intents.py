"""PaymentIntents: ``/v1/payment_intents`` with confirm and cancel, card payments as in Stripe's test mode.

A PaymentIntent goes ``requires_payment_method`` → (``requires_confirmation``) → confirmed with a card:
- a card that pays: a succeeded charge, the PaymentIntent ``succeeded``;
- a declined card: a failed charge, the PaymentIntent back to ``requires_payment_method`` with
  ``last_payment_error``, and the request answered 402 ``card_error`` carrying the PaymentIntent (the
  stripe library raises ``CardError``); it can be confirmed again with another card;
- a card asking for 3-D Secure: ``requires_action`` with ``next_action.redirect_to_url`` to the emulator's
  page (``/3d_secure/{token}``), which completes or fails it (or ``POST /_emulator/payment_intents/{id}/
  authenticate``); a failure is ``requires_payment_method`` with ``payment_intent_authentication_failure``.
Events: ``payment_intent.created``, ``.requires_action``, ``.succeeded``, ``.payment_failed``,
``.canceled``, and ``charge.succeeded`` / ``charge.failed``. Only automatic capture and cards.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from copy import deepcopy

from devtools.stripe_emulator import expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.resources import charges, payment_methods
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import AuthenticationRecord, StripeObject, new_id

CREATE_PARAMS = (
    "amount",
    "automatic_payment_methods",
    "confirm",
    "currency",
    "customer",
    "description",
    "metadata",
    "payment_method",
    "payment_method_types",
    "receipt_email",
    "return_url",
    "transfer_group",
)
UPDATE_PARAMS = ("amount", "description", "metadata", "payment_method", "receipt_email", "transfer_group")
CONFIRM_PARAMS = ("payment_method", "receipt_email", "return_url")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
MINIMUM_AMOUNT = {"eur": 50, "usd": 50, "chf": 50, "gbp": 30}  # in cents, as Stripe's minimum charge amounts
MAXIMUM_AMOUNT = 99_999_999
AUTHENTICATION_FAILURE = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Told of every attempt at paying a PaymentIntent once it is settled (paid, declined or failed
# authentication), with the state lock held: billing.py pays or fails the invoice the PaymentIntent is for.
SETTLED: list[Callable[[Backend, StripeObject, RequestInfo], None]] = []


# --- The API -------------------------------------------------------------------------------------------


def create(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "payment_intent")
    p.check_known(params, CREATE_PARAMS)
    amount = _amount(params)
    currency = p.string(params, "currency", required=True)
    assert currency is not None
    currency = currency.lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise p.invalid_param("currency", f"Invalid currency: {currency}.")
    _check_amount(amount, currency)
    confirm = p.boolean(params["confirm"], "confirm") if "confirm" in params else False
    return_url = p.url(params, "return_url")
    if return_url is not None and not confirm:
        raise p.invalid_param("return_url", "You can only specify `return_url` when `confirm` is true.")
    automatic, types = _payment_method_types(params)
    state = call.backend.state
    with state.lock:
        now = state.now()
        intent_id = new_id("pi", 24)
        intent: StripeObject = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": automatic,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": now,
            "currency": currency,
            "customer": p.string(params, "customer"),
            "description": p.string(params, "description"),
            "excluded_payment_method_types": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": p.merge_metadata({}, p.mapping(params, "metadata")),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": types,
            "processing": None,
            "receipt_email": _email(params),
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": p.string(params, "transfer_group"),
        }
        name = p.string(params, "payment_method")
        if name is not None:
            intent["payment_method"] = payment_methods.resolve(state, name)["id"]
            intent["status"] = "requires_confirmation"
        state.payment_intents.add(intent)
        call.backend.emit("payment_intent.created", intent, None, call.request, account=None)
        if confirm:
            _confirm(call.backend, intent, return_url, call.request)
        return expand.expanded(state, intent, paths)


def retrieve(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "payment_intent")
    p.check_known(call.params, ("client_secret",))
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.payment_intents.get(call.args["intent"], param="intent"), paths)


def update(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "payment_intent")
    p.check_known(params, UPDATE_PARAMS)
    state = call.backend.state
    with state.lock:
        intent = state.payment_intents.get(call.args["intent"], param="intent")
        changes: StripeObject = {}
        for key in ("amount", "payment_method"):
            if key in params and intent["status"] not in CONFIRMABLE:
                raise _unexpected_state(
                    intent,
                    f"This PaymentIntent's {key} could not be updated because it has a status of "
                    f"{intent['status']}. You may only update the {key} of a PaymentIntent with one of the "
                    f"following statuses: {', '.join(CONFIRMABLE)}.",
                )
        if "amount" in params:
            changes["amount"] = _amount(params)
            _check_amount(changes["amount"], intent["currency"])
        for key in ("description", "transfer_group"):
            if key in params:
                changes[key] = p.string(params, key)
        if "receipt_email" in params:
            changes["receipt_email"] = _email(params)
        if "metadata" in params:
            changes["metadata"] = p.merge_metadata(intent["metadata"], p.mapping(params, "metadata"))
        name = p.string(params, "payment_method")
        if name is not None:
            changes["payment_method"] = payment_methods.resolve(state, name)["id"]
        if "amount" in changes or "payment_method" in changes:
            # As in Stripe: a PaymentIntent waiting for 3-D Secure must be confirmed again.
            _end_authentication(call.backend, intent["id"])
            method = changes.get("payment_method", intent["payment_method"])
            changes["status"] = "requires_confirmation" if method else "requires_payment_method"
            changes["next_action"] = None
        intent.update(changes, last_payment_error=None)
        return expand.expanded(state, intent, paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "payment_intent", is_list=True)
    p.check_known(params, ("limit", "starting_after", "ending_before", "created", "customer"))
    customer = p.string(params, "customer")
    state = call.backend.state
    with state.lock:
        page = state.payment_intents.page(
            params, where=lambda i: customer is None or i["customer"] == customer
        )
        return expand.expanded(state, page, paths)


def confirm(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "payment_intent")
    p.check_known(params, CONFIRM_PARAMS)
    return_url = p.url(params, "return_url")
    state = call.backend.state
    with state.lock:
        intent = state.payment_intents.get(call.args["intent"], param="intent")
        status = intent["status"]
        if status == "succeeded":
            raise _unexpected_state(
                intent,
                "You cannot confirm this PaymentIntent because it has already succeeded after being "
                "previously confirmed.",
            )
        if status not in CONFIRMABLE:
            raise _unexpected_state(
                intent,
                f"You cannot confirm this PaymentIntent because it has a status of {status}. Only a "
                "PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, "
                "requires_action, requires_payment_method.",
            )
        email = _email(params) if "receipt_email" in params else intent["receipt_email"]
        name = p.string(params, "payment_method")
        if name is None and intent["payment_method"] is None:
            raise _unexpected_state(
                intent,
                "You cannot confirm this PaymentIntent because it's missing a payment method. You can either "
                "update the PaymentIntent with a payment method and then confirm it again, or confirm it "
                "again directly with a payment method.",
            )
        if name is not None:
            intent["payment_method"] = payment_methods.resolve(state, name)["id"]
        intent["receipt_email"] = email
        _confirm(call.backend, intent, return_url, call.request)
        return expand.expanded(state, intent, paths)


def cancel(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "payment_intent")
    p.check_known(params, ("cancellation_reason",))
    reason = p.choice(params, "cancellation_reason", CANCELLATION_REASONS)
    state = call.backend.state
    with state.lock:
        intent = state.payment_intents.get(call.args["intent"], param="intent")
        if intent["status"] not in CANCELABLE:
            raise _unexpected_state(
                intent,
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. Only a "
                f"PaymentIntent with one of the following statuses may be canceled: {', '.join(CANCELABLE)}.",
            )
        _end_authentication(call.backend, intent["id"])
        intent.update(
            status="canceled", canceled_at=state.now(), cancellation_reason=reason, next_action=None
        )
        call.backend.emit("payment_intent.canceled", intent, None, call.request, account=None)
        return expand.expanded(state, intent, paths)


ROUTES = [
    ApiRoute("POST", "/v1/payment_intents", create),
    ApiRoute("GET", "/v1/payment_intents", list_all),
    ApiRoute("GET", "/v1/payment_intents/<intent>", retrieve),
    ApiRoute("POST", "/v1/payment_intents/<intent>", update),
    ApiRoute("POST", "/v1/payment_intents/<intent>/confirm", confirm),
    ApiRoute("POST", "/v1/payment_intents/<intent>/cancel", cancel),
]


# --- Paying ----------------------------------------------------------------------------------------------


def _confirm(backend: Backend, intent: StripeObject, return_url: str | None, request: RequestInfo) -> None:
    """Attempt the payment with the PaymentIntent's card; a decline raises the 402 Stripe answers."""
    state = backend.state
    _end_authentication(backend, intent["id"])
    intent.update(last_payment_error=None, next_action=None)
    method = state.payment_methods.get(intent["payment_method"])
    card = payment_methods.card_of(state, method)
    if not card.authentication:
        error = _charge(backend, intent, method, authenticated=False, request=request)
        if error is not None:
            raise error
        return
    token = secrets.token_urlsafe(24)
    state.authentications[token] = AuthenticationRecord(token, intent["id"], return_url)
    url = f"{backend.settings.public_url}/3d_secure/{token}"
    if return_url is not None:
        next_action: StripeObject = {
            "redirect_to_url": {"return_url": return_url, "url": url},
            "type": "redirect_to_url",
        }
    else:  # Stripe.js would handle it; here the page says how it went, with nowhere to return to
        next_action = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url},
        }
    intent.update(status="requires_action", next_action=next_action)
    backend.emit("payment_intent.requires_action", intent, None, request, account=None)


def _charge(
    backend: Backend, intent: StripeObject, method: StripeObject, *, authenticated: bool, request: RequestInfo
) -> ApiError | None:
    """Charge the card: the PaymentIntent succeeds, or fails with the error a confirmation answers."""
    state = backend.state
    card = payment_methods.card_of(state, method)
    charge = charges.new(state, intent, method, card, authenticated=authenticated)
    intent.update(latest_charge=charge["id"], next_action=None)
    decline = card.decline
    if decline is None:
        intent.update(status="succeeded", amount_received=intent["amount"])
        backend.emit("charge.succeeded", charge, None, request, account=None)
        backend.emit("payment_intent.succeeded", intent, None, request, account=None)
        _settled(backend, intent, request)
        return None
    doc_url = "https://docs.stripe.com/error-codes/" + decline.code.replace("_", "-")
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error={
            "charge": charge["id"],
            "code": decline.code,
            "decline_code": decline.decline_code,
            "doc_url": doc_url,
            "message": decline.message,
            "payment_method": deepcopy(method),
            "type": "card_error",
        },
    )
    backend.emit("charge.failed", charge, None, request, account=None)
    backend.emit("payment_intent.payment_failed", intent, None, request, account=None)
    _settled(backend, intent, request)
    return ApiError(
        402,
        decline.message,
        type="card_error",
        code=decline.code,
        extra={
            "charge": charge["id"],
            "decline_code": decline.decline_code,
            "doc_url": doc_url,
            "payment_intent": deepcopy(intent),
            "payment_method": deepcopy(method),
        },
        executed=True,
    )


def _settled(backend: Backend, intent: StripeObject, request: RequestInfo) -> None:
    for listener in SETTLED:
        listener(backend, intent, request)


def attempt(backend: Backend, intent: StripeObject, request: RequestInfo) -> ApiError | None:
    """Confirm ``intent`` with its ``payment_method`` for an invoice: the decline is returned, not raised.

    A card asking for 3-D Secure leaves it ``requires_action`` (``use_stripe_sdk``, the emulator's page).
    """
    try:
        _confirm(backend, intent, None, request)
    except ApiError as error:
        return error
    return None


def pending_authentication(backend: Backend, token: str) -> StripeObject | None:
    """The PaymentIntent a 3-D Secure page authenticates, while it waits for it."""
    record = backend.state.authentications.get(token)
    if record is None or record.finished or record.payment_intent not in backend.state.payment_intents:
        return None
    intent = backend.state.payment_intents.get(record.payment_intent)
    return intent if intent["status"] == "requires_action" else None


def authenticate(backend: Backend, intent_id: str, *, success: bool, request: RequestInfo) -> StripeObject:
    """The cardholder completes (or fails) 3-D Secure: the payment is then attempted, or given up."""
    state = backend.state
    with state.lock:
        intent = state.payment_intents.get(intent_id, param="intent")
        record = next(
            (r for r in state.authentications.values() if r.payment_intent == intent_id and not r.finished),
            None,
        )
        if intent["status"] != "requires_action" or record is None:
            raise _unexpected_state(
                intent,
                f"This PaymentIntent is not awaiting authentication: its status is {intent['status']}.",
            )
        record.finished = True
        method = state.payment_methods.get(intent["payment_method"])
        if success:
            _charge(backend, intent, method, authenticated=True, request=request)
            return deepcopy(intent)
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_payment_error={
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://docs.stripe.com/error-codes/payment-intent-authentication-failure",
                "message": AUTHENTICATION_FAILURE,
                "payment_method": deepcopy(method),
                "type": "invalid_request_error",
            },
        )
        backend.emit("payment_intent.payment_failed", intent, None, request, account=None)
        _settled(backend, intent, request)
        return deepcopy(intent)


def _end_authentication(backend: Backend, intent_id: str) -> None:
    for record in backend.state.authentications.values():
        if record.payment_intent == intent_id:
            record.finished = True


# --- Parameters ------------------------------------------------------------------------------------------


def _amount(params: p.Params) -> int:
    if params.get("amount") in (None, ""):
        raise p.missing_param("amount")
    amount = p.integer(params["amount"], "amount")
    if amount < 1:
        raise p.invalid_param("amount", "This value must be greater than or equal to 1.")
    return amount


def _check_amount(amount: int, currency: str) -> None:
    minimum = MINIMUM_AMOUNT.get(currency)
    if minimum is not None and amount < minimum:
        raise p.invalid_param(
            "amount", f"Amount must be at least {minimum / 100:.2f} {currency}", code="amount_too_small"
        )
    if amount > MAXIMUM_AMOUNT:
        raise p.invalid_param(
            "amount",
            f"Amount must be no more than {MAXIMUM_AMOUNT / 100:.2f} {currency}",
            code="amount_too_large",
        )


def _email(params: p.Params) -> str | None:
    email = p.string(params, "receipt_email")
    if email is not None and not _EMAIL.match(email):
        raise p.invalid_param("receipt_email", f"Invalid email address: {email}", code="email_invalid")
    return email


def _payment_method_types(params: p.Params) -> tuple[StripeObject | None, list[str]]:
    """``automatic_payment_methods`` (Stripe's default) or explicit types; cards are all there is here."""
    automatic = p.mapping(params, "automatic_payment_methods")
    types = params.get("payment_method_types")
    if automatic is not None and types is not None:
        raise p.invalid_param(
            "automatic_payment_methods",
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            code="parameters_exclusive",
        )
    if types is None:
        automatic = automatic or {"enabled": "true"}
        p.check_known(automatic, ("enabled", "allow_redirects"), "automatic_payment_methods")
        enabled = p.boolean(automatic.get("enabled", "true"), "automatic_payment_methods[enabled]")
        redirects = p.choice(automatic, "allow_redirects", ("always", "never")) or "always"
        return {"allow_redirects": redirects, "enabled": enabled} if enabled else None, ["card"]
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise p.invalid_param("payment_method_types", "Invalid array")
    for name in types:
        if name != "card":
            raise p.invalid_param(
                "payment_method_types",
                f"The payment method type `{name}` is not emulated: the Stripe emulator takes cards only.",
            )
    return None, list(types)


def _unexpected_state(intent: StripeObject, message: str) -> ApiError:
    return ApiError(
        400,
        message,
        code="payment_intent_unexpected_state",
        extra={"payment_intent": deepcopy(intent)},
    )
