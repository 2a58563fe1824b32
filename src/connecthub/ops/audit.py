"""The audit trail: one structured line per moderation or administrative act on the
`connecthub.audit` logger, which logging keeps at every LOG_LEVEL. Acts that were done and
attempts that were refused are both recorded (`outcome`), each naming who (`actor`: an
account as `account:<id>`, or `cli` for the `connecthub admin` commands), what (`action`)
and on whom (`target_*`). ConnectHub has no audit table yet: the log is the record.
"""

from __future__ import annotations

import getpass
from enum import StrEnum

import structlog

from connecthub.ops.logging import AUDIT_LOGGER

audit_log = structlog.get_logger(AUDIT_LOGGER)

CLI_ACTOR = "cli"


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"


def account_actor(account_id: int) -> str:
    return f"account:{account_id}"


def record(event: str, *, actor: str, action: str, outcome: Outcome, **details: object) -> None:
    audit_log.info(event, actor=actor, action=action, outcome=outcome.value, **details)


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
