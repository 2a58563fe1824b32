from __future__ import annotations

from tests.streaming.conftest import factory_app

__all__ = ["factory_app"]
