"""The notification policy (Mastodon 4.3's rule, written for ConnectHub): for each kind of
sender the recipient chose `accept`, `filter` or `drop`. A notification of a filterable
type from a sender of a kind set to `drop` is not made at all; one from a kind set to
`filter` is stored filtered (out of lists, counts, streams and pushes). A sender whose
request the recipient accepted passes. The facts are read in the one check `notify`
already runs (repository.may_notify / notifiable); this module only decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Choice(StrEnum):
    ACCEPT = "accept"
    FILTER = "filter"
    DROP = "drop"


CHOICES = tuple(c.value for c in Choice)
# The policy's fields, in the order the repository reads them.
FIELDS = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)
# Mastodon's defaults, for an account that never set its policy.
DEFAULTS = {
    "for_not_following": Choice.ACCEPT,
    "for_not_followers": Choice.ACCEPT,
    "for_new_accounts": Choice.ACCEPT,
    "for_private_mentions": Choice.FILTER,
    "for_limited_accounts": Choice.FILTER,
}
# What the policy applies to (polls, edits and posts of subscribed accounts pass).
FILTERABLE_TYPES = frozenset({"mention", "reblog", "follow", "follow_request", "favourite"})
NEW_ACCOUNT_AGE = timedelta(days=30)
# A follower of less than this is not yet a follower, so a follow-then-mention passes no
# `for_not_followers` policy at once.
NEW_FOLLOWER_AGE = timedelta(days=3)


@dataclass(frozen=True)
class Facts:
    """What the check found about the recipient, the sender and the status."""

    choices: dict[str, str]
    permitted: bool  # the recipient accepted a request from the sender
    following: bool  # the recipient follows the sender
    follower: bool  # the sender follows the recipient, for NEW_FOLLOWER_AGE at least
    new_account: bool  # the sender's account is younger than NEW_ACCOUNT_AGE
    limited: bool  # the sender is limited by a moderator
    private_mention: bool  # a direct mention that answers no direct post of the recipient


def _kinds(facts: Facts) -> list[str]:
    """The policy fields whose kind of sender this one is."""
    not_following = not facts.following
    kinds = []
    if not_following:
        kinds.append("for_not_following")
    if not facts.follower:
        kinds.append("for_not_followers")
    if not_following and facts.new_account:
        kinds.append("for_new_accounts")
    if not_following and facts.private_mention:
        kinds.append("for_private_mentions")
    if not_following and facts.limited:
        kinds.append("for_limited_accounts")
    return kinds


def decide(type: str, facts: Facts) -> Choice:
    """Drop when a kind the sender is of says drop, else filter when one says filter."""
    if type not in FILTERABLE_TYPES or facts.permitted:
        return Choice.ACCEPT
    said = {facts.choices.get(kind) or DEFAULTS[kind] for kind in _kinds(facts)}
    if Choice.DROP in said:
        return Choice.DROP
    if Choice.FILTER in said:
        return Choice.FILTER
    return Choice.ACCEPT
