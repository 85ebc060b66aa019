"""The emulator's WSGI app in-process, for what a subprocess makes slow or impossible (time, internals)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from werkzeug.test import Client, TestResponse

from devtools.stripe_emulator import create_app, params
from devtools.stripe_emulator.app import Emulator
from devtools.stripe_emulator.events import previous_attributes, signature_header
from tests.devtools.support import Receiver, webhook_receiver

AUTH = {"Authorization": "Bearer sk_test_local_emulator"}
PUBLIC_URL = "http://127.0.0.1:8420"


class FakeClock:
    """Now, until a test moves it (webhook signatures must stay within stripe's tolerance of real time)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[Emulator]:
    app = create_app(PUBLIC_URL, clock=clock)
    yield app
    app.close()


@pytest.fixture
def web(emulator: Emulator) -> Client:
    return Client(emulator)


def _account(web: Client, **form: str) -> dict[str, Any]:
    answer = web.post("/v1/accounts", data={"type": "express", **form}, headers=AUTH)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return dict(answer.json or {})


def _link(web: Client, account_id: str) -> str:
    answer = web.post(
        "/v1/account_links",
        data={
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:5000/refresh",
            "return_url": "http://127.0.0.1:5000/return",
        },
        headers=AUTH,
    )
    assert answer.status_code == 200
    return str((answer.json or {})["url"]).removeprefix(PUBLIC_URL)


def _session(page: TestResponse) -> str:
    match = re.search(r'name="session" value="([^"]+)"', page.get_data(as_text=True))
    assert match is not None
    return match.group(1)


def _error(answer: TestResponse) -> dict[str, Any]:
    return dict((answer.json or {})["error"])


# --- Encoding --------------------------------------------------------------------------------------------


def test_decodes_stripes_bracket_syntax() -> None:
    decoded = params.decode(
        "metadata[shop_id]=3&capabilities[transfers][requested]=true&expand[0]=a&expand[1]=b"
        "&items[][price]=p1&items[][price]=p2&metadata[0]=zero&email="
    )
    assert decoded == {
        "metadata": {"shop_id": "3", "0": "zero"},
        "capabilities": {"transfers": {"requested": "true"}},
        "expand": ["a", "b"],
        "items": [{"price": "p1"}, {"price": "p2"}],
        "email": "",
    }


def test_a_key_both_value_and_hash_is_refused() -> None:
    with pytest.raises(params.ApiError) as raised:
        params.decode("metadata=x&metadata[a]=b")
    assert raised.value.param == "metadata"


def test_signatures_are_those_stripe_verifies() -> None:
    payload = '{"id": "evt_1", "object": "event"}'
    header = signature_header(payload, "whsec_abc", 1_800_000_000)
    stripe.WebhookSignature.verify_header(payload, header, "whsec_abc", tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other", tolerance=None)


def test_previous_attributes_hold_only_what_changed() -> None:
    before = {
        "email": "a@x.fr",
        "metadata": {"k": "1"},
        "requirements": {"currently_due": ["x"], "errors": []},
    }
    after = {
        "email": "a@x.fr",
        "metadata": {"k": "1", "n": "2"},
        "requirements": {"currently_due": [], "errors": []},
    }
    assert previous_attributes(before, after) == {
        "metadata": {"n": None},
        "requirements": {"currently_due": ["x"]},
    }


# --- The API's conventions -------------------------------------------------------------------------------


def test_basic_auth_with_the_key_as_user_is_accepted(web: Client) -> None:
    token = base64.b64encode(b"sk_test_local_emulator:").decode()
    assert web.get("/v1/accounts", headers={"Authorization": f"Basic {token}"}).status_code == 200


def test_a_live_or_malformed_key_is_refused(web: Client) -> None:
    for header in ("Bearer sk_live_abcdefghijkl", "Bearer pk_test_abcdef", "Basic !!!"):
        answer = web.get("/v1/accounts", headers={"Authorization": header})
        assert answer.status_code == 401
        assert _error(answer)["type"] == "invalid_request_error"


def test_each_response_has_a_request_id(web: Client) -> None:
    answer = web.get("/v1/accounts", headers=AUTH)
    assert re.fullmatch(r"req_\w{14}", answer.headers["Request-Id"])


def test_an_idempotency_key_is_bound_to_its_endpoint_and_parameters(web: Client) -> None:
    headers = {**AUTH, "Idempotency-Key": "k1"}
    first = web.post("/v1/accounts", data={"type": "express"}, headers=headers)
    again = web.post("/v1/accounts", data={"type": "express"}, headers=headers)
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"

    elsewhere = web.post("/v1/account_links", data={"type": "express"}, headers=headers)
    assert elsewhere.status_code == 400
    assert _error(elsewhere)["type"] == "idempotency_error"
    # Another key (or another API key) is another request.
    other = web.post("/v1/accounts", data={"type": "express"}, headers={**AUTH, "Idempotency-Key": "k2"})
    assert (other.json or {})["id"] != (first.json or {})["id"]


def test_a_refused_request_is_not_kept_for_its_idempotency_key(web: Client) -> None:
    headers = {**AUTH, "Idempotency-Key": "k3"}
    assert web.post("/v1/accounts", data={"type": "nope"}, headers=headers).status_code == 400
    assert web.post("/v1/accounts", data={"type": "nope"}, headers=headers).status_code == 400


def test_lists_page_both_ways(web: Client) -> None:
    ids = [_account(web)["id"] for _ in range(5)]  # newest last
    newest_first = ids[::-1]
    page = web.get(f"/v1/accounts?limit=2&starting_after={newest_first[1]}", headers=AUTH).json or {}
    assert [a["id"] for a in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True
    page = web.get(f"/v1/accounts?limit=2&ending_before={newest_first[2]}", headers=AUTH).json or {}
    assert [a["id"] for a in page["data"]] == newest_first[0:2]
    assert page["has_more"] is False
    assert web.get("/v1/accounts?limit=0", headers=AUTH).status_code == 400


def test_express_accounts_cannot_accept_terms_for_their_holder(web: Client) -> None:
    answer = web.post("/v1/accounts", data={"type": "express", "tos_acceptance[date]": "1"}, headers=AUTH)
    assert _error(answer)["param"] == "tos_acceptance"


def test_settings_merge_typed_and_unknown_settings_are_refused(web: Client) -> None:
    account = _account(web, **{"settings[payouts][schedule][interval]": "manual"})
    assert account["settings"]["payouts"]["schedule"] == {"delay_days": 7, "interval": "manual"}
    updated = web.post(
        f"/v1/accounts/{account['id']}",
        data={
            "settings[payouts][debit_negative_balances]": "false",
            "settings[payouts][schedule][delay_days]": "2",
        },
        headers=AUTH,
    ).json
    assert updated is not None
    assert updated["settings"]["payouts"]["debit_negative_balances"] is False
    assert updated["settings"]["payouts"]["schedule"]["delay_days"] == 2
    refused = web.post(f"/v1/accounts/{account['id']}", data={"settings[colours][x]": "1"}, headers=AUTH)
    assert _error(refused)["param"] == "settings[colours]"


def test_country_and_type_cannot_be_changed(web: Client) -> None:
    account = _account(web)
    answer = web.post(f"/v1/accounts/{account['id']}", data={"country": "DE"}, headers=AUTH)
    assert (_error(answer)["param"], _error(answer)["code"]) == ("country", "parameter_unknown")


def test_the_business_type_decides_the_requirements(web: Client) -> None:
    account = _account(web)
    assert "business_type" in account["requirements"]["currently_due"]
    individual = web.post(
        f"/v1/accounts/{account['id']}", data={"business_type": "individual"}, headers=AUTH
    ).json
    assert individual is not None
    due = individual["requirements"]["currently_due"]
    assert "individual.first_name" in due
    assert "business_type" not in due
    assert not any(item.startswith("representative.") for item in due)


def test_without_localstripe_unrouted_paths_are_unrecognized_urls(web: Client) -> None:
    answer = web.get("/v1/plans", headers=AUTH)
    assert answer.status_code == 404
    assert "Unrecognized request URL" in _error(answer)["message"]
    # An event the emulator does not know is localstripe's.
    assert web.get("/v1/events/evt_unknown", headers=AUTH).status_code == 404


# --- Onboarding ------------------------------------------------------------------------------------------


def test_an_expired_link_goes_to_refresh_url(web: Client, clock: FakeClock) -> None:
    link = _link(web, _account(web)["id"])
    clock.now += 301
    answer = web.get(link)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://127.0.0.1:5000/refresh"


def test_a_form_without_its_session_goes_to_refresh_url(web: Client) -> None:
    account = _account(web)
    link = _link(web, account["id"])
    web.get(link)
    answer = web.post(link, data={"session": "forged", "action": "complete"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "http://127.0.0.1:5000/refresh"
    assert (web.get(f"/v1/accounts/{account['id']}", headers=AUTH).json or {})["details_submitted"] is False


def test_a_link_serves_one_onboarding(web: Client) -> None:
    account = _account(web)
    link = _link(web, account["id"])
    session = _session(web.get(link))
    assert (
        web.post(link, data={"session": session, "action": "later"}).headers["Location"].endswith("/return")
    )
    replay = web.post(link, data={"session": session, "action": "complete"})
    assert replay.headers["Location"].endswith("/refresh")
    assert (web.get(f"/v1/accounts/{account['id']}", headers=AUTH).json or {})["details_submitted"] is False


def test_unknown_pages_are_404(web: Client) -> None:
    assert web.get("/connect/onboarding/nope").status_code == 404
    assert web.get("/connect/express/acct_nope").status_code == 404


def test_deleting_an_account_voids_its_links(web: Client) -> None:
    account = _account(web)
    link = _link(web, account["id"])
    assert web.delete(f"/v1/accounts/{account['id']}", headers=AUTH).status_code == 200
    assert web.get(link).status_code == 404


# --- Control endpoints -------------------------------------------------------------------------------------


def test_requirements_with_a_deadline_keep_the_account_enabled(web: Client, clock: FakeClock) -> None:
    account = _account(web, **{"capabilities[transfers][requested]": "true"})
    web.post(f"/_emulator/accounts/{account['id']}/complete")
    answer = web.post(
        f"/_emulator/accounts/{account['id']}/requirements",
        json={"currently_due": ["company.tax_id"], "disabled_reason": None},
    )
    updated = answer.json or {}
    assert updated["payouts_enabled"] is True
    assert updated["requirements"]["current_deadline"] == int(clock.now) + 14 * 24 * 3600
    assert updated["requirements"]["past_due"] == []
    assert updated["capabilities"] == {"transfers": "active"}

    payouts_only = web.post(
        f"/_emulator/accounts/{account['id']}/requirements",
        json={"currently_due": ["external_account"], "disabled_reason": None, "payouts_enabled": False},
    ).json
    assert payouts_only is not None
    assert (payouts_only["charges_enabled"], payouts_only["payouts_enabled"]) == (True, False)

    verifying = web.post(
        f"/_emulator/accounts/{account['id']}/requirements",
        json={
            "pending_verification": ["company.tax_id"],
            "disabled_reason": "requirements.pending_verification",
        },
    ).json
    assert verifying is not None
    assert verifying["capabilities"] == {"transfers": "pending"}

    cleared = web.post(f"/_emulator/accounts/{account['id']}/requirements", json={"currently_due": []}).json
    assert cleared is not None
    assert (cleared["charges_enabled"], cleared["payouts_enabled"]) == (True, True)


def test_control_errors_are_in_stripes_shape(web: Client) -> None:
    missing = web.post("/_emulator/accounts/acct_nope/complete")
    assert (missing.status_code, _error(missing)["code"]) == (404, "resource_missing")
    account = _account(web)
    bad = web.post(f"/_emulator/accounts/{account['id']}/requirements", json={"currently_due": "x"})
    assert _error(bad)["param"] == "currently_due"
    unknown = web.post(f"/_emulator/accounts/{account['id']}/requirements", json={"colour": 1})
    assert _error(unknown)["param"] == "colour"


def test_a_change_that_changes_nothing_emits_nothing(web: Client, emulator: Emulator) -> None:
    account = _account(web, email="a@example.fr")
    web.post(f"/v1/accounts/{account['id']}", data={"email": "a@example.fr"}, headers=AUTH)
    assert list(emulator.backend.state.events) == []


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def test_a_failed_delivery_is_recorded_not_raised(
    web: Client, emulator: Emulator, receiver: Receiver
) -> None:
    web.post("/_emulator/webhooks", json={"url": "http://127.0.0.1:9/closed", "secret": "whsec_a"})
    web.post(
        "/_emulator/webhooks",
        json={"url": receiver.url, "secret": "whsec_b", "events": ["account.updated"]},
    )
    account = _account(web)
    assert web.post(f"/_emulator/accounts/{account['id']}/complete").status_code == 200
    emulator.backend.webhooks.wait_idle()

    [entry] = (web.get("/_emulator/events").json or {})["data"]
    failed, delivered = entry["deliveries"]
    assert (failed["delivered"], failed["status"]) == (False, None)
    assert failed["error"]
    assert (delivered["delivered"], delivered["status"]) == (True, 200)
    assert entry["event"]["pending_webhooks"] == 1  # the failed endpoint is still owed the event
    assert entry["event"]["request"] == {
        "id": None,
        "idempotency_key": None,
    }  # from the dashboard, not the API
    [delivery] = receiver.deliveries
    stripe.Webhook.construct_event(delivery.payload, delivery.headers["Stripe-Signature"], "whsec_b")
