"""Start the emulator as a child process and know it is ours that answers (``devtools.run``, the tests).

The child is given a random ``--identity`` token; it is ready once ``GET /_emulator/identity`` on its port
returns that token. Any other answer there (another developer's emulator, an unrelated server) is never
taken for it: the child fails to bind and exits, and :func:`start` raises with what it printed.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devtools.stripe_emulator import outgoing
from devtools.stripe_emulator.localstripe import die_with_parent

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]  # the directory holding devtools/


class EmulatorError(RuntimeError):
    """The emulator did not start, or something else answers where it should."""


@dataclass(frozen=True)
class EmulatorProcess:
    url: str
    port: int
    token: str
    process: subprocess.Popen[bytes]


def identity(url: str, timeout: float = 2.0) -> str | None:
    """The token the emulator at ``url`` was started with; None when nothing, or no emulator, answers."""
    request = urllib.request.Request(f"{url}/_emulator/identity")  # noqa: S310 - http://127.0.0.1 only
    try:
        with outgoing.opener().open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return None
    token = body.get("token") if isinstance(body, dict) and body.get("object") == "stripe_emulator" else None
    return token if isinstance(token, str) else None


def start(
    port: int,
    *args: str,
    output: IO[bytes] | int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    tie_to_parent: bool = False,
) -> EmulatorProcess:
    """Start ``python -m devtools.stripe_emulator --port PORT ARGS...`` and wait until it answers as itself.

    ``output`` receives the child's stdout and stderr. ``tie_to_parent`` has the kernel stop the child if
    this process is killed outright (Linux), so that no emulator outlives the program that needed it, and
    keeps it out of the terminal's process group: Ctrl-C reaches this process, which stops it when done.
    """
    token = secrets.token_urlsafe(16)
    command = [sys.executable, "-m", "devtools.stripe_emulator", "--port", str(port), "--identity", token]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*command, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        preexec_fn=die_with_parent if tie_to_parent and sys.platform == "linux" else None,
        process_group=0 if tie_to_parent else None,
    )
    running = EmulatorProcess(f"http://{HOST}:{port}", port, token, process)
    try:
        wait_ready(running, timeout)
    except BaseException:
        stop(running)
        raise
    return running


def wait_ready(running: EmulatorProcess, timeout: float = 30.0) -> None:
    """Return once the emulator answers with its token; raise if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        answered = identity(running.url)
        if answered == running.token:
            return
        if running.process.poll() is not None:
            raise EmulatorError(
                f"the Stripe emulator exited with code {running.process.returncode} "
                f"(is another server on 127.0.0.1:{running.port}?)"
            )
        if time.monotonic() > deadline:
            if answered is not None:
                raise EmulatorError(f"another Stripe emulator answers on {running.url}")
            raise EmulatorError(f"the Stripe emulator did not answer on {running.url} in {timeout:.0f} s")
        time.sleep(0.05)


def stop(running: EmulatorProcess, timeout: float = 15.0) -> int:
    """SIGTERM (the emulator stops localstripe on its way out), then SIGKILL after ``timeout``."""
    process = running.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
