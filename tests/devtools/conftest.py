"""The emulator tests' shared fixtures: one emulator per test module, its webhook receiver, and a
``stripe`` client built as payouts.gateway builds it. A module sets ``WEBHOOK_SECRET`` to sign with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.devtools.support import Receiver, webhook_receiver
from tests.plugins.stripe import Running, start_emulator, stop_emulator

API_KEY = "sk_test_local_emulator"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def emulator(
    receiver: Receiver, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Running]:
    log = tmp_path_factory.mktemp("stripe-emulator") / "emulator.log"
    secret = getattr(request.module, "WEBHOOK_SECRET", "whsec_emulator_tests")
    running = start_emulator(log, "--webhook-url", receiver.url, "--webhook-secret", secret, "--quiet")
    yield running
    assert stop_emulator(running) == 0, log.read_text()


@pytest.fixture(scope="module")
def client(emulator: Running) -> Iterator[stripe.StripeClient]:
    """Built as payouts.gateway builds it, with an HTTP client we can close."""
    http_client = stripe.RequestsClient()
    yield stripe.StripeClient(
        API_KEY,
        base_addresses={"api": emulator.url, "connect": emulator.url, "files": emulator.url},
        max_network_retries=2,
        http_client=http_client,
    )
    http_client.close()
