"""Presence (a ConnectHub extension): who among the accounts I follow is online, `presence`
events on followers' user streams when that changes, and typing indicators in direct
conversations. An account that hides its presence is never announced, listed or shown
typing. State lives in a PresenceStore (in-process or Redis, see presence_store.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import structlog

from connecthub import channels
from connecthub.clock import utcnow
from connecthub.core.datetimes import iso
from connecthub.errors import NotFound
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.streaming import repository
from connecthub.streaming.presence_store import PresenceStore, presence_store

log = structlog.get_logger(__name__)


class PresenceService:
    def __init__(self, engines: Engines, store: PresenceStore | None = None) -> None:
        self.engines = engines
        self.store = store or presence_store(engines)
        self._announcements: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.store.start()

    async def stop(self) -> None:
        for task in list(self._announcements):
            task.cancel()
        await self.store.stop()

    # -- connections -----------------------------------------------------------------

    async def connection_opened(self, account_id: int) -> None:
        if await self.store.connected(account_id):
            self._spawn(self._announce(account_id, online=True))

    async def connection_closed(self, account_id: int) -> None:
        if not await self.store.disconnected(account_id):
            return
        conversations = await self.store.take_typing(account_id)
        if conversations:
            self._spawn(self._stop_typing(account_id, conversations))
        self._spawn(self._announce(account_id, online=False))

    def _spawn(self, work: Any) -> None:
        # Announcing reads the follower list: done beside the connection, not in its way.
        task = asyncio.create_task(work)
        self._announcements.add(task)
        task.add_done_callback(self._announcements.discard)

    async def _announce(self, account_id: int, *, online: bool, force: bool = False) -> None:
        try:
            async with self.engines.db.session(readonly=True) as session:
                if not force and await repository.hidden_among(session, [account_id]):
                    return
                followers = await repository.follower_ids(session, account_id)
            event = channels.envelope(
                channels.PRESENCE, {"account_id": str(account_id), "online": online}
            )
            await channels.send_now(self.engines.events, event, channels.to_accounts(followers))
        except Exception:
            log.exception("presence.announce_failed", account_id=account_id)

    # -- REST ------------------------------------------------------------------------

    async def online_followed(self, viewer_id: int) -> list[int]:
        """Accounts the viewer follows that are online and do not hide it."""
        async with self.engines.db.session(readonly=True) as session:
            following = await repository.following_ids(session, viewer_id)
            online = await self.store.online(following)
            hidden = await repository.hidden_among(session, sorted(online))
        return sorted(online - hidden)

    async def set_hidden(self, uow: UnitOfWork, account_id: int, hidden: bool) -> None:
        await repository.set_hide_presence(uow.session, account_id, hidden)
        if await self.store.online([account_id]):
            # Followers see the change as the account leaving or arriving.
            uow.after_commit(lambda: self._announce(account_id, online=not hidden, force=True))

    async def is_hidden(self, uow: UnitOfWork, account_id: int) -> bool:
        return bool(await repository.hidden_among(uow.session, [account_id]))

    async def typing(self, uow: UnitOfWork, account_id: int, view_id: int) -> dict[str, Any]:
        """Tell the conversation's other participants that `account_id` is typing."""
        seconds = self.engines.settings.typing_seconds
        view = await repository.conversation_view(uow.session, account_id, view_id)
        if view is None:
            raise NotFound("Record not found")
        expires_at = utcnow() + timedelta(seconds=seconds)
        answer = {"conversation_id": str(view_id), "expires_at": iso(expires_at)}
        if await repository.hidden_among(uow.session, [account_id]):
            return answer
        recipients = await self._reachable(uow, account_id, view.participant_account_ids)
        views = await repository.other_views(uow.session, view.conversation_id, recipients)
        await self.store.start_typing(account_id, view.conversation_id, seconds)
        # One event per recipient: each names the conversation by their own view of it.
        for recipient, their_view in views.items():
            event = _typing_event(their_view, account_id, typing=True, seconds=seconds)
            channels.send_on_commit(uow, event, channels.to_accounts([recipient]))
        return answer

    async def _reachable(
        self, uow: UnitOfWork, account_id: int, participants: list[int]
    ) -> list[int]:
        others = [p for p in participants if p != account_id]
        blocked = await repository.blocked_either_way(uow.session, account_id)
        return [p for p in others if p not in blocked]

    async def _stop_typing(self, account_id: int, conversations: list[int]) -> None:
        try:
            async with self.engines.db.session(readonly=True) as session:
                for conversation_id in conversations:
                    views = await repository.views_of(session, conversation_id)
                    for recipient, view_id in views.items():
                        if recipient == account_id:
                            continue
                        event = _typing_event(view_id, account_id, typing=False, seconds=0)
                        await channels.send_now(
                            self.engines.events, event, channels.to_accounts([recipient])
                        )
        except Exception:
            log.exception("presence.typing_stop_failed", account_id=account_id)


def _typing_event(view_id: int, account_id: int, *, typing: bool, seconds: int) -> dict[str, Any]:
    return channels.envelope(
        channels.TYPING,
        {
            "conversation_id": str(view_id),
            "account_id": str(account_id),
            "typing": typing,
            "expires_in": seconds,
        },
    )
