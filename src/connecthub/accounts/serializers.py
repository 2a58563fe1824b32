"""The one converter from account models to Mastodon's JSON entities: Account,
CredentialAccount (with `source` and `role`), Role and Token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from connecthub import entities
from connecthub.accounts.models import Account, User
from connecthub.accounts.roles import ROLES, RoleInfo, role_info
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.html import text_to_html
from connecthub.emojis.serializers import used
from connecthub.infra.storage import media_url

MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"


def _day(value: datetime) -> str:
    """Accounts show the day they were made, at midnight UTC, as Mastodon does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


def role_entity(role: RoleInfo) -> entities.Role:
    return {
        "id": role.id,
        "name": role.name,
        "color": role.color,
        "permissions": str(int(role.permissions)),
        "highlighted": role.highlighted,
    }


def _fields(account: Account) -> list[entities.Field]:
    return [
        {"name": f.get("name", ""), "value": text_to_html(f.get("value", "")), "verified_at": None}
        for f in account.fields or []
    ]


_NO_EMOJIS: Mapping[str, entities.CustomEmoji] = {}


def account_entity(
    settings: Settings,
    account: Account,
    role: str | None = None,
    emojis: Mapping[str, entities.CustomEmoji] = _NO_EMOJIS,
) -> entities.Account:
    """`emojis`: the custom emojis its name and bio may use, by shortcode
    (`emojis/service.used_in`); those they name go in its `emojis`."""
    root = settings.base_url
    profile = f"{root}/@{account.username}"
    avatar = root + MISSING_AVATAR
    header = root + MISSING_HEADER
    if account.avatar_key:
        avatar = media_url(settings, account.avatar_key)
    if account.header_key:
        header = media_url(settings, account.header_key)
    info = role_info(role)
    entity: entities.Account = {
        "id": str(account.id),
        "username": account.username,
        "acct": account.username,
        "display_name": account.display_name,
        "locked": account.locked,
        "bot": account.bot,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "group": False,
        "created_at": _day(account.created_at),
        "note": text_to_html(account.note),
        "url": profile,
        "uri": f"{root}/users/{account.username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": account.followers_count,
        "following_count": account.following_count,
        "statuses_count": account.statuses_count,
        "last_status_at": account.last_status_at.strftime("%Y-%m-%d")
        if account.last_status_at
        else None,
        "hide_collections": account.hide_collections,
        "noindex": False,
        "emojis": used(emojis, account.display_name, account.note),
        "roles": [
            {"id": info.id, "name": info.name, "color": info.color}
            for info in [info]
            if info.highlighted
        ],
        "fields": _fields(account),
    }
    if account.silenced_at is not None:
        # Every viewer gets it (Mastodon's serializer does not ask who is looking).
        entity["limited"] = True
    return entity


def credential_account_entity(
    settings: Settings,
    account: Account,
    user: User,
    emojis: Mapping[str, entities.CustomEmoji] = _NO_EMOJIS,
    *,
    follow_requests_count: int = 0,
) -> entities.CredentialAccount:
    source: entities.Source = {
        "privacy": user.default_privacy,
        "sensitive": user.default_sensitive,
        "language": user.default_language or "",
        "note": account.note,
        "fields": [
            {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
            for f in account.fields or []
        ],
        "follow_requests_count": follow_requests_count,
        "hide_collections": account.hide_collections,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
    }
    return {
        **account_entity(settings, account, user.role, emojis),
        "source": source,
        "role": role_entity(role_info(user.role)),
    }


def preferences_entity(user: User) -> entities.Preferences:
    """The posting defaults are the user's (update_credentials' `source[…]`); the reading
    ones have no setting here yet and answer Mastodon's defaults. The default language
    falls back to the user's locale, as Mastodon's does."""
    return {
        "posting:default:visibility": user.default_privacy,
        "posting:default:sensitive": user.default_sensitive,
        "posting:default:language": user.default_language or user.locale or None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


def token_entity(access_token: str, scopes: frozenset[str], created_at: datetime) -> entities.Token:
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": " ".join(sorted(scopes)),
        "created_at": int(created_at.timestamp()),
    }


def admin_account_entity(
    settings: Settings,
    account: Account,
    user: User | None,
    ips: Sequence[tuple[str, datetime]] = (),
) -> entities.AdminAccount:
    """Mastodon's Admin::Account (moderators' view); `user` is None once it is erased.
    `ips`: the addresses its browser sessions came from, most recently used first."""
    return {
        "id": str(account.id),
        "username": account.username,
        "domain": None,
        "created_at": iso(account.created_at),
        "email": user.email if user else "",
        "ip": ips[0][0] if ips else None,
        "ips": [{"ip": ip, "used_at": iso(used_at)} for ip, used_at in ips],
        "locale": user.locale if user else "",
        "invite_request": (user.sign_up_reason or None) if user else None,
        "role": role_entity(role_info(user.role if user else None)),
        "confirmed": bool(user and user.confirmed_at is not None),
        "approved": bool(user and user.approved),
        "disabled": bool(user is None or user.disabled),
        "silenced": account.silenced_at is not None,
        "sensitized": account.sensitized_at is not None,
        "suspended": account.suspended_at is not None,
        "account": account_entity(settings, account, user.role if user else None),
    }


__all__ = [
    "ROLES",
    "account_entity",
    "admin_account_entity",
    "credential_account_entity",
    "preferences_entity",
    "role_entity",
    "token_entity",
]
