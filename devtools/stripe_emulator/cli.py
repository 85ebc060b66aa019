"""``python -m devtools.stripe_emulator``: localstripe as a child, the emulator in front, stopped together.

Both listen on 127.0.0.1 only. Whoever starts the emulator knows it is answering, and not some other
server on that port, when ``GET /_emulator/identity`` returns the ``--identity`` token it passed
(:mod:`devtools.stripe_emulator.launcher` does this).
"""

from __future__ import annotations

import logging
import secrets
import signal
import sys
from types import FrameType

import click
from werkzeug.serving import BaseWSGIServer, make_server

from devtools.stripe_emulator.app import Emulator
from devtools.stripe_emulator.core import Settings
from devtools.stripe_emulator.localstripe import Localstripe, LocalstripeError
from devtools.stripe_emulator.state import CardPricing

HOST = "127.0.0.1"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8420,
    envvar="STRIPE_EMULATOR_PORT",
    show_default=True,
    help="Port of the emulator on 127.0.0.1 (or STRIPE_EMULATOR_PORT).",
)
@click.option(
    "--localstripe-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port of the localstripe child on 127.0.0.1.  [default: a free port]",
)
@click.option(
    "--identity",
    envvar="STRIPE_EMULATOR_IDENTITY",
    help="Token GET /_emulator/identity answers, for the starter to recognise us.  [default: random]",
)
@click.option(
    "--webhook-url",
    "webhook_urls",
    multiple=True,
    envvar="STRIPE_EMULATOR_WEBHOOK_URL",
    help="Send signed events here (repeatable; the env var may hold several, space-separated).",
)
@click.option(
    "--webhook-secret",
    envvar="STRIPE_EMULATOR_WEBHOOK_SECRET",
    help="The whsec_... secret that signs the webhooks (the app's STRIPE_WEBHOOK_SECRET).",
)
@click.option("--public-url", help="Base URL of the links handed out.  [default: http://127.0.0.1:PORT]")
@click.option(
    "--card-fee-bps",
    type=click.IntRange(0, 10_000),
    default=CardPricing.bps,
    show_default=True,
    help="Stripe's fee on each card charge, in basis points of its amount (150: EEA cards; 0: none).",
)
@click.option(
    "--card-fee-fixed-cents",
    type=click.IntRange(0),
    default=CardPricing.fixed_cents,
    show_default=True,
    help="Stripe's fixed fee on each card charge, in cents (25: EEA cards; 0: none).",
)
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def main(
    port: int,
    localstripe_port: int,
    identity: str | None,
    webhook_urls: tuple[str, ...],
    webhook_secret: str | None,
    public_url: str | None,
    card_fee_bps: int,
    card_fee_fixed_cents: int,
    quiet: bool,
) -> None:
    """Serve Stripe's API on 127.0.0.1: Connect emulated here, everything else by localstripe."""
    if webhook_urls and not webhook_secret:
        raise click.UsageError("--webhook-url needs --webhook-secret (or STRIPE_EMULATOR_WEBHOOK_SECRET)")
    for url in webhook_urls:
        if not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--webhook-url")
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # it would set itself to INFO
    # SIGTERM stops us as Ctrl-C does: the server returns, and localstripe is stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)

    child = Localstripe(localstripe_port, quiet=quiet)
    public_url = (public_url or f"http://{HOST}:{port}").rstrip("/")
    emulator: Emulator | None = None
    server: BaseWSGIServer | None = None
    try:
        child.start()
        pricing = CardPricing(card_fee_bps, card_fee_fixed_cents)
        emulator = Emulator(
            Settings(public_url, child.url, child.pid, identity or secrets.token_urlsafe(16), pricing)
        )
        # A port already taken: werkzeug says so and exits, and localstripe is stopped on the way out.
        server = make_server(HOST, port, emulator, threaded=True)
        child.wait_ready()
        for url in webhook_urls:
            assert webhook_secret is not None
            emulator.backend.add_endpoint(url, webhook_secret)
        click.echo(
            f"Stripe emulator listening on http://{HOST}:{port} (public URL {public_url}), "
            f"localstripe on {child.url}, webhooks to {', '.join(webhook_urls) or 'none yet'}"
        )
        sys.stdout.flush()
        server.serve_forever()  # returns on KeyboardInterrupt, which SIGTERM raises too
    except (OSError, LocalstripeError) as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.server_close()
        if emulator is not None:
            emulator.close()
        child.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
