"""OAuth scopes as Mastodon defines them, and the rule for whether a grant covers a need."""

from __future__ import annotations

from connecthub.errors import OAuthError

_READ = [
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
]
_WRITE = [
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
]
_ADMIN_READ = [
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
]
_ADMIN_WRITE = _ADMIN_READ

TOP_LEVEL = {"read", "write", "follow", "push", "profile", "admin:read", "admin:write"}
VALID_SCOPES = (
    TOP_LEVEL
    | {f"read:{name}" for name in _READ}
    | {f"write:{name}" for name in _WRITE}
    | {f"admin:read:{name}" for name in _ADMIN_READ}
    | {f"admin:write:{name}" for name in _ADMIN_WRITE}
)

# The legacy `follow` scope stands for these granular ones.
_FOLLOW_COVERS = {
    "read:blocks",
    "read:follows",
    "read:mutes",
    "write:blocks",
    "write:follows",
    "write:mutes",
}


def parse_scopes(value: str | None, *, default: str = "read") -> frozenset[str]:
    """Space-separated (Mastodon also accepts `+` from query strings) and all known."""
    raw = (value or default).replace("+", " ").split()
    unknown = [scope for scope in raw if scope not in VALID_SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"Unknown scope: {' '.join(unknown)}")
    return frozenset(raw) or frozenset({default})


def covers(granted: frozenset[str], required: str) -> bool:
    """Whether `granted` includes `required` directly or through its parent scope."""
    if required in granted:
        return True
    parts = required.split(":")
    if required in _FOLLOW_COVERS and "follow" in granted:
        return True
    if required == "profile":
        return "read" in granted or "read:accounts" in granted
    # read:statuses <- read ; admin:read:accounts <- admin:read
    return len(parts) > 1 and ":".join(parts[:-1]) in granted


def covers_any(granted: frozenset[str], required: tuple[str, ...]) -> bool:
    # A loop, not `any()` over a generator: asked on every authenticated request.
    for scope in required:  # noqa: SIM110 (see above)
        if covers(granted, scope):
            return True
    return False


def is_subset(requested: frozenset[str], allowed: frozenset[str]) -> bool:
    return all(covers(allowed, scope) for scope in requested)
