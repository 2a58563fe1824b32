"""The one converter from scheduled status rows to Mastodon's ScheduledStatus entity."""

from __future__ import annotations

from typing import cast

from connecthub import entities
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.media.models import MediaAttachment
from connecthub.media.serializers import media_entity
from connecthub.scheduled.models import ScheduledStatus


def scheduled_status_entity(
    settings: Settings, row: ScheduledStatus, media: list[MediaAttachment]
) -> entities.ScheduledStatus:
    return {
        "id": str(row.id),
        "scheduled_at": iso(row.scheduled_at),
        # Kept in the entity's shape when scheduled (schemas.params_of).
        "params": cast(entities.ScheduledStatusParams, dict(row.params)),
        "media_attachments": [media_entity(settings, item) for item in media],
    }
