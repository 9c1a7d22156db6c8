"""GetShardIterator: the five iterator types, and the shard-iterator token format.

A shard iterator is opaque to clients: URL-safe base64 of
`v1|<stream>|<partition>|<offset>|<issued ms>|<stream id, 16 hex>` (stream and topic names
never contain `|`). It expires `kinesis_iterator_ttl_ms` after issue (Kinesis: 5
minutes) -> ExpiredIteratorException with Kinesis's wording; an iterator of a deleted or
re-created stream is ResourceNotFoundException.
Types (per the Kinesis API reference): TRIM_HORIZON = the oldest untrimmed record of
the shard; LATEST = just after the newest record (a closed shard: its end);
AT_/AFTER_SEQUENCE_NUMBER = at / just after a sequence number of this shard;
AT_TIMESTAMP = the first record at or after Timestamp (the end when none).
Pure codec functions plus the handler; the server's event loop.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.naming import namespace_body
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.sequence import decode_seq, shard_id
from mqlite.protocols.aws.kinesis.state import KinesisState

TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


@dataclass(frozen=True, slots=True)
class Position:
    stream: str
    partition: int
    offset: int
    issued_ms: int
    stream_id: str


def encode_iterator(pos: Position) -> str:
    raw = f"v1|{pos.stream}|{pos.partition}|{pos.offset}|{pos.issued_ms}|{pos.stream_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_iterator(token: str) -> Position:
    try:
        parts = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        if len(parts) != 6 or parts[0] != "v1":
            raise ValueError(token)
        return Position(parts[1], int(parts[2]), int(parts[3]), int(parts[4]), parts[5])
    except ValueError:
        raise errors.invalid_argument(f"Invalid ShardIterator {token[:80]}.") from None


def _fmt(ms: int) -> str:
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


def check_fresh(pos: Position, now_ms: int, ttl_ms: int) -> None:
    if now_ms - pos.issued_ms > ttl_ms:
        raise errors.expired_iterator(
            f"Iterator expired. The iterator was created at time {_fmt(pos.issued_ms)} while "
            f"right now it is {_fmt(now_ms)} which is further in the future than the tolerated "
            f"delay of {ttl_ms} milliseconds.")


class IteratorActions:
    def __init__(self, core: BrokerCore, state: KinesisState) -> None:
        self.core = core
        self.state = state

    def resolve(self, name: str, shard: str, kind: str, seq: str | None, ts: float | None) -> int:
        """The offset an iterator of `kind` starts at (shared with SubscribeToShard)."""
        meta = self.state.meta(name)
        info = self.state.shard_of(meta, shard)
        stream = self.core.get_stream(name)
        p = info.partition
        earliest = max(stream.earliest(p), info.first_offset)
        end = stream.latest(p) if info.closed_at is None else info.closed_at
        if kind == "TRIM_HORIZON":
            return earliest
        if kind == "LATEST":
            return end
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if seq is None:
                raise errors.invalid_argument(
                    f"The StartingSequenceNumber parameter must be specified for ShardIteratorType {kind}")
            decoded = decode_seq(seq)
            if decoded is None:
                raise errors.invalid_argument(
                    f"StartingSequenceNumber {seq} used in GetShardIterator on shard {shard_id(p)} in "
                    f"stream {namespace_body(name)} under account {self.state.account} is invalid.")
            sp, off = decoded
            if sp != p:
                raise errors.invalid_argument(
                    f"Invalid StartingSequenceNumber. It encodes {shard_id(sp)}, while it was used in "
                    f"a call to a shard with {shard_id(p)}")
            off = off + 1 if kind == "AFTER_SEQUENCE_NUMBER" else off
            return min(max(off, earliest), end)
        if kind == "AT_TIMESTAMP":
            if ts is None:
                raise errors.invalid_argument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                    "Current request has no timestamp parameter.")
            ts_ms = int(ts * 1000)
            if ts_ms > self.core.clock.now_ms():
                raise errors.invalid_argument(
                    f"The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                    f"timestampInMillis: {ts_ms}, currentTimestampInMillis: {self.core.clock.now_ms()}")
            found = stream.offset_for_time(p, ts_ms)
            return end if found is None else min(max(found, earliest), end)
        raise errors.validation(kind, "shardIteratorType",
                                "Member must satisfy enum value set: [" + ", ".join(TYPES) + "]")

    async def get_shard_iterator(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """GetShardIterator: AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON,
        LATEST, AT_TIMESTAMP."""
        name = self.state.name_of(p)
        offset = self.resolve(name, p["ShardId"], p["ShardIteratorType"],
                              p.get("StartingSequenceNumber"), p.get("Timestamp"))
        meta = self.state.meta(name)
        info = self.state.shard_of(meta, p["ShardId"])
        pos = Position(name, info.partition, offset, self.core.clock.now_ms(), meta.data["id"][:16])
        return {"ShardIterator": encode_iterator(pos)}
