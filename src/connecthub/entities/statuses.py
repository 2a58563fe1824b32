"""Status and what it carries: Mention, Tag (and the hashtag itself, TagDetails), Poll,
PreviewCard, its Application; StatusEdit, StatusSource and Context; a featured tag."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from connecthub.entities.accounts import Account, CustomEmoji
from connecthub.entities.filters import FilterResult
from connecthub.entities.media import MediaAttachment


class Mention(TypedDict):
    id: str
    username: str
    acct: str
    url: str


class Tag(TypedDict):
    """A hashtag as a status carries it (Mastodon's Status::Tag)."""

    name: str
    url: str


class TagHistory(TypedDict):
    """One day of a tag's use: the day (UNIX time of its midnight, UTC), uses and distinct
    accounts, all as strings (Mastodon's shape)."""

    day: str
    uses: str
    accounts: str


class TagDetails(Tag):
    """Mastodon's Tag entity: `/api/v1/tags/:name`, followed tags, featured tag suggestions.
    `following` and `featuring` only for a signed-in caller."""

    id: str
    history: list[TagHistory]
    following: NotRequired[bool]
    featuring: NotRequired[bool]


class FeaturedTag(TypedDict):
    id: str
    name: str
    url: str
    statuses_count: str  # a string, as Mastodon's serializer writes it
    last_status_at: str | None  # a date, YYYY-MM-DD


class PollOption(TypedDict):
    title: str
    votes_count: int | None  # None while the totals are hidden


class Poll(TypedDict):
    id: str
    expires_at: str | None
    expired: bool
    multiple: bool
    votes_count: int
    voters_count: int | None
    options: list[PollOption]
    emojis: list[CustomEmoji]
    # Only when a user views the poll.
    voted: NotRequired[bool]
    own_votes: NotRequired[list[int]]


class PreviewCardAuthor(TypedDict):
    name: str
    url: str
    # The author's account here, when the page names one (Mastodon sends null otherwise).
    account: Account | None


class PreviewCard(TypedDict):
    url: str
    title: str
    description: str
    type: str  # link, photo, video or rich
    author_name: str
    author_url: str
    provider_name: str
    provider_url: str
    html: str
    width: int
    height: int
    image: str | None
    image_description: str
    embed_url: str
    blurhash: str | None
    language: str | None
    published_at: str | None
    authors: list[PreviewCardAuthor]


class StatusApplication(TypedDict):
    """The application that posted a status (shown to its author only)."""

    name: str
    website: str | None


class StatusShared(TypedDict):
    """What every viewer sees of a status apart from what a read splices in (author,
    boosted status, poll, application, viewer flags, filter results): the part the cache
    keeps rendered (statuses/serializers.py)."""

    id: str
    created_at: str
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    sensitive: bool
    spoiler_text: str
    visibility: str
    language: str | None
    uri: str
    url: str | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    edited_at: str | None
    content: str
    media_attachments: list[MediaAttachment]
    mentions: list[Mention]
    tags: list[Tag]
    emojis: list[CustomEmoji]
    card: PreviewCard | None


class Status(StatusShared):
    reblog: Status | None
    application: StatusApplication | None
    account: Account
    poll: Poll | None
    # The viewer's own flags: only when a user views the status.
    favourited: NotRequired[bool]
    reblogged: NotRequired[bool]
    muted: NotRequired[bool]
    bookmarked: NotRequired[bool]
    pinned: NotRequired[bool]
    filtered: list[FilterResult]


class DeletedStatus(Status):
    """The answer to a deletion: the status with its source text (for delete-and-redraft)."""

    text: str


class StatusEditPollOption(TypedDict):
    title: str


class StatusEditPoll(TypedDict):
    options: list[StatusEditPollOption]


class StatusEdit(TypedDict):
    content: str
    spoiler_text: str
    sensitive: bool
    created_at: str | None
    account: Account
    # Only for a version that had a poll.
    poll: NotRequired[StatusEditPoll]
    media_attachments: list[MediaAttachment]
    emojis: list[CustomEmoji]


class StatusSource(TypedDict):
    id: str
    text: str
    spoiler_text: str


class Context(TypedDict):
    ancestors: list[Status]
    descendants: list[Status]


class OEmbed(TypedDict):
    """oEmbed (https://oembed.com) of a public status, as Mastodon's `/api/oembed` answers."""

    type: str
    version: str
    author_name: str
    author_url: str
    provider_name: str
    provider_url: str
    cache_age: int
    html: str
    width: int
    height: int | None
