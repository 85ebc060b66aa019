"""Helpers for the emulator's tests: a webhook receiver on 127.0.0.1 and plain HTTP calls."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    payload: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.payload))


class Receiver:
    """Collects the webhooks POSTed to it; ``wait_for`` blocks until one matches."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()

    def add(self, delivery: Delivery) -> None:
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> Delivery:
        def found() -> Delivery | None:
            return next((d for d in self.deliveries if matches(d.event)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout)
            delivery = found()
        assert delivery is not None, (
            f"no matching webhook in {timeout} s; got {[d.event['type'] for d in self.deliveries]}"
        )
        return delivery


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.add(Delivery(dict(self.headers.items()), payload))
            body = b'{"received": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def http(
    method: str,
    url: str,
    *,
    form: dict[str, str] | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request, redirects not followed, every socket closed."""
    data: bytes | None = None
    all_headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with _opener.open(request, timeout=15) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, dict(error.headers.items()), error.read())
