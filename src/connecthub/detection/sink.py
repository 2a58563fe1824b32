"""Where automated decisions go: the moderation queue, as system reports.

The one place detection hands a decision to the reports domain, so the rest of detection
does not know how a report is filed.
"""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.infra.uow import UnitOfWork

# Mastodon's report categories: offensive language breaks the rules ("other": no rule ids
# are known to detection); spam is "spam".
CATEGORY_OFFENSIVE = "other"
CATEGORY_SPAM = "spam"


async def file_report(
    uow: UnitOfWork, *, account_id: int, status_ids: Sequence[int], category: str, comment: str
) -> int | None:
    """File a system report in the caller's transaction; its id (None: no reports domain)."""
    return None
