"""Connect accounts: ``/v1/accounts``, and the changes onboarding and the control endpoints make to them.

The object follows Stripe's documented Account shape. A new account cannot take charges or payouts and
lists what Stripe would ask for in ``requirements``; it becomes enabled only when its holder goes through
onboarding (the emulator's page, or ``POST /_emulator/accounts/{id}/complete``). Every change after
creation emits ``account.updated`` with ``previous_attributes``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.core import Backend, RequestInfo
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import StripeObject, new_id

# Stripe defaults an account's country to the platform's: this marketplace's is France.
PLATFORM_COUNTRY = "FR"
CURRENCY_BY_COUNTRY = {
    "US": "usd",
    "GB": "gbp",
    "CH": "chf",
    "CA": "cad",
    "AU": "aud",
    "JP": "jpy",
    "SE": "sek",
    "DK": "dkk",
    "NO": "nok",
    "PL": "pln",
    "CZ": "czk",
    "HU": "huf",
    "RO": "ron",
}

ACCOUNT_TYPES = ("express", "standard", "custom")
BUSINESS_TYPES = ("company", "government_entity", "individual", "non_profit")
DISABLED_REASONS = (
    "action_required.requested_capabilities",
    "listed",
    "other",
    "platform_paused",
    "rejected.fraud",
    "rejected.incomplete_verification",
    "rejected.listed",
    "rejected.other",
    "rejected.platform_fraud",
    "rejected.platform_other",
    "rejected.platform_terms_of_service",
    "rejected.terms_of_service",
    "requirements.past_due",
    "requirements.pending_verification",
    "under_review",
)
# Accepted and validated as Stripe takes them; those without a place in the object only clear requirements.
_COMMON_PARAMS = {
    "account_token",
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "default_currency",
    "documents",
    "email",
    "external_account",
    "groups",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
}
CREATE_PARAMS = _COMMON_PARAMS | {"type", "country", "controller"}
UPDATE_PARAMS = _COMMON_PARAMS

BUSINESS_PROFILE = (
    "annual_revenue",
    "estimated_worker_count",
    "mcc",
    "minority_owned_business_designation",
    "name",
    "product_description",
    "support_address",
    "support_email",
    "support_phone",
    "support_url",
    "url",
)

_COMMON_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
_PERSON = [
    "address.city",
    "address.line1",
    "address.postal_code",
    "dob.day",
    "dob.month",
    "dob.year",
    "email",
    "first_name",
    "last_name",
    "phone",
]
_COMPANY = [
    "company.address.city",
    "company.address.line1",
    "company.address.postal_code",
    "company.name",
    "company.phone",
    "company.tax_id",
    *(f"representative.{f}" for f in _PERSON),
    "representative.relationship.title",
]
REQUIREMENTS_BY_BUSINESS_TYPE: dict[str | None, list[str]] = {
    None: ["business_type"],
    "individual": [f"individual.{f}" for f in _PERSON],
    "company": [*_COMPANY, "owners.first_name", "owners.last_name"],
    "non_profit": _COMPANY,
    "government_entity": _COMPANY,
}

_CONTROLLERS: dict[str, dict[str, Any]] = {
    "express": {
        "fees": {"payer": "application"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "stripe",
        "stripe_dashboard": {"type": "express"},
        "type": "application",
    },
    "standard": {
        "fees": {"payer": "account"},
        "is_controller": True,
        "losses": {"payments": "stripe"},
        "requirement_collection": "stripe",
        "stripe_dashboard": {"type": "full"},
        "type": "application",
    },
    "custom": {
        "fees": {"payer": "application"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "application",
        "stripe_dashboard": {"type": "none"},
        "type": "application",
    },
}
_TYPE_BY_DASHBOARD = {"express": "express", "full": "standard", "none": "custom"}

_SETTINGS: dict[str, Any] = {
    "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
    "card_payments": {
        "decline_on": {"avs_failure": False, "cvc_failure": False},
        "statement_descriptor_prefix": None,
    },
    "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
    "payments": {"statement_descriptor": None},
    "payouts": {
        "debit_negative_balances": True,
        "schedule": {"delay_days": 7, "interval": "daily"},
        "statement_descriptor": None,
    },
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- The API -------------------------------------------------------------------------------------------


def create(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, CREATE_PARAMS)
    account_type = _account_type(params)
    country = (p.string(params, "country") or PLATFORM_COUNTRY).upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise p.invalid_param("country", f"Country '{country}' is unknown. Try using a 2-character ISO code.")
    account_id = new_id("acct")
    account: StripeObject = {
        "id": account_id,
        "object": "account",
        "business_profile": dict.fromkeys(BUSINESS_PROFILE),
        "business_type": p.choice(params, "business_type", BUSINESS_TYPES),
        "capabilities": {},
        "charges_enabled": False,
        "controller": deepcopy(_CONTROLLERS[account_type]),
        "country": country,
        "created": call.backend.state.now(),
        "default_currency": CURRENCY_BY_COUNTRY.get(country, "eur"),
        "details_submitted": False,
        "email": None,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/accounts/{account_id}/external_accounts",
        },
        "future_requirements": _requirements([]),
        "metadata": {},
        "payouts_enabled": False,
        "requirements": _requirements([]),
        "settings": deepcopy(_SETTINGS),
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": account_type,
    }
    _apply(account, params)
    due = [item for item in _initial_requirements(account) if item not in p.paths(params, "")]
    account["requirements"] = _requirements(due, disabled_reason="requirements.past_due", past_due=due)
    with call.backend.state.lock:
        return call.backend.state.accounts.add(account)


def retrieve(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    return call.backend.state.accounts.get(call.args["account"], param="account")


def update(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, UPDATE_PARAMS)

    def apply(account: StripeObject) -> None:
        old_business_type = account["business_type"]
        _apply(account, params)
        provided = p.paths(params, "")
        requirements = account["requirements"]
        if account["business_type"] != old_business_type and not account["details_submitted"]:
            due = [item for item in _initial_requirements(account) if item not in provided]
            reason = requirements["disabled_reason"]
            requirements.update(_requirements(due, disabled_reason=reason, past_due=due if reason else []))
        for key in ("currently_due", "eventually_due", "past_due"):
            requirements[key] = [item for item in requirements[key] if item not in provided]

    return change(call.backend, call.args["account"], apply, call.request)


def list_all(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ("limit", "starting_after", "ending_before", "created"))
    return call.backend.state.accounts.page(call.params)


def delete(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        account = state.accounts.delete(call.args["account"])
        for token in [t for t, link in state.account_links.items() if link.account == account["id"]]:
            del state.account_links[token]
    return {"id": account["id"], "object": "account", "deleted": True}


ROUTES = [
    ApiRoute("POST", "/v1/accounts", create),
    ApiRoute("GET", "/v1/accounts", list_all),
    ApiRoute("GET", "/v1/accounts/<account>", retrieve),
    ApiRoute("POST", "/v1/accounts/<account>", update),
    ApiRoute("DELETE", "/v1/accounts/<account>", delete),
]


# --- Changes made by onboarding and the control endpoints ----------------------------------------------


def change(
    backend: Backend, account_id: str, mutate: Callable[[StripeObject], None], request: RequestInfo
) -> StripeObject:
    """Apply ``mutate`` to an account and, if anything changed, emit ``account.updated``."""
    with backend.state.lock:
        account = backend.state.accounts.get(account_id, param="account")
        before = deepcopy(account)
        try:
            mutate(account)
        except Exception:
            account.clear()
            account.update(before)  # a refused change leaves nothing half-done
            raise
        previous = previous_attributes(before, account)
        if previous:
            backend.emit("account.updated", account, previous, request, account=account_id)
        return account


def complete_onboarding(account: StripeObject, now: int) -> None:
    """What Stripe's hosted onboarding leads to in test mode: everything provided and verified."""
    account["details_submitted"] = True
    account["charges_enabled"] = True
    account["payouts_enabled"] = True
    account["business_type"] = account["business_type"] or "individual"
    account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
    _add_test_bank_account(account)
    account["requirements"] = _requirements([])
    account["future_requirements"] = _requirements([])
    if account["tos_acceptance"]["date"] is None:
        account["tos_acceptance"].update(date=now, ip="127.0.0.1")


def _add_test_bank_account(account: StripeObject) -> None:
    """The bank account onboarding asks for, as Stripe lists it under ``external_accounts``: Stripe's
    test IBAN of the account's country (FR1420041010050500013M02606), only its last four digits shown."""
    external = account["external_accounts"]
    if external["data"]:
        return
    external["data"].append(
        {
            "id": new_id("ba"),
            "object": "bank_account",
            "account": account["id"],
            "account_holder_name": None,
            "account_holder_type": None,
            "bank_name": "STRIPE TEST BANK",
            "country": account["country"],
            "currency": account["default_currency"],
            "default_for_currency": True,
            "fingerprint": f"fp_{account['id'][-12:]}",
            "last4": "2606",
            "metadata": {},
            "routing_number": "20041010",
            "status": "new",
        }
    )
    external["total_count"] = 1


def set_requirements(account: StripeObject, body: dict[str, Any], now: int) -> None:
    """Put requirements on an account as Stripe does when it needs more: past due disables the account.

    ``body``: ``currently_due`` (list), ``disabled_reason`` (defaults to ``requirements.past_due`` when
    something is due, ``null`` to keep the account enabled until ``current_deadline``), and optionally
    ``eventually_due``, ``past_due``, ``pending_verification``, ``current_deadline``, ``charges_enabled``
    and ``payouts_enabled`` (to disable one without the other).
    """
    known = (
        "currently_due",
        "eventually_due",
        "past_due",
        "pending_verification",
        "disabled_reason",
        "current_deadline",
        "charges_enabled",
        "payouts_enabled",
    )
    p.check_known(body, known)
    lists = {
        key: _string_list(body, key)
        for key in ("currently_due", "eventually_due", "past_due", "pending_verification")
    }
    currently_due = lists["currently_due"] or []
    if "disabled_reason" in body:
        reason = body["disabled_reason"]
        if reason is not None and reason not in DISABLED_REASONS:
            raise p.invalid_param(
                "disabled_reason", f"Invalid disabled_reason: must be one of {DISABLED_REASONS}"
            )
    else:
        reason = "requirements.past_due" if currently_due else None
    deadline = body.get("current_deadline")
    if deadline is not None:
        deadline = p.integer(deadline, "current_deadline")
    elif currently_due and reason is None:
        deadline = now + 14 * 24 * 3600
    past_due = lists["past_due"] if lists["past_due"] is not None else (currently_due if reason else [])
    account["requirements"] = _requirements(
        currently_due,
        disabled_reason=reason,
        eventually_due=sorted({*currently_due, *(lists["eventually_due"] or [])}),
        past_due=past_due,
        pending_verification=lists["pending_verification"] or [],
        current_deadline=deadline,
    )
    enabled = reason is None and account["details_submitted"]
    for key in ("charges_enabled", "payouts_enabled"):
        account[key] = enabled and (p.boolean(body[key], key) if key in body else True)
    if enabled:
        status = "active"
    elif reason in ("requirements.pending_verification", "under_review"):
        status = "pending"
    else:
        status = "inactive"
    account["capabilities"] = dict.fromkeys(account["capabilities"], status)


def is_enabled(account: StripeObject) -> bool:
    return bool(account["details_submitted"]) and account["requirements"]["disabled_reason"] is None


# --- Parameters ------------------------------------------------------------------------------------------


def _account_type(params: p.Params) -> str:
    account_type = p.choice(params, "type", ACCOUNT_TYPES)
    controller = p.mapping(params, "controller")
    if account_type and controller:
        raise p.invalid_param(
            "controller", "You cannot pass both `type` and `controller`.", "parameters_exclusive"
        )
    if account_type:
        return account_type
    if controller is None:
        raise p.missing_param("type")
    p.check_known(controller, ("fees", "losses", "requirement_collection", "stripe_dashboard"), "controller")
    dashboard = p.mapping(controller, "stripe_dashboard", param="controller[stripe_dashboard]") or {}
    return _TYPE_BY_DASHBOARD.get(dashboard.get("type", "full"), "standard")


def _apply(account: StripeObject, params: p.Params) -> None:
    """The parameters that create and update share, checked and written into the account."""
    if "business_type" in params:
        account["business_type"] = p.choice(params, "business_type", BUSINESS_TYPES)
    if "email" in params:
        email = p.string(params, "email")
        if email is not None and not _EMAIL.match(email):
            raise p.invalid_param("email", f"Invalid email address: {email}", "email_invalid")
        account["email"] = email
    if "default_currency" in params:
        currency = p.string(params, "default_currency", required=True)
        assert currency is not None
        account["default_currency"] = currency.lower()
    profile = p.mapping(params, "business_profile")
    if profile is not None:
        p.check_known(profile, BUSINESS_PROFILE, "business_profile")
        for key, value in profile.items():
            if key == "estimated_worker_count" and value != "":
                value = p.integer(value, f"business_profile[{key}]")
            account["business_profile"][key] = None if value == "" else value
    capabilities = p.mapping(params, "capabilities")
    if capabilities is not None:
        _apply_capabilities(account, capabilities)
    settings = p.mapping(params, "settings")
    if settings is not None:
        p.check_known(settings, _SETTINGS, "settings")
        _merge(account["settings"], settings, "settings")
    tos = p.mapping(params, "tos_acceptance")
    if tos is not None:
        if account["controller"]["requirement_collection"] == "stripe":
            raise p.invalid_param(
                "tos_acceptance",
                "You cannot accept the Terms of Service on behalf of an account where Stripe collects "
                "requirements (Standard and Express accounts): its holder accepts them during onboarding.",
            )
        p.check_known(tos, ("date", "ip", "service_agreement", "user_agent"), "tos_acceptance")
        if "date" in tos:
            tos["date"] = p.integer(tos["date"], "tos_acceptance[date]")
        account["tos_acceptance"].update({k: v for k, v in tos.items() if k != "service_agreement"})
    for name in ("company", "individual", "documents", "groups"):
        p.mapping(params, name)  # accepted (they only clear requirements), but must be hashes
    account["metadata"] = p.merge_metadata(account["metadata"], p.mapping(params, "metadata"))


def _apply_capabilities(account: StripeObject, capabilities: p.Params) -> None:
    for name, options in capabilities.items():
        param = f"capabilities[{name}]"
        if not re.fullmatch(r"[a-z0-9_]+", name) or not isinstance(options, dict):
            raise p.invalid_param(param, f"Invalid capability: {name}")
        p.check_known(options, ("requested",), param)
        if "requested" not in options:
            raise p.missing_param(f"{param}[requested]")
        if p.boolean(options["requested"], f"{param}[requested]"):
            if name not in account["capabilities"]:
                account["capabilities"][name] = "active" if is_enabled(account) else "inactive"
        else:
            account["capabilities"].pop(name, None)


def _merge(target: dict[str, Any], given: p.Params, param: str) -> None:
    """Deep-merge form values into a settings hash, typed like the values they replace."""
    for key, value in given.items():
        name = f"{param}[{key}]"
        current = target.get(key)
        if isinstance(value, dict):
            if current is None:
                target[key] = current = {}
            if not isinstance(current, dict):
                raise p.invalid_param(name, f"Invalid string: {name}")
            _merge(current, value, name)
        elif isinstance(current, bool) or value in ("true", "false"):
            target[key] = p.boolean(value, name)
        elif isinstance(value, str) and value.isdigit():
            target[key] = int(value)
        else:
            target[key] = None if value == "" else value


def _string_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, f"{key} must be a list of strings", param=key)
    return sorted(value)


def _initial_requirements(account: StripeObject) -> list[str]:
    items = [*_COMMON_REQUIREMENTS, *REQUIREMENTS_BY_BUSINESS_TYPE[account["business_type"]]]
    known = {f"business_profile.{k}" for k, v in account["business_profile"].items() if v is not None}
    return sorted(item for item in items if item not in known)


def _requirements(
    currently_due: list[str],
    *,
    disabled_reason: str | None = None,
    eventually_due: list[str] | None = None,
    past_due: list[str] | None = None,
    pending_verification: list[str] | None = None,
    current_deadline: int | None = None,
) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": current_deadline,
        "currently_due": list(currently_due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(eventually_due if eventually_due is not None else currently_due),
        "past_due": list(past_due or []),
        "pending_verification": list(pending_verification or []),
    }
