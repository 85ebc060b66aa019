"""``python -m devtools.run`` (what ``make run`` serves with): the app and the local Stripe emulator together.

The emulator is started first, on ``--emulator-port`` (``STRIPE_EMULATOR_PORT``, which the app also reads
to find it), and must answer with the identity token it was given: a server already on that port is an
error, never a peer. Then ``flask run`` serves the app on 127.0.0.1. When the app stops (Ctrl-C, SIGTERM,
a crash), the emulator is stopped too; if this process is killed outright, the kernel stops both.

Werkzeug's debugger (and its reloader) only with ``--debug``: it runs any Python typed into the browser,
so it is refused on an address other than the loopback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import click

import config
from devtools.stripe_emulator import launcher
from devtools.stripe_emulator.localstripe import die_with_parent

ROOT = Path(__file__).resolve().parents[1]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def flask_command(host: str, port: int, *, debug: bool) -> list[str]:
    """``flask run`` as this runner starts it: the debugger and reloader only when asked for."""
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "--debug" if debug else "--no-debug",
        "run",
        "--host",
        host,
        "--port",
        str(port),
    ]


def emulator_arguments(host: str, port: int, webhook_secret: str) -> list[str]:
    """The emulator's webhooks go back to the app being served."""
    webhook_host = host if is_loopback(host) else "127.0.0.1"
    return [
        "--quiet",
        "--webhook-url",
        f"http://{webhook_host}:{port}/webhooks/stripe",
        "--webhook-secret",
        webhook_secret,
    ]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the app listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option(
    "--emulator-port",
    type=click.IntRange(1, 65535),
    envvar="STRIPE_EMULATOR_PORT",
    default=config.EMULATOR_PORT,
    show_default=True,
    help="Port of the local Stripe emulator on 127.0.0.1 (or STRIPE_EMULATOR_PORT).",
)
@click.option(
    "--emulator-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=ROOT / "instance" / "stripe-emulator.log",
    help="Where the emulator's output goes.  [default: instance/stripe-emulator.log]",
)
@click.option("--debug", is_flag=True, help="Werkzeug's debugger and reloader (loopback addresses only).")
def main(host: str, port: int, emulator_port: int, emulator_log: Path, debug: bool) -> None:
    """Serve the app for development, with the local Stripe emulator for as long as it runs."""
    if debug and not is_loopback(host):
        raise click.UsageError(
            f"--debug serves Werkzeug's debugger, which runs any code typed into the browser: "
            f"not on {host}, only on 127.0.0.1",
        )
    env = dict(os.environ)
    # Links in mail and Stripe's return addresses lead to where this run serves, and that host is allowed,
    # unless the environment says otherwise (e.g. a LAN address to try the site from a phone).
    env.setdefault("PUBLIC_URL", f"http://{host}:{port}")
    emulator: launcher.EmulatorProcess | None = None
    # SIGTERM and SIGHUP end the run as Ctrl-C does, so the emulator is stopped on the way out.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        if env.get("STRIPE_API_BASE"):
            click.echo(f"STRIPE_API_BASE is set ({env['STRIPE_API_BASE']}): no local Stripe emulator started")
        else:
            emulator = _start_emulator(host, port, emulator_port, emulator_log, env)
            env["STRIPE_EMULATOR_PORT"] = str(emulator_port)
        mode = "with Werkzeug's debugger" if debug else "without debugger (make run DEBUG=1 for it)"
        click.echo(f"Serving on http://{host}:{port} {mode}  (dev mailbox: http://{host}:{port}/dev/mailbox)")
        sys.exit(_serve(flask_command(host, port, debug=debug), env))
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if emulator is not None:
            launcher.stop(emulator)
            click.echo("Stripe emulator stopped")


def _start_emulator(
    host: str, port: int, emulator_port: int, log: Path, env: dict[str, str]
) -> launcher.EmulatorProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    secret = env.get("STRIPE_WEBHOOK_SECRET") or config.EMULATOR_WEBHOOK_SECRET
    with log.open("wb") as output:
        try:
            emulator = launcher.start(
                emulator_port,
                *emulator_arguments(host, port, secret),
                output=output,
                env=env,
                tie_to_parent=True,
            )
        except launcher.EmulatorError as error:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            advice = "Stop that server, or choose another port: make run STRIPE_EMULATOR_PORT=..."
            raise click.ClickException("\n".join([str(error), *tail, advice])) from None
    click.echo(f"Stripe emulator on {emulator.url} (log: {log})")
    return emulator


def _serve(command: Sequence[str], env: dict[str, str]) -> int:
    """Run the app until it exits; Ctrl-C (or SIGTERM) stops it and its reloader child as one group."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # a process group of its own may not read the terminal
        process_group=0,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    try:
        return process.wait()
    except KeyboardInterrupt:
        _signal_group(process, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        return 0


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main(prog_name="python -m devtools.run")
