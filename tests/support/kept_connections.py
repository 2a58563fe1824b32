"""PostgreSQL connections kept from one test's app to the next (the PostgreSQL pass).

Every test builds its own app, whose engine opened its own connections (~2.6 a test) and
closed them when the app stopped. A new connection is a new server process that loads its
catalog caches again: ~13 ms of PostgreSQL's CPU and ~6 ms of the test's more than the same
queries on a connection already warm (40 tables read once each; docs/benchmarks.md), about a
fifth of the PostgreSQL pass's CPU. Here the app's engines (`connecthub.infra.db`) get their
connections from a keeper: a connection the engine closes goes back to the keeper idle, and
the next engine for the same database, user and options gets it after asyncpg's `reset()`
(rolled back, session settings, listeners and advisory locks reset: a connection as new). A
connection that fails its reset (the server restarted, a test ended its backend) is dropped
and a new one made; emptying a database for the next test spares the idle ones (they hold
no lock: a connection in a transaction is closed, not kept). The tests share one event loop
per worker (pyproject.toml's `asyncio_default_test_loop_scope`), which asyncpg's
connections are bound to.

SQLAlchemy's asyncpg adapter prepares each statement once per adapter, and a new engine
makes a new adapter around the kept connection: each test prepared its ~50 statements again
(a round trip and a parse each). The adapter's cache of prepared statements now stays with
the connection (`_keep_prepared_statements`): the statements stay prepared on the server
through asyncpg's `reset()` (which closes cursors, not statements), for the same database
and schema (the keeper's key names the database; emptying it changes no table).

What the app runs on them is unchanged; engines given a connection function of their own
(read replicas' fallback, infra/replicas.py) keep it. `TEST_KEPT_CONNECTIONS=0` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.pool import Pool

# Idle connections kept per database, user and options: a test's app uses up to ~4 at once.
_MOST_KEPT = 4
_RESET_TIMEOUT_SECONDS = 5.0

_idle: dict[str, list[KeptConnection]] = {}


class KeptConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that goes back to the keeper when closed, when it can."""

    keeper_key = ""

    async def set_type_codec(
        self, typename: str, *, schema: str = "public", format: str = "text", **codec: Any
    ) -> None:
        """Once per connection: every engine of the tests sets the same JSON codecs on each
        connection it gets (SQLAlchemy's `on_connect`), each time a catalog query and a
        dropped statement cache."""
        done: set[tuple[str, str, str]] = self.__dict__.setdefault("codecs_set", set())
        if (typename, schema, format) in done:
            return
        await super().set_type_codec(typename, schema=schema, format=format, **codec)
        done.add((typename, schema, format))

    async def close(self, *, timeout: float | None = None) -> None:
        idle = _idle.setdefault(self.keeper_key, []) if self.keeper_key else []
        if (
            self.keeper_key
            and not self.is_closed()
            and not self.is_in_transaction()
            and len(idle) < _MOST_KEPT
            and self._loop is asyncio.get_running_loop()
        ):
            idle.append(self)
            return
        await super().close(timeout=timeout)


async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """`asyncpg.connect`, a kept connection when there is one for these arguments."""
    key = repr((args, sorted(kwargs.items())))
    loop = asyncio.get_running_loop()
    idle = _idle.get(key, [])
    while idle:
        connection = idle.pop()
        if connection.is_closed() or connection._loop is not loop:
            continue
        try:
            await connection.reset(timeout=_RESET_TIMEOUT_SECONDS)
        except Exception:  # any failure: not usable; a new one is made
            # Besides a server that ended it, a connection the app discarded mid-statement
            # (its backend terminated under it) fails with asyncpg's InternalClientError,
            # "another operation is in progress": a 500 in CI once, as it went uncaught.
            with contextlib.suppress(Exception):
                connection.terminate()
            continue
        return connection
    connection = await asyncpg.connect(*args, connection_class=KeptConnection, **kwargs)
    connection.keeper_key = key
    return connection


async def close_idle() -> None:
    """Close every connection kept idle: before a database they are connected to is renamed
    or copied (the template, built before the tests on an event loop of its own:
    tests/engines.py), which PostgreSQL refuses while any session is connected to it."""
    kept = [connection for idle in _idle.values() for connection in idle]
    _idle.clear()
    loop = asyncio.get_running_loop()
    for connection in kept:
        if connection.is_closed():
            continue
        if connection._loop is loop:
            await asyncpg.Connection.close(connection)
        else:  # kept on a loop that ended (a test's own `asyncio.run`): no goodbye possible
            with contextlib.suppress(Exception):
                connection.terminate()


def idle_pids() -> list[int]:
    """The server processes of the connections kept idle: what emptying a test's database
    spares when it ends the other connections to it (tests/engines.py)."""
    return [c.get_server_pid() for idle in _idle.values() for c in idle if not c.is_closed()]


def install() -> None:
    """The app's PostgreSQL engines connect through the keeper."""
    if os.environ.get("TEST_KEPT_CONNECTIONS", "1") == "0":
        return
    from connecthub.infra import db

    if getattr(db.postgres_connect_args, "keeps_connections", False):
        return
    make_args = db.postgres_connect_args

    def postgres_connect_args(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"async_creator_fn": connect, **make_args(*args, **kwargs)}

    postgres_connect_args.keeps_connections = True  # type: ignore[attr-defined]
    db.postgres_connect_args = postgres_connect_args  # type: ignore[assignment]
    event.listen(Pool, "connect", _keep_prepared_statements)


def _keep_prepared_statements(adapted: Any, _record: Any) -> None:
    """A new SQLAlchemy adapter around a kept connection takes over the statements earlier
    adapters prepared on it (none when the engine keeps none: through PgBouncer)."""
    connection = getattr(adapted, "_connection", None)
    cache = getattr(adapted, "_prepared_statement_cache", None)
    # Not `isinstance`: asyncpg's metaclass counts every asyncpg connection as an instance
    # of every Connection class (the replicas' connections are not kept).
    if not issubclass(type(connection), KeptConnection) or cache is None:
        return
    kept = connection.__dict__.setdefault("prepared_by_sqlalchemy", cache)
    adapted._prepared_statement_cache = kept
