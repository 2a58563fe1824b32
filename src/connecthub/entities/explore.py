"""Entities of the explore routes: trending links, the admin's view of trending hashtags
and links, and follow suggestions (Mastodon's shapes)."""

from __future__ import annotations

from typing_extensions import TypedDict

from connecthub.entities.accounts import Account
from connecthub.entities.statuses import PreviewCard, Status, TagDetails, TagHistory


class TrendsLink(PreviewCard):
    """Mastodon's Trends::Link: a preview card with its last seven days of shares."""

    history: list[TagHistory]


class AdminTag(TagDetails):
    """Mastodon's Admin::Tag: a hashtag as moderators review it for trends."""

    trendable: bool
    usable: bool
    requires_review: bool
    listable: bool


class AdminTrendsLink(TrendsLink):
    """A trending link as moderators review it (Mastodon's admin link serializer)."""

    id: str
    requires_review: bool


class Suggestion(TypedDict):
    """An account suggested to follow, with why (`sources`; `source` is the deprecated
    single reason)."""

    source: str
    sources: list[str]
    account: Account


class ForYouSignal(TypedDict):
    """One feature of the ranker for this post: its value and how much it moved the score
    (weight times standardised value; positive lifts the post)."""

    name: str
    value: float
    contribution: float


class ForYouExplanation(TypedDict):
    """Why a post is in one's "For you" timeline (ConnectHub's extension)."""

    score: float  # the ranker's estimate that one engages with it, 0 to 1
    sources: list[str]  # followed, follows_of_follows, trending, similar_to_engaged
    reasons: list[str]  # the signals that lifted it most, strongest first
    signals: list[ForYouSignal]


class ForYouStatus(Status):
    """A Status of the "For you" timeline, with `for_you` saying why it is there."""

    for_you: ForYouExplanation
