"""devtools.elasticsearch: the local Elasticsearch API the tests and benchmarks start."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools import elasticsearch


@pytest.fixture
def another_elasticsearch() -> Iterator[int]:
    """Someone else's server on 127.0.0.1, answering as Elasticsearch does."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"name": "someone-else", "version": {"number": "8.15.0"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_server_already_on_the_port_is_not_taken_for_the_local_one(
    another_elasticsearch: int, tmp_path: Path
) -> None:
    with pytest.raises(
        RuntimeError, match=f"another server already answers on 127.0.0.1:{another_elasticsearch}"
    ):
        elasticsearch.start(tmp_path / "data", another_elasticsearch)
    assert not (tmp_path / "data").exists(), "nothing was started"
