"""``make run`` (``python -m devtools.run``): the app on 127.0.0.1, its own Stripe emulator, stopped together.

The end-to-end tests start the real runner, which serves the real app (SQLite in a temporary folder) with
``flask run``, as a developer's ``make run`` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import config
from devtools import run
from tests.devtools.support import Receiver, http
from tests.plugins.stripe import free_ports

ROOT = Path(__file__).resolve().parents[2]
DEBUGGER_SCRIPT = "/?__debugger__=yes&cmd=resource&f=debugger.js"


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STRIPE_", "FLASK_")) and name not in {"APP_ENV", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(APP_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite'}")
    return env


def _runner(tmp_path: Path, port: int, emulator_port: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "devtools.run",
        "--port",
        str(port),
        "--emulator-port",
        str(emulator_port),
    ]
    command += ["--emulator-log", str(tmp_path / "emulator.log"), *extra]
    with (tmp_path / "run.log").open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=ROOT,
            env=_environment(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )


def _wait_for_the_app(url: str, runner: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/", timeout=2):  # noqa: S310 - 127.0.0.1
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if runner.poll() is not None or time.monotonic() > deadline:
                runner.kill()
                pytest.fail(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.2)


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 - 127.0.0.1
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False


@pytest.mark.parametrize(("debug", "stop_with"), [(False, signal.SIGINT), (True, signal.SIGTERM)])
def test_serves_the_app_with_its_emulator_and_stops_both(
    tmp_path: Path, debug: bool, stop_with: signal.Signals
) -> None:
    port, emulator_port = free_ports(2)
    app_url, emulator_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{emulator_port}"
    runner = _runner(tmp_path, port, emulator_port, *(["--debug"] if debug else []))
    try:
        _wait_for_the_app(app_url, runner, tmp_path / "run.log")
        emulator = http("GET", f"{emulator_url}/_emulator/identity").json()
        assert emulator["object"] == "stripe_emulator"
        webhooks = http("GET", f"{emulator_url}/_emulator/webhooks").json()["data"]
        assert [hook["url"] for hook in webhooks] == [f"{app_url}/webhooks/stripe"]

        # Werkzeug's debugger serves its script only when it is on: it runs code typed into the browser.
        answer = http("GET", f"{app_url}{DEBUGGER_SCRIPT}")
        assert ("javascript" in answer.headers.get("Content-Type", "")) is debug

        runner.send_signal(stop_with)  # Ctrl-C, or a process manager stopping it
        runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    log = (tmp_path / "run.log").read_text()
    assert "Stripe emulator stopped" in log, log
    assert _refused(f"{emulator_url}/_emulator/identity"), "the emulator outlived the app"
    with pytest.raises(ProcessLookupError):
        os.kill(emulator["pid"], 0)
    assert _refused(app_url), "the app (or its reloader's child) outlived the runner"


def test_a_server_already_on_the_emulator_port_is_reported_and_nothing_is_served(
    tmp_path: Path, receiver: Receiver
) -> None:
    taken = int(urlsplit(receiver.url).port or 0)
    port = free_ports(1)[0]
    runner = _runner(tmp_path, port, taken)
    assert runner.wait(60) == 1
    log = (tmp_path / "run.log").read_text()
    assert f"127.0.0.1:{taken}" in log
    assert "STRIPE_EMULATOR_PORT" in log, "says how to choose another port"
    assert _refused(f"http://127.0.0.1:{port}/")


def test_the_debugger_is_refused_off_the_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools.run", "--host", "0.0.0.0", "--debug"],  # noqa: S104
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"only on 127.0.0.1" in result.stderr


def test_flask_runs_without_debugger_unless_asked() -> None:
    assert "--no-debug" in run.flask_command("127.0.0.1", 5000, debug=False)
    assert "--debug" in run.flask_command("127.0.0.1", 5000, debug=True)
    assert all(run.is_loopback(host) for host in ("127.0.0.1", "::1", "localhost"))
    assert not run.is_loopback("0.0.0.0")  # noqa: S104


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_asks_for_the_debugger_only_with_debug_1() -> None:
    def recipe(*variables: str) -> str:
        result = subprocess.run(  # noqa: S603
            ["make", "-n", "run", *variables],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout[result.stdout.index("devtools.run") :]

    assert "--debug" not in recipe()
    assert "--host 127.0.0.1" in recipe()
    assert "--debug" in recipe("DEBUG=1")
    assert "--emulator-port 8431" in recipe("STRIPE_EMULATOR_PORT=8431")


def test_stripe_api_base_follows_the_emulator_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ENV", "STRIPE_API_BASE", "STRIPE_EMULATOR_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert config.load(tmp_path)["STRIPE_API_BASE"] == f"http://127.0.0.1:{config.EMULATOR_PORT}"
    monkeypatch.setenv("STRIPE_EMULATOR_PORT", "8431")
    assert config.load(tmp_path)["STRIPE_API_BASE"] == "http://127.0.0.1:8431"
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9000")
    assert config.load(tmp_path)["STRIPE_API_BASE"] == "http://127.0.0.1:9000", "an explicit base wins"
    monkeypatch.delenv("STRIPE_API_BASE")
    monkeypatch.setenv("STRIPE_EMULATOR_PORT", "eighty")
    with pytest.raises(config.ConfigError, match="STRIPE_EMULATOR_PORT"):
        config.load(tmp_path)
