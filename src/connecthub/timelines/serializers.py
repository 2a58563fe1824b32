"""Mastodon's List and Marker entities."""

from __future__ import annotations

from connecthub import entities
from connecthub.core.datetimes import iso
from connecthub.timelines.models import List, Marker, MarkerView


def list_entity(lst: List) -> entities.List:
    return {
        "id": str(lst.id),
        "title": lst.title,
        "replies_policy": lst.replies_policy,
        "exclusive": bool(lst.exclusive),
    }


def marker_entity(marker: Marker | MarkerView) -> entities.Marker:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }
