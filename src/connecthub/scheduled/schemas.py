"""A scheduled status' time and parameters: read from a request, kept in Mastodon's
`params` shape, and turned back into the draft that is posted when it is due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connecthub import entities
from connecthub.core.params import text
from connecthub.errors import ValidationFailed
from connecthub.statuses.schemas import VISIBILITIES, PollDraft, StatusDraft

VISIBILITY_NAMES = {value: name for name, value in VISIBILITIES.items()}


def scheduled_at(params: dict[str, Any], *, required: bool = False) -> datetime | None:
    """`scheduled_at` as an ISO 8601 datetime in UTC (a time without an offset is UTC;
    a date alone is its midnight); None when absent."""
    value = text(params, "scheduled_at", required=required).strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("scheduled_at", "must be an ISO 8601 datetime") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def params_of(
    draft: StatusDraft, media_ids: list[int], application_id: int | None
) -> entities.ScheduledStatusParams:
    """What was sent, as Mastodon keeps it (in its order): null for what was not."""
    poll: entities.ScheduledStatusPoll | None = None
    if draft.poll is not None:
        poll = {
            "options": list(draft.poll.options),
            "expires_in": draft.poll.expires_in,
            "multiple": draft.poll.multiple,
            "hide_totals": draft.poll.hide_totals,
        }
    return {
        "text": draft.text,
        "media_ids": [str(media_id) for media_id in media_ids] or None,
        "sensitive": draft.sensitive,
        "spoiler_text": draft.spoiler_text or None,
        "visibility": VISIBILITY_NAMES[draft.visibility] if draft.visibility else None,
        "language": draft.language,
        "scheduled_at": None,
        "poll": poll,
        "idempotency": None,
        "with_rate_limit": False,
        "in_reply_to_id": draft.in_reply_to_id,
        "application_id": application_id,
    }


def draft_of(params: dict[str, Any]) -> StatusDraft:
    """The draft that kept `params` (`params_of`), to be posted."""
    poll = params.get("poll")
    visibility = params.get("visibility")
    return StatusDraft(
        text=params.get("text") or "",
        in_reply_to_id=params.get("in_reply_to_id"),
        sensitive=params.get("sensitive"),
        spoiler_text=params.get("spoiler_text") or "",
        visibility=VISIBILITIES[visibility] if visibility else None,
        language=params.get("language"),
        poll=None
        if not poll
        else PollDraft(
            options=list(poll["options"]),
            expires_in=int(poll["expires_in"]),
            multiple=bool(poll.get("multiple")),
            hide_totals=bool(poll.get("hide_totals")),
        ),
        media_ids=list(params.get("media_ids") or []),
    )
