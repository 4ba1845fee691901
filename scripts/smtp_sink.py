"""A real SMTP server for the test suite: aiosmtpd, saving every accepted message in a Maildir.

Run by the Rust test support (`notify::testing::SmtpSink`) with the venv of
scripts/test-tools.sh, as `python scripts/smtp_sink.py -n -l 127.0.0.1:PORT -c __main__.Sink MAILDIR`
(aiosmtpd's own command line). Additions to aiosmtpd's server and Mailbox handler:
  * once listening, it prints `smtp sink listening on HOST:PORT` on standard output; with PORT 0
    the kernel chooses the port, so the caller learns it from the server instead of picking a
    free one and handing it over (which another process could take in between);
  * recipients whose local part starts with `reject` are refused with 550 and those starting with
    `tempfail` with 451, so tests can exercise a real server's permanent and temporary refusals;
  * the server exits when its standard input (a pipe from the test process) closes, so a test
    process that dies without cleaning up leaves no server behind.

For benchmarks (`sportello-bench mail`), `-c __main__.Counter COUNT_FILE` instead of
`-c __main__.Sink MAILDIR` accepts every message and only counts it: writing each message to a
Maildir costs the server more than the SMTP dialogue and would bound the measurement.
"""

import asyncio
import logging
import os
import sys
import threading
from functools import partial

from aiosmtpd.handlers import Mailbox
from aiosmtpd.main import parseargs
from aiosmtpd.smtp import SMTP


class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Counter:
    """Accepts every message and keeps only their number, rewritten (decimal ASCII, padded with
    spaces to a fixed width) at the start of COUNT_FILE after each message."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Counter needs the path of its count file")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        os.pwrite(self.fd, str(self.count).encode().ljust(20), 0)
        return "250 OK"


def exit_with_parent():
    sys.stdin.buffer.read()
    os._exit(0)


def serve(args):
    """aiosmtpd's `main` (same arguments, parsed by aiosmtpd) for what the tests use — plain
    SMTP, no setuid — and reporting the address it listens on."""
    parser, ns = parseargs(args=args)
    if ns.setuid:
        parser.error("run with -n: this server does not change user")
    logging.basicConfig(level=logging.ERROR)
    factory = partial(
        SMTP, ns.handler, data_size_limit=ns.size, enable_SMTPUTF8=ns.smtputf8
    )
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(factory, host=ns.host, port=ns.port)
    )
    host, port = server.sockets[0].getsockname()[:2]
    print(f"smtp sink listening on {host}:{port}", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    threading.Thread(target=exit_with_parent, daemon=True).start()
    serve(sys.argv[1:])
