"""Full-text matching of statuses, the one place that knows how each engine indexes them
(migration 0030, ADR 0033):

- PostgreSQL: `statuses.search_vector`, a generated `tsvector` (the words stemmed by the
  status' language configuration, plus the words as written) with a GIN index. A query
  word matches any of its forms: as written (`simple`) or stemmed by one of the
  configurations of `QUERY_STEMMERS` (English and Indonesian, the product's languages)
  or of the `language:` asked for. Ranked with `ts_rank`.
- SQLite: `statuses_fts`, an external-content FTS5 table (`unicode61 remove_diacritics 2`)
  kept by triggers. FTS5 has no stemmers: a query word matches the words it begins
  (`makan` finds `makanan`), which covers the common suffixes of English and Indonesian.
  Ranked with `bm25`.

Callers build one `TextQuery` and get back the statement narrowed to matching statuses
and a relevance score where higher is better, on both engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG

# Words as written, accents removed (migration 0030 makes it when `unaccent` is available).
UNACCENTED = "simple_unaccent"
# Query words are also stemmed with these (when the server has them), whatever the
# statuses' languages: English and Indonesian are the languages ConnectHub starts with.
QUERY_STEMMERS = ("english", "indonesian")
# Must match migrations/versions/0030_status_search.py (the document side).
STEMMERS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


@dataclass(frozen=True)
class TextQuery:
    """The words part of a search: every `words` entry and every `phrases` entry must
    match; no `excluded` entry (a word or a phrase) may."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    # Languages the query also stems for (the `language:` operator), ISO 639-1 codes.
    languages: tuple[str, ...] = field(default=())

    @property
    def ranked(self) -> bool:
        """Whether anything must match (otherwise there is no relevance to rank by)."""
        return bool(self.words or self.phrases)


def searchable_word(word: str) -> bool:
    """A word the indexes can hold: one with a letter or digit (punctuation is dropped)."""
    return any(c.isalnum() for c in word)


@dataclass(frozen=True)
class Matched:
    """A statement narrowed to matching statuses: `relevance` (higher is better; None when
    no word is required), and `position`, the column whose descending order is newest
    first and which the engine reads in that order (SQLite: the FTS table's rowid, so
    FTS5 streams its matches newest first and a LIMIT stops it early)."""

    query: Select[Any]
    relevance: ColumnElement[float] | None
    position: ColumnElement[Any]


def restrict(
    query: Select[Any],
    status_id: Any,
    text: TextQuery,
    dialect: str,
    configs: Configs,
    among: Select[Any] | None = None,
) -> Matched:
    """`query` narrowed to statuses (`status_id`: the statuses table's id column) whose
    text matches. `configs`: PostgreSQL's text search configurations
    (`available_configs`). `among`: ids of a small set the statuses must be in anyway
    (one author's, for `from:`), which SQLite checks on each match before reading its
    row (PostgreSQL's planner needs no such help)."""
    if dialect == "postgresql":
        narrowed, relevance = _postgresql(query, text, configs)
        return Matched(narrowed, relevance, status_id)
    return _sqlite(query, status_id, text, among)


# PostgreSQL's text search configurations: name -> oid.
Configs = Mapping[str, int]


async def available_configs(session: Any) -> Configs:
    """PostgreSQL's text search configurations, read once per process (per server: the
    oids of a configuration made by migration 0030 differ between databases)."""
    key = str(session.get_bind().url)
    if key not in _configs:
        catalog = table("pg_ts_config", column("cfgname"), column("oid"))
        rows = (await session.execute(select(catalog.c.cfgname, catalog.c.oid))).all()
        _configs[key] = {str(name): int(oid) for name, oid in rows}
    return _configs[key]


_configs: dict[str, Configs] = {}


# -- PostgreSQL ---------------------------------------------------------------------------

_VECTOR: ColumnElement[Any] = literal_column("statuses.search_vector")


def _config(configs: Configs, name: str) -> Any:
    """The configuration by its oid, written into the statement: a constant the planner
    folds (`plainto_tsquery(oid, 'word')` is immutable), so the query's words are stemmed
    once and their selectivity estimated; a name would be cast on every row."""
    return cast(literal_column(str(int(configs[name]))), REGCONFIG)


def _simple(configs: Configs) -> str:
    """The configuration of words as written: accents removed where migration 0030 could
    set that up (the `unaccent` extension), else PostgreSQL's `simple`."""
    return UNACCENTED if UNACCENTED in configs else "simple"


def _word_query(word: str, configs: Configs, simple: str, stemmers: tuple[str, ...]) -> Any:
    """The word as written, or stemmed by any of `stemmers`."""
    alternatives: Any = func.plainto_tsquery(_config(configs, simple), word)
    for name in stemmers:
        stemmed = func.plainto_tsquery(_config(configs, name), word)
        alternatives = alternatives.op("||")(stemmed)
    return alternatives


def _postgresql(
    query: Select[Any], text: TextQuery, configs: Configs
) -> tuple[Select[Any], ColumnElement[float] | None]:
    wanted = [*QUERY_STEMMERS, *(STEMMERS[c] for c in text.languages if c in STEMMERS)]
    stemmers = tuple(dict.fromkeys(name for name in wanted if name in configs))
    simple = _simple(configs)
    for excluded in text.excluded:
        unwanted = _phrase_or_word(excluded, configs, simple, stemmers)
        query = query.where(~_VECTOR.op("@@")(unwanted))
    parts = [_word_query(word, configs, simple, stemmers) for word in text.words]
    simple_config = _config(configs, simple)
    parts += [func.phraseto_tsquery(simple_config, phrase) for phrase in text.phrases]
    if not parts:
        return query, None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    query = query.where(_VECTOR.op("@@")(combined))
    return query, cast(func.ts_rank(_VECTOR, combined), Float)


def _phrase_or_word(value: str, configs: Configs, simple: str, stemmers: tuple[str, ...]) -> Any:
    if " " in value.strip():
        return func.phraseto_tsquery(_config(configs, simple), value)
    return _word_query(value, configs, simple, stemmers)


# -- SQLite -------------------------------------------------------------------------------

_FTS = table("statuses_fts", column("rowid"))
_FTS_TABLE: ColumnElement[Any] = literal_column("statuses_fts")


def _quoted(value: str) -> str:
    """An FTS5 string (a phrase of the words in it: the tokenizer splits it)."""
    return '"' + value.replace('"', '""') + '"'


def _sqlite_match(text: TextQuery) -> str:
    required = [_quoted(word) + "*" for word in text.words]
    required += [_quoted(phrase) for phrase in text.phrases]
    return " AND ".join(required)


def _sqlite(
    query: Select[Any], status_id: Any, text: TextQuery, among: Select[Any] | None
) -> Matched:
    if not text.ranked:
        for excluded in text.excluded:
            hit = select(_FTS.c.rowid).where(
                _FTS.c.rowid == status_id, _FTS_TABLE.match(_quoted(excluded))
            )
            query = query.where(~exists(hit))
        return Matched(query, None, status_id)
    match = _sqlite_match(text)
    for excluded in text.excluded:
        match += f" NOT {_quoted(excluded)}"
    query = query.join(_FTS, _FTS.c.rowid == status_id).where(_FTS_TABLE.match(match))
    if among is not None:
        # FTS5 streams its matches newest first; checking each against the (small) list
        # before the statuses row is read keeps a common word's thousands of matches by
        # other authors from costing a row read each. `+ 0`: a filter on the streamed
        # rowid, not a rowid lookup FTS5 would answer one match query per listed id.
        query = query.where((_FTS.c.rowid + 0).in_(among))
    # bm25 is lower for better matches.
    return Matched(query, cast(-func.bm25(_FTS_TABLE), Float), _FTS.c.rowid)
