"""A real SMTP server on loopback (aiosmtpd) that keeps what it received and can be told to fail."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class Mailbox:
    """Messages accepted so far; set `fail_with` to answer the next DATA commands with an error."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    fail_with: str | None = None

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.fail_with:
            return self.fail_with
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=default))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(mailbox: Mailbox | None = None) -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
