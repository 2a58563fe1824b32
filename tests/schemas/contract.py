"""Mastodon's client API as data: the route table (mastodon/routes.toml) and one JSON Schema
per entity (mastodon/*.json, draft 2020-12, written from Mastodon's documentation).

`Contract.check(method, path, body)` says what is wrong with a JSON answer of a route in the
table, field by field. The schemas leave objects open (a client must accept keys it does not
know); the check closes them, so a key ConnectHub sends must at least be listed in its
entity's schema (Mastodon's later fields and ConnectHub's own extensions are listed there).
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

HERE = Path(__file__).parent / "mastodon"
_PARAMETER = re.compile(r":\w+|\{\w+\}")


def normalized(path: str) -> str:
    """`/api/v1/accounts/:id` and FastAPI's `/api/v1/accounts/{account_id}` alike."""
    return _PARAMETER.sub("{}", path)


@dataclass(frozen=True)
class Route:
    family: str
    method: str
    path: str
    since: tuple[int, ...]
    returns: str

    @property
    def key(self) -> str:
        return f"{self.method} {normalized(self.path)}"


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@functools.cache
def routes() -> tuple[Route, ...]:
    table = tomllib.loads((HERE / "routes.toml").read_text())
    return tuple(
        Route(family, method, path, version(since), returns)
        for family, section in table["families"].items()
        for method, path, since, returns in section["routes"]
    )


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    members = closed.get("anyOf", [])
    if len(members) == 2 and {"type": "null"} in members and len(closed) <= 2:
        # `X or null` as a condition, so an X with a wrong field is reported at that field
        # rather than as "not valid under any of the schemas".
        (entity,) = [member for member in members if member != {"type": "null"}]
        return {"if": {"type": "null"}, "else": entity}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


@functools.cache
def _definitions() -> dict[str, Any]:
    """Every entity schema, closed, with `X.json` references turned into `#/$defs/X`."""
    definitions = {}
    for file in HERE.glob("*.json"):
        text = re.sub(r'"([A-Za-z0-9_]+)\.json"', r'"#/$defs/\1"', file.read_text())
        schema = json.loads(text)
        for key in ("$schema", "$id"):
            schema.pop(key)
        definitions[file.stem] = _closed(schema)
    definitions["Empty"] = {"type": "object", "maxProperties": 0}
    return definitions


def entity_names() -> set[str]:
    return set(_definitions())


@functools.cache
def validator(returns: str) -> jsonschema_rs.Draft202012Validator:
    """A compiled validator for one answer kind of the table: `X`, `[X]` or `{X}`."""
    name = returns.strip("[]{}")
    reference = {"$ref": f"#/$defs/{name}"}
    if returns.startswith("["):
        shape: dict[str, Any] = {"type": "array", "items": reference}
    elif returns.startswith("{"):
        shape = {"type": "object", "additionalProperties": reference}
    else:
        shape = reference
    return jsonschema_rs.Draft202012Validator({**shape, "$defs": _definitions()})


class Contract:
    """Finds a concrete request path's route in the table and checks its answers."""

    def __init__(self, table: tuple[Route, ...]) -> None:
        self._exact: dict[tuple[str, str], str] = {}
        patterns = []
        for route in table:
            if ":" not in route.path:
                self._exact[(route.method, route.path)] = route.returns
            else:
                regex = re.compile(_PARAMETER.sub("[^/]+", re.escape(route.path)))
                literal = len([part for part in route.path.split("/") if not part.startswith(":")])
                patterns.append(
                    (literal, route.method, route.path.count("/"), regex, route.returns)
                )
        # By method and depth, the most specific first: /accounts/lookup before /accounts/:id.
        patterns.sort(key=lambda item: -item[0])
        self._patterns: dict[tuple[str, int], list[tuple[re.Pattern[str], str]]] = {}
        for _, method, depth, regex, returns in patterns:
            self._patterns.setdefault((method, depth), []).append((regex, returns))

    def returns(self, method: str, path: str) -> str | None:
        found = self._exact.get((method, path))
        if found is not None:
            return found
        for regex, returns in self._patterns.get((method, path.count("/")), ()):
            if regex.fullmatch(path):
                return returns
        return None

    def check(self, method: str, path: str, body: Any) -> list[str]:
        """What is wrong with `body` as the answer of `method path` (nothing for a route the
        table does not know)."""
        returns = self.returns(method, path)
        if not returns:
            return []
        first: list[str] | None = None
        for kind in returns.split("|"):
            if validator(kind).is_valid(body):
                return []
            errors = [
                f"{method} {path} ({kind}) at /{'/'.join(map(str, error.instance_path))}: "
                f"{error.message}"
                for error in validator(kind).iter_errors(body)
            ]
            first = first if first is not None else errors
        return first or []


@functools.cache
def contract() -> Contract:
    return Contract(routes())
