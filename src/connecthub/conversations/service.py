"""Direct-message conversation rules. INTERFACE STUB: the conversations work fills this in;
the statuses service calls `record_direct_status` when a direct status is created."""

from __future__ import annotations

from connecthub.infra.uow import UnitOfWork


async def record_direct_status(
    uow: UnitOfWork,
    *,
    status_id: int,
    author_id: int,
    recipient_ids: list[int],
    conversation_id: int,
) -> None:
    """Update every participant's view of the conversation: last status, unread for the
    recipients, and publish a `conversation` event to each after commit."""
