"""Roles as Mastodon's Role entity describes them: a name, a colour, a permission bit-set
and whether the role is shown as a badge on the profile.

ConnectHub has three fixed roles (user, moderator, admin) stored by name on the user; the
ids are Mastodon's (-99 is the implicit "everyone" role).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from connecthub.accounts.models import Role


class Permission(IntFlag):
    """Mastodon's permission bits, so clients that read them understand ours."""

    ADMINISTRATOR = 1 << 0
    DEVOPS = 1 << 1
    VIEW_AUDIT_LOG = 1 << 2
    VIEW_DASHBOARD = 1 << 3
    MANAGE_REPORTS = 1 << 4
    MANAGE_FEDERATION = 1 << 5
    MANAGE_SETTINGS = 1 << 6
    MANAGE_BLOCKS = 1 << 7
    MANAGE_TAXONOMIES = 1 << 8
    MANAGE_APPEALS = 1 << 9
    MANAGE_USERS = 1 << 10
    MANAGE_INVITES = 1 << 11
    MANAGE_RULES = 1 << 12
    MANAGE_ANNOUNCEMENTS = 1 << 13
    MANAGE_CUSTOM_EMOJIS = 1 << 14
    MANAGE_WEBHOOKS = 1 << 15
    INVITE_USERS = 1 << 16
    MANAGE_ROLES = 1 << 17
    MANAGE_USER_ACCESS = 1 << 18
    DELETE_USER_DATA = 1 << 19


_EVERYONE = Permission.INVITE_USERS
_MODERATOR = (
    _EVERYONE
    | Permission.VIEW_DASHBOARD
    | Permission.VIEW_AUDIT_LOG
    | Permission.MANAGE_USERS
    | Permission.MANAGE_REPORTS
    | Permission.MANAGE_TAXONOMIES
    | Permission.MANAGE_APPEALS
)
_ALL = Permission(0)
for _flag in Permission:
    _ALL |= _flag


@dataclass(frozen=True)
class RoleInfo:
    id: str
    name: str
    color: str
    permissions: Permission
    highlighted: bool


ROLES: dict[Role, RoleInfo] = {
    Role.USER: RoleInfo("-99", "", "", _EVERYONE, highlighted=False),
    Role.MODERATOR: RoleInfo("1", "Moderator", "", _MODERATOR, highlighted=True),
    Role.ADMIN: RoleInfo("2", "Admin", "", _ALL, highlighted=True),
}


def role_info(name: str | None) -> RoleInfo:
    try:
        return ROLES[Role(name or Role.USER.value)]
    except ValueError:
        return ROLES[Role.USER]


def has_permission(role_name: str | None, permission: Permission) -> bool:
    granted = role_info(role_name).permissions
    return bool(granted & Permission.ADMINISTRATOR) or permission in granted


_RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def _rank(name: str | None) -> int:
    try:
        return _RANK[Role(name or Role.USER.value)]
    except ValueError:
        return _RANK[Role.USER]


def outranks(role_name: str | None, other_role_name: str | None) -> bool:
    """Whether a holder of `role_name` may moderate a holder of `other_role_name`: only a
    strictly higher role may, as Mastodon's role positions decide (so a moderator cannot
    act on a moderator or an admin, and an admin not on another admin)."""
    return _rank(role_name) > _rank(other_role_name)
