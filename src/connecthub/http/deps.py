"""Typed dependencies shared by every route: engines, the unit of work, the caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BeforeValidator
from starlette.convertors import Convertor, register_url_convertor

from connecthub.config import Settings
from connecthub.errors import NotFound, Unauthorized, ValidationFailed
from connecthub.http.auth import resolve_token
from connecthub.ids import parse_id
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies are `async def`: FastAPI runs a plain `def` one in a worker thread, and that
# hop cost more per request than the work itself (docs/benchmarks.md, home timeline).


def get_engines(request: Request) -> Engines:
    engines: Engines = request.app.state.engines
    return engines


async def _engines_dep(request: Request) -> Engines:
    return get_engines(request)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _unit_of_work(request: Request, *, readonly: bool) -> AsyncIterator[UnitOfWork]:
    # The session opens on first use (infra/uow.py): a read served from caches and
    # compiled statements never builds one.
    uow = UnitOfWork(get_engines(request), readonly=readonly)
    uow.client_ip = request.scope.get("state", {}).get("client_ip") or (
        request.client.host if request.client else None
    )
    await _read_your_writes(request, uow)
    try:
        try:
            # The request's audit entries (ops/audit.py) are written by its unit of work.
            with audit.collecting(uow):
                yield uow
        except BaseException:
            await uow.rollback()
            raise
        if readonly:
            await uow.commit()
        else:
            await _uncancelled(uow.commit())
    finally:
        await _shielded_close(uow)


async def _read_your_writes(request: Request, uow: UnitOfWork) -> None:
    """With read replicas (infra/replicas.py): a signed-in caller's commit remembers its
    WAL position, and its reads go where that position has been replayed."""
    engines = uow.engines
    replicas = engines.db.replica_set
    if replicas is None or not replicas.tracks_writes:
        return
    try:
        token = await resolve_token(request.scope, engines)
    except Unauthorized:
        return  # the route answers for the token, if it needs one
    if token is None or token.account_id is None:
        return
    uow.account_id = token.account_id
    if uow.readonly:
        uow.after_lsn = await replicas.written_lsn(engines.cache, token.account_id)


async def _shielded_close(uow: UnitOfWork) -> None:
    """Close as `async with session` does: shielded, so a cancelled request still hands its
    connection back to the pool."""
    if uow.opened is not None:
        await asyncio.shield(asyncio.get_running_loop().create_task(uow.close()))


async def _uncancelled(work: Coroutine[Any, Any, None]) -> None:
    """Runs `work` to its end even when the request is cancelled meanwhile (its client
    left: http/admission.py), then lets the cancellation through: a commit that began is
    never cut between the database and what must follow it (events, the outbox relay)."""
    task = asyncio.get_running_loop().create_task(work)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    task.result()


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """One request, one transaction: committed after the handler returns and before the
    response is sent. Reads (GET) go to a read replica when there is one."""
    # A context manager, not `async for`: an error the handler raises is thrown into
    # `_unit_of_work` here and now (its rollback, its audit refusals), not at GC.
    readonly = request.method in _READ_METHODS
    async with contextlib.asynccontextmanager(_unit_of_work)(request, readonly=readonly) as uow:
        yield uow


async def get_primary_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """Like `get_uow`, but always on the primary: for the rare GET that writes (a browser
    returning from a sign-in provider, a confirmation link)."""
    async with contextlib.asynccontextmanager(_unit_of_work)(request, readonly=False) as uow:
        yield uow


EnginesDep = Annotated[Engines, Depends(_engines_dep)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]
PrimaryUowDep = Annotated[UnitOfWork, Depends(get_primary_uow, scope="function")]


def path_id(value: str) -> int:
    """An id taken from the URL path; one that is not a 64-bit number names no record."""
    number = parse_id(value)
    if number is None:
        raise NotFound()
    return number


def param_id(field: str, value: object) -> int:
    """An id (or other whole number) sent as parameter `field`: 422 naming it if malformed."""
    number = parse_id(value)
    if number is None:
        raise ValidationFailed(field, "must be a numeric id")
    return number


class _DigitsConvertor(Convertor[str]):
    """`{name:id}` in a route path: matches ASCII digits only, so `/accounts/{id:id}` leaves
    `/accounts/search` to its own route, and hands them on as text for `path_id` (Starlette's
    `int` convertor reads any length, which overflows the database)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("id", _DigitsConvertor())

# A handler's `{name}` or `{name:id}` path parameter as an id, or 404 (`path_id`'s NotFound
# is not a ValueError, so Pydantic lets it through to the error handler unchanged).
PathId = Annotated[int, BeforeValidator(path_id)]


def _whole_number(value: object) -> int:
    number = parse_id(value)
    if number is None:
        raise ValueError("must be a whole number")  # Pydantic's 422 names the parameter
    return number


# A whole number declared as a FastAPI parameter (`Annotated[NumberParam, Query(ge=1)]`),
# read by the same parser as ids instead of Pydantic's `int` (no bound, `1_000` accepted).
NumberParam = Annotated[int, BeforeValidator(_whole_number)]
