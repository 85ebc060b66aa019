"""localstripe's server on a listening socket handed down by the emulator, minus its store dump.

localstripe's own ``start()`` binds ``::`` (every interface, IPv4 and IPv6) on a port of its choosing.
The emulator instead binds 127.0.0.1 itself and passes the listening socket (``--fd``): localstripe is
then reachable from this machine only, and nothing else can be answering on its port.

localstripe 1.15 also pickles its whole store to ``/tmp/localstripe.pickle`` after every write. The
emulator starts it from scratch (its own objects are in memory only), so the dump is never read back; but
it would overwrite the file of any other localstripe on the machine and costs a full pickle per request.
"""

import argparse
import logging
import socket
import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser(prog="localstripe")
    parser.add_argument("--fd", type=int, required=True, help="an inherited socket, bound and listening")
    args = parser.parse_args()
    resources.Store.dump_to_disk = lambda self: None
    sys.argv[0] = "localstripe"
    sock = socket.socket(fileno=args.fd)
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(logging.StreamHandler())
    web.run_app(server.app, sock=sock, access_log=logger, print=None)


if __name__ == "__main__":
    main()
