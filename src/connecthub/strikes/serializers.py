"""The one converter from strikes to Mastodon's AccountWarning (with its Appeal), and to
ConnectHub's moderators' view of an appeal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.strikes import repository
from connecthub.strikes.models import AccountWarning, Appeal

Accounts = Mapping[int, tuple[Account, str | None]]


def appeal_entity(appeal: Appeal) -> entities.Appeal:
    return {"text": appeal.text, "state": appeal.state}


def warning_entity(
    settings: Settings, strike: AccountWarning, appeal: Appeal | None, accounts: Accounts
) -> entities.AccountWarning:
    target, role = accounts[strike.target_account_id]
    return {
        "id": str(strike.id),
        "action": strike.action,
        "text": strike.text,
        # Mastodon's is null unless the action named statuses (from a report).
        "status_ids": [str(i) for i in strike.status_ids] or None,
        "target_account": account_entity(settings, target, role),
        "appeal": appeal_entity(appeal) if appeal is not None else None,
        "created_at": iso(strike.created_at),
    }


async def warning_entities(
    session: AsyncSession, settings: Settings, rows: list[repository.StrikeRow]
) -> list[entities.AccountWarning]:
    accounts = await repository.accounts_with_roles(
        session, (strike.target_account_id for strike, _ in rows)
    )
    return [
        warning_entity(settings, strike, appeal, accounts)
        for strike, appeal in rows
        if strike.target_account_id in accounts
    ]


async def warnings_by_id(
    session: AsyncSession, settings: Settings, ids: Iterable[int]
) -> dict[int, entities.AccountWarning]:
    """The strikes `ids` name that exist, as AccountWarning entities (for notifications of
    type `moderation_warning`): two queries whatever their number."""
    rows = await repository.strikes_by_id(session, ids)
    return {int(e["id"]): e for e in await warning_entities(session, settings, rows)}


async def admin_appeal_entities(
    session: AsyncSession, settings: Settings, rows: list[tuple[Appeal, AccountWarning]]
) -> list[entities.AdminAppeal]:
    accounts = await repository.accounts_with_roles(
        session, (strike.target_account_id for _, strike in rows)
    )
    found: list[entities.AdminAppeal] = []
    for appeal, strike in rows:
        if strike.target_account_id not in accounts:
            continue
        account, role = accounts[strike.target_account_id]
        found.append(
            {
                "id": str(appeal.id),
                "account": account_entity(settings, account, role),
                "strike": warning_entity(settings, strike, appeal, accounts),
                "text": appeal.text,
                "state": appeal.state,
                "created_at": iso(appeal.created_at),
                "approved_at": iso(appeal.approved_at),
                "rejected_at": iso(appeal.rejected_at),
            }
        )
    return found
