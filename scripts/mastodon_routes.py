"""Which of Mastodon's client API routes ConnectHub does not serve.

    .venv/bin/python scripts/mastodon_routes.py          # missing routes, by family
    .venv/bin/python scripts/mastodon_routes.py --all    # also later versions' and the allowed

Mastodon's routes come from tests/schemas/mastodon/routes.toml (written from Mastodon's
documentation), ConnectHub's from the app's OpenAPI document. A route counts as missing
when Mastodon added it at or before the version ConnectHub advertises (`MASTODON_API_COMPAT`);
routes of later versions are listed apart, since clients do not expect them of this
version. Routes in the table's `federation_only` section make no sense without federation
and are not counted; its `not_yet_implemented` section is the known gap (test:
tests/schemas/test_routes.py keeps it exact).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from tests.schemas.contract import HERE, Route, normalized, routes, version  # noqa: E402


@dataclass(frozen=True)
class Comparison:
    missing: list[Route]  # up to the advertised version, not allowed, not served
    later: list[Route]  # added after the advertised version, not served
    federation_only: dict[str, str]  # route key -> why it is not served
    not_yet_implemented: set[str]


def served_routes(openapi: dict[str, Any]) -> set[str]:
    """`METHOD /path/{}` for every operation of the app's OpenAPI document."""
    return {
        f"{method.upper()} {normalized(path)}"
        for path, operations in openapi["paths"].items()
        for method in operations
    }


def allowances() -> tuple[dict[str, str], set[str]]:
    table = tomllib.loads((HERE / "routes.toml").read_text())
    federation_only = {
        f"{key.split(' ', 1)[0]} {normalized(key.split(' ', 1)[1])}": reason
        for key, reason in table["federation_only"].items()
    }
    pending = {
        f"{key.split(' ', 1)[0]} {normalized(key.split(' ', 1)[1])}"
        for key in table["not_yet_implemented"]["routes"]
    }
    return federation_only, pending


def compare(served: set[str], advertised: str, table: Iterable[Route] | None = None) -> Comparison:
    federation_only, pending = allowances()
    up_to = version(advertised.split(" ", 1)[0])
    missing, later = [], []
    for route in table if table is not None else routes():
        if route.key in served or route.key in federation_only:
            continue
        (missing if route.since <= up_to else later).append(route)
    return Comparison(missing, later, federation_only, pending)


def _app_openapi() -> dict[str, Any]:
    from connecthub.app import create_app
    from connecthub.config import load_settings

    return create_app(load_settings()).openapi()


def _print(title: str, table: list[Route]) -> None:
    print(f"{title}: {len(table)}")
    family = None
    for route in table:
        if route.family != family:
            family = route.family
            print(f"  {family}")
        since = ".".join(map(str, route.since))
        print(f"    {route.method:6} {route.path}  (Mastodon {since})")


def main(argv: list[str]) -> int:
    from connecthub import MASTODON_API_COMPAT

    result = compare(served_routes(_app_openapi()), MASTODON_API_COMPAT)
    _print(f"Missing up to Mastodon {MASTODON_API_COMPAT}", result.missing)
    if "--all" in argv:
        _print("Added by later Mastodon versions, not served", result.later)
        print(f"Not served without federation: {len(result.federation_only)}")
        for key, reason in sorted(result.federation_only.items()):
            print(f"    {key}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
