"""The Relationship entity, for many accounts at once (a fixed number of queries). The one
builder: every route answering a Relationship comes here, so `note` (the viewer's own
private note) and `endorsed` are right everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.clock import utcnow
from connecthub.relationships import repository
from connecthub.relationships.models import Block, Follow, FollowRequest, Mute


async def relationship_entities(
    session: AsyncSession, viewer_id: int, account_ids: Sequence[int]
) -> list[entities.Relationship]:
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return []
    follows = await repository.edges_from(session, Follow, viewer_id, ids)
    requested = await repository.edges_from(session, FollowRequest, viewer_id, ids)
    blocking = await repository.edges_from(session, Block, viewer_id, ids)
    mutes = await repository.edges_from(session, Mute, viewer_id, ids)
    followed_by = await repository.sources_to(session, Follow, viewer_id, ids)
    blocked_by = await repository.sources_to(session, Block, viewer_id, ids)
    requested_by = await repository.sources_to(session, FollowRequest, viewer_id, ids)
    notes, endorsed = await repository.notes_and_endorsements(session, viewer_id, ids)
    now = utcnow()
    found: list[entities.Relationship] = []
    for account_id in ids:
        follow = follows.get(account_id)
        mute = mutes.get(account_id)
        muting = repository.mute_is_live(mute, now)
        found.append(
            {
                "id": str(account_id),
                "following": follow is not None,
                "showing_reblogs": bool(follow and follow.show_reblogs),
                "notifying": bool(follow and follow.notify),
                "languages": follow.languages if follow else None,
                "followed_by": account_id in followed_by,
                "blocking": account_id in blocking,
                "blocked_by": account_id in blocked_by,
                "muting": muting,
                "muting_notifications": bool(muting and mute and mute.hide_notifications),
                "requested": account_id in requested,
                "requested_by": account_id in requested_by,
                "domain_blocking": False,
                "endorsed": account_id in endorsed,
                "note": notes.get(account_id, ""),
            }
        )
    return found
