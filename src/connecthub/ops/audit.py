"""The audit trail: every moderation or administrative act, done or refused, is one
structured line on the `connecthub.audit` logger (kept at every LOG_LEVEL) and one row of
the append-only, hash-chained `audit_log` table (infra/audit_trail.py, ADR 0028).

`record(...)` is the one call. It names who (`actor`: `account:<id>`, or `cli` for the
`connecthub` commands), what (`action`), the outcome (done / refused), and optionally the
target (`target_type`/`target_id`; else read from a `target_<kind>_id` or `target_<kind>`
detail), `before`/`after` states and the client `ip`. The row is written by whoever
collects entries in the current context (`collecting`):

- a unit of work (every request's, infra/uow.py): an act done is written in the act's own
  transaction at commit (dropped with it on rollback; its log line follows the commit); a
  refusal is written at once in a transaction of its own when the request rolls back;
- otherwise the process' fallback writer (`set_fallback`: the CLI writes each entry in a
  transaction of its own). With neither, only the line is written (and a warning says so).
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import structlog

from connecthub.ops.logging import AUDIT_LOGGER

audit_log = structlog.get_logger(AUDIT_LOGGER)

CLI_ACTOR = "cli"
_ACCOUNT_PREFIX = "account:"


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"


@dataclass(frozen=True)
class Entry:
    """One audit record, as `record` was given it."""

    event: str
    actor: str
    action: str
    outcome: Outcome
    target_type: str | None = None
    target_id: str | None = None
    before: Any = None
    after: Any = None
    ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def actor_account_id(self) -> int | None:
        if self.actor.startswith(_ACCOUNT_PREFIX):
            with contextlib.suppress(ValueError):
                return int(self.actor.removeprefix(_ACCOUNT_PREFIX))
        return None

    def log(self) -> None:
        audit_log.info(
            self.event,
            actor=self.actor,
            action=self.action,
            outcome=self.outcome.value,
            **({"ip": self.ip} if self.ip else {}),
            **({"before": self.before} if self.before is not None else {}),
            **({"after": self.after} if self.after is not None else {}),
            **self.details,
        )


class Collector(Protocol):
    """Who persists the entries recorded in a context (a unit of work)."""

    def collect(self, entry: Entry) -> None: ...


_collector: ContextVar[Collector | None] = ContextVar("audit_collector", default=None)
_fallback: Callable[[Entry], None] | None = None


@contextlib.contextmanager
def collecting(collector: Collector) -> Iterator[None]:
    """Entries recorded inside go to `collector` (a request's or a command's unit of work)."""
    token = _collector.set(collector)
    try:
        yield
    finally:
        _collector.reset(token)


def set_fallback(writer: Callable[[Entry], None] | None) -> None:
    """The process' writer of entries recorded outside any unit of work (the CLI's)."""
    global _fallback
    _fallback = writer


def account_actor(account_id: int) -> str:
    return f"{_ACCOUNT_PREFIX}{account_id}"


def _target_of(details: dict[str, Any]) -> tuple[str | None, str | None]:
    """The target named by the callers' `target_<kind>_id=` / `target_<kind>=` details."""
    for key, value in details.items():
        if key.startswith("target_") and key.endswith("_id") and value is not None:
            return key.removeprefix("target_").removesuffix("_id"), str(value)
    for key, value in details.items():
        if key.startswith("target_") and key != "target_username" and value is not None:
            return key.removeprefix("target_"), str(value)
    return None, None


def record(
    event: str,
    *,
    actor: str,
    action: str,
    outcome: Outcome,
    # Any: callers may pass these inside a `**details` dict of objects too.
    target_type: Any = None,
    target_id: Any = None,
    before: Any = None,
    after: Any = None,
    ip: Any = None,
    **details: object,
) -> None:
    """Records an act (or a refused attempt): see the module's description."""
    if target_type is None:
        target_type, found_id = _target_of(details)
        target_id = target_id if target_id is not None else found_id
    entry = Entry(
        event=event,
        actor=actor,
        action=action,
        outcome=outcome,
        target_type=None if target_type is None else str(target_type),
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        ip=None if ip is None else str(ip),
        details=dict(details),
    )
    collector = _collector.get()
    if collector is not None:
        collector.collect(entry)  # it writes the line when the entry's fate is known
        return
    entry.log()
    if _fallback is not None:
        _fallback(entry)
    else:
        audit_log.warning("audit.not_persisted", audit_event=event, action=action)


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return None


def record_cli(action: str, **details: object) -> None:
    """An act done with `connecthub admin …`; the operating-system user is named too."""
    record(
        "admin.cli",
        actor=CLI_ACTOR,
        action=action,
        outcome=Outcome.DONE,
        os_user=_os_user(),
        **details,
    )
