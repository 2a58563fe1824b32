"""Mastodon's stream names, and how each maps onto event-bus channels (see
docs/streaming-channels.md): the user, user:notification and direct streams all read the
account's own user channel (selecting events by name), topic streams read their topic's
channel. Channels are named by `connecthub.channels`, as the publishers name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connecthub import channels
from connecthub.errors import NotFound
from connecthub.ids import parse_id
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import covers_any
from connecthub.timelines import service as timelines_service

STATUS_SCOPES = ("read", "read:statuses")
NOTIFICATION_SCOPES = ("read", "read:notifications")
_TAG = re.compile(r"^\w{1,100}$")


class StreamError(Exception):
    """A stream that cannot be opened; `status` is the HTTP status Mastodon would use."""

    headers: dict[str, str] | None = None

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StreamUnavailable(StreamError):
    """The event bus cannot confirm the stream's channels now (Redis down, or its
    connection not resubscribed yet): refused with 503 and `Retry-After`, as any outage."""

    headers = {"Retry-After": "5"}

    def __init__(self) -> None:
        super().__init__(503, "Service unavailable, try again")


@dataclass(frozen=True)
class Stream:
    name: str
    param: str | None
    channel: str
    # Event names this stream carries from its channel; None: every event.
    events: frozenset[str] | None = None
    # Topic streams are shared by everyone: each recipient's blocks and mutes apply.
    topic: bool = False
    media_only: bool = False

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.param)

    @property
    def label(self) -> list[str]:
        """The `stream` array of a WebSocket message, as Mastodon sends it."""
        return [self.name] if self.param is None else [self.name, self.param]


def normalize_tag(raw: str | None) -> str:
    tag = (raw or "").strip().removeprefix("#").lower()
    if not tag:
        raise StreamError(400, "No tag for stream provided")
    if not _TAG.match(tag):
        raise StreamError(400, "Invalid tag")
    return tag


async def resolve(
    engines: Engines, token: TokenInfo, name: str, *, tag: str | None, list_id: str | None
) -> Stream:
    """The stream `name` (with its parameter) for this token, or StreamError.

    Scopes first, as Mastodon's streaming server: every stream needs `read` or
    `read:statuses` (public and hashtag streams too), `user:notification` needs `read` or
    `read:notifications`."""
    _check_scopes(token, NOTIFICATION_SCOPES if name == "user:notification" else STATUS_SCOPES)
    account_id = token.account_id or 0
    user_channel = channels.user_channel(account_id)
    if name in ("public", "public:local", "public:media", "public:local:media"):
        # Media streams read the plain channel and keep statuses with attachments.
        local = name.startswith("public:local")
        return Stream(
            name,
            None,
            channels.PUBLIC_LOCAL if local else channels.PUBLIC,
            events=channels.STATUS_EVENTS,
            topic=True,
            media_only=name.endswith(":media"),
        )
    if name in ("hashtag", "hashtag:local"):
        tag_key = normalize_tag(tag)
        channel = channels.hashtag_channel(tag_key, local=name.endswith(":local"))
        return Stream(name, tag_key, channel, channels.STATUS_EVENTS, topic=True)
    if name == "user:notification":
        return Stream(name, None, user_channel, frozenset({channels.NOTIFICATION}))
    if name == "user":
        events = None
        if not covers_any(token.scopes, NOTIFICATION_SCOPES):
            events = (
                channels.STATUS_EVENTS
                | channels.ANNOUNCEMENT_EVENTS
                | {
                    channels.CONVERSATION,
                    channels.FILTERS_CHANGED,
                    channels.PRESENCE,
                    channels.TYPING,
                }
            )
        return Stream(name, None, user_channel, events)
    if name == "direct":
        return Stream(name, None, user_channel, frozenset({channels.CONVERSATION}))
    if name == "list":
        number = parse_id(list_id)
        if number is None:
            raise StreamError(400, "No list for stream provided")
        async with engines.db.session(readonly=True) as session:
            try:
                await timelines_service.access_list(
                    UnitOfWork(engines, session), account_id, number
                )
            except NotFound:
                raise StreamError(404, "Not authorized to stream this list") from None
        # Named from the number, as the publisher names it ("0123" is list 123).
        channel = channels.list_channel(number)
        return Stream(name, str(number), channel, channels.STATUS_EVENTS, topic=True)
    raise StreamError(400, "Unknown stream type")


def _check_scopes(token: TokenInfo, scopes: tuple[str, ...]) -> None:
    if not covers_any(token.scopes, scopes):
        raise StreamError(401, "Access token does not have the required scopes")
