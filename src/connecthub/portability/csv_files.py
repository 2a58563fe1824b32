"""Mastodon's CSV files, written and read: the same headers and value spellings as
Mastodon's exporter (`following_accounts.csv`, `blocked_accounts.csv`,
`muted_accounts.csv`, `lists.csv`, `bookmarks.csv`) and its importer's parsing (a known
first header, or the type's default columns; booleans; `@` dropped from addresses)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FOLLOWING_HEADERS = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MUTED_HEADERS = ["Account address", "Hide notifications"]
# Followers has no Mastodon file; ConnectHub's is one address per line with this header.
FOLLOWERS_HEADERS = ["Account address"]

FOLLOWING = "following"
BLOCKING = "blocking"
MUTING = "muting"
BOOKMARKS = "bookmarks"
LISTS = "lists"
DOMAIN_BLOCKING = "domain_blocking"
TYPES = (FOLLOWING, BLOCKING, MUTING, BOOKMARKS, LISTS)

EXPECTED_HEADERS = {
    FOLLOWING: FOLLOWING_HEADERS,
    BLOCKING: ["Account address"],
    MUTING: MUTED_HEADERS,
    BOOKMARKS: ["#uri"],
    LISTS: ["List name", "Account address"],
}
# Columns of a file that has no header line (Mastodon writes blocks, bookmarks and lists so).
DEFAULT_HEADERS = {
    FOLLOWING: ["Account address"],
    BLOCKING: ["Account address"],
    MUTING: ["Account address"],
    BOOKMARKS: ["#uri"],
    LISTS: ["List name", "Account address"],
}
KNOWN_FIRST_HEADERS = {"Account address", "#domain", "#uri", "List name"}
ATTRIBUTES = {
    "Account address": "acct",
    "Show boosts": "show_reblogs",
    "Notify on new posts": "notify",
    "Languages": "languages",
    "Hide notifications": "hide_notifications",
    "#uri": "uri",
    "List name": "list_name",
}
BOOLEAN_HEADERS = {"Show boosts", "Notify on new posts", "Hide notifications"}
FALSE_WORDS = {"false", "f", "0", "no", "off", ""}


def line(values: Sequence[Any]) -> str:
    """One CSV line, as Ruby's CSV writes it (booleans `true`/`false`, nil empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "" if v is None else ("true" if v is True else "false" if v is False else v)
            for v in values
        ]
    )
    return buffer.getvalue()


class CsvRefused(ValueError):
    """The file cannot be imported as the type asked: the message says why."""


@dataclass(frozen=True)
class ParsedRow:
    line: int
    data: dict[str, Any]


def _value(header: str, raw: str | None) -> Any:
    value = (raw or "").strip()
    if header in BOOLEAN_HEADERS:
        return value.lower() not in FALSE_WORDS if value else None
    if header == "Languages":
        return [part.strip() for part in value.split(",") if part.strip()] or None
    if header == "Account address":
        return value.removeprefix("@")
    return value


def parse(text: str, kind: str, limit: int) -> list[ParsedRow]:
    """The rows of a CSV file, as the importer of type `kind` reads them; CsvRefused when
    its columns do not fit the type or it has more than `limit` rows."""
    try:
        records = [
            (number, record)
            for number, record in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(cell.strip() for cell in record)
        ]
    except csv.Error as exc:
        raise CsvRefused(f"is not a valid CSV file ({exc})") from None
    if not records:
        raise CsvRefused("is empty")
    first = [cell.strip() for cell in records[0][1]]
    if first and first[0] in KNOWN_FIRST_HEADERS:
        headers, records = first, records[1:]
    else:
        headers = DEFAULT_HEADERS[kind]
    if not all(header in headers for header in DEFAULT_HEADERS[kind]):
        raise CsvRefused(f"does not have the columns of a {kind} import")
    if len(records) > limit:
        raise CsvRefused(f"has more than {limit} rows")
    wanted = EXPECTED_HEADERS[kind]
    rows = []
    for number, record in records:
        data = {
            ATTRIBUTES[header]: _value(header, record[index] if index < len(record) else None)
            for index, header in enumerate(headers)
            if header in wanted
        }
        rows.append(ParsedRow(number, data))
    return rows


def guessed_type(headers_line: Iterable[str], filename: str) -> str | None:
    """The import type a file looks like (Mastodon warns of a likely mismatch)."""
    headers = {cell.strip() for cell in headers_line}
    name = filename.rsplit("/", 1)[-1]
    if "Hide notifications" in headers or name.startswith(("mutes", "muted_accounts")):
        return MUTING
    if headers & {"Show boosts", "Notify on new posts", "Languages"} or name.startswith(
        ("follows", "following_accounts")
    ):
        return FOLLOWING
    if name.startswith(("blocks", "blocked_accounts")):
        return BLOCKING
    if name.startswith(("domain_blocks", "blocked_domains")):
        return DOMAIN_BLOCKING
    if name.startswith("bookmarks"):
        return BOOKMARKS
    if name.startswith("lists"):
        return LISTS
    return None
