"""An account's domain blocks (Mastodon's `/api/v1/domain_blocks`): the rule for what a
domain is, and the list's changes. Blocking twice or unblocking a domain not blocked
changes nothing and is not an error, as in Mastodon."""

from __future__ import annotations

import re

from connecthub.core.pagination import Page
from connecthub.errors import ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.relationships import repository
from connecthub.relationships.models import AccountDomainBlock

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
MAX_DOMAIN_LENGTH = 253


def normalized_domain(raw: str | None) -> str:
    """The domain as stored: trimmed, lowercased, without a trailing dot, internationalised
    names in their ASCII (punycode) form; 422 naming the problem when it is no host name."""
    domain = (raw or "").strip().rstrip(".").lower()
    if not domain:
        raise ValidationFailed("domain", "can't be blank")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationFailed("domain", "is invalid") from None
    labels = domain.split(".")
    if len(domain) > MAX_DOMAIN_LENGTH or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValidationFailed("domain", "is invalid")
    return domain


async def block_domain(uow: UnitOfWork, account_id: int, raw_domain: str | None) -> None:
    domain = normalized_domain(raw_domain)
    if await repository.domain_block(uow.session, account_id, domain) is None:
        uow.session.add(AccountDomainBlock(account_id=account_id, domain=domain))


async def unblock_domain(uow: UnitOfWork, account_id: int, raw_domain: str | None) -> None:
    if not (raw_domain or "").strip():
        return  # Mastodon answers {} when there is nothing to unblock
    domain = normalized_domain(raw_domain)
    await repository.delete_domain_block(uow.session, account_id, domain)


async def domain_blocks_page(
    uow: UnitOfWork, account_id: int, page: Page
) -> list[AccountDomainBlock]:
    """One page of the account's domain blocks, newest first."""
    return await repository.domain_blocks_page(uow.session, account_id, page)
