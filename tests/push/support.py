"""A push service on loopback for the tests: an HTTP server in a thread that holds each
subscription's private key, answers as told (201 by default, or a scripted list of
statuses), and decrypts what arrives — RFC 8291 (aes128gcm) or the draft (aesgcm) — and
checks its VAPID signature (RFC 8292 and the draft's header form) against the instance's key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid01, Vapid02

from tests.servers import free_port

WAIT_SECONDS = 60.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Device:
    """One subscriber: its key pair and auth secret, as a browser makes them."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def keys(self) -> dict[str, str]:
        return {"p256dh": self.p256dh, "auth": b64url(self.auth)}

    def decrypt(self, message: Received) -> dict[str, Any]:
        encoding = message.headers["content-encoding"]
        if encoding == "aes128gcm":
            plain = http_ece.decrypt(
                message.body,
                private_key=self.private_key,
                auth_secret=self.auth,
                version="aes128gcm",
            )
        else:
            assert encoding == "aesgcm", encoding
            salt = message.headers["encryption"].split("salt=", 1)[1]
            crypto_key = dict(
                part.split("=", 1) for part in message.headers["crypto-key"].split(";")
            )
            plain = http_ece.decrypt(
                message.body,
                salt=unb64(salt),
                dh=unb64(crypto_key["dh"]),
                private_key=self.private_key,
                auth_secret=self.auth,
                version="aesgcm",
            )
        result: dict[str, Any] = json.loads(plain)
        return result


def vapid_claims(message: Received, server_key: str) -> dict[str, Any]:
    """The VAPID JWT's claims, after checking it is signed by `server_key`."""
    authorization = message.headers["authorization"]
    if authorization.startswith("vapid "):
        parts = dict(part.strip().split("=", 1) for part in authorization[6:].split(","))
        assert parts["k"] == server_key
        assert Vapid02.verify(authorization)
        token = parts["t"]
    else:
        scheme, token = authorization.split(" ", 1)
        assert scheme == "WebPush"
        crypto_key = dict(part.split("=", 1) for part in message.headers["crypto-key"].split(";"))
        assert crypto_key["p256ecdsa"] == server_key
        assert Vapid01.verify(server_key, authorization)
    claims: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return claims


class PushService:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: queue.Queue[Received] = queue.Queue()
        self.script: list[int] = []  # statuses to answer first, in order; then 201
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with service._lock:
                    status = service.script.pop(0) if service.script else 201
                service.received.put(Received(self.path, headers, body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def endpoint(self, name: str = "device") -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    async def next(self) -> Received:
        """The next message that arrives (a deadline turns none into a failure)."""
        return await asyncio.to_thread(self.received.get, True, WAIT_SECONDS)

    def none_waiting(self) -> bool:
        return self.received.empty()
