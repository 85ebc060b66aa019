"""No test may reach outside this machine: connections beyond loopback fail."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_a_connection_outside_loopback_fails() -> None:
    # 192.0.2.1 is TEST-NET-1: documentation only, and the guard stops the call before any packet.
    # pytest-socket also warns; the run treats warnings as errors, so both are asserted here.
    with (
        pytest.warns(UserWarning, match="192.0.2.1"),
        pytest.raises(SocketConnectBlockedError),
    ):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        client = socket.create_connection(server.getsockname(), timeout=1)
        client.close()
    finally:
        server.close()
