"""Refuses malformed input before any route reads it, so no route has to remember to:

- JSON nested more than MAX_DEPTH levels (Python's parser recurses, and a thousand levels
  raise RecursionError), and bracketed form keys as deep (`http/params.nest`);
- text that no database stores: NUL characters (PostgreSQL refuses them in text) and lone
  surrogates (not encodable as UTF-8, so neither engine takes them) — in the path (404),
  the query string, and JSON or form-encoded bodies (422 naming the field).

Multipart bodies carry uploads and are not buffered here: their text fields are checked
where they are read (`checked_fields`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope

from connecthub.errors import NotFound, ValidationFailed

# Mastodon's deepest parameters are three levels (`poll[options][]`, `fields_attributes[0]
# [name]`); this leaves room for any client while keeping every walk far from the stack.
MAX_DEPTH = 32

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")
# A lone surrogate arrives escaped (`\ud800`) or as raw UTF-8-style bytes, which Python's
# JSON parser decodes with "surrogatepass"; a valid pair matches too and is checked below.
_MAYBE_BAD_JSON_TEXT = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "must be valid Unicode (it has a lone surrogate)"
    return None


def _label(name: str) -> str:
    """A field name fit to show in an error, even when the name itself is malformed."""
    return name if text_problem(name) is None else name.encode("unicode_escape").decode()


def check_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """Form or query fields: 422 naming the first whose name or text cannot be stored."""
    for key, value in pairs:
        problem = text_problem(key) or (text_problem(value) if isinstance(value, str) else None)
        if problem is not None:
            raise ValidationFailed(_label(key), problem)


def _json_depth_problem(raw: bytes) -> str | None:
    """None when `raw` nests at most MAX_DEPTH levels; told without parsing it (parsing is
    what recurses): strings are dropped, then one level of empty brackets per pass."""
    skeleton = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        if not skeleton:
            return None
        shorter = _INNERMOST.sub(b"", skeleton)
        if shorter == skeleton:
            return "is not valid JSON"  # brackets that do not pair up
        skeleton = shorter
    return f"is nested more than {MAX_DEPTH} levels deep" if skeleton else None


def _check_json_value(value: Any, field: str) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValidationFailed(field, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}[{_label(key)}]" if field else _label(key)
            problem = text_problem(key)
            if problem is not None:
                raise ValidationFailed(name, problem)
            _check_json_value(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(item, f"{field}[{index}]")


def check_json(raw: bytes) -> None:
    """A JSON body: 422 when too deep or when a string in it cannot be stored. A body that
    is not JSON at all is left to the route's own parser and its message."""
    problem = _json_depth_problem(raw)
    if problem is not None:
        raise ValidationFailed("body", problem)
    if not _MAYBE_BAD_JSON_TEXT.search(raw):
        return
    try:
        parsed = json.loads(raw)
    except ValueError:
        return
    _check_json_value(parsed, "")


def _check_form(raw: bytes) -> None:
    if b"%00" in raw or b"\x00" in raw:  # url-decoding turns any other byte into valid text
        check_fields(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _check_target(scope: Scope) -> None:
    if "\x00" in scope["path"]:
        raise NotFound()
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query:
        check_fields(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def _body_kind(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            kind = value.decode("latin-1").split(";")[0].strip().lower()
            if kind == "application/json" or kind.endswith("+json"):
                return "json"
            if kind == "application/x-www-form-urlencoded":
                return "form"
    return None


async def check_input(scope: Scope, receive: Receive) -> Receive | None:
    """Checks the path, the query string and a JSON or form-encoded body (read here, then
    handed on unchanged) before the route runs: the `receive` to give the route, None when
    the client left (or the body limit has answered) while the body was read. Raises the
    ConnectHubError to answer with."""
    _check_target(scope)
    kind = _body_kind(scope)
    if kind is None:
        return receive
    body = await _read_body(receive)
    if body is None:
        return None
    if kind == "json":
        check_json(body)
    else:
        _check_form(body)
    return _replay(body, receive)


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
