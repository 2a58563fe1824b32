"""Mastodon.py, as a client author would use it, against a real `connecthub serve`."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from mastodon import Mastodon

from connecthub import MASTODON_API_COMPAT
from tests.conftest import LiveServer


def _read_instance(url: str) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The default version check: the client reads the version from the server.
        api = Mastodon(api_base_url=url)
        result = {
            "version": api.retrieve_mastodon_version(),
            "v1": api.instance_v1(),
            "v2": api.instance_v2(),
            "latest": api.instance(),
            "rules": api.instance_rules(),
            "nodeinfo": api.instance_nodeinfo(),
            "api_version": api.mastodon_api_version,
        }
    result["warnings"] = [str(w.message) for w in caught if "mastodon" in w.filename.lower()]
    return result


async def test_mastodon_py_reads_the_instance(live_server: LiveServer) -> None:
    result = await asyncio.to_thread(_read_instance, live_server.url)

    assert result["version"] == MASTODON_API_COMPAT
    assert result["api_version"] == 1
    assert result["v1"].title == "ConnectHub"
    assert result["v2"].title == "ConnectHub"
    assert result["latest"].domain == result["v2"].domain
    assert result["v1"].stats.user_count == 0
    assert [rule.id for rule in result["rules"]] == ["1", "2", "3"]
    assert result["nodeinfo"].software.name == "connecthub"
    assert result["warnings"] == []
