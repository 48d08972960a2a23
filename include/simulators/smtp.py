"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

``python -m include.simulators.smtp --port 8825 --maildir DIR`` stores each message as a file;
tests use :class:`MailSink` and read ``messages``. ``refuse`` makes it answer 554 to every
message, for testing that a failed notice is kept and retried.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from include.processes import free_port


class MailSink:
    """Collects messages; optionally stores them in a directory or refuses them."""

    def __init__(self, maildir: Path | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self.maildir = maildir
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        if self.refuse:
            return "554 Transaction failed (refused by the test mail sink)"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            if self.maildir:
                self.maildir.mkdir(parents=True, exist_ok=True)
                (self.maildir / f"{len(self.messages):04d}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def start_sink(
    port: int = 0, maildir: Path | None = None, host: str = "127.0.0.1"
) -> tuple[Controller, MailSink]:
    """Start a sink; ``controller.port`` tells where (stop with ``controller.stop()``)."""
    sink = MailSink(maildir)
    # aiosmtpd cannot bind port 0 itself: pick a free one
    controller = Controller(sink, hostname=host, port=port or free_port())
    controller.start()
    return controller, sink


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m include.simulators.smtp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8825)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    controller, _ = start_sink(args.port, args.maildir, args.host)
    print(f"SMTP sink on {args.host}:{controller.port}, mail stored in {args.maildir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
