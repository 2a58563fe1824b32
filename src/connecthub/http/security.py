"""Security headers on every response (errors included) and Mastodon-style CORS."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "media-src 'self' data: blob: https:",
        "connect-src 'self' wss: ws:",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)
HSTS = b"max-age=63072000; includeSubDomains"

# The pages a web client's sign-in popup goes through: the client (another origin) opens
# /oauth/authorize in a popup and waits for the code through window.opener. A page in that
# chain, redirects included, sent with COOP `same-origin` (or `same-origin-allow-popups`,
# which differs from the opener's policy just the same) moves the popup into a new
# browsing context group and cuts the link for good: the client reports a failed sign-in
# and the popup shows a second copy of it. These pages send `unsafe-none`; they still
# refuse to be framed (X-Frame-Options, frame-ancestors). See docs/oauth.md.
_POPUP_FLOW_PATHS = frozenset({"/oauth/authorize", "/oauth/authorize/", "/auth/sign_in"})
_POPUP_FLOW_PREFIX = "/auth/oidc/"  # sign-in with a provider, which returns to the flow


def _opener_policy(path: str) -> bytes:
    if path in _POPUP_FLOW_PATHS or path.startswith(_POPUP_FLOW_PREFIX):
        return b"unsafe-none"
    return b"same-origin"


def _base_headers(path: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"geolocation=(), camera=(), microphone=(), payment=()"),
        (b"cross-origin-opener-policy", _opener_policy(path)),
    ]


class SecurityHeadersMiddleware:
    """Adds the headers unless a route set its own (media sets a stricter CSP; the API
    documentation pages allow their own inline script by hash)."""

    def __init__(self, app: ASGIApp, *, behind_tls: bool) -> None:
        self.app = app
        self.behind_tls = behind_tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.behind_tls or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                extra = _base_headers(scope["path"])
                extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                if https:
                    extra.append((b"strict-transport-security", HSTS))
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_cors_path(path: str) -> bool:
    return path.startswith(("/api/", "/.well-known/", "/nodeinfo/")) or path in (
        "/oauth/token",
        "/oauth/revoke",
    )


class MastodonCorsMiddleware:
    """Any origin, no credentials, on the API and token endpoints only (as Mastodon)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=[
                "Link",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "X-Request-Id",
                "Retry-After",
            ],
            max_age=86400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_cors_path(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
