"""Rows of either engine in one canonical form, and order-free checksums of whole tables:
how `migrate-data` proves a PostgreSQL copy holds what the SQLite file held
(docs/adr/0043-migrate-data.md).

A column's kind is read from the PostgreSQL side (the target's catalog), and both sides'
values are canonicalised by it: SQLite keeps datetimes as naive UTC text, booleans as 0/1,
JSON as text (or, through the column's NUMERIC affinity, as a bare number) and the same
value comes back from asyncpg as an aware datetime, a bool, JSON text. Canonical forms:
datetimes as UTC ISO 8601 with microseconds, dates as ISO, JSON parsed and dumped with
sorted keys, booleans as JSON booleans, bytes as hex, integers and floats as numbers.

A table's checksum is the sum (mod 2**256) of its rows' SHA-256 digests: independent of
row order, since the two engines sort text keys by different collations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

_MODULUS = 1 << 256


class Kind(StrEnum):
    TIMESTAMPTZ = "timestamptz"
    TIMESTAMP = "timestamp"
    DATE = "date"
    JSON = "json"
    BOOL = "bool"
    BYTES = "bytes"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"


_KINDS = {
    "timestamp with time zone": Kind.TIMESTAMPTZ,
    "timestamp without time zone": Kind.TIMESTAMP,
    "date": Kind.DATE,
    "json": Kind.JSON,
    "jsonb": Kind.JSON,
    "boolean": Kind.BOOL,
    "bytea": Kind.BYTES,
    "bigint": Kind.INT,
    "integer": Kind.INT,
    "smallint": Kind.INT,
    "double precision": Kind.FLOAT,
    "real": Kind.FLOAT,
}


def kind_of(postgres_data_type: str) -> Kind:
    """The kind of a column from `information_schema.columns.data_type`."""
    return _KINDS.get(postgres_data_type, Kind.TEXT)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    kind: Kind


def _datetime(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    # SQLite holds UTC wall time without an offset (the app writes UTC only).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return json.loads(value)
    return value  # a number SQLite's NUMERIC affinity kept as one


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "yes")
    return bool(value)


def _canonical_datetime(value: Any) -> str:
    return _datetime(value).isoformat(timespec="microseconds")


def _canonical_date(value: Any) -> str:
    return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).isoformat()


def _canonical_json(value: Any) -> str:
    # Prefixed, so JSON's null is not SQL's NULL.
    dumped = json.dumps(
        _json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return f"json:{dumped}"


def _canonical_bytes(value: Any) -> str:
    return "hex:" + (value.encode() if isinstance(value, str) else bytes(value)).hex()


def _canonical_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_CANONICAL: dict[Kind, Callable[[Any], Any]] = {
    Kind.TIMESTAMPTZ: _canonical_datetime,
    Kind.TIMESTAMP: _canonical_datetime,
    Kind.DATE: _canonical_date,
    Kind.JSON: _canonical_json,
    Kind.BOOL: _bool,
    Kind.BYTES: _canonical_bytes,
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.TEXT: _canonical_text,
}


def canonical(kind: Kind, value: Any) -> Any:
    """A JSON-serialisable form of `value` that both engines' drivers agree on."""
    return None if value is None else _CANONICAL[kind](value)


def _naive_utc(value: Any) -> datetime:
    return _datetime(value).replace(tzinfo=None)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _json_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else json.dumps(value)


def _bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return value.decode() if isinstance(value, bytes) else str(value)


_FOR_POSTGRES: dict[Kind, Callable[[Any], Any]] = {
    Kind.TIMESTAMPTZ: _datetime,
    Kind.TIMESTAMP: _naive_utc,
    Kind.DATE: _date,
    Kind.JSON: _json_text,
    Kind.BOOL: _bool,
    Kind.BYTES: _bytes,
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.TEXT: _text,
}


def for_postgres(kind: Kind, value: Any) -> Any:
    """A value read raw from SQLite as asyncpg's binary COPY takes it for a column of `kind`."""
    return None if value is None else _FOR_POSTGRES[kind](value)


def converter(kinds: Sequence[Kind]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """`for_postgres` over a whole row of these kinds."""
    makers = [_FOR_POSTGRES[kind] for kind in kinds]

    def convert(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            None if value is None else make(value) for make, value in zip(makers, row, strict=True)
        )

    return convert


def row_digest(kinds: Sequence[Kind], row: Sequence[Any]) -> int:
    makers = [_CANONICAL[kind] for kind in kinds]
    return _digest(makers, row)


def _digest(makers: Sequence[Callable[[Any], Any]], row: Sequence[Any]) -> int:
    values = [
        None if value is None else make(value) for make, value in zip(makers, row, strict=True)
    ]
    encoded = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return int.from_bytes(hashlib.sha256(encoded).digest(), "big")


@dataclass
class TableSum:
    """Rows seen and the order-free sum of their digests."""

    rows: int = 0
    total: int = 0

    def add_rows(self, kinds: Sequence[Kind], rows: Iterable[Sequence[Any]]) -> None:
        makers = [_CANONICAL[kind] for kind in kinds]
        total, count = self.total, self.rows
        for row in rows:
            count += 1
            total += _digest(makers, row)
        self.total, self.rows = total % _MODULUS, count

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"


def row_key(kinds: Sequence[Kind], key: Sequence[Any]) -> str:
    """A row's primary key as one comparable, printable string (both engines alike)."""
    return ",".join(str(canonical(kind, value)) for kind, value in zip(kinds, key, strict=True))
