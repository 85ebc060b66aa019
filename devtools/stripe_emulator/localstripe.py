"""localstripe as a child process, and the one configuration call the emulator makes to it.

It is started from the same Python environment through :mod:`._localstripe_main`, which serves
localstripe's application on a socket the emulator binds on 127.0.0.1 and hands down: the port is
taken before the child starts (a free one by default), so a server of someone else's already answering
there is an error at once rather than a peer the emulator would forward to. It starts from scratch:
the emulator keeps its own objects in memory only, so localstripe must not bring back customers from a
previous run either.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devtools.stripe_emulator import outgoing

PROBE_KEY = "sk_test_stripe_emulator_probe"
HOST = "127.0.0.1"
_ROOT = Path(__file__).resolve().parents[2]  # the directory holding devtools/


class LocalstripeError(RuntimeError):
    pass


class Localstripe:
    """The localstripe child: started, waited for, stopped (and killed with us on Linux, whatever happens).

    ``port`` 0 takes a free port; ``port`` is the one in use once :meth:`start` has returned.
    """

    def __init__(self, port: int = 0, *, quiet: bool = False) -> None:
        self.port = port
        self._quiet = quiet
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        try:
            listener = socket.create_server((HOST, self.port), backlog=128)
        except OSError as error:
            message = f"localstripe cannot listen on {HOST}:{self.port}: {error.strerror}"
            raise LocalstripeError(message) from None
        with listener:
            self.port = int(listener.getsockname()[1])
            fd = listener.fileno()
            command = [sys.executable, "-m", f"{__package__}._localstripe_main", "--fd", str(fd)]
            # The child finds this package wherever the emulator was started from.
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
            }
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command,
                stdin=subprocess.DEVNULL,
                env=env,
                pass_fds=(fd,),
                # Its banner and access log go to our stderr: our stdout carries only our own line.
                stdout=subprocess.DEVNULL if self._quiet else sys.stderr,
                stderr=subprocess.DEVNULL if self._quiet else sys.stderr,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        # Our copy is closed: once the child is gone, a client is refused instead of left waiting.

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once localstripe answers HTTP (any status: only the child holds its socket)."""
        deadline = time.monotonic() + timeout
        probe = urllib.request.Request(  # noqa: S310 - fixed http://127.0.0.1 URL
            f"{self.url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {PROBE_KEY}"}
        )
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise LocalstripeError(f"localstripe exited with code {self._process.returncode}")
            try:
                with outgoing.opener().open(probe, timeout=2):
                    return
            except urllib.error.HTTPError as error:
                error.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise LocalstripeError(
                        f"localstripe did not answer on {self.url} in {timeout:.0f} s"
                    ) from None
                time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG, run in a child before it starts: if its parent is killed outright, the kernel
    stops the child too (localstripe with the emulator, the emulator with ``devtools.run``)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def configure_webhook(base_url: str, ident: str, url: str, secret: str, events: list[str] | None) -> None:
    """Have localstripe sign and send its own events to the same endpoint (``events=[]`` silences it).

    localstripe has no way to remove an endpoint; an empty event list makes it send nothing.
    """
    body: dict[str, Any] = {"url": url, "secret": secret}
    if events is not None:
        body["events"] = events
    request = urllib.request.Request(  # noqa: S310 - base_url is the http://127.0.0.1 child
        f"{base_url}/_config/webhooks/{ident}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with outgoing.opener().open(request, timeout=10):
            return
    except urllib.error.HTTPError as error:
        with error:
            raise LocalstripeError(f"localstripe refused the webhook endpoint: HTTP {error.code}") from None
    except OSError as error:
        raise LocalstripeError(f"localstripe is not reachable at {base_url}: {error}") from None
