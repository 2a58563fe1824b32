"""Account rules: who may hold which username and e-mail, creating users, granting roles."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts import repository
from connecthub.accounts.models import Account, Role, User
from connecthub.accounts.passwords import hash_password
from connecthub.accounts.serializers import account_entity, credential_account_entity
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.i18n import N_
from connecthub.emojis import service as emojis
from connecthub.errors import NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork

if TYPE_CHECKING:
    from connecthub.infra.engines import Engines

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,30}$")
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "support",
        "help",
        "moderator",
        "mod",
        "staff",
        "system",
        "security",
        "abuse",
        "postmaster",
        "webmaster",
        "hostmaster",
        "noreply",
        "no_reply",
        "owner",
        "connecthub",
        "mastodon",
        "api",
        "oauth",
        "www",
        "mail",
        "info",
        "official",
        "instance",
        "server",
        "settings",
        "about",
        "explore",
    }
)
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class EmailTaken(ValidationFailed):
    """The address belongs to another account (sign-up may hide this: registration.py)."""

    def __init__(self) -> None:
        super().__init__("email", N_("is already taken"))


def check_username(username: str, *, allow_reserved: bool = False) -> None:
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed("username", N_("must be 1 to 30 letters, digits or underscores"))
    if not allow_reserved and username.lower() in RESERVED_USERNAMES:
        raise ValidationFailed("username", N_("is reserved"))


def check_email(email: str) -> None:
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        raise ValidationFailed("email", N_("is not a valid e-mail address"))


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    email: str,
    password: str,
    role: Role = Role.USER,
    confirmed: bool = True,
    approved: bool = True,
    allow_reserved: bool = False,
    locale: str = "en",
    reason: str = "",
) -> tuple[Account, User]:
    """Create an account and its login. The caller checks the password policy."""
    check_username(username, allow_reserved=allow_reserved)
    check_email(email)
    if await repository.username_taken(session, username):
        raise ValidationFailed("username", N_("is already taken"))
    if await repository.email_taken(session, email):
        raise EmailTaken()
    account = Account(id=new_id(), username=username, username_key=username.lower())
    user = User(
        account_id=account.id,
        email=email,
        email_key=email.lower(),
        password_hash=await hash_password(password),
        role=role.value,
        confirmed_at=utcnow() if confirmed else None,
        approved=approved,
        locale=locale,
        sign_up_reason=reason,
    )
    try:
        # A savepoint: losing a race to a concurrent sign-up leaves the transaction usable.
        async with session.begin_nested():
            repository.add_account_with_user(session, account, user)
            await session.flush()
    except IntegrityError:
        if await repository.username_taken(session, username):
            raise ValidationFailed("username", N_("is already taken")) from None
        raise EmailTaken() from None
    return account, user


async def grant_role(session: AsyncSession, username: str, role: Role) -> User:
    account = await repository.account_by_username(session, username)
    user = await repository.user_for_account(session, account.id) if account else None
    if user is None:
        raise NotFound(f"No local user named {username!r}")
    user.role = role.value
    await session.flush()
    return user


async def visible_local_account(session: AsyncSession, username: str) -> Account | None:
    """The local account named `username` (any case) that anyone may see: not suspended."""
    account = await repository.account_by_username(session, username)
    return account if account is not None and account.suspended_at is None else None


# Reads for endpoints and other domains (handlers and other domains call the service,
# never the repository).


async def account_by_id(session: AsyncSession, account_id: int) -> Account | None:
    return await repository.account_by_id(session, account_id)


async def visible_account(session: AsyncSession, account_id: int) -> Account | None:
    """The local account with this id that anyone may see: not suspended."""
    return await repository.visible_account(session, account_id)


async def visible_accounts(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[tuple[Account, str | None]]:
    """(account, role) of each of `account_ids` anyone may see, in the order asked; missing
    and suspended ones left out (Mastodon's `GET /api/v1/accounts?id[]=`)."""
    if not account_ids:
        return []
    found = await repository.visible_accounts_with_roles(session, account_ids)
    return [found[account_id] for account_id in account_ids if account_id in found]


async def account_with_user(session: AsyncSession, account_id: int) -> tuple[Account, User] | None:
    return await repository.account_with_user(session, account_id)


CREDENTIAL_ACCOUNT = "credential_account"  # entity cache kind (accounts/models.py tracks it)
# Entity cache kind: an account anyone may see (not suspended), as its own route answers it
# (accounts/models.py tracks it). Not the statuses' `account` kind: that one also holds the
# authors of statuses a moderator reads, suspended or not.
PROFILE = "profile"


def held_credential_account(engines: Engines, account_id: int) -> bytes | None:
    """`credential_account_bytes` when this process holds the answer near (no await, no
    session); None otherwise."""
    cache = engines.db.entity_cache
    return None if cache is None else cache.get_raw_near(CREDENTIAL_ACCOUNT, account_id)


async def credential_account_bytes(uow: UnitOfWork, settings: Settings, account_id: int) -> bytes:
    """The caller's CredentialAccount as JSON bytes. 404 when the account has no local
    user."""

    async def render() -> bytes:
        pair = await repository.account_with_user(uow.session, account_id)
        if pair is None:
            raise NotFound()
        account, user = pair
        used = await profile_emojis(uow.session, settings, account)
        return orjson.dumps(credential_account_entity(settings, account, user, used))

    return await _cached_bytes(uow, CREDENTIAL_ACCOUNT, account_id, render)


async def profile_bytes(uow: UnitOfWork, settings: Settings, account_id: int) -> bytes:
    """An account anyone may see as JSON bytes (its Account entity); 404 when there is
    none or it is suspended."""

    async def render() -> bytes:
        account = await repository.visible_account(uow.session, account_id)
        if account is None:
            raise NotFound()
        role = await repository.role_of_account(uow.session, account.id)
        used = await profile_emojis(uow.session, settings, account)
        return orjson.dumps(account_entity(settings, account, role, used))

    return await _cached_bytes(uow, PROFILE, account_id, render)


async def check_visible(uow: UnitOfWork, settings: Settings, account_id: int) -> None:
    """404 unless anyone may see the account (not suspended): its profile held in the
    cache answers that without a query."""
    await profile_bytes(uow, settings, account_id)


async def _cached_bytes(
    uow: UnitOfWork, kind: str, account_id: int, render: Callable[[], Awaitable[bytes]]
) -> bytes:
    """The account's entity of `kind` from the entity cache when it holds it (dropped with
    any change to the account's or its user's row, and in embedded mode with any write of
    another process: infra/outside_writes.py): one cache read (none when held near) and no
    database session; else rendered and kept."""
    cache = uow.entity_cache()
    if cache is None:
        return await render()
    found, generation = (await cache.get_raw_many({kind: [account_id]}))[kind]
    if account_id in found:
        return found[account_id]
    body = await render()
    await cache.put_raw_many(kind, {account_id: body}, generation)
    return body


async def profile_emojis(
    session: AsyncSession, settings: Settings, account: Account
) -> dict[str, entities.CustomEmoji]:
    """The custom emojis an account's display name and bio may name (for its entity)."""
    return await emojis.of_profiles(session, settings, [account])


async def user_for_account(session: AsyncSession, account_id: int) -> User | None:
    return await repository.user_for_account(session, account_id)


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await repository.user_by_id(session, user_id)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await repository.user_by_email(session, email)


async def role_of_account(session: AsyncSession, account_id: int) -> str | None:
    return await repository.role_of_account(session, account_id)


async def username_taken(session: AsyncSession, username: str) -> bool:
    return await repository.username_taken(session, username)


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    """The local account named `username` (any case), suspended or not."""
    return await repository.account_by_username(session, username)
