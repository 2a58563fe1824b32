"""Rate limits at the edge, before routing: per IP, per token, per account, and stricter
per-IP buckets for sign-up, sign-in and password writes (table in `connecthub.ratelimits`).

Applied by the one HTTP layer (http/edge.py), HTTP only. Responses under /api/ and /oauth/
carry `X-RateLimit-*`; a refusal is a 429 `{"error": "Too many requests"}` with
`Retry-After`. Every hit goes through `ratelimits.hit`, whose failure policy lets the
request through when the limiter fails.
"""

from __future__ import annotations

import json

import structlog
from starlette.types import Scope, Send

from connecthub.config import RateLimit, Settings
from connecthub.errors import Unauthorized
from connecthub.http.auth import NOT_NEAR, resolve_token, resolve_token_near
from connecthub.http.errors import outage_of
from connecthub.infra.engines import Engines
from connecthub.infra.ratelimit import RateLimitDecision
from connecthub.oauth.identity import TokenInfo
from connecthub.ops import metrics
from connecthub.ratelimits import (
    ACCOUNT_BUCKET,
    IP_BUCKET,
    TOKEN_BUCKET,
    bucket_for_ip,
    decision_headers,
    decision_lines,
    hit,
    hit_all_near,
    hit_near,
    is_general_path,
    rule_limit,
    strict_rules,
)

log = structlog.get_logger(__name__)

_REFUSAL_BODY = json.dumps({"error": "Too many requests"}).encode()

Hit = tuple[str, str, RateLimit]  # bucket, key, limit


def _client_ip(scope: Scope) -> str:
    state = scope.get("state") or {}
    address = state.get("client_ip") or (scope["client"][0] if scope.get("client") else "")
    return bucket_for_ip(str(address))


def _reported(decisions: list[tuple[str, RateLimitDecision]]) -> tuple[str, RateLimitDecision]:
    """The decision the headers describe: a refusal, else the bucket closest to its limit."""
    reported = decisions[0]
    for item in decisions:
        decision = item[1]
        if not decision.allowed:
            return item
        if (decision.remaining, decision.limit) < (reported[1].remaining, reported[1].limit):
            reported = item
    return reported


class Verdict:
    """What the limits say about one request: refused (answer `refusal()`), or allowed with
    the `X-RateLimit-*` headers its response carries (none outside /api/ and /oauth/), as
    pairs or as header-block lines, whichever the answer takes (http/edge.py)."""

    __slots__ = ("allowed", "bucket", "decision")

    def __init__(self, bucket: str, decision: RateLimitDecision, *, with_headers: bool) -> None:
        self.allowed = decision.allowed
        self.bucket = bucket
        self.decision = decision if with_headers or not decision.allowed else None

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.decision is None:
            return []
        named = decision_headers(self.decision).items()
        return [(k.lower().encode(), v.encode()) for k, v in named]

    @property
    def lines(self) -> bytes:
        return b"" if self.decision is None else decision_lines(self.decision)

    async def refuse(self, send: Send) -> None:
        metrics.RATE_LIMITED.labels(bucket=self.bucket).inc()
        raw = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(_REFUSAL_BODY)).encode()),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": 429, "headers": raw})
        await send({"type": "http.response.body", "body": _REFUSAL_BODY})


class EdgeRateLimits:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def check(self, scope: Scope, engines: Engines | None) -> Verdict | None:
        """The verdict on one HTTP request; None when no bucket applies or the limiter is
        unavailable (no limits, no headers)."""
        if not self.settings.rate_limit_enabled or engines is None:
            return None
        path = scope["path"]
        general = is_general_path(path)
        rules = strict_rules(scope["method"], path)
        if not general and not rules:
            return None
        hits = [(r.bucket, _client_ip(scope), rule_limit(self.settings, r)) for r in rules]
        if general:
            hits += await self._general_hits(scope, engines)
        decisions = await self._check(engines, hits)
        if decisions is None:
            return None
        bucket, decision = _reported(decisions)
        return Verdict(bucket, decision, with_headers=general)

    def check_near(self, scope: Scope, engines: Engines | None) -> Verdict | object | None:
        """`check` when every bucket it would hit is decided in the process (the token held
        near, each key far from its limit): the same verdict, counted, with no await.
        NOT_NEAR (nothing counted) when any is not: then `check` decides."""
        if not self.settings.rate_limit_enabled or engines is None:
            return None
        path = scope["path"]
        if strict_rules(scope["method"], path):
            return NOT_NEAR
        if not is_general_path(path):
            return None
        token = resolve_token_near(scope, engines)
        if token is NOT_NEAR:
            return NOT_NEAR
        assert token is None or isinstance(token, TokenInfo)
        hits = self._hits_of(scope, token)
        decided = hit_all_near(engines, hits)
        if decided is None:
            return NOT_NEAR
        named = [(name, each) for (name, _, _), each in zip(hits, decided, strict=True)]
        bucket, decision = _reported(named)
        return Verdict(bucket, decision, with_headers=True)

    async def _general_hits(self, scope: Scope, engines: Engines) -> list[Hit]:
        return self._hits_of(scope, await self._token(scope, engines))

    def _hits_of(self, scope: Scope, token: TokenInfo | None) -> list[Hit]:
        if token is None:
            return [(IP_BUCKET, _client_ip(scope), self.settings.rate_limit_ip)]
        hits = [(TOKEN_BUCKET, str(token.token_id), self.settings.rate_limit_token)]
        if token.account_id is not None:
            hits.append((ACCOUNT_BUCKET, str(token.account_id), self.settings.rate_limit_account))
        return hits

    @staticmethod
    async def _token(scope: Scope, engines: Engines) -> TokenInfo | None:
        """The caller's token; None for anonymous and invalid tokens alike (the route
        answers 401 for the latter, from the cached resolution)."""
        try:
            return await resolve_token(scope, engines)
        except Unauthorized:
            return None
        except Exception as exc:
            # Token storage is down: count the request per IP; the route reports the outage
            # (a 503). An outage is one line per request; anything else keeps its traceback.
            outage = outage_of(exc)
            if outage is None:
                log.warning("ratelimit.token_lookup_failed", exc_info=True)
            else:
                log.warning("ratelimit.token_lookup_failed", engine=outage[0], reason=outage[1])
            return None

    @staticmethod
    async def _check(
        engines: Engines, hits: list[Hit]
    ) -> list[tuple[str, RateLimitDecision]] | None:
        """Hit the buckets in order (most specific first) and stop at the first refusal, so
        a client already refused by one bucket does not drain the others (say, a runaway
        app's token draining its account's budget for the user's other apps). None when
        the limiter is unavailable."""
        decisions = []
        for bucket, key, limit in hits:
            decision = hit_near(engines, bucket, key, limit) or await hit(
                engines, bucket, key, limit
            )
            if decision is None:
                return None
            decisions.append((bucket, decision))
            if not decision.allowed:
                break
        return decisions
