"""status search: `accounts.indexable` (opted in to full-text search of their public posts)
and the full-text index of statuses: a generated `tsvector` column with a GIN index on
PostgreSQL, an external-content FTS5 table kept by triggers on SQLite (ADR 0026)

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A status' language (ISO 639-1) -> the PostgreSQL text search configuration that stems it;
# a language whose configuration this server lacks, or none, is indexed with `simple`.
# connecthub/infra/fulltext.py reads the same table for queries.
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
BODY = "coalesce(spoiler_text, '') || ' ' || coalesce(text, '')"
SQLITE_TRIGGERS = ("statuses_fts_insert", "statuses_fts_delete", "statuses_fts_update")


def _postgresql_vector(available: set[str], simple_config: str) -> str:
    """The generated column's expression: the stemmed words of the status' language (when
    this server has its configuration) and, always, the words as written (`simple`, without
    their accents when `unaccent` is there), so a query finds the exact word and its other
    forms."""
    simple = f"to_tsvector('{simple_config}'::regconfig, {BODY})"
    branches = [
        f"WHEN '{code}' THEN to_tsvector('{config}'::regconfig, {BODY}) || {simple}"
        for code, config in STEMMERS.items()
        if config in available
    ]
    language = "split_part(lower(coalesce(language, '')), '-', 1)"
    return f"CASE {language} {' '.join(branches)} ELSE {simple} END"


def _simple(bind: sa.Connection) -> str:
    """`simple_unaccent` (simple words with accents removed: `café` is found by `cafe`, as
    FTS5's `remove_diacritics` does on SQLite) where the `unaccent` extension can be had;
    else `simple`. A dictionary-based configuration keeps `to_tsvector` immutable, which a
    generated column needs (the `unaccent()` function is not)."""
    extension = "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'"
    if bind.execute(sa.text(extension)).first() is None:
        return "simple"
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS simple_unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION simple_unaccent (COPY = simple)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION simple_unaccent "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
    )
    return "simple_unaccent"


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("indexable", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        available = {row[0] for row in bind.execute(sa.text("SELECT cfgname FROM pg_ts_config"))}
        op.execute(
            "ALTER TABLE statuses ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({_postgresql_vector(available, _simple(bind))}) STORED"
        )
        op.execute("CREATE INDEX ix_statuses_search_vector ON statuses USING gin (search_vector)")
        return
    # External content: the words live in the FTS index only, the text stays in `statuses`.
    op.execute(
        "CREATE VIRTUAL TABLE statuses_fts USING fts5(spoiler_text, text, "
        "content='statuses', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER statuses_fts_insert AFTER INSERT ON statuses BEGIN "
        "INSERT INTO statuses_fts(rowid, spoiler_text, text) "
        "VALUES (new.id, new.spoiler_text, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER statuses_fts_delete AFTER DELETE ON statuses BEGIN "
        "INSERT INTO statuses_fts(statuses_fts, rowid, spoiler_text, text) "
        "VALUES ('delete', old.id, old.spoiler_text, old.text); END"
    )
    op.execute(
        "CREATE TRIGGER statuses_fts_update AFTER UPDATE OF spoiler_text, text ON statuses BEGIN "
        "INSERT INTO statuses_fts(statuses_fts, rowid, spoiler_text, text) "
        "VALUES ('delete', old.id, old.spoiler_text, old.text); "
        "INSERT INTO statuses_fts(rowid, spoiler_text, text) "
        "VALUES (new.id, new.spoiler_text, new.text); END"
    )
    op.execute("INSERT INTO statuses_fts(statuses_fts) VALUES ('rebuild')")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_statuses_search_vector")
        op.execute("ALTER TABLE statuses DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS simple_unaccent")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS statuses_fts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("indexable")
