"""Kinesis sequence numbers and shard ids <-> mqlite (partition, offset).

A Kinesis shard is an mqlite partition: `shardId-000000000007` is partition 7.
A sequence number is a 56-digit decimal string that encodes (partition, offset)
reversibly and sorts, as a string and as a number, in offset order within a shard:

    "49" | partition, 14 digits zero-padded | offset + 1, 40 digits zero-padded

(real Kinesis numbers are 56-digit decimals starting with 49 too). The +1 leaves a
number for "just before offset 0" (offset -1), which SubscribeToShard hands out as
ContinuationSequenceNumber before anything was read. Invariants:
`decode_seq(encode_seq(p, o)) == (p, o)`; for o1 < o2, `encode_seq(p, o1) <
encode_seq(p, o2)` both as strings and as integers.
Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib

MAX_HASH_KEY = (1 << 128) - 1
SEQ_LEN = 56
_SHARD_PREFIX = "shardId-"


_SEQ_HEAD = 49 * 10**54
_PART_UNIT = 10**40


def seq_base(partition: int) -> int:
    """The integer that `encode_seq(partition, offset)` adds `offset + 1` to (hot loops
    call `str(base + offset + 1)` directly)."""
    return _SEQ_HEAD + partition * _PART_UNIT


def encode_seq(partition: int, offset: int) -> str:
    return str(_SEQ_HEAD + partition * _PART_UNIT + offset + 1)


def decode_seq(seq: str) -> tuple[int, int] | None:
    """(partition, offset) of a sequence number we issued; None if it is not one."""
    if not isinstance(seq, str) or len(seq) != SEQ_LEN or not seq.isdigit() or not seq.startswith("49"):
        return None
    return int(seq[2:16]), int(seq[16:]) - 1


def shard_id(partition: int) -> str:
    return f"{_SHARD_PREFIX}{partition:012d}"


def shard_index(shard: str) -> int | None:
    """The partition of `shardId-000000000003` (also accepts a bare number, as Kinesis
    does for `ShardId` parameters); None if the id is malformed."""
    text = shard.removeprefix(_SHARD_PREFIX)
    if not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def hash_key(partition_key: str) -> int:
    """Kinesis's hash key of a partition key: MD5 of its UTF-8 bytes as a 128-bit int."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def uniform_ranges(count: int) -> list[tuple[int, int]]:
    """Hash-key ranges as Kinesis assigns them to `count` new shards: equal slices of
    [0, 2^128 - 1], the last one ending at 2^128 - 1."""
    size = (MAX_HASH_KEY + 1) // count
    out = []
    for i in range(count):
        start = i * size
        end = MAX_HASH_KEY if i == count - 1 else (i + 1) * size - 1
        out.append((start, end))
    return out
