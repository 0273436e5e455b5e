"""Deliver alert emails: over SMTP (STARTTLS, SSL or plain) or, with no SMTP configured, as .eml
files in an outbox folder. Delivery reports success only once the server accepted the message."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """The email was not accepted; the alert stays unsent and the next run tries again."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs
    timeout: float = 30.0


def send_smtp(
    msg: EmailMessage, target: SmtpTarget, *, attempts: int = 3, backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send with retries on connection and temporary (4xx) errors; permanent refusals fail at once."""
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            _send_once(msg, target)
            return f"smtp:{target.host}:{target.port}"
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP {target.host}:{target.port} refused the login ({exc.smtp_code}); check the credentials") from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise DeliveryError(f"SMTP {target.host}:{target.port} refused the message: {exc.smtp_code} {exc.smtp_error!r}") from None
            last = exc
        except (OSError, smtplib.SMTPException) as exc:
            last = exc
        if attempt < attempts:
            delay = backoff * 2 ** (attempt - 1)
            log.warning("SMTP %s:%s attempt %d failed (%s); retrying in %.0fs", target.host, target.port, attempt, last, delay)
            sleep(delay)
    raise DeliveryError(f"SMTP {target.host}:{target.port} failed after {attempts} attempts: {last}")


def _send_once(msg: EmailMessage, target: SmtpTarget) -> None:
    context = ssl.create_default_context()
    if target.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
    with client:
        client.ehlo()
        if target.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.username:
            client.login(target.username, target.password or "")
        refused = client.send_message(msg)
        if refused:
            raise DeliveryError(f"SMTP {target.host} refused some recipients: {sorted(refused)}")


def write_outbox(msg: EmailMessage, folder: Path, name: str) -> str:
    """Write the message as `<name>.eml`, atomically, so a crash never leaves half an email."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(msg.as_bytes(policy=SMTP))
    os.replace(tmp, path)
    return f"outbox:{path}"
