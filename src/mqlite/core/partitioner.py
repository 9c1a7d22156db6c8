"""Key -> partition exactly as Kafka's Java producer chooses it, plus keyless spreading.

`murmur2(data)` is byte-for-byte `org.apache.kafka.common.utils.Utils.murmur2` (seed
0x9747b28c, signed 32-bit result); `to_positive(n)` is `Utils.toPositive` (n & 0x7fffffff);
`partition_for_key(key, n)` is the DefaultPartitioner / BuiltInPartitioner keyed choice
`toPositive(murmur2(key)) % n`. So a key lands in the same partition here as it does
when a Java, librdkafka (`murmur2_random`) or kafka-python client picks it.

Without a key, `RoundRobin` spreads records over partitions in turn (the issue's rule,
and Kafka's `RoundRobinPartitioner`); `Sticky` keeps one partition until told that a
batch is complete (Kafka's sticky partitioner, KIP-480). Both are plain objects used
from one event loop; no locking.
"""

from __future__ import annotations

import random
import struct

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` as a signed 32-bit int (Java `int`)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    n4 = length & ~3
    if n4:
        for (k,) in struct.iter_unpack("<I", data[:n4]):
            k = (k * _M) & _MASK
            k ^= k >> 24
            k = (k * _M) & _MASK
            h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest == 3:
        h ^= data[n4 + 2] << 16
    if rest >= 2:
        h ^= data[n4 + 1] << 8
    if rest >= 1:
        h ^= data[n4]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - 0x1_0000_0000 if h & 0x8000_0000 else h


def to_positive(number: int) -> int:
    """Kafka's `Utils.toPositive`: clear the sign bit (not abs())."""
    return number & 0x7FFFFFFF


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a non-null key."""
    if partitions < 1:
        raise ValueError("partitions must be >= 1")
    return to_positive(murmur2(key)) % partitions


class RoundRobin:
    """Keyless records go to partitions in turn: 0, 1, ..., n-1, 0, ..."""

    __slots__ = ("_next",)

    def __init__(self, start: int = 0) -> None:
        self._next = start

    def next(self, partitions: int) -> int:
        p = self._next % partitions
        self._next = p + 1
        return p


class Sticky:
    """Keyless records stick to one random partition until `new_batch()` is called."""

    __slots__ = ("_current", "_rng")

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._current: int | None = None

    def next(self, partitions: int) -> int:
        if self._current is None or self._current >= partitions:
            self._current = self._rng.randrange(partitions)
        return self._current

    def new_batch(self, partitions: int) -> int:
        """Move to a different partition (when there is more than one)."""
        old = self._current
        choice = self._rng.randrange(partitions)
        if partitions > 1 and choice == old:
            choice = (choice + 1 + self._rng.randrange(partitions - 1)) % partitions
        self._current = choice
        return choice
