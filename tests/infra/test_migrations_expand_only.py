"""Every migration only expands the schema (docs/operations.md, "Schema changes keep both
releases working"): during a rollout the previous release runs against the new schema, so
a migration may add tables, columns it fills itself (nullable or with a server default) and
indexes, but never drop or rename a table or column, change a column's type, make a column
NOT NULL, or add a NOT NULL column without a server default to a table the previous release
writes. Checked by migrating an empty database one revision at a time and comparing what
each step leaves with what the previous one left. A contract step (the later half of a
rename or a drop, once no process of the old release runs) is listed in CONTRACTS with why
it is safe."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from connecthub.config import load_settings
from connecthub.infra import migrations

# revision -> why its contracting changes are safe for the release before it
CONTRACTS: dict[str, str] = {}


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    has_default: bool


Schema = dict[str, dict[str, Column]]


def _schema(url: str) -> Schema:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                column["name"]: Column(
                    str(column["type"]).upper(),
                    bool(column["nullable"]),
                    column.get("default") is not None,
                )
                for column in inspector.get_columns(table)
            }
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def _widens(old: str, new: str) -> bool:
    """VARCHAR(n) -> VARCHAR(m) with m >= n: every value the old release writes still fits."""
    pattern = re.compile(r"VARCHAR\((\d+)\)")
    was, now = pattern.fullmatch(old), pattern.fullmatch(new)
    return bool(was and now and int(now.group(1)) >= int(was.group(1)))


def _violations(before: Schema, after: Schema) -> list[str]:
    found = []
    for table, columns in before.items():
        if table not in after:
            found.append(f"table {table} dropped")
            continue
        for name, column in columns.items():
            now = after[table].get(name)
            if now is None:
                found.append(f"{table}.{name} dropped")
            elif now.type != column.type and not _widens(column.type, now.type):
                found.append(f"{table}.{name}: type {column.type} -> {now.type}")
            elif column.nullable and not now.nullable:
                found.append(f"{table}.{name} made NOT NULL")
        for name, column in after[table].items():
            if name not in columns and not column.nullable and not column.has_default:
                found.append(f"{table}.{name}: new NOT NULL column without a server default")
    return found


@pytest.mark.slow
def test_every_migration_only_expands_the_schema(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(revisions) >= 15
    path = tmp_path / "steps.db"
    settings = load_settings(database_url=f"sqlite:///{path}")
    sync_url = f"sqlite:///{path}"
    before: Schema = {}
    problems = {}
    for revision in revisions:
        asyncio.run(migrations.upgrade(settings, revision))
        after = _schema(sync_url)
        if (found := _violations(before, after)) and revision not in CONTRACTS:
            problems[revision] = found
        before = after
    assert not problems, f"migrations that contract the schema: {problems}"


def test_the_check_sees_a_contracting_change() -> None:
    before: Schema = {"t": {"a": Column("TEXT", True, False), "b": Column("INTEGER", True, False)}}
    after: Schema = {
        "t": {"a": Column("TEXT", False, False), "c": Column("TEXT", False, False)},
    }
    assert _violations(before, after) == [
        "t.a made NOT NULL",
        "t.b dropped",
        "t.c: new NOT NULL column without a server default",
    ]
    assert _violations(before, {}) == ["table t dropped"]
    widened = {"t": {"a": Column("VARCHAR(64)", True, False)}}
    assert _violations(widened, {"t": {"a": Column("VARCHAR(255)", True, False)}}) == []
    assert _violations(widened, {"t": {"a": Column("VARCHAR(32)", True, False)}}) == [
        "t.a: type VARCHAR(64) -> VARCHAR(32)"
    ]
