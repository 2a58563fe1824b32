"""The one home of real-time delivery's names and shapes: which event-bus channel carries
what (docs/streaming-channels.md), the `{"event": …}` envelopes that travel on them, and the
two ways to send one event to many recipients.

As Zulip's `send_event`: a publisher computes its recipients in bulk (account ids, list
ids, a status's tags) and hands them over in one call; it never spells a channel name.
The streaming side resolves a client's stream to a channel with the same functions, so a
publisher and a subscriber cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

Event = dict[str, Any]

# Mastodon's event names.
UPDATE = "update"
STATUS_UPDATE = "status.update"
DELETE = "delete"
NOTIFICATION = "notification"
CONVERSATION = "conversation"
FILTERS_CHANGED = "filters_changed"
ANNOUNCEMENT = "announcement"
ANNOUNCEMENT_REACTION = "announcement.reaction"
ANNOUNCEMENT_DELETE = "announcement.delete"
ANNOUNCEMENT_EVENTS = frozenset({ANNOUNCEMENT, ANNOUNCEMENT_REACTION, ANNOUNCEMENT_DELETE})
# ConnectHub's own (presence and typing are extensions).
PRESENCE = "presence"
TYPING = "typing"
# Control events: only on an account's control channel, never shown to a client.
TOKENS_REVOKED = "tokens_revoked"
ACCOUNT_CLOSED = "account_closed"

# Events about one status, whose payload is the status entity (`delete`: its id).
STATUS_EVENTS = frozenset({UPDATE, STATUS_UPDATE, DELETE})

# The firehose channels. Every status is local until federation exists, so each public
# status goes to both, and `public:local` differs from `public` only by name.
PUBLIC = "public"
PUBLIC_LOCAL = "public:local"


# -- channel names ---------------------------------------------------------------------


def user_channel(account_id: int) -> str:
    """Everything addressed to one account: home updates, notifications, conversations,
    filter changes, presence, typing (the user, user:notification and direct streams)."""
    return f"user:{account_id}"


def list_channel(list_id: int) -> str:
    return f"list:{list_id}"


def hashtag_channel(tag_key: str, *, local: bool = False) -> str:
    """`tag_key` is the tag's lower-cased name (`Tag.name_key`)."""
    return f"hashtag:{tag_key}:local" if local else f"hashtag:{tag_key}"


def control_channel(account_id: int) -> str:
    """Every streaming connection of the account listens here, whatever its streams:
    token revocation, suspension, filter changes (so each process drops cached rules)."""
    return f"account:{account_id}:revocations"


# -- audiences: the channels one event goes to --------------------------------------------


def to_accounts(account_ids: Iterable[int]) -> list[str]:
    return [user_channel(account_id) for account_id in account_ids]


def to_lists(list_ids: Iterable[int]) -> list[str]:
    return [list_channel(list_id) for list_id in list_ids]


def to_public(tag_keys: Iterable[str]) -> list[str]:
    """A public status's topic channels: the firehose and each of its tags, plain and local.
    Its `update`, `status.update` and `delete` all use this one list, so a stream that saw
    a status posted also hears of its edits and its deletion."""
    channels = [PUBLIC, PUBLIC_LOCAL]
    for tag_key in tag_keys:
        channels += [hashtag_channel(tag_key), hashtag_channel(tag_key, local=True)]
    return channels


# -- envelopes ---------------------------------------------------------------------------


def envelope(name: str, payload: Any = None) -> Event:
    """`{"event": name, "payload": payload}`; without a payload, `{"event": name}`."""
    return {"event": name} if payload is None else {"event": name, "payload": payload}


def status_event(name: str, entity: Any) -> Event:
    """`update` or `status.update` with the status entity as everyone may see it."""
    return envelope(name, entity)


def deletion(status_id: int) -> Event:
    """Mastodon sends a deleted status's id as a string."""
    return envelope(DELETE, str(status_id))


def tokens_revoked(token_ids: Sequence[int]) -> Event:
    return {"event": TOKENS_REVOKED, "token_ids": list(token_ids)}


# -- sending -----------------------------------------------------------------------------


class _OnCommit(Protocol):
    """The unit of work: publishes after its transaction commits, drops on rollback."""

    def publish_many(self, channels: Sequence[str], event: Event) -> None: ...


class _Bus(Protocol):
    """The event bus, for senders outside a request's transaction (jobs, connections)."""

    async def publish_many(self, channels: Sequence[str], event: Event) -> None: ...


def send_on_commit(uow: _OnCommit, event: Event, channels: Sequence[str]) -> None:
    """Send `event` to every channel once the transaction commits (nothing on rollback)."""
    if channels:
        uow.publish_many(list(channels), event)


async def send_now(bus: _Bus, event: Event, channels: Sequence[str]) -> None:
    """Send `event` to every channel at once: encoded once, one round trip."""
    if channels:
        await bus.publish_many(list(channels), event)
