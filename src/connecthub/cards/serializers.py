"""The one converter from a preview card row to Mastodon's PreviewCard entity."""

from __future__ import annotations

from connecthub import entities
from connecthub.cards.models import PreviewCard
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.infra.storage import media_url


def card_entity(settings: Settings, card: PreviewCard) -> entities.PreviewCard:
    return {
        "url": card.url,
        "title": card.title,
        "description": card.description,
        "type": card.type,
        "author_name": card.author_name,
        "author_url": card.author_url,
        "provider_name": card.provider_name,
        "provider_url": card.provider_url,
        "html": card.html,
        "width": card.width,
        "height": card.height,
        "image": media_url(settings, card.image_key) if card.image_key else None,
        "image_description": card.image_description,
        "embed_url": card.embed_url,
        "blurhash": card.blurhash,
        "language": card.language,
        "published_at": iso(card.published_at),
        "authors": [
            {"name": str(a.get("name", "")), "url": str(a.get("url", "")), "account": None}
            for a in card.authors or []
        ],
    }
