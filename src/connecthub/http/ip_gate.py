"""The addresses refused on every request: Mastodon's IP blocks of severity `no_access`
(it refuses them in Rack::Attack, before anything else runs), held in the process,
compiled, so the edge (http/edge.py) asks no database and no Redis per request.

The networks are loaded and kept current by the denylists domain (denylists/gate.py: a
reload on each change announced over the event bus, and a periodic one); this module
only matches. A verdict is remembered per address until the next change, so a client's
requests after its first cost one dictionary look-up; with no block at all, a check is
one attribute test.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import Receive, Send

from connecthub.clock import utcnow

# Addresses whose verdict is remembered; past this, the memory starts afresh (a flood of
# distinct addresses costs a parse each, never unbounded memory).
MAX_REMEMBERED = 65_536


@dataclass(frozen=True)
class Network:
    """A blocked range as the gate holds it: `cidr`, and when it lapses (a POSIX time)."""

    cidr: str
    expires_at: float | None = None


# Per address family: (mask, the blocked networks of that prefix length as integers), so
# a match costs one set look-up per distinct prefix length, whatever the list's size.
_Table = tuple[tuple[int, frozenset[int]], ...]


def _table(entries: list[tuple[int, int]]) -> _Table:
    by_mask: dict[int, set[int]] = {}
    for network, mask in entries:
        by_mask.setdefault(mask, set()).add(network)
    return tuple((mask, frozenset(networks)) for mask, networks in by_mask.items())


class IpGate:
    __slots__ = ("_next_lapse", "_v4", "_v6", "_verdicts", "empty", "networks")

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self.replace(networks)

    def replace(self, networks: Iterable[Network]) -> None:
        """Swap the blocked ranges in at once (a malformed one is skipped)."""
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        kept: list[Network] = []
        for network in networks:
            try:
                parsed = ipaddress.ip_network(network.cidr, strict=False)
            except ValueError:
                continue
            entry = (int(parsed.network_address), int(parsed.netmask))
            (v4 if parsed.version == 4 else v6).append(entry)
            kept.append(network)
        self.networks = tuple(kept)
        self._v4, self._v6 = _table(v4), _table(v6)
        lapses = [n.expires_at for n in kept if n.expires_at is not None]
        self._next_lapse = min(lapses, default=math.inf)
        self._verdicts: dict[str, bool] = {}
        self.empty = not kept

    def refuses(self, address: str | None) -> bool:
        """Whether a request from `address` is refused."""
        if self.empty or not address:
            return False
        if self._next_lapse != math.inf and utcnow().timestamp() >= self._next_lapse:
            now = utcnow().timestamp()
            self.replace(n for n in self.networks if n.expires_at is None or n.expires_at > now)
            if self.empty:
                return False
        verdict = self._verdicts.get(address)
        if verdict is None:
            verdict = self._match(address)
            if len(self._verdicts) >= MAX_REMEMBERED:
                self._verdicts = {}
            self._verdicts[address] = verdict
        return verdict

    def _match(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        value = int(parsed)
        table = self._v4 if parsed.version == 4 else self._v6
        return any(value & mask in networks for mask, networks in table)


async def refuse_websocket(receive: Receive, send: Send) -> None:
    """Turn a WebSocket from a blocked address away before accepting it (the server
    answers the upgrade with 403)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})
