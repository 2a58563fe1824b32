"""The key material of Web Push: the instance's VAPID pair (RFC 8292), subscribers' keys
(RFC 8291) as clients send them, and the sealing of the access token a subscription keeps."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid01, Vapid02

from connecthub.core import sealed


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Base64 in either alphabet, padded or not (Mastodon.py sends the standard one)."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


@dataclass(frozen=True)
class VapidKeys:
    private_key: str  # the raw 32-byte scalar, base64url
    public_key: str  # the uncompressed point, base64url: what clients pass to the browser

    @classmethod
    def generate(cls) -> VapidKeys:
        return cls.of_private(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_private(cls, private_key: str) -> VapidKeys:
        scalar = int.from_bytes(unb64(private_key), "big")
        return cls.of_private(ec.derive_private_key(scalar, ec.SECP256R1()))

    @classmethod
    def of_private(cls, key: ec.EllipticCurvePrivateKey) -> VapidKeys:
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return cls(private_key=b64url(scalar), public_key=b64url(point))

    def headers(
        self, *, audience: str, subject: str, expires: int, standard: bool
    ) -> dict[str, str]:
        """The VAPID headers for one request: RFC 8292's `Authorization: vapid t=…, k=…`
        for a standard subscription; the draft's `WebPush <jwt>` with the key in
        `Crypto-Key: p256ecdsa=…` for the others, as Mastodon sends them."""
        signer = (Vapid02 if standard else Vapid01).from_raw(self.private_key.encode())
        # The subject is the contact address, or the instance's URL (plain http in
        # development, which py_vapid's strict check refuses).
        signer.conf = {"no-strict": True}
        claims = {"aud": audience, "sub": subject, "exp": expires}
        return {name: str(value) for name, value in signer.sign(claims).items()}


def subscriber_key(text: str) -> str | None:
    """A client's `p256dh`: an uncompressed P-256 point; returned base64url, or None."""
    try:
        raw = unb64(text)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:  # binascii.Error included
        return None
    return b64url(raw) if len(raw) == 65 else None


def subscriber_secret(text: str) -> str | None:
    """A client's `auth`: 16 random bytes; returned base64url, or None."""
    try:
        raw = unb64(text)
    except ValueError:  # binascii.Error included
        return None
    return b64url(raw) if len(raw) == 16 else None


_TOKEN_PURPOSE = b"connecthub.push-token.v1"


def seal_token(secret_key: str, token: str) -> str:
    return sealed.seal(secret_key, _TOKEN_PURPOSE, token)


def unseal_token(secret_key: str, stored: str) -> str | None:
    """The token, or None when SECRET_KEY changed since it was sealed."""
    return sealed.unseal(secret_key, _TOKEN_PURPOSE, stored)
