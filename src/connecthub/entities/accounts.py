"""Account, CredentialAccount (with Source and Role), Field, CustomEmoji, Token, Preferences
and the moderators' Admin::Account."""

from __future__ import annotations

from typing import NotRequired

# typing_extensions' TypedDict: pydantic needs it on Python 3.11 to read the types.
from typing_extensions import TypedDict


class Field(TypedDict):
    name: str
    value: str
    verified_at: str | None


class CustomEmoji(TypedDict):
    shortcode: str
    url: str
    static_url: str
    visible_in_picker: bool
    category: str | None


class IdentityProof(TypedDict):
    """Mastodon's retired IdentityProof: the list is always empty."""

    provider: str
    provider_username: str
    updated_at: str
    proof_url: str
    profile_url: str


class AccountRole(TypedDict):
    """A highlighted role as an Account shows it (Account.roles)."""

    id: str
    name: str
    color: str


class Account(TypedDict):
    id: str
    username: str
    acct: str
    display_name: str
    locked: bool
    bot: bool
    discoverable: bool | None
    indexable: bool
    group: bool
    created_at: str
    note: str
    url: str
    uri: str
    avatar: str
    avatar_static: str
    header: str
    header_static: str
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: str | None
    hide_collections: bool | None
    noindex: bool | None
    emojis: list[CustomEmoji]
    roles: list[AccountRole]
    fields: list[Field]
    # Only on an account moderators limited (silenced), as Mastodon.
    limited: NotRequired[bool]


class MutedAccount(Account):
    """An Account in the caller's mutes, with when the mute ends."""

    mute_expires_at: str | None


class Source(TypedDict):
    privacy: str
    sensitive: bool
    language: str
    note: str
    fields: list[Field]
    follow_requests_count: int
    hide_collections: bool | None
    discoverable: bool | None
    indexable: bool


class Role(TypedDict):
    id: str
    name: str
    color: str
    permissions: str
    highlighted: bool


class CredentialAccount(Account):
    """The caller's own Account, with its source (the profile as typed) and role."""

    source: Source
    role: Role


class Token(TypedDict):
    access_token: str
    token_type: str
    scope: str
    created_at: int


class AdminIp(TypedDict):
    ip: str
    used_at: str | None


class AdminAccount(TypedDict):
    """Mastodon's Admin::Account."""

    id: str
    username: str
    domain: str | None
    created_at: str | None
    email: str
    ip: str | None
    ips: list[AdminIp]
    locale: str
    invite_request: str | None
    role: Role
    confirmed: bool
    approved: bool
    disabled: bool
    silenced: bool
    sensitized: bool
    suspended: bool
    account: Account


# Mastodon's keys hold colons: the functional form of TypedDict.
Preferences = TypedDict(
    "Preferences",
    {
        "posting:default:visibility": str,
        "posting:default:sensitive": bool,
        "posting:default:language": str | None,
        "reading:expand:media": str,
        "reading:expand:spoilers": bool,
        "reading:autoplay:gifs": bool,
    },
)
