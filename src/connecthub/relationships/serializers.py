"""The Relationship entity, for many accounts at once (a fixed number of queries). The one
builder: every route answering a Relationship comes here, so `note` (the viewer's own
private note) and `endorsed` are right everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.clock import utcnow
from connecthub.relationships import repository


async def relationship_entities(
    session: AsyncSession, viewer_id: int, account_ids: Sequence[int]
) -> list[entities.Relationship]:
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return []
    rows = await repository.relationship_rows(session, viewer_id, ids)
    follows, mutes, notes = rows.follows, rows.mutes, rows.notes
    marks = rows.marks
    empty: set[int] = set()
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
                "followed_by": account_id in marks.get("followed_by", empty),
                "blocking": account_id in marks.get("blocking", empty),
                "blocked_by": account_id in marks.get("blocked_by", empty),
                "muting": muting,
                "muting_notifications": bool(muting and mute and mute.hide_notifications),
                "requested": account_id in marks.get("requested", empty),
                "requested_by": account_id in marks.get("requested_by", empty),
                "domain_blocking": False,
                "endorsed": account_id in marks.get("endorsed", empty),
                "note": notes.get(account_id, ""),
            }
        )
    return found
