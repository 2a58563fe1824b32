"""Profile and posting-default updates (`PATCH /api/v1/accounts/update_credentials`).

Only the attributes a client sends change; limits are Mastodon's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connecthub.accounts.models import Account, User
from connecthub.core.params import boolean, text
from connecthub.errors import ValidationFailed
from connecthub.instance.limits import MAX_PROFILE_FIELDS

MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELD_TEXT = 255
PRIVACY_VALUES = ("public", "unlisted", "private")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _fields(raw: object) -> list[dict[str, str]]:
    """`fields_attributes` as a list or as Rails' index-keyed hash; empty pairs dropped."""
    if isinstance(raw, dict):
        try:
            items = [raw[key] for key in sorted(raw, key=lambda k: int(k))]
        except ValueError:
            raise ValidationFailed("fields_attributes", "must be indexed 0, 1, 2, 3") from None
    elif isinstance(raw, list):
        items = raw
    else:
        raise ValidationFailed("fields_attributes", "must be a list of name/value pairs")
    fields = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(f"fields_attributes.{index}", "must have a name and a value")
        name = str(item.get("name") or "").strip()
        value = str(item.get("value") or "").strip()
        if not name and not value:
            continue
        for key, content in (("name", name), ("value", value)):
            if len(content) > MAX_FIELD_TEXT:
                raise ValidationFailed(
                    f"fields_attributes.{index}.{key}",
                    f"is too long (maximum is {MAX_FIELD_TEXT} characters)",
                )
        fields.append({"name": name, "value": value})
    if len(fields) > MAX_PROFILE_FIELDS:
        raise ValidationFailed("fields_attributes", f"has more than {MAX_PROFILE_FIELDS} fields")
    return fields


def _limited(params: dict[str, Any], field: str, maximum: int) -> str | None:
    if field not in params:
        return None
    value = text(params, field)
    if len(value) > maximum:
        raise ValidationFailed(field, f"is too long (maximum is {maximum} characters)")
    return value


@dataclass
class _PostingDefaults:
    privacy: str
    sensitive: bool
    language: str | None


def _source(defaults: _PostingDefaults, raw: object) -> None:
    if not isinstance(raw, dict):
        raise ValidationFailed("source", "must be an object")
    if "privacy" in raw:
        privacy = text(raw, "privacy")
        if privacy not in PRIVACY_VALUES:
            raise ValidationFailed("source.privacy", "must be public, unlisted or private")
        defaults.privacy = privacy
    if "sensitive" in raw:
        defaults.sensitive = bool(boolean(raw, "sensitive"))
    if "language" in raw:
        language = text(raw, "language").strip().lower()
        if language and not _LANGUAGE.match(language):
            raise ValidationFailed("source.language", "must be an ISO 639 language code")
        defaults.language = language or None


def update_profile(account: Account, user: User, params: dict[str, Any]) -> None:
    """Validate everything first, then apply, so a refused update changes nothing."""
    display_name = _limited(params, "display_name", MAX_DISPLAY_NAME)
    note = _limited(params, "note", MAX_NOTE)
    flags = {
        name: boolean(params, name)
        for name in ("locked", "bot", "discoverable", "hide_collections", "indexable")
        if params.get(name) is not None
    }
    fields = _fields(params["fields_attributes"]) if "fields_attributes" in params else None
    staged = _PostingDefaults(user.default_privacy, user.default_sensitive, user.default_language)
    if "source" in params:
        _source(staged, params["source"])

    if display_name is not None:
        account.display_name = display_name.strip()
    if note is not None:
        account.note = note
    for name, value in flags.items():
        setattr(account, name, bool(value))
    if fields is not None:
        account.fields = fields
    user.default_privacy = staged.privacy
    user.default_sensitive = staged.sensitive
    user.default_language = staged.language
