"""What other domains do when someone joins, inside the sign-up's own unit of work.

Accounts cannot import the domains that react to a sign-up (privacy records the consent to
the terms), so they register a hook here at app start (`app.create_app`) and
`registration.register` runs every hook before it flushes: a hook's writes commit or roll
back with the new account. Some hooks are required: a sign-up without them is refused
loudly (`MissingSignUpHook`) rather than stored without, say, its consent record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connecthub.accounts.models import Account, User
from connecthub.config import Settings
from connecthub.infra.uow import UnitOfWork

CONSENT = "consent"
# Hooks without which nobody may join: the terms accepted must be on record (GDPR art. 7(1)).
REQUIRED = (CONSENT,)


@dataclass(frozen=True)
class Joined:
    account: Account
    user: User
    method: str  # how the sign-up (and its consent) came: "api", "web" or "oidc"
    ip: str | None = None  # the client's address, when the sign-up came over HTTP


SignUpHook = Callable[[UnitOfWork, Settings, Joined], Awaitable[None]]

_hooks: dict[str, SignUpHook] = {}


class MissingSignUpHook(RuntimeError):
    """A required hook was never registered: a wiring fault, not the user's."""


def on_sign_up(name: str, hook: SignUpHook) -> None:
    """Register (or replace: creating several apps in one process is fine) a named hook."""
    _hooks[name] = hook


def remove(name: str) -> None:
    _hooks.pop(name, None)


def ensure_required() -> None:
    """Refuse before anything is written when a required hook is missing."""
    if missing := [name for name in REQUIRED if name not in _hooks]:
        raise MissingSignUpHook(
            f"no sign-up hook registered for {', '.join(missing)}: create the app with "
            "connecthub.app.create_app, which registers them"
        )


async def run(uow: UnitOfWork, settings: Settings, joined: Joined) -> None:
    ensure_required()
    for hook in list(_hooks.values()):
        await hook(uow, settings, joined)
