"""Security headers on every response (errors included) and Mastodon-style CORS: the
headers each adds, applied by the one HTTP layer (http/edge.py)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

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


def opener_policy(path: str) -> bytes:
    if path in _POPUP_FLOW_PATHS or path.startswith(_POPUP_FLOW_PREFIX):
        return b"unsafe-none"
    return b"same-origin"


_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_HSTS = (b"strict-transport-security", HSTS)


def _fixed_headers(opener_policy: bytes) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"geolocation=(), camera=(), microphone=(), payment=()"),
        (b"cross-origin-opener-policy", opener_policy),
        _CSP,
    )


# Built once: the headers differ only by the opener policy and whether HSTS applies.
_SECURITY_HEADERS = {
    (policy, https): _fixed_headers(policy) + ((_HSTS,) if https else ())
    for policy in (b"same-origin", b"unsafe-none")
    for https in (False, True)
}
_SECURITY_NAMES = frozenset(name for name, _ in _SECURITY_HEADERS[(b"same-origin", True)])


def security_headers(opener_policy: bytes, *, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers of an answer with that opener policy (`opener_policy(path)`)."""
    return _SECURITY_HEADERS[(opener_policy, https)]


def add_security_headers(headers: list[tuple[bytes, bytes]], path: str, https: bool) -> None:
    """Appends the security headers to a response's `headers`, except those a route set
    itself (media sets a stricter CSP; the API documentation pages allow their own inline
    script by hash)."""
    extra = _SECURITY_HEADERS[(opener_policy(path), https)]
    if not any(name.lower() in _SECURITY_NAMES for name, _ in headers):
        headers.extend(extra)
        return
    present = {name.lower() for name, _ in headers}
    headers.extend(item for item in extra if item[0] not in present)


# -- CORS: any origin, no credentials, on the API and token endpoints only (as Mastodon) --

_EXPOSED_HEADERS = ["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
_EXPOSED_HEADERS += ["X-Request-Id", "Retry-After"]
# Starlette's CORS rules answer preflight requests (rare: browsers cache them a day).
_CORS = CORSMiddleware(
    None,  # type: ignore[arg-type]  # only its preflight answer is used
    allow_origins=["*"],
    allow_credentials=False,
    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allow_headers=["*"],
    expose_headers=_EXPOSED_HEADERS,
    max_age=86400,
)
_ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
_EXPOSE = (b"access-control-expose-headers", ", ".join(_EXPOSED_HEADERS).encode())


def is_cors_path(path: str) -> bool:
    return path.startswith(("/api/", "/.well-known/", "/nodeinfo/")) or path in (
        "/oauth/token",
        "/oauth/revoke",
    )


def request_origin(scope: Scope) -> bytes | None:
    for key, value in scope["headers"]:
        if key == b"origin":
            return bytes(value)
    return None


def is_preflight(scope: Scope, origin: bytes | None) -> bool:
    if origin is None or scope["method"] != "OPTIONS":
        return False
    return any(key == b"access-control-request-method" for key, _ in scope["headers"])


async def answer_preflight(scope: Scope, receive: Receive, send: Send) -> None:
    await _CORS.preflight_response(request_headers=Headers(scope=scope))(scope, receive, send)


def _set_header(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> None:
    """Replace the first `name` header and drop the others, or append (MutableHeaders)."""
    found = [i for i, (key, _) in enumerate(headers) if key.lower() == name]
    if not found:
        headers.append((name, value))
        return
    headers[found[0]] = (name, value)
    for index in reversed(found[1:]):
        del headers[index]


def add_cors_headers(headers: list[tuple[bytes, bytes]], origin: bytes | None) -> None:
    """What Starlette's CORS middleware adds to a simple (not preflight) response with
    any-origin, no-credentials rules: the origin and exposed headers when the request
    named an origin, and `Vary: Origin` always."""
    if origin is not None:
        _set_header(headers, *_ALLOW_ORIGIN)
        _set_header(headers, *_EXPOSE)
    vary = [value for key, value in headers if key.lower() == b"vary"]
    _set_header(headers, b"vary", b", ".join([*vary, b"Origin"]))
