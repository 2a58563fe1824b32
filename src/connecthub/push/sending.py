"""Sending one push message: encrypt it for the subscriber (RFC 8291 / the draft Mastodon
still speaks), sign it with the instance's VAPID key (RFC 8292), and POST it to the push
service — only ever to a public address (push/delivery.py says which).

Imported by the job that sends (push/tasks.py) when it runs, not with the app: aiohttp and
pywebpush (with requests and urllib3) were ~0.1 s of every process's start, a web server's
included, which never sends.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from pywebpush import WebPusher

from connecthub.push.delivery import Message, check_endpoint, is_public
from connecthub.push.keys import VapidKeys

# As Mastodon: a message waits up to two days for an offline device, at normal urgency.
TTL_SECONDS = 48 * 3600
URGENCY = "normal"
TIMEOUT_SECONDS = 15.0
JWT_LIFETIME_SECONDS = 12 * 3600
# What `send` raises when the push service cannot be reached (a retry may succeed).
UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError)


class PublicResolver(AbstractResolver):
    """DNS answers with every non-public address removed (none left: refused)."""

    def __init__(self, test_hosts: frozenset[str]) -> None:
        self._inner = ThreadedResolver()
        self._test_hosts = test_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if host.lower() in self._test_hosts:
            return answers
        public = [answer for answer in answers if is_public(answer["host"])]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


def request_parts(message: Message, keys: VapidKeys, subject: str) -> tuple[dict[str, str], bytes]:
    """The headers and encrypted body of one push request."""
    subscription = {
        "endpoint": message.endpoint,
        "keys": {"p256dh": message.key_p256dh, "auth": message.key_auth},
    }
    pusher = WebPusher(subscription)
    parts = urlsplit(message.endpoint)
    vapid = keys.headers(
        audience=f"{parts.scheme}://{parts.netloc}",
        subject=subject,
        expires=int(time.time()) + JWT_LIFETIME_SECONDS,
        standard=message.standard,
    )
    headers = {
        "TTL": str(TTL_SECONDS),
        "Urgency": URGENCY,
        "Content-Type": "application/octet-stream",
        "Authorization": vapid["Authorization"],
    }
    if message.standard:
        encoded: Any = pusher.encode(message.payload, "aes128gcm")
        headers["Content-Encoding"] = "aes128gcm"
    else:
        encoded = pusher.encode(message.payload, "aesgcm")
        headers["Content-Encoding"] = "aesgcm"
        headers["Encryption"] = f"salt={encoded['salt'].decode()}"
        # The sender's key first, then the VAPID key, as Mastodon writes it.
        headers["Crypto-Key"] = f"dh={encoded['crypto_key'].decode()};{vapid['Crypto-Key']}"
    return headers, bytes(encoded["body"])


async def send(message: Message, keys: VapidKeys, subject: str, test_hosts: frozenset[str]) -> int:
    """POST the message; the push service's status code. Raises `EndpointRefused`, or one of
    UNREACHABLE when the service cannot be reached."""
    check_endpoint(message.endpoint, test_hosts)
    headers, body = request_parts(message, keys, subject)
    connector = aiohttp.TCPConnector(resolver=PublicResolver(test_hosts), force_close=True)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    session = aiohttp.ClientSession(connector=connector, timeout=timeout)
    post = session.post(message.endpoint, data=body, headers=headers, allow_redirects=False)
    async with session, post as response:
        # Only the status matters; the body is never read (however large it may be).
        return response.status
