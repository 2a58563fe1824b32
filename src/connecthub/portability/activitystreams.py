"""The archive's ActivityStreams documents, shaped as Mastodon's archive has them: the
actor (`actor.json`, a Person), the outbox's activities (a `Create` of a `Note` or a
`Question` per post, an `Announce` per boost) and the collections of URIs (`likes.json`,
`bookmarks.json`). Addressing (`to`/`cc`) follows Mastodon's rules per visibility; media
URLs are the files' paths inside the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connecthub.accounts.models import Account
from connecthub.config import Settings
from connecthub.core.html import text_to_html
from connecthub.infra.storage import media_url
from connecthub.media.models import MediaAttachment, MediaKind
from connecthub.statuses.models import Poll, Status, Visibility

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ostatus": "http://ostatus.org#",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "discoverable": "toot:discoverable",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "PropertyValue": "schema:PropertyValue",
        "schema": "http://schema.org#",
        "value": "schema:value",
    },
]
MEDIA_FOLDER = "media_attachments/files"


def published(value: datetime | None) -> str | None:
    """ActivityPub's timestamps, as Mastodon writes them: seconds, UTC, `Z`."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def actor_uri(settings: Settings, username: str) -> str:
    return f"{settings.base_url}/users/{username}"


def status_uri(settings: Settings, username: str, status_id: int) -> str:
    return f"{actor_uri(settings, username)}/statuses/{status_id}"


def media_path(key: str) -> str:
    """Where an original file sits in the archive (and what its attachment's `url` says)."""
    return f"{MEDIA_FOLDER}/{key}"


def profile_image_path(role: str, key: str) -> str:
    """`avatar.png`, `header.jpg`: the names Mastodon's archive gives profile images."""
    return f"{role}.{key.rsplit('.', 1)[-1]}"


def actor(settings: Settings, account: Account) -> dict[str, Any]:
    uri = actor_uri(settings, account.username)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": uri,
        "type": "Service" if account.bot else "Person",
        "following": f"{uri}/following",
        "followers": f"{uri}/followers",
        "inbox": f"{uri}/inbox",
        "outbox": "outbox.json",
        "featured": f"{uri}/collections/featured",
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": text_to_html(account.note),
        "url": f"{settings.base_url}/@{account.username}",
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "published": published(account.created_at),
        "attachment": [
            {"type": "PropertyValue", "name": item.get("name", ""), "value": item.get("value", "")}
            for item in account.fields or []
        ],
        "endpoints": {"sharedInbox": f"{settings.base_url}/inbox"},
        "likes": "likes.json",
        "bookmarks": "bookmarks.json",
    }
    for role, key in (("icon", account.avatar_key), ("image", account.header_key)):
        if key:
            name = profile_image_path("avatar" if role == "icon" else "header", key)
            document[role] = {"type": "Image", "mediaType": _media_type(key), "url": name}
    return document


def _media_type(key: str) -> str:
    extension = key.rsplit(".", 1)[-1].lower()
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "webp": "image/webp",
        "avif": "image/avif",
        "mp4": "video/mp4",
        "webm": "video/webm",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "m4a": "audio/mp4",
        "wav": "audio/wav",
    }.get(extension, "application/octet-stream")


@dataclass
class StatusParts:
    """What a batch of statuses needs beyond their rows, read once per batch."""

    usernames: dict[int, str] = field(default_factory=dict)
    attachments: dict[int, list[MediaAttachment]] = field(default_factory=dict)
    polls: dict[int, Poll] = field(default_factory=dict)
    poll_votes: dict[int, dict[int, int]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    mentions: dict[int, list[str]] = field(default_factory=dict)
    reblogged: dict[int, Status] = field(default_factory=dict)


def _addressing(
    settings: Settings, status: Status, username: str, mentioned: list[str]
) -> tuple[list[str], list[str]]:
    followers = f"{actor_uri(settings, username)}/followers"
    people = [actor_uri(settings, name) for name in mentioned]
    if status.visibility == Visibility.PUBLIC:
        return [PUBLIC], [followers, *people]
    if status.visibility == Visibility.UNLISTED:
        return [followers], [PUBLIC, *people]
    if status.visibility == Visibility.PRIVATE:
        return [followers], people
    return people, []


def _attachment(row: MediaAttachment, *, local_files: bool, settings: Settings) -> dict[str, Any]:
    meta = row.meta or {}
    original = meta.get("original", {}) if isinstance(meta, dict) else {}
    url = media_path(row.file_key) if local_files else media_url(settings, row.file_key)
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": row.content_type,
        "url": url,
        "name": row.description or None,
        "blurhash": row.blurhash,
    }
    if row.kind == MediaKind.IMAGE:
        document["focalPoint"] = [row.focus_x, row.focus_y]
    if isinstance(original, dict) and original.get("width"):
        document["width"], document["height"] = original.get("width"), original.get("height")
    return document


def _poll_fields(poll: Poll, votes: dict[int, int]) -> dict[str, Any]:
    options = [
        {
            "type": "Note",
            "name": title,
            "replies": {"type": "Collection", "totalItems": votes.get(index, 0)},
        }
        for index, title in enumerate(poll.options)
    ]
    fields: dict[str, Any] = {"anyOf" if poll.multiple else "oneOf": options}
    fields["endTime"] = published(poll.expires_at)
    fields["votersCount"] = poll.voters_count
    return fields


def note(
    settings: Settings, status: Status, parts: StatusParts, *, local_files: bool
) -> dict[str, Any]:
    """The Note (or Question, for a poll) a post is; `local_files`: its media point into
    the archive (the owner's posts) rather than at this server."""
    username = parts.usernames.get(status.account_id, "")
    mentioned = parts.mentions.get(status.id, [])
    to, cc = _addressing(settings, status, username, mentioned)
    poll = parts.polls.get(status.id)
    in_reply_to = None
    if status.in_reply_to_id and status.in_reply_to_account_id in parts.usernames:
        replied = parts.usernames[status.in_reply_to_account_id or 0]
        in_reply_to = status_uri(settings, replied, status.in_reply_to_id)
    document: dict[str, Any] = {
        "id": status_uri(settings, username, status.id),
        "type": "Question" if poll else "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": in_reply_to,
        "published": published(status.created_at),
        "updated": published(status.edited_at),
        "url": f"{settings.base_url}/@{username}/{status.id}",
        "attributedTo": actor_uri(settings, username),
        "to": to,
        "cc": cc,
        "sensitive": status.sensitive,
        "content": status.content,
        "contentMap": {status.language: status.content} if status.language else {},
        "attachment": [
            _attachment(row, local_files=local_files, settings=settings)
            for row in parts.attachments.get(status.id, [])
        ],
        "tag": [
            *(
                {"type": "Mention", "href": actor_uri(settings, name), "name": f"@{name}"}
                for name in mentioned
            ),
            *(
                {
                    "type": "Hashtag",
                    "href": f"{settings.base_url}/tags/{name.lower()}",
                    "name": f"#{name}",
                }
                for name in parts.tags.get(status.id, [])
            ),
        ],
    }
    if document["updated"] is None:
        del document["updated"]
    if poll is not None:
        document.update(_poll_fields(poll, parts.poll_votes.get(poll.id, {})))
    return document


def activity(settings: Settings, status: Status, parts: StatusParts) -> dict[str, Any] | None:
    """The outbox item of one of the account's statuses: `Create` (a post) or `Announce`
    (a boost); None for a boost whose post is gone."""
    username = parts.usernames.get(status.account_id, "")
    uri = status_uri(settings, username, status.id)
    mentioned = parts.mentions.get(status.id, [])
    to, cc = _addressing(settings, status, username, mentioned)
    common = {
        "id": f"{uri}/activity",
        "actor": actor_uri(settings, username),
        "published": published(status.created_at),
        "to": to,
        "cc": cc,
    }
    if status.reblog_of_id is not None:
        original = parts.reblogged.get(status.reblog_of_id)
        if original is None:
            return None
        author = parts.usernames.get(original.account_id, "")
        return {**common, "type": "Announce", "object": status_uri(settings, author, original.id)}
    return {**common, "type": "Create", "object": note(settings, status, parts, local_files=True)}


def collection_head(identifier: str, total: int) -> dict[str, Any]:
    """An OrderedCollection without its items (they are streamed after it)."""
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": identifier,
        "type": "OrderedCollection",
        "totalItems": total,
    }
