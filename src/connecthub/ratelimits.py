"""Which rate limits apply to what: the one table of buckets; `hit`, the one way to count
against a bucket with the one failure policy; and the sign-in checks that services call
(the HTTP middleware cannot see request bodies).

docs/rate-limits.md describes this table and the failure policy for operators; keep the
two in step.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import structlog

from connecthub.clock import monotonic
from connecthub.config import RateLimit, Settings
from connecthub.errors import TooManyRequests
from connecthub.infra.ratelimit import RateLimitDecision, RateLimiter
from connecthub.ops import metrics

if TYPE_CHECKING:
    from connecthub.infra.engines import Engines

log = structlog.get_logger(__name__)

# General buckets, for every request under these prefixes.
GENERAL_PREFIXES = ("/api/", "/oauth/")
IP_BUCKET = "ip"  # anonymous (or invalid-token) requests, per client IP (IPv6: per /64)
TOKEN_BUCKET = "token"  # noqa: S105 - per access token
ACCOUNT_BUCKET = "account"  # per account, across all its tokens
SIGN_IN_BUCKET = "sign_in"  # per client IP, for sign-in writes
SIGN_IN_EMAIL_BUCKET = "sign_in_email"  # per e-mail address (hashed), from services

# After a limiter failure this process stops asking that limiter for this long: an outage
# then neither slows every request by the client's retries nor floods the log.
OUTAGE_PAUSE_SECONDS = 5.0
_paused_until: WeakKeyDictionary[RateLimiter, float] = WeakKeyDictionary()


@dataclass(frozen=True)
class PathRule:
    """A stricter bucket, per client IP, for writes to sensitive paths."""

    bucket: str
    setting: str  # the Settings field holding its RateLimit
    methods: frozenset[str]
    paths: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and (path in self.paths or path.startswith(self.prefixes))


_WRITES = frozenset({"POST", "PUT", "PATCH"})

PATH_RULES: tuple[PathRule, ...] = (
    PathRule(
        "sign_up",
        "rate_limit_sign_up",
        frozenset({"POST"}),
        frozenset({"/api/v1/accounts", "/auth/sign_up"}),
    ),
    PathRule(
        SIGN_IN_BUCKET,
        "rate_limit_sign_in_ip",
        frozenset({"POST"}),
        frozenset({"/oauth/token", "/auth/sign_in", "/oauth/authorize"}),
    ),
    PathRule(
        "password",
        "rate_limit_password",
        _WRITES,
        frozenset(
            {"/auth/password", "/api/v1/connecthub/password", "/api/v1/connecthub/password_reset"}
        ),
        prefixes=("/auth/password/",),
    ),
)


def normalize_path(path: str) -> str:
    return path.rstrip("/") or "/"


def is_general_path(path: str) -> bool:
    return path.startswith(GENERAL_PREFIXES)


# Methods some stricter bucket counts: a request with another (every GET) has none.
STRICT_METHODS = frozenset().union(*(rule.methods for rule in PATH_RULES))


def strict_rules(method: str, path: str) -> list[PathRule]:
    if method not in STRICT_METHODS:
        return []
    path = normalize_path(path)
    return [rule for rule in PATH_RULES if rule.matches(method, path)]


def rule_limit(settings: Settings, rule: PathRule) -> RateLimit:
    limit = getattr(settings, rule.setting)
    assert isinstance(limit, RateLimit)
    return limit


def decision_headers(decision: RateLimitDecision) -> dict[str, str]:
    """`X-RateLimit-*` (Reset as an ISO 8601 timestamp, as Mastodon sends it), plus
    `Retry-After` in seconds when refused."""
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": _reset_text(decision.reset_at),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
    return headers


def decision_lines(decision: RateLimitDecision) -> bytes:
    """The same headers as `decision_headers`, as the lines of a header block
    (http/responses.HEADER_BLOCK): one formatting of two integers and a cached text."""
    lines = _LINES % (decision.limit, decision.remaining, _reset_bytes(decision.reset_at))
    if not decision.allowed:
        lines += b"retry-after: %d\r\n" % decision.retry_after
    return lines


_LINES = b"x-ratelimit-limit: %d\r\nx-ratelimit-remaining: %d\r\nx-ratelimit-reset: %s\r\n"


@functools.lru_cache(maxsize=256)
def _reset_text(reset_at: int) -> str:
    """The same for every request of a window: formatted once."""
    reset = datetime.fromtimestamp(reset_at, UTC)
    return reset.isoformat(timespec="microseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=256)
def _reset_bytes(reset_at: int) -> bytes:
    return _reset_text(reset_at).encode()


def email_key(settings: Settings, email: str) -> str:
    """A keyed hash of the normalized address: limiter keys never hold an address, and
    the hash cannot be reversed by hashing a list of known addresses without the secret."""
    normalized = email.strip().lower().encode()
    digest = hmac.new(settings.secret_key.encode(), normalized, hashlib.sha256)
    return digest.hexdigest()[:40]


async def hit(
    engines: Engines, bucket: str, key: str, limit: RateLimit
) -> RateLimitDecision | None:
    """Count one request against `bucket` for `key`. Every hit goes through here (the
    middleware's and the services' alike) for its failure policy: when the limiter fails
    (Redis unreachable) the answer is None, meaning "let the request through", a
    `ratelimit.unavailable` warning is logged, and this process stops asking that limiter
    for OUTAGE_PAUSE_SECONDS. Rate limiting must never take the API down with it."""
    limiter = engines.ratelimiter
    if _paused(limiter):
        return None
    try:
        return await limiter.hit(bucket, key, limit)
    except Exception:
        log.warning("ratelimit.unavailable", bucket=bucket, exc_info=True)
        _paused_until[limiter] = monotonic() + OUTAGE_PAUSE_SECONDS
        return None


def _paused(limiter: RateLimiter) -> bool:
    """Whether this process stopped asking `limiter` after its failure (only that one: a
    pause of another engines' limiter in the same process, the tests', is not its own)."""
    if not _paused_until:  # (empty, the usual case, it is not looked up: a weak reference each)
        return False
    until = _paused_until.get(limiter)
    if until is None:
        return False
    if monotonic() < until:
        return True
    del _paused_until[limiter]
    return False


def hit_near(engines: Engines, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision | None:
    """`hit` when the limiter decides it in the process (a key far from its limit): no
    await, no round trip. None means "call `hit`", which counts the hit and applies the
    failure policy (so does a limiter paused after an outage)."""
    limiter = engines.ratelimiter
    return None if _paused(limiter) else limiter.hit_near(bucket, key, limit)


def hit_all_near(
    engines: Engines, hits: Sequence[tuple[str, str, RateLimit]]
) -> list[RateLimitDecision] | None:
    """`hit_near` for each of `hits` (bucket, key, limit) when the limiter decides them
    all in the process; None, with nothing counted, when any needs `hit`."""
    limiter = engines.ratelimiter
    return None if _paused(limiter) else limiter.hit_all_near(hits)


async def enforce(engines: Engines, bucket: str, key: str, limit: RateLimit) -> None:
    """`hit`, raising `TooManyRequests` (429 with `Retry-After`) when refused."""
    decision = await hit(engines, bucket, key, limit)
    if decision is not None and not decision.allowed:
        metrics.RATE_LIMITED.labels(bucket=bucket).inc()
        raise TooManyRequests(headers=decision_headers(decision))


async def check_sign_in_email(engines: Engines, email: str) -> None:
    """Count one sign-in attempt for `email`; raise `TooManyRequests` (with `Retry-After`)
    once the address is over `RATE_LIMIT_SIGN_IN_EMAIL`. Call it for every attempt, before
    checking the password."""
    settings = engines.settings
    if not settings.rate_limit_enabled or not email.strip():
        return
    key = email_key(settings, email)
    await enforce(engines, SIGN_IN_EMAIL_BUCKET, key, settings.rate_limit_sign_in_email)


async def check_sign_in_ip(engines: Engines, client_ip: str) -> None:
    """Count one sign-in attempt from `client_ip` in the `sign_in` bucket, for sign-in
    paths the middleware does not count (its PATH_RULES cover the ordinary forms)."""
    settings = engines.settings
    if not settings.rate_limit_enabled:
        return
    key = bucket_for_ip(client_ip)
    await enforce(engines, SIGN_IN_BUCKET, key, settings.rate_limit_sign_in_ip)


@functools.lru_cache(maxsize=65_536)
def bucket_for_ip(address: str) -> str:
    """IPv6 clients get a /64 each (one subscriber's allocation); IPv4 the address.
    Remembered: parsing an address was a tenth of an anonymous request's CPU."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
