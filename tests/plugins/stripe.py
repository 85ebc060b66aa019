"""The local Stripe emulator (devtools/stripe_emulator in front of localstripe), started once per run.

Tests that touch Stripe ask for ``stripe_api``: the app then talks to the emulator over HTTP through
the official library, exactly as in production, and the emulator's signed webhooks are collected by a
receiver so the test can hand them to the app's webhook endpoint.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import config as settings
from devtools.stripe_emulator import launcher
from payouts import gateway
from tests.devtools.support import Receiver, webhook_receiver


@dataclass(frozen=True)
class Running:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    started: launcher.EmulatorProcess


def free_ports(count: int) -> list[int]:
    """Distinct free ports: all held open until all are chosen, so none is handed out twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_emulator(
    log: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> Running:
    """An emulator of this test run's own: ready once it answers with the identity token it was given."""
    with log.open("wb") as output:
        try:
            started = launcher.start(port or free_ports(1)[0], *args, output=output, env=env)
        except launcher.EmulatorError as error:
            pytest.fail(f"{error}:\n{log.read_text()}")
    return Running(started.url, started.process, log, started)


def stop_emulator(running: Running) -> int:
    return launcher.stop(running.started)


@dataclass(frozen=True)
class StripeEmulator:
    url: str
    webhooks: Receiver

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call one of the emulator's /_emulator/ endpoints (what Stripe's dashboard would do)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the emulator on 127.0.0.1
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"null")


@contextlib.contextmanager
def running_emulator(log_dir: Path) -> Iterator[StripeEmulator]:
    with webhook_receiver() as receiver:
        running = start_emulator(
            log_dir / "emulator.log",
            "--webhook-url",
            receiver.url,
            "--webhook-secret",
            settings.EMULATOR_WEBHOOK_SECRET,
            "--quiet",
        )
        try:
            yield StripeEmulator(running.url, receiver)
        finally:
            stop_emulator(running)


@pytest.fixture(scope="session")
def stripe_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripeEmulator]:
    with running_emulator(tmp_path_factory.mktemp("stripe-emulator")) as emulator:
        yield emulator


@pytest.fixture
def own_stripe_api(app: Flask, tmp_path: Path) -> Iterator[StripeEmulator]:
    """A Stripe account of the test's own (a new emulator): for tests that read all of Stripe's books."""
    original = app.config["STRIPE_API_BASE"]
    with running_emulator(tmp_path) as emulator:
        app.config["STRIPE_API_BASE"] = emulator.url
        try:
            yield emulator
        finally:
            app.config["STRIPE_API_BASE"] = original
            gateway.close_clients(app)


@pytest.fixture
def stripe_api(app: Flask, stripe_emulator: StripeEmulator) -> Iterator[StripeEmulator]:
    """Point the app's Stripe gateway at the emulator for this test."""
    original = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = stripe_emulator.url
    try:
        yield stripe_emulator
    finally:
        app.config["STRIPE_API_BASE"] = original
        gateway.close_clients(app)
