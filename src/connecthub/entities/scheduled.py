"""ScheduledStatus: a status to be posted later, with the parameters it will be posted with."""

from __future__ import annotations

from typing_extensions import TypedDict

from connecthub.entities.media import MediaAttachment


class ScheduledStatusPoll(TypedDict):
    options: list[str]
    expires_in: int
    multiple: bool
    hide_totals: bool


class ScheduledStatusParams(TypedDict):
    """As Mastodon keeps them: what was sent (null when it was not), `scheduled_at` and
    `idempotency` always null, `with_rate_limit` always false."""

    text: str
    poll: ScheduledStatusPoll | None
    media_ids: list[str] | None
    sensitive: bool | None
    spoiler_text: str | None
    visibility: str | None
    in_reply_to_id: int | None
    language: str | None
    application_id: int | None
    scheduled_at: None
    idempotency: str | None
    with_rate_limit: bool


class ScheduledStatus(TypedDict):
    id: str
    scheduled_at: str
    params: ScheduledStatusParams
    media_attachments: list[MediaAttachment]
