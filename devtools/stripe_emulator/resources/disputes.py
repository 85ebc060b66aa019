"""Disputes (chargebacks): ``/v1/disputes``, opened by Stripe's dispute test card, closed by the tests.

As in Stripe's test mode, a payment with ``pm_card_createDispute`` (4000 0000 0000 0259) succeeds and is
disputed at once: a ``needs_response`` Dispute (reason ``fraudulent``), its amount and the dispute fee
withdrawn from the platform's balance in one balance transaction (``type: "adjustment"``,
``reporting_category: "dispute"``, the fee in ``fee``/``fee_details``), and the events
``charge.dispute.created`` and ``charge.dispute.funds_withdrawn``.

- ``POST /v1/disputes/{id}`` ``evidence[...]``, ``metadata``, ``submit=true``: evidence saved
  (``charge.dispute.updated``); submitted, the dispute goes ``under_review``. The fields that take a
  File (``receipt``, ``shipping_documentation``, ``uncategorized_file``...) must name a File uploaded
  with ``POST /v1/files`` for ``dispute_evidence`` (``resources/files.py``).
- ``POST /v1/disputes/{id}/close``: the platform accepts the dispute, which is lost
  (``charge.dispute.closed``).
- ``POST /_emulator/disputes/{id}/close`` ``{"status": "won" | "lost"}``: what the card network decides.
  Won, the amount is reinstated (``charge.dispute.funds_reinstated``), the fee too when
  ``fee_returned_on_win`` (Stripe keeps it in most countries, the EU included: off by default).
- ``POST /_emulator/charges/{id}/dispute``: a succeeded charge disputed now (after a transfer, say).
- ``POST /_emulator/disputes/settings`` ``{"fee"?: 2000, "fee_returned_on_win"?: false}``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import balances, expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import DASHBOARD, Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.resources import payment_intents, payment_methods
from devtools.stripe_emulator.routing import ApiCall, ApiRoute, WebRoute, json_response
from devtools.stripe_emulator.state import State, StripeObject, new_id

DISPUTE_CARD = "4000000000000259"
RESPONSE_DAYS = 7  # the evidence is due a week after the dispute opened
STATUSES = (
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "under_review",
    "won",
    "lost",
)
CLOSED = ("won", "lost", "warning_closed")
# https://docs.stripe.com/api/disputes/object#dispute_object-evidence: the fields taking a File id.
FILE_FIELDS = (
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
)
TEXT_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
MAX_EVIDENCE_CHARS = 150_000  # Stripe's limit on all the text fields together

expand.EXPANDABLE["dispute"] = {"charge": "charges", "payment_intent": "payment_intents"}


def open_dispute(backend: Backend, charge: StripeObject, request: RequestInfo) -> StripeObject:
    """Dispute a succeeded charge as the cardholder's bank does: the money and the fee are withdrawn."""
    state = backend.state
    with state.lock:
        now = state.now()
        dispute: StripeObject = {
            "id": new_id("dp", 24),
            "object": "dispute",
            "amount": charge["amount_captured"],
            "balance_transactions": [],
            "charge": charge["id"],
            "created": now,
            "currency": charge["currency"],
            "enhanced_eligibility_types": [],
            "evidence": dict.fromkeys(sorted((*FILE_FIELDS, *TEXT_FIELDS))),
            "evidence_details": {
                "due_by": now + RESPONSE_DAYS * 86400,
                "enhanced_eligibility": {},
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "payment_method_details": {
                "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
                "type": "card",
            },
            "reason": "fraudulent",
            "status": "needs_response",
        }
        state.disputes.add(dispute)
        before = deepcopy(charge)
        charge["disputed"] = True
        backend.emit("charge.dispute.created", dispute, None, request, account=None)
        fee = int(state.dispute_settings["fee"])
        _move(state, dispute, -dispute["amount"], fee, "Chargeback withdrawal for " + charge["id"])
        backend.emit("charge.dispute.funds_withdrawn", dispute, None, request, account=None)
        backend.emit("charge.updated", charge, previous_attributes(before, charge), request, account=None)
        return dispute


def _move(state: State, dispute: StripeObject, amount: int, fee: int, description: str) -> None:
    """One balance transaction of the dispute: ``amount`` moved, ``fee`` charged (negative: given back)."""
    transaction = balances.record(
        state,
        None,
        amount=amount,
        currency=dispute["currency"],
        type="adjustment",
        reporting_category="dispute" if amount < 0 else "dispute_reversal",
        source=dispute["id"],
        description=description,
    )
    if fee:
        transaction.update(
            fee=fee,
            fee_details=[
                {
                    "amount": fee,
                    "application": None,
                    "currency": dispute["currency"],
                    "description": "Dispute fee",
                    "type": "stripe_fee",
                }
            ],
            net=amount - fee,
        )
    dispute["balance_transactions"].append(deepcopy(transaction))


def _on_settled(backend: Backend, intent: StripeObject, request: RequestInfo) -> None:
    """A payment with the dispute test card is disputed as soon as it succeeds."""
    state = backend.state
    if intent["status"] != "succeeded" or not intent.get("latest_charge"):
        return
    method = state.payment_methods.get(intent["payment_method"])
    if payment_methods.card_of(state, method).number != DISPUTE_CARD:
        return
    charge = state.charges.get(intent["latest_charge"])
    if not charge["disputed"]:
        open_dispute(backend, charge, request)


payment_intents.SETTLED.append(_on_settled)


# --- The API ---------------------------------------------------------------------------------------------


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        paths = expand.requested(call.params, "dispute")
        p.check_known(call.params, ())
        return expand.expanded(state, state.disputes.get(call.args["dispute"]), paths)


def list_all(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    with state.lock:
        paths = expand.requested(params, "dispute", is_list=True)
        p.check_known(
            params, ("limit", "starting_after", "ending_before", "created", "charge", "payment_intent")
        )
        charge_id, intent_id = p.string(params, "charge"), p.string(params, "payment_intent")
        page = state.disputes.page(
            params,
            where=lambda d: (
                (charge_id is None or d["charge"] == charge_id)
                and (intent_id is None or d["payment_intent"] == intent_id)
            ),
        )
        return expand.expanded(state, page, paths)


def update(call: ApiCall) -> StripeObject:
    params = call.params
    state = call.backend.state
    with state.lock:
        paths = expand.requested(params, "dispute")
        p.check_known(params, ("evidence", "metadata", "submit"))
        dispute = state.disputes.get(call.args["dispute"])
        evidence = p.mapping(params, "evidence") or {}
        _check_evidence(state, evidence)
        explicit = params.get("submit") not in (None, "")
        submit = p.boolean(params["submit"], "submit") if explicit else True  # Stripe's default
        if dispute["status"] in CLOSED:
            raise ApiError(
                400,
                f"This dispute is already closed ({dispute['status']}): its evidence cannot be changed.",
                code="invalid_dispute_state",
            )
        reviewed = dispute["status"] in ("under_review", "warning_under_review")
        if reviewed and (evidence or (explicit and submit)):
            raise ApiError(
                400,
                "This dispute's evidence was already submitted and is under review.",
                code="invalid_dispute_state",
            )
        before = deepcopy(dispute)
        for name, value in evidence.items():
            dispute["evidence"][name] = value or None
        text = sum(len(v) for k, v in dispute["evidence"].items() if k in TEXT_FIELDS and v)
        if text > MAX_EVIDENCE_CHARS:
            raise p.invalid_param("evidence", f"Evidence text is limited to {MAX_EVIDENCE_CHARS} characters.")
        dispute["evidence_details"]["has_evidence"] = any(dispute["evidence"].values())
        dispute["metadata"] = p.merge_metadata(dispute["metadata"], p.mapping(params, "metadata"))
        if submit and not reviewed:
            dispute["evidence_details"]["submission_count"] += 1
            dispute["status"] = (
                "under_review" if dispute["status"] == "needs_response" else "warning_under_review"
            )
        previous = previous_attributes(before, dispute)
        if previous:
            call.backend.emit("charge.dispute.updated", dispute, previous, call.request, account=None)
        return expand.expanded(state, dispute, paths)


def accept(call: ApiCall) -> StripeObject:
    """``POST /v1/disputes/{id}/close``: the platform accepts the dispute; it is lost."""
    state = call.backend.state
    with state.lock:
        paths = expand.requested(call.params, "dispute")
        p.check_known(call.params, ())
        dispute = state.disputes.get(call.args["dispute"])
        if dispute["status"] not in CLOSED:
            close(call.backend, dispute, "lost", call.request)
        return expand.expanded(state, dispute, paths)


def close(backend: Backend, dispute: StripeObject, status: str, request: RequestInfo) -> None:
    """Close the dispute; won, the money comes back (and the fee when the settings say so)."""
    state = backend.state
    with state.lock:
        if dispute["status"] in CLOSED:
            raise ApiError(
                400, f"This dispute is already closed ({dispute['status']}).", code="invalid_dispute_state"
            )
        before = deepcopy(dispute)
        dispute["status"] = status
        if status == "won":
            fee = int(state.dispute_settings["fee"]) if state.dispute_settings["fee_returned_on_win"] else 0
            _move(state, dispute, dispute["amount"], -fee, "Chargeback reversal for " + dispute["charge"])
            backend.emit("charge.dispute.funds_reinstated", dispute, None, request, account=None)
        backend.emit(
            "charge.dispute.closed", dispute, previous_attributes(before, dispute), request, account=None
        )


def _check_evidence(state: State, evidence: dict[str, Any]) -> None:
    for name, value in evidence.items():
        if name not in FILE_FIELDS and name not in TEXT_FIELDS:
            raise p.invalid_param(f"evidence[{name}]", f"Received unknown parameter: evidence[{name}]")
        if not isinstance(value, str):
            raise p.invalid_param(f"evidence[{name}]", "Invalid string")
        # A File uploaded here for dispute evidence (resources/files.py), as Stripe checks.
        uploaded = value in state.files and state.files.get(value)["purpose"] == "dispute_evidence"
        if name in FILE_FIELDS and value and not uploaded:
            raise p.invalid_param(f"evidence[{name}]", f"No such file upload: '{value}'")


ROUTES = [
    ApiRoute("GET", "/v1/disputes", list_all),
    ApiRoute("GET", "/v1/disputes/<dispute>", retrieve),
    ApiRoute("POST", "/v1/disputes/<dispute>", update),
    ApiRoute("POST", "/v1/disputes/<dispute>/close", accept),
]


# --- /_emulator: what the card network decides -----------------------------------------------------------


def control_close(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("status",))
    status = body.get("status")
    if status not in ("won", "lost"):
        raise p.invalid_param("status", 'status must be "won" or "lost"')
    state = backend.state
    with state.lock:
        dispute = state.disputes.get(args["dispute"], param="dispute")
        close(backend, dispute, status, DASHBOARD)
        return json_response(deepcopy(dispute))


def control_dispute(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    """A succeeded charge disputed now (the test card disputes at once; this, after a transfer)."""
    p.check_known(p.json_body(request), ())
    state = backend.state
    with state.lock:
        charge = state.charges.get(args["charge"], param="charge")
        if charge["status"] != "succeeded" or charge["disputed"]:
            raise p.invalid_param("charge", f"Charge {charge['id']} cannot be disputed (again).")
        return json_response(deepcopy(open_dispute(backend, charge, DASHBOARD)))


def control_settings(backend: Backend, request: Request, args: dict[str, str]) -> Response:
    body = p.json_body(request)
    p.check_known(body, ("fee", "fee_returned_on_win"))
    state = backend.state
    with state.lock:
        settings = state.dispute_settings
        if "fee" in body:
            fee = p.integer(body["fee"], "fee")
            if fee < 0:
                raise p.invalid_param("fee", "fee must be 0 or more")
            settings["fee"] = fee
        if "fee_returned_on_win" in body:
            settings["fee_returned_on_win"] = p.boolean(body["fee_returned_on_win"], "fee_returned_on_win")
        return json_response(dict(settings))


CONTROL_ROUTES = [
    WebRoute("POST", "/_emulator/disputes/settings", control_settings),
    WebRoute("POST", "/_emulator/disputes/<dispute>/close", control_close),
    WebRoute("POST", "/_emulator/charges/<charge>/dispute", control_dispute),
]
