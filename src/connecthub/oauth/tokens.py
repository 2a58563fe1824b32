"""Bearer tokens: made random, shown once, stored as a SHA-256 hash, looked up through the
cache (and, in distributed mode, the process's near copies of it), and forgotten everywhere
the moment they are revoked."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import channels
from connecthub.accounts.models import OAuthToken
from connecthub.clock import utcnow
from connecthub.ids import new_id
from connecthub.infra.cache import MemoryCache
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth import repository as oauth_repository
from connecthub.oauth.identity import TokenInfo

TOKEN_CACHE_SECONDS = 300
# What a revocation leaves in the cache for TOKEN_CACHE_SECONDS instead of nothing: a
# request that read the token from the database just before the revocation committed
# fills the cache only where it is empty, so it cannot bring the token back.
_REVOKED = b"revoked"


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(raw: str) -> str:
    """Secrets are 256 random bits, so a fast hash suffices (no brute force is feasible)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _cache_key(token_hash: str) -> str:
    return f"token:{token_hash}"


def authenticate_near(engines: Engines, raw_token: str) -> TokenInfo | None:
    """The live token for `raw_token` when this process holds it near (no await); None
    when it does not, or holds it expired (then `authenticate` decides)."""
    near = engines.near
    if near is None:
        return None
    held: TokenInfo | None = near.get(_cache_key(hash_secret(raw_token)))
    return None if held is None or held.expired else held


async def authenticate(engines: Engines, raw_token: str) -> TokenInfo | None:
    """The live token for `raw_token`, or None when unknown, revoked, expired or its
    account is suspended or disabled."""
    token_hash = hash_secret(raw_token)
    key = _cache_key(token_hash)
    near = engines.near
    if near is not None:
        held: TokenInfo | None = near.get(key)
        if held is not None:
            return None if held.expired else held
        ticket = near.ticket()
    cached = await engines.cache.get(key)
    if cached == _REVOKED:
        return None
    if cached is not None:
        info = TokenInfo.from_json(cached)
        if near is not None:
            near.put(key, info, ticket, cached)  # renewed while the cache holds the same
        return None if info.expired else info
    async with engines.db.session(readonly=True) as session:
        found = await oauth_repository.find_live_token(session, token_hash)
    if found is None and engines.db.replica_set is not None:
        # A replica may not have replayed a token issued a moment ago: a miss there is
        # confirmed on the primary (a token's first use follows its issue at once).
        async with engines.db.session(readonly=True, fresh=True) as session:
            found = await oauth_repository.find_live_token(session, token_hash)
    if found is None or found.expired:
        return None
    if found.pending is not None:
        # Not cached: confirmation or approval must take effect on the next request.
        return found
    await remember_token(engines, token_hash, found)
    return found


async def remember_token(engines: Engines, token_hash: str, info: TokenInfo) -> None:
    """Cache a token read from the database, unless a revocation has marked it since."""
    await engines.cache.add(_cache_key(token_hash), info.to_json(), TOKEN_CACHE_SECONDS)


async def refresh_cached_tokens(engines: Engines, session: AsyncSession, account_id: int) -> None:
    """After a change to what the account's tokens carry (its role) has committed: drop
    every cached copy, here and in every process, so the next request reads them anew."""
    rows = await oauth_repository.live_tokens(session, account_id=account_id)
    keys = [_cache_key(row.token_hash) for row in rows]
    if not keys:
        return
    await engines.cache.delete(*keys)
    if engines.near is not None:
        await engines.near.invalidate(keys)


async def forget_all_cached(engines: Engines) -> None:
    """Every token this process's own cache holds (embedded mode, after another process
    wrote the database: infra/outside_writes.py; the near copies went with the rest)."""
    if isinstance(engines.cache, MemoryCache):
        await engines.cache.delete_matching(lambda key: key.startswith(_cache_key("")))


async def live_token_ids(engines: Engines, token_ids: Sequence[int]) -> set[int]:
    """Which of `token_ids` still let someone in (not revoked; user neither disabled nor
    suspended), read from the database."""
    async with engines.db.session(readonly=True) as session:
        return await oauth_repository.live_token_ids(session, token_ids)


def close_account_connections(uow: UnitOfWork, account_id: int) -> None:
    """After commit, every streaming connection of the account closes, on every process
    (streaming listens on the account's control channel; accounts need not know it)."""
    event = channels.envelope(channels.ACCOUNT_CLOSED)
    channels.send_on_commit(uow, event, [channels.control_channel(account_id)])


async def forget_tokens(
    engines: Engines, token_hashes: list[str], account_id: int | None, token_ids: list[int]
) -> None:
    """After a revocation commits: mark cached copies revoked and tell open connections."""
    if token_hashes:
        keys = [_cache_key(h) for h in token_hashes]
        await engines.cache.set_many(dict.fromkeys(keys, _REVOKED), TOKEN_CACHE_SECONDS)
        if engines.near is not None:
            await engines.near.invalidate(keys)
    if account_id is not None and token_ids:
        await channels.send_now(
            engines.events,
            channels.tokens_revoked(token_ids),
            [channels.control_channel(account_id)],
        )


@dataclass(frozen=True)
class IssuedToken:
    """The raw secrets, shown to the client once, and the stored row."""

    access_token: str
    refresh_token: str | None
    row: OAuthToken


async def issue_token(
    session: AsyncSession,
    *,
    account_id: int | None,
    application_id: int | None,
    scopes: frozenset[str],
    expires_in: int | None = None,
    with_refresh: bool = False,
    family_id: int | None = None,
) -> IssuedToken:
    access = generate_secret()
    refresh = generate_secret() if with_refresh else None
    row = OAuthToken(
        id=new_id(),
        token_hash=hash_secret(access),
        refresh_token_hash=hash_secret(refresh) if refresh else None,
        application_id=application_id,
        account_id=account_id,
        scopes=" ".join(sorted(scopes)),
        expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
    )
    row.family_id = family_id or row.id
    session.add(row)
    await session.flush()
    return IssuedToken(access_token=access, refresh_token=refresh, row=row)


async def revoke_tokens(uow: UnitOfWork, rows: Sequence[OAuthToken]) -> None:
    """Revoke these tokens in the unit of work; once it commits, forget them everywhere
    (cache and open streaming connections), account by account."""
    live = [row for row in rows if row.revoked_at is None]
    if not live:
        return
    now = utcnow()
    await oauth_repository.mark_revoked(uow.session, [row.id for row in live], now)
    for row in live:
        row.revoked_at = now
    by_account: dict[int | None, list[OAuthToken]] = {}
    for row in live:
        by_account.setdefault(row.account_id, []).append(row)
    for account_id, group in by_account.items():
        uow.after_commit(
            functools.partial(
                forget_tokens,
                uow.engines,
                [row.token_hash for row in group],
                account_id,
                [row.id for row in group],
            )
        )


async def revoke_account_tokens(
    uow: UnitOfWork,
    account_id: int,
    *,
    application_id: int | None = None,
    keep_token_id: int | None = None,
) -> int:
    """Revoke the account's live tokens (of one app, when given), except `keep_token_id`
    (e.g. the session changing the password). Returns how many were revoked."""
    rows = await oauth_repository.live_tokens(
        uow.session, account_id=account_id, application_id=application_id
    )
    rows = [row for row in rows if row.id != keep_token_id]
    await revoke_tokens(uow, rows)
    return len(rows)
