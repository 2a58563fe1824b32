"""The denylists' queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.core.pagination import Page
from connecthub.denylists.models import CanonicalEmailBlock, EmailDomainBlock, IpBlock

Block = TypeVar("Block", IpBlock, EmailDomainBlock, CanonicalEmailBlock)


async def page_of(session: AsyncSession, model: type[Block], page: Page) -> list[Block]:
    rows = (await session.scalars(page.apply(select(model), model.id))).all()
    return page.newest_first(list(rows))


async def get(session: AsyncSession, model: type[Block], block_id: int) -> Block | None:
    return await session.get(model, block_id)


async def ip_block_by_ip(session: AsyncSession, cidr: str) -> IpBlock | None:
    found: IpBlock | None = await session.scalar(select(IpBlock).where(IpBlock.ip == cidr))
    return found


async def live_ip_blocks(session: AsyncSession, now: datetime) -> Sequence[IpBlock]:
    """Every block not expired (few rows: an operator's list, matched in Python)."""
    statement = select(IpBlock).where(or_(IpBlock.expires_at.is_(None), IpBlock.expires_at > now))
    return (await session.scalars(statement)).all()


async def email_domain_block(session: AsyncSession, domain: str) -> EmailDomainBlock | None:
    found: EmailDomainBlock | None = await session.scalar(
        select(EmailDomainBlock).where(EmailDomainBlock.domain == domain)
    )
    return found


async def email_domain_blocks_among(
    session: AsyncSession, domains: list[str]
) -> Sequence[EmailDomainBlock]:
    statement = select(EmailDomainBlock).where(EmailDomainBlock.domain.in_(domains))
    return (await session.scalars(statement)).all()


async def canonical_blocks_for(session: AsyncSession, digest: str) -> Sequence[CanonicalEmailBlock]:
    statement = select(CanonicalEmailBlock).where(
        CanonicalEmailBlock.canonical_email_hash == digest
    )
    return (await session.scalars(statement)).all()
