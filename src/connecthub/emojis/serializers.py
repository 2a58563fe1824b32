"""The one converter from custom emoji rows to Mastodon's CustomEmoji, and THE rule for
which `:shortcode:` in a text names an emoji (statuses, display names, bios, announcements).

Texts keep their `:shortcode:` as typed (clients draw the images, as Mastodon's do); what a
rendering adds is the `emojis` array: the emojis its texts use, each once, unknown
shortcodes left as text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from connecthub import entities
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.emojis.models import CustomEmoji
from connecthub.infra.storage import media_url

SHORTCODE = re.compile(r"[A-Za-z0-9_]{2,64}")
# As Mastodon scans: a shortcode between colons, not glued to a letter, digit or colon.
_IN_TEXT = re.compile(r"(?<![^\W_])(?<!:):([A-Za-z0-9_]{2,64}):(?![^\W_])(?!:)")


def shortcodes_in(*texts: str | None) -> set[str]:
    return {code for text in texts if text for code in _IN_TEXT.findall(text)}


def used(
    found: Mapping[str, entities.CustomEmoji], *texts: str | None
) -> list[entities.CustomEmoji]:
    """The emojis of `found` that `texts` use, by shortcode."""
    if not found:
        return []
    return [found[code] for code in sorted(shortcodes_in(*texts)) if code in found]


def emoji_entity(settings: Settings, emoji: CustomEmoji) -> entities.CustomEmoji:
    return {
        "shortcode": emoji.shortcode,
        "url": media_url(settings, emoji.image_key),
        "static_url": media_url(settings, emoji.static_key),
        "visible_in_picker": emoji.visible_in_picker,
        "category": emoji.category,
    }


def admin_emoji_entity(settings: Settings, emoji: CustomEmoji) -> entities.AdminCustomEmoji:
    return {
        "id": str(emoji.id),
        **emoji_entity(settings, emoji),
        "created_at": iso(emoji.created_at),
        "updated_at": iso(emoji.updated_at),
    }


def by_shortcode(
    settings: Settings, rows: Iterable[CustomEmoji]
) -> dict[str, entities.CustomEmoji]:
    return {row.shortcode: emoji_entity(settings, row) for row in rows}
