"""The canonical form `migrate-data` checks rows in: what SQLite stores and what asyncpg
returns for the same value agree, different values do not, and a table's checksum does not
depend on row order."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from connecthub.infra.canonical_rows import Kind, TableSum, canonical, for_postgres, kind_of

MOMENT = datetime(2026, 12, 4, 21, 40, 52, 123456, tzinfo=UTC)
JAKARTA = timezone(timedelta(hours=7))


def test_both_engines_spellings_of_one_value_agree() -> None:
    pairs = [
        # SQLite: naive UTC text; asyncpg: an aware datetime (in any zone).
        (Kind.TIMESTAMPTZ, "2026-12-04 21:40:52.123456", MOMENT),
        (Kind.TIMESTAMPTZ, "2026-12-04 21:40:52.123456", MOMENT.astimezone(JAKARTA)),
        (Kind.DATE, "2026-12-04", date(2026, 12, 4)),
        # SQLite keeps JSON as text, or as a number through the column's NUMERIC affinity.
        (Kind.JSON, '{"b": 1, "a": [true, null]}', '{"a":[true,null],"b":1}'),
        (Kind.JSON, 5, "5"),
        (Kind.BOOL, 1, True),
        (Kind.BOOL, 0, False),
        (Kind.BYTES, b"\x00\xff", b"\x00\xff"),
        (Kind.INT, 117730255515640279, 117730255515640279),
        (Kind.FLOAT, 0.1, 0.1),
        (Kind.TEXT, "héllo", "héllo"),
    ]  # fmt: skip
    for kind, stored, returned in pairs:
        assert canonical(kind, stored) == canonical(kind, returned), (kind, stored, returned)
        json.dumps(canonical(kind, stored))  # serialisable, as the digest needs


def test_different_values_differ() -> None:
    assert canonical(Kind.TIMESTAMPTZ, "2026-12-04 21:40:52.123456") != canonical(
        Kind.TIMESTAMPTZ, MOMENT + timedelta(microseconds=1)
    )
    # JSON's null is a value; SQL's NULL is its absence.
    assert canonical(Kind.JSON, "null") != canonical(Kind.JSON, None)
    assert canonical(Kind.BOOL, 0) != canonical(Kind.BOOL, None)
    assert canonical(Kind.TEXT, "1") != canonical(Kind.INT, 1)


def test_values_are_converted_for_postgresql_columns() -> None:
    assert for_postgres(Kind.TIMESTAMPTZ, "2026-12-04 21:40:52.123456") == MOMENT
    assert for_postgres(Kind.TIMESTAMPTZ, "2026-12-04 21:40:52.123456").tzinfo is not None
    assert for_postgres(Kind.JSON, 5) == "5"
    assert for_postgres(Kind.BOOL, 1) is True
    assert for_postgres(Kind.DATE, "2026-12-04") == date(2026, 12, 4)
    assert for_postgres(Kind.TEXT, None) is None
    assert kind_of("timestamp with time zone") is Kind.TIMESTAMPTZ
    assert kind_of("character varying") is Kind.TEXT


def test_a_tables_checksum_ignores_order_and_sees_every_change() -> None:
    kinds = [Kind.INT, Kind.TEXT, Kind.BOOL]
    rows = [(1, "a", True), (2, "b", False), (3, "c", True)]
    forwards, backwards, changed, duplicated = TableSum(), TableSum(), TableSum(), TableSum()
    forwards.add_rows(kinds, rows)
    backwards.add_rows(kinds, list(reversed(rows)))
    changed.add_rows(kinds, [(1, "a", True), (2, "b", True), (3, "c", True)])
    duplicated.add_rows(kinds, [*rows, rows[0]])
    assert (forwards.rows, forwards.total) == (backwards.rows, backwards.total)
    assert forwards.total != changed.total
    assert duplicated.rows == 4
    assert duplicated.total != forwards.total
