"""Limits the instance endpoints publish to clients.

The domains that enforce a limit (statuses, media, polls, profiles) import it from here, so
what clients are told and what the server enforces cannot drift apart. The status length is
a setting (`MAX_STATUS_CHARACTERS`); the rest follow Mastodon's defaults.
"""

from __future__ import annotations

from typing import Final

MAX_MEDIA_ATTACHMENTS: Final = 4
# Every URL in a status counts as this many characters, however long it is...
CHARACTERS_RESERVED_PER_URL: Final = 23
# ...up to this length (Mastodon's): a longer URL counts every one of its characters.
MAX_URL_CHARACTERS: Final = 4096
# The typed text (links at full length, mention domains included) may be at most this many
# times MAX_STATUS_CHARACTERS: 5,000 characters at the default 500, room for a full post
# plus several links of a few hundred characters or one near MAX_URL_CHARACTERS. It also
# bounds the stored HTML, which escapes each character into at most six and quotes a link
# twice: a few tens of kilobytes, never the request body's megabyte.
RAW_STATUS_LENGTH_FACTOR: Final = 10

MAX_FEATURED_TAGS: Final = 10
MAX_PINNED_STATUSES: Final = 5
MAX_PROFILE_FIELDS: Final = 4

MEDIA_DESCRIPTION_LIMIT: Final = 1500
# Defaults of the MEDIA_* settings; the instance endpoints publish the settings' values.
IMAGE_SIZE_LIMIT: Final = 16 * 1024 * 1024
IMAGE_MATRIX_LIMIT: Final = 33_177_600  # 7680 x 4320
VIDEO_SIZE_LIMIT: Final = 99 * 1024 * 1024
VIDEO_FRAME_RATE_LIMIT: Final = 120
VIDEO_MATRIX_LIMIT: Final = 8_294_400  # 3840 x 2160
# What media/sniffing.py accepts (decided by the bytes, never by the name or declared type).
SUPPORTED_MIME_TYPES: Final = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "audio/mpeg",
    "audio/mp3",
    "audio/ogg",
    "audio/opus",
    "audio/wav",
    "audio/wave",
    "audio/x-wav",
    "audio/flac",
    "audio/mp4",
    "audio/m4a",
    "audio/x-m4a",
)

POLL_MAX_OPTIONS: Final = 4
POLL_MAX_CHARACTERS_PER_OPTION: Final = 50
POLL_MIN_EXPIRATION_SECONDS: Final = 5 * 60
POLL_MAX_EXPIRATION_SECONDS: Final = 2_629_746  # one average month
