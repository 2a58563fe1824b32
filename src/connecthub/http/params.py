"""Reading Mastodon-style parameters at the HTTP edge. Clients send JSON, form-encoded or
multipart bodies (and query strings), with Rails-style nested keys such as
`fields_attributes[0][name]` and `source[privacy]`; all of them become one nested dict."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from connecthub.errors import ValidationFailed
from connecthub.http.inputs import MAX_DEPTH, check_fields
from connecthub.ids import parse_id

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def _insert(target: dict[str, Any], key: str, value: Any) -> None:
    head, bracket, rest = key.partition("[")
    parts = [head, *(_KEY_PART.findall(bracket + rest) if bracket else [])]
    node = target
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            if part:
                node[part] = value
            return
        if parts[index + 1] == "" and index + 2 == len(parts):  # `ids[]=1&ids[]=2`
            items = node.setdefault(part, [])
            if isinstance(items, list):
                items.append(value)
            return
        if parts[index + 1] == "":  # `rows[][a]=1&rows[][b]=2&rows[][a]=3`: a list of dicts
            items = node.setdefault(part, [])
            if not isinstance(items, list):
                return
            # As Rails does, a key already present in the last item starts the next one.
            if not items or not isinstance(items[-1], dict) or parts[index + 2] in items[-1]:
                items.append({})
            _insert(
                items[-1],
                "".join([parts[index + 2], *(f"[{p}]" for p in parts[index + 3 :])]),
                value,
            )
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key.count("[") > MAX_DEPTH:  # `_insert` recurses once per `[]` level
            problem = f"is nested more than {MAX_DEPTH} levels deep"
            raise ValidationFailed(key.partition("[")[0][:64], problem)
        _insert(result, key, value)
    return result


async def read_params(request: Request) -> dict[str, Any]:
    """The request's parameters: query string first, then the body on top."""
    params = nest(list(request.query_params.multi_items()))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ValidationFailed("body", "is not valid JSON") from None
            if not isinstance(body, dict):
                raise ValidationFailed("body", "must be a JSON object")
            params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        pairs = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
        check_fields(pairs)  # multipart text is not checked on the way in (uploads)
        params.update(nest(pairs))
    return params


def id_list(request: Request, field: str, limit: int) -> list[int]:
    """`field[]=…` (or a single `field=`) query ids, at most `limit`, duplicates dropped and
    order kept; 422 naming the field for a non-id or too many."""
    values = request.query_params.getlist(f"{field}[]") or request.query_params.getlist(field)
    if len(values) > limit:
        raise ValidationFailed(field, f"at most {limit} ids")
    ids = []
    for value in values:
        number = parse_id(value)
        if number is None:
            raise ValidationFailed(field, "must be numeric ids")
        ids.append(number)
    return list(dict.fromkeys(ids))


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter (`true`/`false`, `1`/`0`; absent is false)."""
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ValidationFailed(name, "must be true or false")
    return value in ("true", "1")
