"""``python -m devtools.stripe_emulator --port 8420``: see :mod:`devtools.stripe_emulator.cli`."""

from devtools.stripe_emulator.cli import main

if __name__ == "__main__":
    main(prog_name="python -m devtools.stripe_emulator")
