"""SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH,
SPUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB.

Replies follow Redis: one `[kind, name, count]` confirmation per channel (a push in
RESP3), where count is the client's total subscriptions (for the shard family: its
shard subscriptions); an UNSUBSCRIBE with no argument and no subscription answers
`[kind, nil, 0]`. PUBLISH returns the number of receivers (channel + pattern matches).
State touched: the listener's `PubSubHub` and the calling connection's sets.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp.codec import Push, Raw, encode
from mqlite.protocols.resp.commands import command
from mqlite.protocols.resp.errors import unknown_subcommand, wrong_arity


def _confirmations(conn: Any, items: list[list[Any]]) -> Raw:
    return Raw(b"".join(encode(Push(i), conn.resp3) for i in items))


def _sub(conn: Any, argv: list[bytes], kind: bytes, fn: str) -> Raw:
    pairs = getattr(conn.state.pubsub, fn)(conn, argv[1:])
    return _confirmations(conn, [[kind, name, count] for name, count in pairs])


def _unsub(conn: Any, argv: list[bytes], kind: bytes, fn: str, own: set[bytes], shard: bool = False) -> Raw:
    if not argv[1:] and not own:
        count = len(conn.shard_channels) if shard else len(conn.channels) + len(conn.patterns)
        return _confirmations(conn, [[kind, None, count]])
    pairs = getattr(conn.state.pubsub, fn)(conn, argv[1:] or None)
    return _confirmations(conn, [[kind, name, count] for name, count in pairs])


@command("subscribe", -2, pubsub_ok=True, group="pubsub")
def subscribe(conn: Any, argv: list[bytes]) -> Any:
    """SUBSCRIBE channel [channel ...]: listen for messages published to channels."""
    return _sub(conn, argv, b"subscribe", "subscribe")


@command("unsubscribe", -1, pubsub_ok=True, group="pubsub")
def unsubscribe(conn: Any, argv: list[bytes]) -> Any:
    """UNSUBSCRIBE [channel ...]: stop listening (all channels when none given)."""
    return _unsub(conn, argv, b"unsubscribe", "unsubscribe", conn.channels)


@command("psubscribe", -2, pubsub_ok=True, group="pubsub")
def psubscribe(conn: Any, argv: list[bytes]) -> Any:
    """PSUBSCRIBE pattern [pattern ...]: listen for channels matching glob patterns."""
    return _sub(conn, argv, b"psubscribe", "psubscribe")


@command("punsubscribe", -1, pubsub_ok=True, group="pubsub")
def punsubscribe(conn: Any, argv: list[bytes]) -> Any:
    """PUNSUBSCRIBE [pattern ...]: stop listening to patterns."""
    return _unsub(conn, argv, b"punsubscribe", "punsubscribe", conn.patterns)


@command("ssubscribe", -2, pubsub_ok=True, group="pubsub", keys=(1, -1, 1))
def ssubscribe(conn: Any, argv: list[bytes]) -> Any:
    """SSUBSCRIBE shardchannel [shardchannel ...]: listen to shard channels."""
    return _sub(conn, argv, b"ssubscribe", "ssubscribe")


@command("sunsubscribe", -1, pubsub_ok=True, group="pubsub", keys=(1, -1, 1))
def sunsubscribe(conn: Any, argv: list[bytes]) -> Any:
    """SUNSUBSCRIBE [shardchannel ...]: stop listening to shard channels."""
    return _unsub(conn, argv, b"sunsubscribe", "sunsubscribe", conn.shard_channels, shard=True)


@command("publish", 3, group="pubsub")
def publish(conn: Any, argv: list[bytes]) -> Any:
    """PUBLISH channel message: deliver to subscribers; returns the receiver count."""
    return conn.state.channels.publish(argv[1], argv[2])  # core.channels


@command("spublish", 3, group="pubsub", keys=(1, 1, 1))
def spublish(conn: Any, argv: list[bytes]) -> Any:
    """SPUBLISH shardchannel message: deliver to shard-channel subscribers."""
    return conn.state.pubsub.spublish(argv[1], argv[2])


@command("pubsub", -2, group="pubsub", subcommands=("channels", "numsub", "numpat", "shardchannels", "shardnumsub", "help"))
def pubsub(conn: Any, argv: list[bytes]) -> Any:
    """PUBSUB <subcommand>: introspect the pub/sub state."""
    hub = conn.state.pubsub
    sub = argv[1].lower()
    if sub in (b"channels", b"shardchannels"):
        if len(argv) > 3:
            raise wrong_arity(f"pubsub|{sub.decode()}")
        return hub.active_channels(argv[2] if len(argv) == 3 else None, shard=sub == b"shardchannels")
    if sub in (b"numsub", b"shardnumsub"):
        out: list[Any] = []
        for ch in argv[2:]:
            out += [ch, hub.numsub(ch, shard=sub == b"shardnumsub")]
        return out
    if sub == b"numpat":
        if len(argv) != 2:
            raise wrong_arity("pubsub|numpat")
        return hub.numpat()
    if sub == b"help":
        return [b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", b"CHANNELS [<pattern>]",
                b"NUMPAT", b"NUMSUB [<channel> ...]", b"SHARDCHANNELS [<pattern>]", b"SHARDNUMSUB [<shardchannel> ...]", b"HELP"]
    raise unknown_subcommand("pubsub", argv[1])
