"""Erasing a deleted account's data, in bounded chunks.

Each chunk is one transaction that first locks the account row, so two runs of the job
(at-least-once delivery) never work on the same account at once, and either commits whole
or not at all: a run killed half-way leaves only whole chunks done, and the next run
carries on with what is left. Every step deletes "what is still there", and counters move
with exactly the rows a statement deleted, so nothing is counted twice.

Order: statuses and boosts first (through the statuses service: boosts of them, reply and
boost counts, conversations, media and timeline removal all follow its rules; hashtags
only they used go with them), then what the account gave others (favourites, poll votes),
the follow graph both ways (the other accounts' counters kept right, former followers'
home feeds pruned of its deleted statuses), its data exports (archives purged from the
store through the portability service), the reports it filed or that are about it (their
held media let go: reports service), its analytics events, the hashtags it alone followed
or featured, mentions of it (with the cached renderings of the statuses that held them),
the plain rows of `repository.ERASED_ROWS`, its remaining media and profile images, and
last the tombstone: the account row keeps its id and username (reserved, as in Mastodon)
and loses everything else; the user row (e-mail, password, second factor) is deleted, and
its home feed and every cache key naming it go. tests/privacy/test_deletion_verified.py
searches every table, the cache keyspace and the media store afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connecthub.accounts.models import Account
from connecthub.analytics import service as analytics
from connecthub.clock import utcnow
from connecthub.infra import entity_cache
from connecthub.infra.engines import Engines, forget_keys_naming
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media_service
from connecthub.ops import audit
from connecthub.portability import service as portability
from connecthub.privacy import repository
from connecthub.relationships import service as relationships
from connecthub.reports import service as reports
from connecthub.statuses import service as statuses
from connecthub.statuses import service as statuses_service
from connecthub.statuses.models import Status
from connecthub.timelines import service as timelines

BATCH = 100
CHUNKS_PER_RUN = 40

# One chunk of one step: handles up to `batch` rows of the (locked) account; how many.
Step = Callable[[UnitOfWork, Account, int], Awaitable[int]]


@dataclass(frozen=True)
class Outcome:
    finished: bool
    chunks: int


async def _statuses(uow: UnitOfWork, account: Account, batch: int) -> int:
    settings = uow.engines.settings
    ids = await repository.status_ids_of(uow.session, account.id, batch)
    tag_ids = await statuses_service.tags_of(uow.session, ids)
    for status_id in ids:
        # Deleting a status also deletes the account's own boosts of it: re-read each.
        status = await uow.session.get(Status, status_id)
        if status is None:
            continue
        if status.reblog_of_id is not None:
            await statuses_service.remove_boost(uow, status)
        else:
            await statuses_service.delete_status(uow, settings, status)
    # In the same transaction as the statuses: a run stopped here loses no tag to check.
    await statuses_service.drop_unused_tags(uow.session, tag_ids, account.id)
    return len(ids)


async def _interactions(uow: UnitOfWork, account: Account, batch: int) -> int:
    return await statuses.drop_interactions_by(uow.session, account.id, batch)


async def _follows(uow: UnitOfWork, account: Account, batch: int) -> int:
    dropped, followers = await relationships.drop_follows_of(uow.session, account.id, batch)
    # Its statuses are gone by now (step 1): out of its former followers' home feeds too.
    await timelines.forget_erased(uow, account.id, followers)
    return dropped


async def _exports(uow: UnitOfWork, account: Account, batch: int) -> int:
    return await portability.erase_exports(uow, account.id, batch)


def _plain(model: object, condition: repository.Condition) -> Step:
    async def step(uow: UnitOfWork, account: Account, batch: int) -> int:
        return await repository.delete_some(uow.session, model, condition(account.id), batch)

    return step


async def _mentions(uow: UnitOfWork, account: Account, batch: int) -> int:
    # Others' statuses that mention it: the mention goes, and their cached renderings.
    return await statuses.drop_mentions_of(uow.session, account.id, batch)


async def _tags(uow: UnitOfWork, account: Account, batch: int) -> int:
    # Followed and featured hashtags nobody else has (their rows go in the plain steps).
    return await statuses.drop_tags_kept_by(uow.session, account.id, batch)


async def _analytics(uow: UnitOfWork, account: Account, batch: int) -> int:
    # Pseudonymised events: found by hashing the id under each key still kept.
    return await analytics.forget(uow, account.id)


async def _reports(uow: UnitOfWork, account: Account, batch: int) -> int:
    return await reports.erase_reports_of(uow, account.id, batch)


async def _media(uow: UnitOfWork, account: Account, batch: int) -> int:
    # Unattached uploads and the avatar and header; files leave the store by PURGE_JOB.
    await media_service.release_account_media(uow, account.id)
    await repository.detach_applications(uow.session, account.id)
    return 0


async def _tombstone(uow: UnitOfWork, account: Account, batch: int) -> int:
    account.display_name = ""
    account.note = ""
    account.fields = []
    account.locked = False
    account.bot = False
    account.discoverable = False
    account.indexable = False
    account.avatar_key = account.header_key = None
    account.followers_count = account.following_count = account.statuses_count = 0
    account.last_status_at = None
    account.suspended_at = account.suspended_at or utcnow()
    await repository.delete_user(uow.session, account.id)
    await timelines.forget_erased(uow, account.id, [])
    # Counters, rate limits and renderings under keys that name it (Redis: one SCAN).
    await forget_keys_naming(uow.engines, account.id)
    # Renderings keyed by its id go now, not when their generation's entries expire.
    entity_cache.drop_account_on_commit(uow.session, account.id)
    deletion = await repository.deletion_of(uow.session, account.id)
    if deletion is not None and deletion.completed_at is None:
        deletion.completed_at = utcnow()
        audit.record(
            "privacy.erased",
            actor="system",
            action="erasure_completed",
            outcome=audit.Outcome.DONE,
            target_type="account",
            target_id=account.id,
        )
    await uow.session.flush()
    return 0


STEPS: list[tuple[str, Step]] = [
    ("statuses", _statuses),
    ("interactions", _interactions),
    ("follows", _follows),
    ("data_exports", _exports),
    ("reports", _reports),
    ("analytics_events", _analytics),
    ("tags", _tags),
    ("mentions", _mentions),
    *((model.__tablename__, _plain(model, where)) for model, where in repository.ERASED_ROWS),
    ("media", _media),
    ("tombstone", _tombstone),
]


async def _chunk(engines: Engines, account_id: int, step: Step, batch: int) -> int | None:
    """One chunk in its own unit of work; None when the account row does not exist."""
    async with engines.db.session() as session:
        entity_cache.forget_on_commit(session)  # no mark left under an erased row's key
        uow = UnitOfWork(engines, session)
        try:
            account = await repository.locked_account(session, account_id)
            if account is None:
                await uow.rollback()
                return None
            with audit.collecting(uow):  # the erasure's own audit rows commit with it
                handled = await step(uow, account, batch)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
        return handled


async def erase(
    engines: Engines, account_id: int, *, batch: int = BATCH, max_chunks: int | None = None
) -> Outcome:
    """Run the steps from the start (finished ones find nothing left) for at most
    `max_chunks` chunks that found rows: a step with nothing left costs one cheap chunk and
    is not counted, so a run always gets past the steps an earlier run finished, however
    many steps there are. `finished` once the tombstone is written (or no account exists)."""
    chunks = 0
    for _name, step in STEPS:
        while True:
            if max_chunks is not None and chunks >= max_chunks:
                return Outcome(finished=False, chunks=chunks)
            handled = await _chunk(engines, account_id, step, batch)
            if handled is None:
                return Outcome(finished=True, chunks=chunks)
            if handled:
                chunks += 1
            if handled < batch:
                break
    return Outcome(finished=True, chunks=chunks)
