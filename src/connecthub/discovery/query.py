"""Mastodon's search syntax, read into a `StatusQuery` (no SQL here).

Words must all match; `"quoted phrases"` match as written; a leading `-` excludes a word, a
phrase or an operator's matches. Operators: `from:alice` / `from:@alice` / `from:me`,
`has:media|poll|image|video|audio|link`, `is:reply|sensitive`, `language:xx`,
`before:` / `after:` / `during:` a date (YYYY-MM-DD, UTC), `in:all|library|public`. A word
with an unknown prefix (`http://…`, `re:thing`) is an ordinary word. A bad operator value
is refused (422), as Mastodon refuses a query it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connecthub.errors import ValidationFailed
from connecthub.infra.fulltext import TextQuery, searchable_word

HAS_VALUES = ("media", "poll", "image", "video", "audio", "link")
IS_VALUES = ("reply", "sensitive")
IN_VALUES = ("all", "library", "public")
_PREFIXES = ("from", "has", "is", "language", "lang", "before", "after", "during", "in")
# Quote-like characters read as `"` (as Mastodon does, for keyboards that curl quotes).
_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\uff02", '"'))
_TOKEN = re.compile(r'([+-]?)(?:([a-zA-Z]+):)?(?:"([^"]*)"?|(\S+))')
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_TERMS = 30


@dataclass(frozen=True)
class Flag:
    """An operator's value and whether it was negated (`-has:media`)."""

    value: str
    negated: bool = False


@dataclass
class StatusQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    authors: list[Flag] = field(default_factory=list)  # usernames, or "me"
    has: list[Flag] = field(default_factory=list)
    is_: list[Flag] = field(default_factory=list)
    languages: list[Flag] = field(default_factory=list)
    after: datetime | None = None  # created at or after
    before: datetime | None = None  # created before
    scope: str = "all"

    def text(self) -> TextQuery:
        return TextQuery(
            words=tuple(self.words),
            phrases=tuple(self.phrases),
            excluded=tuple(self.excluded),
            languages=tuple(flag.value for flag in self.languages if not flag.negated),
        )

    @property
    def asks_nothing(self) -> bool:
        """No word, phrase, exclusion or operator: nothing to look for."""
        return not (
            self.words
            or self.phrases
            or self.excluded
            or self.authors
            or self.has
            or self.is_
            or self.languages
            or self.after
            or self.before
        )


def _date(operator: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("q", f"{operator}: must be a date (YYYY-MM-DD)") from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else max(current, candidate)


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else min(current, candidate)


def _operator(query: StatusQuery, prefix: str, value: str, negated: bool) -> None:
    value = value.strip()
    if not value:
        raise ValidationFailed("q", f"{prefix}: needs a value")
    if prefix == "from":
        query.authors.append(Flag(value.removeprefix("@"), negated))
    elif prefix == "has":
        if value.lower() not in HAS_VALUES:
            raise ValidationFailed("q", f"has: must be one of {', '.join(HAS_VALUES)}")
        query.has.append(Flag(value.lower(), negated))
    elif prefix == "is":
        if value.lower() not in IS_VALUES:
            raise ValidationFailed("q", f"is: must be one of {', '.join(IS_VALUES)}")
        query.is_.append(Flag(value.lower(), negated))
    elif prefix in ("language", "lang"):
        code = value.lower().replace("_", "-").split("-")[0]
        if not _LANGUAGE.match(code):
            raise ValidationFailed("q", "language: must be an ISO 639 language code")
        query.languages.append(Flag(code, negated))
    elif prefix == "in":
        if negated or value.lower() not in IN_VALUES:
            raise ValidationFailed("q", f"in: must be one of {', '.join(IN_VALUES)}")
        query.scope = value.lower()
    else:
        _dates(query, prefix, value, negated)


def _dates(query: StatusQuery, prefix: str, value: str, negated: bool) -> None:
    if negated:
        raise ValidationFailed("q", f"{prefix}: cannot be negated")
    day = _midnight(_date(prefix, value))
    if prefix == "before":
        query.before = _earliest(query.before, day)
    elif prefix == "after":
        query.after = _latest(query.after, day + timedelta(days=1))
    else:  # during
        query.after = _latest(query.after, day)
        query.before = _earliest(query.before, day + timedelta(days=1))


def parse(q: str) -> StatusQuery:
    """`q` read as Mastodon's search syntax (422 naming `q` for a bad operator)."""
    query = StatusQuery()
    terms = 0
    for match in _TOKEN.finditer(q.translate(_QUOTES)):
        sign, prefix, quoted, bare = match.groups()
        negated = sign == "-"
        if prefix and prefix.lower() in _PREFIXES:
            _operator(query, prefix.lower(), quoted if quoted is not None else bare, negated)
            continue
        value = quoted if quoted is not None else bare
        if prefix:
            value = f"{prefix}:{value}"
        if quoted is None:
            value = value.lstrip("#")
        if not searchable_word(value):
            continue
        terms += 1
        if terms > MAX_TERMS:
            raise ValidationFailed("q", f"has too many words (at most {MAX_TERMS})")
        is_phrase = quoted is not None and " " in value.strip()
        if negated:
            query.excluded.append(value)
        elif is_phrase:
            query.phrases.append(value)
        else:
            query.words.append(value)
    return query
