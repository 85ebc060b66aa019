"""The Stripe emulator as the app meets it: a subprocess on 127.0.0.1, driven by the official stripe library.

One emulator (with its localstripe child) serves the whole module; its webhooks go to a receiver in this
process. Each test makes its own accounts, so the order of the tests does not matter.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import stripe

from devtools.stripe_emulator import launcher
from tests.devtools.support import Receiver, http, webhook_receiver
from tests.plugins.stripe import Running, free_ports, start_emulator, stop_emulator

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
API_KEY = "sk_test_local_emulator"
WEBHOOK_SECRET = "whsec_emulator_tests"


def _eventually(check: Callable[[], T], timeout: float = 15.0) -> T:
    """Retry ``check()`` until it stops failing: the emulator records a delivery after making it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _express_account(client: stripe.StripeClient, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "type": "express",
        "country": "FR",
        "email": "boulangerie@example.fr",
        "business_type": "company",
        "business_profile": {"name": "Boulangerie Martin"},
        "capabilities": {"transfers": {"requested": True}, "card_payments": {"requested": True}},
        "metadata": {"shop_id": "3"},
        **extra,
    }
    return client.v1.accounts.create(params=params)  # type: ignore[arg-type]


def _onboard(client: stripe.StripeClient, account_id: str) -> None:
    link = client.v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": "http://127.0.0.1:5000/shop/stripe/refresh",
            "return_url": "http://127.0.0.1:5000/shop/stripe/return",
            "type": "account_onboarding",
        }
    )
    page = http("GET", link.url)
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert session is not None
    answer = http("POST", link.url, form={"session": session.group(1), "action": "complete"})
    assert answer.status == 303


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


# --- The process --------------------------------------------------------------------------------------


def test_prints_one_line_saying_where_it_listens(emulator: Running) -> None:
    lines = [line for line in emulator.log.read_text().splitlines() if "listening on" in line]
    assert lines == [lines[0]]
    assert f"Stripe emulator listening on {emulator.url}" in lines[0]


def _localstripe_port(emulator: Running) -> int:
    url = http("GET", f"{emulator.url}/_emulator/health").json()["localstripe"]["url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    return int(url.rsplit(":", 1)[1])


def test_health(emulator: Running) -> None:
    answer = http("GET", f"{emulator.url}/_emulator/health")
    assert answer.status == 200
    assert answer.json()["localstripe"]["pid"] > 0
    assert _localstripe_port(emulator) != emulator.started.port


def test_answers_with_the_identity_token_its_starter_gave(emulator: Running) -> None:
    answer = http("GET", f"{emulator.url}/_emulator/identity")
    assert answer.json() == {
        "object": "stripe_emulator",
        "token": emulator.started.token,
        "pid": emulator.process.pid,
    }
    assert launcher.identity(emulator.url) == emulator.started.token


def _listening_addresses(port: int) -> list[str]:
    """The local addresses of the sockets listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    addresses = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            host, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(host)
                # The kernel prints each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                addresses.append(str(ipaddress.ip_address(words)))
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net")
def test_listens_on_the_loopback_only_localstripe_too(emulator: Running) -> None:
    assert _listening_addresses(emulator.started.port) == ["127.0.0.1"]
    assert _listening_addresses(_localstripe_port(emulator)) == ["127.0.0.1"]


def test_stopping_the_emulator_stops_localstripe(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STRIPE_EMULATOR_WEBHOOK_URL": "http://127.0.0.1:9/a http://127.0.0.1:9/b",
        "STRIPE_EMULATOR_WEBHOOK_SECRET": "whsec_from_env",
    }
    running = start_emulator(tmp_path / "emulator.log", env=env)
    endpoints = http("GET", f"{running.url}/_emulator/webhooks").json()["data"]
    assert [endpoint["url"] for endpoint in endpoints] == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
    localstripe_pid = http("GET", f"{running.url}/_emulator/health").json()["localstripe"]["pid"]
    localstripe_port = _localstripe_port(running)
    assert _answers(localstripe_port)

    assert stop_emulator(running) == 0

    assert not _answers(localstripe_port)
    with pytest.raises(ProcessLookupError):
        os.kill(localstripe_pid, 0)


def test_a_server_already_on_its_port_is_an_error_not_the_emulator(emulator: Running, tmp_path: Path) -> None:
    log = tmp_path / "second.log"
    with log.open("wb") as output, pytest.raises(launcher.EmulatorError, match="exited with code 1"):
        launcher.start(emulator.started.port, "--quiet", output=output)
    assert "in use" in log.read_text()
    assert launcher.identity(emulator.url) == emulator.started.token, "the first one is left alone"


def test_a_server_on_the_localstripe_port_is_an_error_not_localstripe(
    receiver: Receiver, tmp_path: Path
) -> None:
    # The receiver answers a GET with an HTTP error: an answer, which must not pass for localstripe's.
    taken = int(urlsplit(receiver.url).port or 0)
    command = [sys.executable, "-m", "devtools.stripe_emulator", "--port", str(free_ports(1)[0])]
    result = subprocess.run(  # noqa: S603
        [*command, "--localstripe-port", str(taken), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"localstripe cannot listen on 127.0.0.1:{taken}" in result.stderr.decode()


def test_identity_is_none_for_a_server_that_is_no_emulator(receiver: Receiver) -> None:
    assert launcher.identity(receiver.url.removesuffix("/webhooks/stripe")) is None


def test_a_webhook_url_without_a_secret_is_refused(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "devtools.stripe_emulator", "--port", str(free_ports(1)[0])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_EMULATOR_")}
    result = subprocess.run(  # noqa: S603
        [*command, "--webhook-url", "http://127.0.0.1:9/hook"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"--webhook-secret" in result.stderr


# --- Accounts ----------------------------------------------------------------------------------------


def test_creates_an_express_account_in_stripes_shape(client: stripe.StripeClient) -> None:
    account = _express_account(client)

    assert account.id.startswith("acct_")
    assert account.object == "account"
    assert account.type == "express"
    assert (account.country, account.default_currency) == ("FR", "eur")
    assert account.email == "boulangerie@example.fr"
    assert account.business_type == "company"
    assert account.business_profile.name == "Boulangerie Martin"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert account.metadata.to_dict() == {"shop_id": "3"}
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (
        False,
        False,
        False,
    )
    assert account.created <= time.time()
    requirements = account.requirements
    for due in (
        "business_profile.url",
        "external_account",
        "representative.first_name",
        "tos_acceptance.date",
    ):
        assert due in requirements.currently_due
    assert requirements.past_due == requirements.currently_due
    assert set(requirements.currently_due) <= set(requirements.eventually_due)
    assert requirements.disabled_reason == "requirements.past_due"
    assert requirements.pending_verification == []
    assert requirements.current_deadline is None


def test_retrieves_updates_and_lists_accounts(client: stripe.StripeClient) -> None:
    account = _express_account(client, metadata={"shop_id": "4", "town": "Vitré"})
    assert client.v1.accounts.retrieve(account.id).to_dict() == account.to_dict()

    updated: Any = client.v1.accounts.update(
        account.id,
        params={
            "email": "contact@martin.fr",
            "metadata": {"town": "", "siret": "123"},
            "business_profile": {"url": "https://martin.example.fr"},
        },
    )
    assert updated.email == "contact@martin.fr"
    assert updated.metadata.to_dict() == {"shop_id": "4", "siret": "123"}
    assert updated.business_profile.url == "https://martin.example.fr"
    assert updated.business_profile.name == "Boulangerie Martin"
    assert "business_profile.url" not in updated.requirements.currently_due
    assert client.v1.accounts.retrieve(account.id).email == "contact@martin.fr"

    newer = _express_account(client)
    page = client.v1.accounts.list(params={"limit": 1})
    assert [a.id for a in page.data] == [newer.id]
    assert page.has_more is True
    assert page.url == "/v1/accounts"
    next_page = client.v1.accounts.list(params={"limit": 1, "starting_after": newer.id})
    assert [a.id for a in next_page.data] == [account.id]


def test_deletes_an_account(client: stripe.StripeClient) -> None:
    account = _express_account(client)
    deleted = client.v1.accounts.delete(account.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (account.id, "account", True)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.retrieve(account.id)
    assert raised.value.http_status == 404


def test_an_idempotency_key_returns_the_same_account(client: stripe.StripeClient) -> None:
    params: Any = {"type": "express", "country": "FR", "metadata": {"shop_id": "77"}}
    options: Any = {"idempotency_key": "shop-77-express-account"}
    first = client.v1.accounts.create(params=params, options=options)
    again = client.v1.accounts.create(params=params, options=options)
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    shops = [
        a.to_dict()["metadata"].get("shop_id") for a in client.v1.accounts.list(params={"limit": 100}).data
    ]
    assert shops.count("77") == 1

    with pytest.raises(stripe.IdempotencyError):
        client.v1.accounts.create(params={**params, "country": "BE"}, options=options)


def test_an_unknown_account_is_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.retrieve("acct_doesnotexist0000")
    error = raised.value
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert "acct_doesnotexist0000" in str(error.user_message)


def test_unknown_and_invalid_parameters_are_refused_as_stripe_does(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create(params={"type": "express", "colour": "blue"})  # type: ignore[arg-type]
    assert (raised.value.param, raised.value.code) == ("colour", "parameter_unknown")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create(params={"type": "express", "email": "not-an-email"})
    assert raised.value.param == "email"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create(params={"country": "FR"})
    assert (raised.value.param, raised.value.code) == ("type", "parameter_missing")


def test_the_api_needs_a_secret_key(emulator: Running) -> None:
    answer = http("GET", f"{emulator.url}/v1/accounts")
    assert answer.status == 401
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "You did not provide an API key" in error["message"]

    bad = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": emulator.url}, http_client=stripe.UrllibClient()
    )
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.accounts.list()


# --- Onboarding and the Express dashboard -------------------------------------------------------------


def test_creates_an_account_link_to_the_onboarding_page(
    client: stripe.StripeClient, emulator: Running
) -> None:
    account = _express_account(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://127.0.0.1:5000/refresh",
            "return_url": "http://127.0.0.1:5000/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.expires_at == link.created + 300
    assert re.fullmatch(re.escape(emulator.url) + r"/connect/onboarding/[\w-]{20,}", link.url)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"account": None}, "account"),
        ({"account": "acct_doesnotexist0000"}, "account"),
        ({"refresh_url": None}, "refresh_url"),
        ({"return_url": None}, "return_url"),
        ({"return_url": "not a url"}, "return_url"),
        ({"type": "account_update"}, "type"),  # Express accounts: Stripe collects, so only onboarding links
    ],
)
def test_account_links_name_the_wrong_parameter(
    client: stripe.StripeClient, change: dict[str, Any], param: str
) -> None:
    account = _express_account(client)
    params: Any = {
        "account": account.id,
        "refresh_url": "http://127.0.0.1:5000/refresh",
        "return_url": "http://127.0.0.1:5000/return",
        "type": "account_onboarding",
        **change,
    }
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.account_links.create(params=params)
    assert raised.value.http_status == 400
    assert raised.value.param == param


def test_onboarding_through_the_page_enables_the_account(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = _express_account(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://127.0.0.1:5000/shop/stripe/refresh",
            "return_url": "http://127.0.0.1:5000/shop/stripe/return",
            "type": "account_onboarding",
        }
    )

    page = http("GET", link.url)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Complete onboarding" in page.text
    assert "Leave for later" in page.text
    assert account.id in page.text
    assert "<script" not in page.text
    assert not re.search(r'(src|href)="', page.text)  # nothing loaded from elsewhere
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert session is not None

    answer = http("POST", link.url, form={"session": session.group(1), "action": "complete"})
    assert answer.status == 303
    assert answer.headers["Location"] == "http://127.0.0.1:5000/shop/stripe/return"

    onboarded: Any = client.v1.accounts.retrieve(account.id)
    assert (onboarded.details_submitted, onboarded.charges_enabled, onboarded.payouts_enabled) == (
        True,
        True,
        True,
    )
    assert onboarded.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert onboarded.requirements.currently_due == []
    assert onboarded.requirements.past_due == []
    assert onboarded.requirements.disabled_reason is None

    event = receiver.wait_for(lambda e: e["type"] == "account.updated" and e["account"] == account.id).event
    assert event["data"]["object"]["payouts_enabled"] is True
    assert event["data"]["previous_attributes"]["payouts_enabled"] is False
    assert event["data"]["previous_attributes"]["details_submitted"] is False

    # An account link serves one visit: coming back goes to refresh_url.
    again = http("GET", link.url)
    assert again.status == 302
    assert again.headers["Location"] == "http://127.0.0.1:5000/shop/stripe/refresh"


def test_leaving_onboarding_for_later_changes_nothing(client: stripe.StripeClient) -> None:
    account = _express_account(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://127.0.0.1:5000/refresh",
            "return_url": "http://127.0.0.1:5000/return",
            "type": "account_onboarding",
        }
    )
    session = re.search(r'name="session" value="([^"]+)"', http("GET", link.url).text)
    assert session is not None

    answer = http("POST", link.url, form={"session": session.group(1), "action": "later"})

    assert answer.status == 303
    assert answer.headers["Location"] == "http://127.0.0.1:5000/return"
    assert client.v1.accounts.retrieve(account.id).to_dict() == account.to_dict()


def test_login_links_only_once_onboarded(client: stripe.StripeClient, emulator: Running) -> None:
    account = _express_account(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.login_links.create(account.id)
    assert raised.value.http_status == 400

    _onboard(client, account.id)
    link = client.v1.accounts.login_links.create(account.id)

    assert link.object == "login_link"
    assert link.url == f"{emulator.url}/connect/express/{account.id}"
    dashboard = http("GET", link.url)
    assert dashboard.status == 200
    assert "Express dashboard" in dashboard.text
    assert "boulangerie@example.fr" in dashboard.text


# --- Control endpoints, events and webhooks -------------------------------------------------------------


def test_requirements_disable_payouts(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    account = _express_account(client)
    completed = http("POST", f"{emulator.url}/_emulator/accounts/{account.id}/complete")
    assert completed.json()["payouts_enabled"] is True

    answer = http(
        "POST",
        f"{emulator.url}/_emulator/accounts/{account.id}/requirements",
        json_body={"currently_due": ["individual.verification.document"]},
    )
    assert answer.status == 200

    disabled: Any = client.v1.accounts.retrieve(account.id)
    assert (disabled.charges_enabled, disabled.payouts_enabled) == (False, False)
    assert disabled.requirements.currently_due == ["individual.verification.document"]
    assert disabled.requirements.past_due == ["individual.verification.document"]
    assert disabled.requirements.disabled_reason == "requirements.past_due"
    assert disabled.capabilities.transfers == "inactive"

    event = receiver.wait_for(
        lambda e: (
            e["account"] == account.id
            and e["data"]["object"]["requirements"]["currently_due"] != []
            and e["data"]["object"]["details_submitted"]
        )
    ).event
    assert event["data"]["previous_attributes"]["payouts_enabled"] is True

    refused = http(
        "POST",
        f"{emulator.url}/_emulator/accounts/{account.id}/requirements",
        json_body={"currently_due": [], "disabled_reason": "because"},
    )
    assert refused.status == 400
    assert refused.json()["error"]["param"] == "disabled_reason"


def test_webhooks_are_signed_as_stripe_signs_them(client: stripe.StripeClient, receiver: Receiver) -> None:
    account = _express_account(client)
    client.v1.accounts.update(account.id, params={"metadata": {"opening_hours": "8-19"}})

    delivery = receiver.wait_for(lambda e: e.get("account") == account.id)
    header = delivery.headers["Stripe-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)

    event = stripe.Webhook.construct_event(delivery.payload, header, WEBHOOK_SECRET)
    assert event.type == "account.updated"
    assert event.object == "event"
    assert event.id.startswith("evt_")
    assert event.livemode is False
    assert event.data.object.id == account.id
    assert event.data.object.metadata.opening_hours == "8-19"
    assert event.data.previous_attributes.to_dict() == {"metadata": {"opening_hours": None}}
    assert event.request.id.startswith("req_")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.payload, header, "whsec_someone_else")

    # The emulator's events can be read back through the API.
    kept = client.v1.events.retrieve(event.id).to_dict()
    assert {**kept, "pending_webhooks": None} == {**event.to_dict(), "pending_webhooks": None}
    assert event.pending_webhooks == 1
    _eventually(lambda: _assert_equal(client.v1.events.retrieve(event.id).pending_webhooks, 0))


def test_events_are_listed_with_their_deliveries(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    account = _express_account(client)
    client.v1.accounts.update(account.id, params={"email": "new@example.fr"})
    event_id = receiver.wait_for(lambda e: e.get("account") == account.id).event["id"]

    def delivered() -> dict[str, Any]:
        listed = http("GET", f"{emulator.url}/_emulator/events?type=account.updated").json()["data"]
        entry: dict[str, Any] = next(entry for entry in listed if entry["event"]["id"] == event_id)
        assert entry["deliveries"]
        return entry

    entry = _eventually(delivered)
    assert entry["deliveries"][0]["url"] == receiver.url
    assert entry["deliveries"][0]["status"] == 200
    assert entry["deliveries"][0]["delivered"] is True


def test_webhook_endpoints_can_be_added_and_cleared_at_run_time(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    with webhook_receiver() as other:
        added = http(
            "POST",
            f"{emulator.url}/_emulator/webhooks",
            json_body={"url": other.url, "secret": "whsec_other"},
        )
        assert added.status == 200
        try:
            account = _express_account(client)
            client.v1.accounts.update(account.id, params={"email": "other@example.fr"})
            delivery = other.wait_for(lambda e: e.get("account") == account.id)
            stripe.Webhook.construct_event(
                delivery.payload, delivery.headers["Stripe-Signature"], "whsec_other"
            )
        finally:
            assert http("DELETE", f"{emulator.url}/_emulator/webhooks").status == 200
            restored = http(
                "POST",
                f"{emulator.url}/_emulator/webhooks",
                json_body={"url": receiver.url, "secret": WEBHOOK_SECRET},
            )
            assert restored.status == 200

        endpoints = http("GET", f"{emulator.url}/_emulator/webhooks").json()["data"]
        assert [endpoint["url"] for endpoint in endpoints] == [receiver.url]
        client.v1.accounts.update(account.id, params={"email": "again@example.fr"})
        receiver.wait_for(lambda e: e["data"]["object"].get("email") == "again@example.fr")
        assert [
            d for d in other.deliveries if d.event["data"]["object"].get("email") == "again@example.fr"
        ] == []

    bad = http(
        "POST", f"{emulator.url}/_emulator/webhooks", json_body={"url": "ftp://x", "secret": "whsec_x"}
    )
    assert bad.status == 400


# --- Everything else: localstripe -----------------------------------------------------------------------


def test_plans_go_to_localstripe(client: stripe.StripeClient, receiver: Receiver) -> None:
    # Customers, products, prices and subscriptions are the emulator's; legacy Plans are still localstripe's.
    params: Any = {"amount": 1900, "currency": "eur", "interval": "month", "product": {"name": "Commerçant"}}
    plan = client.v1.plans.create(params=params)
    assert plan.id.startswith("plan_")
    assert client.v1.plans.retrieve(plan.id).amount == 1900

    # localstripe's own events reach the same endpoint, signed with the same secret.
    delivery = receiver.wait_for(
        lambda e: e["type"] == "plan.created" and e["data"]["object"]["id"] == plan.id
    )
    stripe.Webhook.construct_event(delivery.payload, delivery.headers["Stripe-Signature"], WEBHOOK_SECRET)


def test_localstripe_errors_come_back_unchanged(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.plans.retrieve("plan_doesnotexist")
    assert raised.value.http_status == 404


def test_what_neither_implements_is_an_unrecognized_url(emulator: Running) -> None:
    answer = http("GET", f"{emulator.url}/v1/issuing/cards", headers={"Authorization": f"Bearer {API_KEY}"})
    assert answer.status == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "Unrecognized request URL (GET: /v1/issuing/cards)" in answer.json()["error"]["message"]
