"""Deleting an account (the right to erasure): what happens at once, in the caller's unit of
work, before the erasure job (erasure.py, run by tasks.py) removes the data.

At once: the account is suspended through the one suspension path
(accounts/suspension.py: `suspended_at`, which every read path treats as "not there";
every token revoked, browser sessions ended, streaming connections closed after commit)
and the user is disabled, so sign-in, password reset and OIDC sign-in are refused; a
deletion record is written. The job is queued after commit under the account's job id, so
asking twice queues it once.
"""

from __future__ import annotations

from connecthub.accounts.models import Account
from connecthub.accounts.service import account_by_username
from connecthub.accounts.suspension import suspend_account
from connecthub.clock import utcnow
from connecthub.errors import NotFound
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.privacy import erasure, repository
from connecthub.privacy.models import AccountDeletion

DELETE_JOB = "privacy.delete_account"
SELF = "self"
ADMIN = "admin"


def job_id_prefix(account_id: int) -> str:
    """What the job ids of every round of one account's erasure start with."""
    return f"account-deletion:{account_id}:"


def job_id(account_id: int, round_number: int = 0) -> str:
    return f"{job_id_prefix(account_id)}{round_number}"


def _requester(account_id: int, requested_by: str, requested_by_account_id: int | None) -> str:
    """The audit actor: the admin's account, the holder's own, or the command line."""
    if requested_by_account_id is not None:
        return audit.account_actor(requested_by_account_id)
    return audit.account_actor(account_id) if requested_by == SELF else audit.CLI_ACTOR


async def request_deletion(
    uow: UnitOfWork,
    account_id: int,
    *,
    requested_by: str,
    requested_by_account_id: int | None = None,
) -> AccountDeletion:
    """Suspend, sign out everywhere, record, and queue the erasure. Asking again for an
    account being (or already) deleted returns its record and queues the job again, which
    finishes an erasure that was interrupted."""
    session = uow.session
    account = await repository.locked_account(session, account_id)
    if account is None:
        raise NotFound()
    deletion = await repository.deletion_of(session, account_id)
    if deletion is None:
        deletion = AccountDeletion(
            account_id=account_id,
            requested_by=requested_by,
            requested_by_account_id=requested_by_account_id,
            requested_at=utcnow(),
        )
        # The erasure asked for, on record with the act (the account holder or an admin).
        audit.record(
            "privacy.deletion_requested",
            actor=_requester(account_id, requested_by, requested_by_account_id),
            action="request_erasure",
            outcome=audit.Outcome.DONE,
            target_type="account",
            target_id=account_id,
            requested_by=requested_by,
        )
        session.add(deletion)
    user = await repository.user_of(session, account_id)
    await suspend_account(uow, account, user, disable_login=True)
    await session.flush()
    uow.enqueue(DELETE_JOB, {"account_id": account_id}, job_id=job_id(account_id))
    return deletion


async def delete_now(
    engines: Engines, *, username: str | None = None, pending: bool = False
) -> list[tuple[int, str]]:
    """The admin command: delete `username` (or, with `pending`, every deletion not yet
    complete) and erase in this process, to the end. Returns the accounts done (id and
    username)."""
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            targets: list[int] = []
            with audit.collecting(uow):  # the CLI's request, on record with it
                if username is not None:
                    account = await account_by_username(session, username.strip().lstrip("@"))
                    if account is None:
                        raise NotFound(f"--username: there is no account @{username}")
                    await request_deletion(uow, account.id, requested_by=ADMIN)
                    targets.append(account.id)
                if pending:
                    targets += [
                        row.account_id for row in await repository.pending_deletions(session)
                    ]
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
    done = []
    for account_id in dict.fromkeys(targets):
        await erasure.erase(engines, account_id)
        async with engines.db.session() as session:
            account = await session.get(Account, account_id)
            done.append((account_id, account.username if account else str(account_id)))
    return done
