"""One cache of compiled SQL statements for every app a test process builds.

SQLAlchemy keeps the statements it compiled in a cache per engine, keyed by the engine's
dialect object. The server builds its engines once and compiles each statement once, but
the tests build new engines for every test (a fresh app on a fresh database), so every
test compiled again every statement it ran: ~30 compilations per test, measured at
~18 % of the CPU of `tests/http/test_write_budgets.py` and `tests/statuses/test_posting.py`
(docs/benchmarks.md, "Test suite, 2026-12-05").

Here the app's engines (`connecthub.infra.db`) share one cache through SQLAlchemy's
`compiled_cache` execution option, and dialects of one class count as the same key. The
statements sent, their parameters and their results are unchanged: a compiled statement
is the SQL text and the parameter and result processing of its dialect class, and all the
engines of a test process talk to the same kind of server (SQLite of one library, or the
one PostgreSQL server, directly or through PgBouncer). Real `connecthub` processes the
tests start compile their own, as the server does. `TEST_SHARED_COMPILED_CACHE=0` turns it
off.
"""

from __future__ import annotations

import os
from typing import Any

_CACHE_SIZE = 20_000  # distinct statements across the whole suite: a few thousand


def install() -> None:
    if os.environ.get("TEST_SHARED_COMPILED_CACHE", "1") == "0":
        return
    from sqlalchemy.engine import default
    from sqlalchemy.util import LRUCache

    from connecthub.infra import db

    if getattr(db.create_async_engine, "shares_compiled_statements", False):
        return
    shared: LRUCache[Any, Any] = LRUCache(_CACHE_SIZE)

    # The cache key holds the dialect object; one per engine would never match another's.
    def dialect_hash(self: default.DefaultDialect) -> int:
        return hash(type(self))

    def dialect_eq(self: default.DefaultDialect, other: object) -> bool:
        return type(self) is type(other)

    default.DefaultDialect.__hash__ = dialect_hash  # type: ignore[method-assign]
    default.DefaultDialect.__eq__ = dialect_eq  # type: ignore[method-assign,assignment]

    create = db.create_async_engine

    def create_async_engine(*args: Any, **kwargs: Any) -> Any:
        engine = create(*args, **kwargs)
        engine.sync_engine.update_execution_options(compiled_cache=shared)
        return engine

    create_async_engine.shares_compiled_statements = True  # type: ignore[attr-defined]
    db.create_async_engine = create_async_engine  # type: ignore[assignment]
