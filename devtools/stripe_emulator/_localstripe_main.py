"""localstripe's console script, minus its store dump to ``/tmp/localstripe.pickle``.

localstripe 1.15 pickles its whole store to that one fixed path after every write. The emulator starts it
``--from-scratch`` (its own objects are in memory only), so the dump is never read back; but it would
overwrite the file of any other localstripe on the machine (a developer's ``make stripe-emulator``, a
parallel test run) and costs a full pickle per request.
"""

import sys

from localstripe import resources, server


def main() -> None:
    resources.Store.dump_to_disk = lambda self: None
    sys.argv[0] = "localstripe"
    server.start()


if __name__ == "__main__":
    main()
