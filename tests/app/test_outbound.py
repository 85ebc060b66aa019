"""Addresses the app calls on someone's behalf: only public ones in production, even after DNS."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from app import outbound
from app.outbound import UnsafeURL, check_public_url
from tests.api.webhook_receiver import running_receiver

REAL_GETADDRINFO = socket.getaddrinfo


def _answers(mapping: dict[str, list[str]]) -> Any:
    """A getaddrinfo that resolves the names of ``mapping`` (each call takes the next list of addresses
    when given several) and leaves IP literals to the real one; it counts the lookups of each name."""
    asked: dict[str, int] = {}

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in mapping:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        asked[host] = asked.get(host, 0) + 1
        addresses = mapping[host]
        chosen = addresses[min(asked[host] - 1, len(addresses) - 1)]
        family = socket.AF_INET6 if ":" in chosen else socket.AF_INET
        sockaddr = (chosen, int(port or 0), 0, 0) if family == socket.AF_INET6 else (chosen, int(port or 0))
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    fake.asked = asked  # type: ignore[attr-defined]
    return fake


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hooks", "réseau privé"),
        ("https://169.254.169.254/latest/meta-data/", "réseau privé"),
        ("https://10.1.2.3/hooks", "réseau privé"),
        ("https://192.168.1.20/hooks", "réseau privé"),
        ("https://100.64.0.7/hooks", "réseau privé"),  # carrier-grade NAT
        ("https://[::1]/hooks", "réseau privé"),
        ("https://[::ffff:127.0.0.1]/hooks", "réseau privé"),  # IPv4-mapped loopback
        ("https://[::ffff:169.254.169.254]/hooks", "réseau privé"),
        ("https://[fe80::1]/hooks", "réseau privé"),
        ("https://224.0.0.1/hooks", "réseau privé"),  # multicast
        ("https://0.0.0.0/hooks", "réseau privé"),
        ("https://240.0.0.1/hooks", "réseau privé"),  # reserved
        ("http://93.184.216.34/hooks", "https://"),
        ("ftp://93.184.216.34/hooks", "https://"),
        ("https://user:secret@93.184.216.34/hooks", "identifiant"),
        ("https:///hooks", "serveur"),
        ("https://93.184.216.34:99999/hooks", "port"),
        ("", "Indiquez une adresse"),
    ],
)
def test_addresses_outside_the_public_internet_are_refused(app_ctx: Flask, url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL) as refused:
        check_public_url(url)
    assert reason in str(refused.value.reason)


def test_a_public_address_over_https_is_accepted(app_ctx: Flask) -> None:
    check_public_url("https://93.184.216.34/hooks?shop=1")
    checked = outbound.resolve_public_url("https://93.184.216.34:8443/hooks?shop=1")
    assert (checked.host, checked.port, checked.target) == ("93.184.216.34", 8443, "/hooks?shop=1")


def test_a_name_resolving_to_a_private_address_is_refused(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _answers({"hooks.example.com": ["10.0.0.5"]}),
    )
    with pytest.raises(
        UnsafeURL, match=re.escape("hooks.example.com mène à un réseau privé ou réservé (10.0.0.5)")
    ):
        check_public_url("https://hooks.example.com/webhooks")


def test_one_private_address_among_public_ones_is_enough_to_refuse(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def several(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "mixed.example.com"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", several)
    with pytest.raises(UnsafeURL, match=re.escape("127.0.0.1")):
        check_public_url("https://mixed.example.com/")


def test_an_unknown_name_is_refused_clearly(app_ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(UnsafeURL, match="introuvable"):
        check_public_url("https://nowhere.example.com/")


def test_private_addresses_and_http_are_allowed_when_configured(app_ctx: Flask) -> None:
    for url in ("http://127.0.0.1:8080/hooks", "https://10.1.2.3/", "http://[::1]/hooks"):
        check_public_url(url, allow_private=True)
    with pytest.raises(UnsafeURL):
        check_public_url("ftp://127.0.0.1/", allow_private=True)
    with pytest.raises(UnsafeURL):
        check_public_url("http://user@127.0.0.1/", allow_private=True)


def test_the_setting_is_on_in_tests_and_decides_for_send(
    app: Flask, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert outbound.private_allowed() is True
    with running_receiver(200) as receiver:
        assert outbound.send("POST", receiver.url(), body=b"{}").status == 200
        monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE", False)
        with pytest.raises(UnsafeURL, match="https://"):
            outbound.send("POST", receiver.url(), body=b"{}")
    assert len(receiver.received) == 1


def test_send_connects_to_the_address_it_checked_and_keeps_the_name(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 when checked, then another address; the request
    goes to the one checked, asked once, with the name in the Host header."""
    fake = _answers({"shop-till.example.test": ["127.0.0.1", "10.9.9.9"]})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with running_receiver(201) as receiver:
        answer = outbound.send(
            "POST", receiver.url(host="shop-till.example.test"), body=b'{"a":1}', allow_private=True
        )
    assert answer.status == 201
    assert answer.body == b"answer 201"
    assert fake.asked == {"shop-till.example.test": 1}
    assert receiver.received[0].headers["host"] == f"shop-till.example.test:{receiver.port}"
    assert receiver.received[0].body == b'{"a":1}'


def test_send_never_follows_a_redirect(app_ctx: Flask) -> None:
    with running_receiver(302, headers={"Location": "http://169.254.169.254/latest/"}) as receiver:
        answer = outbound.send("POST", receiver.url(), body=b"{}")
    assert answer.status == 302
    assert answer.headers["location"] == "http://169.254.169.254/latest/"
    assert len(receiver.received) == 1


def test_send_reads_no_more_than_asked(app_ctx: Flask) -> None:
    with running_receiver(200) as receiver:
        answer = outbound.send("POST", receiver.url(), body=b"{}", max_body=3)
    assert answer.body == b"ans"


def _self_signed(folder: Path, name: str) -> Path:
    """A certificate for ``name`` (its own authority) with its key, in one PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}.pem"
    path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_https_goes_to_the_checked_address_with_the_names_sni_and_certificate(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pem = _self_signed(tmp_path, "hooks.example.test")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pem)
    names_asked: list[str | None] = []
    server.sni_callback = lambda _socket, name, _context: names_asked.append(name)
    trusting = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: trusting(cafile=str(pem)))
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _answers({"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}),
    )
    with running_receiver(200, tls=server) as receiver:
        url = f"https://hooks.example.test:{receiver.port}/hooks"
        assert outbound.send("POST", url, body=b"{}", allow_private=True).status == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            outbound.send(
                "POST", f"https://other.example.test:{receiver.port}/", body=b"{}", allow_private=True
            )
    assert names_asked[0] == "hooks.example.test"
    assert len(receiver.received) == 1
