"""ADR 0002: outside `infra/`, only the listed factories look at the mode (`engines.redis`)
or talk to Redis themselves; everything else goes through the engine interfaces."""

from __future__ import annotations

import re
from pathlib import Path

import connecthub

PACKAGE = Path(connecthub.__file__).parent
# Each: a domain's own Redis structure, picked in one factory (or the readiness probe).
ALLOWED = {
    "timelines/feeds.py",
    "streaming/presence_store.py",
    "streaming/connection_limits.py",
    "ops/endpoints.py",
}
_LOOKS_AT_REDIS = re.compile(r"engines\.redis\b|^\s*(from|import) redis\b", re.MULTILINE)


def test_only_the_listed_modules_reach_redis_outside_infra() -> None:
    reaching = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "infra"
        and _LOOKS_AT_REDIS.search(path.read_text(encoding="utf-8"))
    }
    assert reaching == ALLOWED
