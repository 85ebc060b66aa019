"""A local server speaking the Elasticsearch REST API, for tests and benchmarks: ``noida-db``.

No real Elasticsearch can be installed on the development machines; the pinned ``noida-db`` package
ships a small binary that answers the Elasticsearch API well enough for the official client. It is
started on 127.0.0.1 with its data in a folder of the caller's, and stopped with it.

    python -m devtools.elasticsearch --port 9200 --data-dir instance/elasticsearch
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


@dataclass(frozen=True)
class LocalElasticsearch:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def binary() -> Path:
    path = Path(str(files("noida_db").joinpath("noida-db")))
    if not path.is_file():
        raise RuntimeError(f"noida-db's binary is missing at {path}: is the noida-db package installed?")
    path.chmod(0o755)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own server on 127.0.0.1
            return "version" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def start(data_dir: Path, port: int | None = None, timeout: float = 30.0) -> LocalElasticsearch:
    """Start the server (Elasticsearch only) and wait until it answers.

    A server already answering on ``port`` is an error: it would otherwise pass for the one started here
    (noida-db, failing to bind, exits a moment later).
    """
    port = port or free_port()
    if _answers(f"http://127.0.0.1:{port}"):
        raise RuntimeError(
            f"another server already answers on 127.0.0.1:{port}: stop it or choose another port"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    command = [
        str(binary()),
        "start",
        "--only",
        "elasticsearch",
        "--elasticsearch-port",
        str(port),
        "--host",
        "127.0.0.1",
        "--data-dir",
        str(data_dir),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - the binary of a pinned package
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )
    server = LocalElasticsearch(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while not _answers(server.url) or process.poll() is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError(f"the local Elasticsearch did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)
    return server


def stop(server: LocalElasticsearch) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@contextlib.contextmanager
def running(data_dir: Path, port: int | None = None) -> Iterator[LocalElasticsearch]:
    server = start(data_dir, port)
    try:
        yield server
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--data-dir", type=Path, default=Path("instance/elasticsearch"))
    args = parser.parse_args()
    try:
        server = start(args.data_dir, args.port)
    except RuntimeError as error:
        raise SystemExit(str(error)) from None
    print(f"Elasticsearch API on {server.url} (Ctrl-C stops it)")  # noqa: T201 - a command's output
    try:
        server.process.wait()
    except KeyboardInterrupt:
        stop(server)


if __name__ == "__main__":
    main()
