"""Imports every domain's `tasks.py` so their job handlers are registered by name."""

from __future__ import annotations


def register_all() -> None:
    """Domains add their task modules here as they gain background work."""
