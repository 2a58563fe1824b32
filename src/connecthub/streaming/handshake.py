"""What is checked before a stream opens: the token (query `access_token`,
`Authorization: Bearer`, or `Sec-WebSocket-Protocol`), and the Origin of browser clients
when an allow-list is configured."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import Scope

from connecthub.config import Settings
from connecthub.http.auth import bearer_token
from connecthub.infra.engines import Engines
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.tokens import authenticate
from connecthub.streaming.streams import StreamError


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def origin_allowed(scope: Scope, settings: Settings) -> bool:
    """Streams are authenticated by token alone, never by the web app's session cookie, so
    a page on another origin opens one only with a token it was given: like Mastodon, no
    origin is refused by default (web clients are served from their own domains). When
    STREAMING_ALLOWED_ORIGINS is set, a browser page must be served from this host or be
    listed there; clients that send no Origin (apps, libraries) are always allowed."""
    if not settings.streaming_allowed_origins:
        return True
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/")
    if origin in {o.rstrip("/") for o in settings.streaming_allowed_origins}:
        return True
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc in {
        (_header(scope, b"host") or "").lower(),
        settings.local_domain.lower(),
    }


def offered_subprotocol(scope: Scope) -> str | None:
    """Browsers cannot set headers on a WebSocket, so Mastodon clients pass the token as
    the requested subprotocol; the server must echo it back."""
    raw = _header(scope, b"sec-websocket-protocol")
    if not raw:
        return None
    first = raw.split(",")[0].strip()
    return first or None


async def authenticate_stream(scope: Scope, engines: Engines) -> TokenInfo:
    """The stream's token. Cookies are deliberately not read: a browser sends its cookies
    with a cross-site WebSocket handshake, so cookie authentication would let any page
    stream as the signed-in user (cross-site WebSocket hijacking) unless the Origin were
    checked for it, which `origin_allowed` no longer does by default."""
    raw = bearer_token(scope) or offered_subprotocol(scope)
    if raw is None:
        raise StreamError(401, "Missing access token")
    token = await authenticate(engines, raw)
    if token is None or token.account_id is None:
        raise StreamError(401, "Invalid access token")
    if token.pending is not None:
        raise StreamError(403, token.pending)
    return token
