"""Home-feed jobs. Every handler is idempotent: a feed is a set (pushing twice keeps one
entry), removals of absent ids do nothing, and a repeated `update` event is de-duplicated by
id in clients.

Fan-out walks the author's followers in chunks of `HOME_FAN_OUT_BATCH` by follower id: each
job handles one chunk and queues the next (job id `fan-out:{status}:{after}`), so an account
followed by everyone never makes one giant job and a retried chunk redoes only itself. A new
status's job carries its entity, rendered by the request that posted it, and notifies the
chunk's subscribers ("notify me of new posts"): one job per post for up to a chunk of
followers, two queries (three with hashtags), one feed script call, one round trip of
stream events (a public status's public and hashtag streams among them, as Mastodon's
fan-out sends them), one notification insert. A public status with hashtags also walks, in the
same chunks, the accounts that follow one of its hashtags but not its author: their first
chunk in the first job, each further chunk a job of its own (`fan_out_tag_followers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connecthub import channels
from connecthub.infra.engines import Engines
from connecthub.infra.jobs import JobContext, job
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import service as statuses_service
from connecthub.statuses.models import Status, Visibility
from connecthub.statuses.serializers import status_entities
from connecthub.timelines import repository
from connecthub.timelines.feeds import feed_store

FAN_OUT_JOB = "timelines.fan_out"
FAN_OUT_CHUNK_JOB = "timelines.fan_out_chunk"
FAN_OUT_TAGS_JOB = "timelines.fan_out_tag_followers"
REMOVE_JOB = "timelines.remove"
REMOVE_CHUNK_JOB = "timelines.remove_chunk"


@job(FAN_OUT_JOB)
async def fan_out(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A new status or boost (or, with `event: status.update`, an edit): into the author's
    feed, the first chunk of followers' and the lists that hold the author."""
    await _fan_out_chunk(ctx.engines, payload, after=None)


@job(FAN_OUT_CHUNK_JOB)
async def fan_out_chunk(ctx: JobContext, payload: dict[str, Any]) -> None:
    await _fan_out_chunk(ctx.engines, payload, after=int(payload["after"]))


async def _fan_out_chunk(engines: Engines, payload: dict[str, Any], *, after: int | None) -> None:
    if "entity" in payload and "account_id" in payload:
        await _fan_out_new_status(engines, payload, after=after)
        return
    status_id = int(payload["status_id"])
    size = engines.settings.home_fan_out_batch
    async with engines.db.session(readonly=True) as session:
        status = await session.get(Status, status_id)
        if status is None or status.visibility == Visibility.DIRECT:
            return  # deleted since, or a direct message (conversations deliver those)
        followers = await repository.audience_chunk(session, status, after or 0, size)
        [entity] = await status_entities(session, [status], None, engines.settings)
        lists = (
            await repository.lists_with_member(session, status.account_id) if after is None else []
        )
    await _deliver(engines, payload, status.account_id, followers, lists, entity, after=after)
    await _next_chunk(engines, payload, followers)


async def _fan_out_new_status(
    engines: Engines, payload: dict[str, Any], *, after: int | None
) -> None:
    """A new status whose entity the posting request rendered: two queries (the followers
    with, on the first chunk, the author's lists; then whether it still exists with the
    subscribers among those followers; on the first chunk of a post with hashtags, a third:
    the first chunk of their followers), no ORM rows, then the chunk's subscribers notified
    in one insert."""
    status_id = int(payload["status_id"])
    author_id = int(payload["account_id"])
    size = engines.settings.home_fan_out_batch
    async with engines.db.session(readonly=True) as session:
        followers, lists = await repository.new_status_audience(
            session, author_id, after or 0, size, with_lists=after is None
        )
        upto = followers[-1] if len(followers) == size else None
        subscribers = await statuses_service.new_status_subscribers(
            session,
            status_id,
            after or 0,
            upto,
            wanted=bool(payload.get("subscribers")),
        )
        if subscribers is None:
            return  # deleted since it was posted
        # The first chunk of its hashtags' followers rides along: most posts then need no
        # job of their own for them (a job cost more than the chunk's query).
        tagged = after is None and bool(payload.get("tagged"))
        by_tag = await repository.tag_follower_chunk(session, status_id, 0, size) if tagged else []
    entity = payload["entity"]
    public_tags = payload.get("public_tags") if after is None else None
    topics = channels.to_public(public_tags) if public_tags is not None else []
    await _deliver(
        engines, payload, author_id, followers + by_tag, lists, entity, after=after, topics=topics
    )
    if len(by_tag) == size:
        await _next_tag_chunk(engines, payload, by_tag[-1])
    if subscribers:
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            try:
                await statuses_service.notify_subscribers_of(uow, status_id, author_id, subscribers)
            except BaseException:
                await uow.rollback()
                raise
            await uow.commit()
    await _next_chunk(engines, payload, followers)


async def _deliver(
    engines: Engines,
    payload: dict[str, Any],
    author_id: int,
    followers: list[int],
    lists: list[int],
    entity: Any,
    *,
    after: int | None,
    topics: Sequence[str] = (),
) -> None:
    """Into the homes (a new status or boost; an edit is already there) and onto the
    streams of the author (first chunk), the chunk's followers, the lists and `topics`
    (a new public status's public and hashtag streams), in one round trip."""
    status_id = int(payload["status_id"])
    event_name = str(payload.get("event", channels.UPDATE))
    recipients = [author_id, *followers] if after is None else followers
    if event_name == channels.UPDATE:
        await feed_store(engines).push(recipients, status_id)
    # Every receiving connection checks the status against its own viewer again
    # (streaming/filters.py), so list channels may carry it before the owner's rules.
    audience = channels.to_accounts(recipients) + channels.to_lists(lists) + list(topics)
    await channels.send_now(engines.events, channels.status_event(event_name, entity), audience)


async def _next_chunk(engines: Engines, payload: dict[str, Any], followers: list[int]) -> None:
    if len(followers) == engines.settings.home_fan_out_batch:
        last = followers[-1]
        await engines.jobs.enqueue(
            FAN_OUT_CHUNK_JOB,
            {**payload, "after": last},
            job_id=f"{_job_key(payload)}:{last}",
        )


def _job_key(payload: dict[str, Any]) -> str:
    if payload.get("event", channels.UPDATE) == channels.UPDATE:
        return f"fan-out:{payload['status_id']}"
    return f"fan-out-edit:{payload['status_id']}:{payload.get('version', '')}"


@job(FAN_OUT_TAGS_JOB)
async def fan_out_tag_followers(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A new public status with hashtags, for those who follow one of them and not its
    author: one chunk of `HOME_FAN_OUT_BATCH` accounts per job (one query, one feed script
    call, one round trip of stream events), each chunk queueing the next. Someone who
    unfollowed the tag since is no longer in the chunk, and home's reads check the tag
    follow again (`home_filters`)."""
    engines = ctx.engines
    status_id = int(payload["status_id"])
    after = int(payload["after"])
    size = engines.settings.home_fan_out_batch
    async with engines.db.session(readonly=True) as session:
        followers = await repository.tag_follower_chunk(session, status_id, after, size)
    if not followers:
        return
    await feed_store(engines).push(followers, status_id)
    event = channels.status_event(channels.UPDATE, payload["entity"])
    await channels.send_now(engines.events, event, channels.to_accounts(followers))
    if len(followers) == size:
        await _next_tag_chunk(engines, payload, followers[-1])


async def _next_tag_chunk(engines: Engines, payload: dict[str, Any], last: int) -> None:
    job_id = f"fan-out-tags:{payload['status_id']}:{last}"
    await engines.jobs.enqueue(FAN_OUT_TAGS_JOB, {**payload, "after": last}, job_id=job_id)


@job(REMOVE_JOB)
async def remove(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A status or boost is gone: out of the author's and followers' feeds and streams."""
    await _remove_chunk(ctx.engines, payload, after=None)


@job(REMOVE_CHUNK_JOB)
async def remove_chunk(ctx: JobContext, payload: dict[str, Any]) -> None:
    await _remove_chunk(ctx.engines, payload, after=int(payload["after"]))


async def _remove_chunk(engines: Engines, payload: dict[str, Any], *, after: int | None) -> None:
    status_id = int(payload["status_id"])
    author_id = int(payload["account_id"])
    size = engines.settings.home_fan_out_batch
    async with engines.db.session(readonly=True) as session:
        followers = await repository.followers_chunk(session, author_id, after or 0, size)
        lists = await repository.lists_with_member(session, author_id) if after is None else []
    recipients = [author_id, *followers] if after is None else followers
    await feed_store(engines).remove(recipients, [status_id])
    audience = channels.to_accounts(recipients) + channels.to_lists(lists)
    await channels.send_now(engines.events, channels.deletion(status_id), audience)
    if len(followers) == size:
        last = followers[-1]
        await engines.jobs.enqueue(
            REMOVE_CHUNK_JOB,
            {**payload, "after": last},
            job_id=f"remove:{status_id}:{last}",
        )


@job("timelines.merge_account")
async def merge_account(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A follow began: the target's recent posts join the follower's feed."""
    async with ctx.engines.db.session(readonly=True) as session:
        await feed_store(ctx.engines).merge(
            session, int(payload["account_id"]), int(payload["target_account_id"])
        )


@job("timelines.unmerge_account")
async def unmerge_account(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A follow ended, or a block or mute: the target's posts leave the feed, and an account
    no longer followed leaves the follower's lists (as Mastodon)."""
    account_id = int(payload["account_id"])
    target_id = int(payload["target_account_id"])
    async with ctx.engines.db.transaction() as session:
        if not await repository.follows(session, account_id, target_id):
            await repository.drop_from_lists(session, account_id, target_id)
        await feed_store(ctx.engines).unmerge(session, account_id, target_id)


@job("timelines.merge_tag")
async def merge_tag(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A hashtag follow began: its recent public posts join the follower's warm feed (a
    database home shows them at once; Redis feeds should not differ)."""
    async with ctx.engines.db.session(readonly=True) as session:
        await feed_store(ctx.engines).merge_tag(
            session, int(payload["account_id"]), int(payload["tag_id"])
        )


@job("timelines.unmerge_tag")
async def unmerge_tag(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A hashtag follow ended: its posts leave the feed, unless home still shows them (a
    followed author's). Reads already drop them; this frees their places in the feed."""
    async with ctx.engines.db.session(readonly=True) as session:
        await feed_store(ctx.engines).unmerge_tag(
            session, int(payload["account_id"]), int(payload["tag_id"])
        )
