"""An SMTP server for integration tests: accepts mail into a folder, refuses on request.

    python smtp_sink.py --port N --maildir DIR [--fail-first K]

Each accepted message becomes DIR/<n>.eml (1, 2, ...; written under a temporary name and renamed,
so a reader never sees half a message), with the envelope in two added headers, X-Sink-Mail-From
and X-Sink-Rcpt-To. Recipients whose local part starts with "reject" get a permanent 550 at RCPT,
"busy" a temporary 451; the first K DATA commands answer 451 (to exercise retries). Each message
also gets X-Sink-Peer, the client's address and port: one value per SMTP connection. With
--drop-after M the server hangs up a connection once it has taken M messages on it, as a server
restarting or timing out idle clients would. Prints
"ready" once listening; SIGTERM or SIGINT stops it cleanly.

Runs as its own process: the tests run under eventlet monkey-patching, which asyncio does not
survive.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

REJECT = "550 5.1.1 mailbox unavailable"
BUSY = "451 4.3.0 try again later"


class Sink:
    def __init__(self, maildir: Path, fail_first: int, drop_after: int = 0) -> None:
        self.maildir = maildir
        self.fail_first = fail_first
        self.drop_after = drop_after
        self.taken_on: dict[str, int] = {}
        self.data_commands = 0
        # continue after what a previous run left, so files are never overwritten
        numbers = [int(p.stem) for p in maildir.glob("*.eml") if p.stem.isdigit()]
        self.next_number = max(numbers, default=0) + 1

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.rpartition("@")[0].lower() if "@" in address else address.lower()
        if local.startswith("reject"):
            return REJECT
        if local.startswith("busy"):
            return BUSY
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        # All hooks run on the controller's one event loop thread: no lock needed.
        self.data_commands += 1
        if self.data_commands <= self.fail_first:
            return BUSY
        number = self.next_number
        self.next_number += 1
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        peer = ":".join(str(part) for part in session.peer)
        trace = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-Peer: {peer}\r\n"
        ).encode()
        # Store with the platform's line endings, as a mail folder on disk would.
        raw = re.sub(rb"\r\n", b"\n", trace + content)
        # Durable before the 250, as a mail server's queue is; written off the event loop so that
        # concurrent sessions' fsyncs overlap, as a real server's processes do.
        await asyncio.get_running_loop().run_in_executor(None, self.store, number, raw)
        self.taken_on[peer] = self.taken_on.get(peer, 0) + 1
        if self.drop_after and self.taken_on[peer] >= self.drop_after:
            # After the reply has gone out: the client learns of it on its next command.
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 OK: queued as " + str(number)

    def store(self, number: int, raw: bytes) -> None:
        temporary = self.maildir / f".{number}.eml.tmp"
        with open(temporary, "wb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.maildir / f"{number}.eml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fail-first", type=int, default=0, metavar="K")
    parser.add_argument("--drop-after", type=int, default=0, metavar="M")
    args = parser.parse_args(argv)
    args.maildir.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    controller = Controller(
        Sink(args.maildir, args.fail_first, args.drop_after),
        hostname=args.host,
        port=args.port,
        enable_SMTPUTF8=True,
        ready_timeout=10,
    )
    controller.start()
    print("ready", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
