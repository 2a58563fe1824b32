"""Rows of either engine in one canonical form, and order-free checksums of whole tables:
how `migrate-data` proves a PostgreSQL copy holds what the SQLite file held (ADR "c").

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
from collections.abc import Iterable, Sequence
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


def canonical(kind: Kind, value: Any) -> Any:
    """A JSON-serialisable form of `value` that both engines' drivers agree on."""
    if value is None:
        return None
    match kind:
        case Kind.TIMESTAMPTZ | Kind.TIMESTAMP:
            return _datetime(value).isoformat(timespec="microseconds")
        case Kind.DATE:
            return (
                value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            ).isoformat()
        case Kind.JSON:
            # Prefixed, so JSON's null is not SQL's NULL.
            dumped = json.dumps(
                _json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            return f"json:{dumped}"
        case Kind.BOOL:
            return _bool(value)
        case Kind.BYTES:
            return "hex:" + (value.encode() if isinstance(value, str) else bytes(value)).hex()
        case Kind.INT:
            return int(value)
        case Kind.FLOAT:
            return float(value)
        case _:
            return value.decode() if isinstance(value, bytes) else str(value)


def for_postgres(kind: Kind, value: Any) -> Any:
    """A value read raw from SQLite as asyncpg's binary COPY takes it for a column of `kind`."""
    if value is None:
        return None
    match kind:
        case Kind.TIMESTAMPTZ:
            return _datetime(value)
        case Kind.TIMESTAMP:
            return _datetime(value).replace(tzinfo=None)
        case Kind.DATE:
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        case Kind.JSON:
            if isinstance(value, bytes):
                return value.decode()
            return value if isinstance(value, str) else json.dumps(value)
        case Kind.BOOL:
            return _bool(value)
        case Kind.BYTES:
            return value.encode() if isinstance(value, str) else bytes(value)
        case Kind.INT:
            return int(value)
        case Kind.FLOAT:
            return float(value)
        case _:
            return value.decode() if isinstance(value, bytes) else str(value)


def row_digest(kinds: Sequence[Kind], row: Sequence[Any]) -> int:
    values = [canonical(kind, value) for kind, value in zip(kinds, row, strict=True)]
    encoded = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return int.from_bytes(hashlib.sha256(encoded).digest(), "big")


@dataclass
class TableSum:
    """Rows seen and the order-free sum of their digests."""

    rows: int = 0
    total: int = 0

    def add_rows(self, kinds: Sequence[Kind], rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.rows += 1
            self.total = (self.total + row_digest(kinds, row)) % _MODULUS

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"


def row_key(kinds: Sequence[Kind], key: Sequence[Any]) -> str:
    """A row's primary key as one comparable, printable string (both engines alike)."""
    return ",".join(str(canonical(kind, value)) for kind, value in zip(kinds, key, strict=True))
