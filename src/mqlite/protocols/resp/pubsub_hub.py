"""The RESP side of Pub/Sub: a thin adapter from Redis connections to `core.channels`.

Owns nothing but the mirror of each connection's own subscriptions (`conn.channels`,
`conn.patterns`, `conn.shard_channels`, needed for RESP2's subscribed-state rule and
CLIENT LIST). Subscriptions, fan-out, glob matching and the slow-subscriber cut-off
live in `mqlite.core.channels.Channels`; a `RespConnection` is its `Subscriber`
(`deliver(kind, channel, payload, pattern) -> bool`, `cut_off(reason)`), so messages
published by other front-ends (a router's channel destination) reach Redis clients too.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.matchers.glob import glob_matches


def glob_match(pattern: bytes, subject: bytes) -> bool:
    """Redis glob (`*`, `?`, `[...]`, `[^...]`, `\\x`) match, as KEYS and CONFIG GET use."""
    return glob_matches(pattern, subject)


class PubSubHub:
    """Redis (un)subscribe operations over `core.channels`; see module docstring."""

    def __init__(self, core: BrokerCore) -> None:
        self.channels = core.channels

    def subscribe(self, conn: Any, names: list[bytes]) -> list[tuple[bytes, int]]:
        conn.channels.update(names)
        return self.channels.subscribe(conn, names)

    def psubscribe(self, conn: Any, names: list[bytes]) -> list[tuple[bytes, int]]:
        conn.patterns.update(names)
        return self.channels.psubscribe(conn, names)

    def ssubscribe(self, conn: Any, names: list[bytes]) -> list[tuple[bytes, int]]:
        conn.shard_channels.update(names)
        return self.channels.ssubscribe(conn, names)

    def unsubscribe(self, conn: Any, names: list[bytes] | None) -> list[tuple[bytes, int]]:
        out = self.channels.unsubscribe(conn, names)
        conn.channels.difference_update(names if names is not None else list(conn.channels))
        return out

    def punsubscribe(self, conn: Any, names: list[bytes] | None) -> list[tuple[bytes, int]]:
        out = self.channels.punsubscribe(conn, names)
        conn.patterns.difference_update(names if names is not None else list(conn.patterns))
        return out

    def sunsubscribe(self, conn: Any, names: list[bytes] | None) -> list[tuple[bytes, int]]:
        out = self.channels.sunsubscribe(conn, names)
        conn.shard_channels.difference_update(names if names is not None else list(conn.shard_channels))
        return out

    def drop(self, conn: Any) -> None:
        self.channels.remove(conn)
        conn.channels.clear()
        conn.patterns.clear()
        conn.shard_channels.clear()

    def publish(self, channel: bytes, message: bytes) -> int:
        return int(self.channels.publish(channel, message))

    def spublish(self, channel: bytes, message: bytes) -> int:
        return int(self.channels.spublish(channel, message))

    def active_channels(self, pattern: bytes | None = None, shard: bool = False) -> list[bytes]:
        return self.channels.shardchannels(pattern) if shard else self.channels.channels(pattern)

    def numsub(self, channel: bytes, shard: bool = False) -> int:
        fn = self.channels.shardnumsub if shard else self.channels.numsub
        return int(fn([channel])[0][1])

    def numpat(self) -> int:
        return int(self.channels.numpat())
