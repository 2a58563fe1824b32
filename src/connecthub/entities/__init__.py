"""Mastodon's API entities as types: one TypedDict per entity, in the shapes (field names,
nullability) that Mastodon documents, plus ConnectHub's extensions in the same style.

TypedDicts, not models: the converters build plain dicts (no cost at run time, the bytes
sent stay what they were) and mypy checks every field they set; FastAPI reads the same
types to describe each response in the OpenAPI document (http/entity_route.py). The
choice was measured: bench/entities.py, docs/benchmarks.md.
"""

from connecthub.entities.accounts import (
    Account,
    AccountRole,
    AdminAccount,
    AdminIp,
    CredentialAccount,
    CustomEmoji,
    Field,
    MutedAccount,
    Role,
    Source,
    Token,
)
from connecthub.entities.extensions import (
    AccountDeletion,
    Empty,
    TwoFactorSetup,
    TwoFactorStatus,
)
from connecthub.entities.filters import (
    Filter,
    FilterKeyword,
    FilterResult,
    FilterStatus,
    V1Filter,
)
from connecthub.entities.media import MediaAttachment
from connecthub.entities.social import (
    Conversation,
    FamiliarFollowers,
    List,
    Marker,
    Notification,
    Relationship,
    Search,
)
from connecthub.entities.statuses import (
    Context,
    DeletedStatus,
    Hashtag,
    Mention,
    Poll,
    PollOption,
    PreviewCard,
    PreviewCardAuthor,
    Status,
    StatusApplication,
    StatusEdit,
    StatusEditPoll,
    StatusEditPollOption,
    StatusShared,
    StatusSource,
    Tag,
    TagHistory,
)

__all__ = [
    "Account",
    "AccountDeletion",
    "AccountRole",
    "AdminAccount",
    "AdminIp",
    "Context",
    "Conversation",
    "CredentialAccount",
    "CustomEmoji",
    "DeletedStatus",
    "Empty",
    "FamiliarFollowers",
    "Field",
    "Filter",
    "FilterKeyword",
    "FilterResult",
    "FilterStatus",
    "Hashtag",
    "List",
    "Marker",
    "MediaAttachment",
    "Mention",
    "MutedAccount",
    "Notification",
    "Poll",
    "PollOption",
    "PreviewCard",
    "PreviewCardAuthor",
    "Relationship",
    "Role",
    "Search",
    "Source",
    "Status",
    "StatusApplication",
    "StatusEdit",
    "StatusEditPoll",
    "StatusEditPollOption",
    "StatusShared",
    "StatusSource",
    "Tag",
    "TagHistory",
    "Token",
    "TwoFactorSetup",
    "TwoFactorStatus",
    "V1Filter",
]
