"""Outgoing mail, with two transports behind one function: SMTP when `SMTP_URL` is set,
otherwise `.eml` files in `OUTBOX_DIR` (the embedded default, readable with any mail client).

`SMTP_URL` is `smtp://[user:password@]host[:port]` (add `?starttls=true` for STARTTLS) or
`smtps://…` for implicit TLS.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from connecthub.clock import utcnow
from connecthub.config import Settings


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def _message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=settings.local_domain.split(":")[0])
    message["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(mail.text)
    return message


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    options = parse_qs(parts.query)
    timeout = 30
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=timeout)
    with client:
        if options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def _write_outbox(directory: str, message: EmailMessage) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    token = str(message["Message-ID"]).strip("<>").split("@")[0]
    path = folder / f"{stamp}-{token}.eml"
    path.write_bytes(bytes(message))
    return path


async def send_mail(settings: Settings, mail: Mail) -> None:
    """Deliver now (in a thread: smtplib and file writes block)."""
    message = _message(settings, mail)
    if settings.smtp_url:
        await asyncio.to_thread(_send_smtp, settings.smtp_url, message)
    else:
        await asyncio.to_thread(_write_outbox, settings.outbox_dir, message)
