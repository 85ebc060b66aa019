"""Requests the app makes on someone's behalf, to an address they typed: webhooks, photos by URL.

Such an address must not reach inside the platform's own network (SSRF): a shop could otherwise point
a webhook at the database, at Redis, or at the cloud's metadata service (169.254.169.254) and read the
answers in its delivery log. ``resolve_public_url`` refuses what is not plainly public: a scheme other
than https (http too when private addresses are allowed), credentials in the address, and any host that
resolves, even in part, to a loopback, private, link-local, shared (CGNAT), multicast, reserved or
unspecified address, IPv4-mapped IPv6 and 6to4/NAT64 forms included.

Checking a name and then letting a client resolve it again would let DNS answer differently the second
time (DNS rebinding). ``send`` therefore connects to the very address that was vetted, while the
``Host`` header, TLS SNI and certificate check still use the name. It never follows redirects.

``OUTBOUND_ALLOW_PRIVATE`` (off in production, on in development and tests) lets plain http and local
addresses through, so that a receiver on 127.0.0.1 works while developing.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

MAX_URL_LENGTH = 2000
DEFAULT_TIMEOUT = 10.0  # seconds, to connect and for each read

# Not covered by ``is_global`` on every Python version, or wrapping another address.
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """An address the app refuses to call; ``reason`` says why, in the reader's language."""

    def __init__(self, reason: Any) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class CheckedURL:
    """A vetted address: where to connect (``addresses``) and what to ask for there."""

    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes  # at most ``max_body`` bytes: the rest is not read
    duration_ms: int


def private_allowed() -> bool:
    """Whether this deployment lets requests reach private addresses (development and tests)."""
    return bool(current_app.config.get("OUTBOUND_ALLOW_PRIVATE", False))


def _unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` belongs to the public internet (and to nothing of ours)."""
    inner = _unwrapped(address)
    return not (
        not inner.is_global
        or inner.is_private
        or inner.is_loopback
        or inner.is_link_local
        or inner.is_multicast
        or inner.is_reserved
        or inner.is_unspecified
        or (isinstance(inner, ipaddress.IPv4Address) and inner in _SHARED)
    )


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:  # unknown name, NUL byte, label too long
        raise UnsafeURL(_l("L’adresse %(host)s est introuvable.", host=host)) from error
    addresses = tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in found))
    if not addresses:
        raise UnsafeURL(_l("L’adresse %(host)s est introuvable.", host=host))
    return addresses


def resolve_public_url(url: str, *, allow_private: bool = False) -> CheckedURL:
    """``url`` checked and resolved; UnsafeURL when the app must not call it."""
    url = (url or "").strip()
    if not url:
        raise UnsafeURL(_l("Indiquez une adresse."))
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(_l("L’adresse est trop longue (%(max)d caractères au plus).", max=MAX_URL_LENGTH))
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise UnsafeURL(_l("L’adresse doit commencer par https://."))
    if "@" in parts.netloc:
        raise UnsafeURL(_l("L’adresse ne doit pas contenir d’identifiant ni de mot de passe."))
    try:
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise UnsafeURL(_l("Le port de l’adresse n’est pas valide.")) from error
    if not host:
        raise UnsafeURL(_l("L’adresse n’indique pas de serveur."))
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not allow_private:
        for found in addresses:
            if not is_public(ipaddress.ip_address(found)):
                raise UnsafeURL(
                    _l(
                        "L’adresse %(host)s mène à un réseau privé ou réservé (%(ip)s) : "
                        "seules les adresses publiques sont acceptées.",
                        host=host,
                        ip=found,
                    )
                )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedURL(scheme=scheme, host=host, port=port, target=target, addresses=addresses)


def check_public_url(url: str, *, allow_private: bool = False) -> None:
    """Raise UnsafeURL if the app must not call ``url`` (see the module's docstring)."""
    resolve_public_url(url, allow_private=allow_private)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a vetted address; ``Host`` stays the name."""

    def __init__(self, checked: CheckedURL, address: str, timeout: float) -> None:
        super().__init__(checked.host, checked.port, timeout=timeout)
        self.pinned = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a vetted address, with SNI and the certificate checked against the name."""

    def __init__(self, checked: CheckedURL, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(checked.host, checked.port, timeout=timeout, context=self.tls)
        self.pinned = address

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def _connection(checked: CheckedURL, address: str, timeout: float) -> http.client.HTTPConnection:
    kind = _PinnedHTTPSConnection if checked.scheme == "https" else _PinnedHTTPConnection
    return kind(checked, address, timeout)


def send(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = 64 * 1024,
    allow_private: bool | None = None,
) -> OutboundResponse:
    """Make one request to ``url`` after checking it, connected to the address that was checked.

    Redirects are answers like any other (never followed). UnsafeURL when the address is refused,
    OSError (``TimeoutError``, ``ConnectionError``, ``ssl.SSLError``...) or ``http.client.HTTPException``
    when the exchange fails.
    """
    checked = resolve_public_url(
        url, allow_private=private_allowed() if allow_private is None else allow_private
    )
    started = time.monotonic()
    last_error: OSError | None = None
    for address in checked.addresses:
        connection = _connection(checked, address, timeout)
        try:
            connection.request(method, checked.target, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            content = response.read(max_body)
            return OutboundResponse(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                body=content,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        except ConnectionRefusedError as error:  # nothing sent yet: the name's next address may answer
            last_error = error
        finally:
            connection.close()
    assert last_error is not None
    raise last_error
