"""Where automated decisions go: the moderation queue, as system reports.

The one place detection hands a decision to the reports domain
(`reports.service.file_system_report`: no reporter, the instance shows as the reporter), so
the rest of detection does not know how a report is filed.
"""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.errors import NotFound
from connecthub.infra.uow import UnitOfWork
from connecthub.reports import service as reports_service

# Mastodon's report categories. Offensive language is "other": a "violation" names the
# instance rules broken, which detection cannot know; spam is "spam".
CATEGORY_OFFENSIVE = "other"
CATEGORY_SPAM = "spam"


async def file_report(
    uow: UnitOfWork, *, account_id: int, status_ids: Sequence[int], category: str, comment: str
) -> int:
    """File a system report in the caller's transaction; its id. A status deleted since it
    was scored is left out of the evidence (the account is still reported)."""
    try:
        return await reports_service.file_system_report(
            uow,
            target_account_id=account_id,
            status_ids=list(status_ids),
            category=category,
            comment=comment,
        )
    except NotFound:
        if not status_ids:
            raise
    return await reports_service.file_system_report(
        uow, target_account_id=account_id, status_ids=[], category=category, comment=comment
    )
