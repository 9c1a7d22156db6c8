"""Kafka's default partitioner: murmur2 byte-identical to the Java client's Utils.murmur2."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

with warnings.catch_warnings():  # kafka-python's import uses a deprecated importlib API
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from mqlite.core.partitioner import (
    RoundRobin,
    Sticky,
    murmur2,
    partition_for_key,
    to_positive,
)

# Kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java testMurmur2
JAVA_UTILS_TEST_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]
# Vectors Akka's Murmur2Spec checks against Kafka's Java implementation.
CROSS_CLIENT_VECTORS = [
    (b"1", -1993445489),
    (b"12", 126087238),
    (b"123", -267702483),
    (b"1234", -1614185708),
    (b"12345", -1188365604),
]


@pytest.mark.parametrize(("data", "expected"), JAVA_UTILS_TEST_VECTORS + CROSS_CLIENT_VECTORS)
def test_murmur2_matches_kafka_java_utils_vectors(data: bytes, expected: int) -> None:
    """Rule: Utils.murmur2 returns these signed ints for these byte arrays (UtilsTest)."""
    assert murmur2(data) == expected


def test_empty_key_hash_is_the_seeded_mix() -> None:
    """Rule: murmur2 of zero bytes still runs the final mix (no special case in Java)."""
    assert murmur2(b"") == (kafka_python_murmur2(b"") ^ 0x80000000) - 0x80000000


@given(st.binary(max_size=64))
def test_murmur2_agrees_with_kafka_python_for_any_bytes(data: bytes) -> None:
    """Rule: same hash as kafka-python's port of Utils.murmur2 (unsigned there)."""
    assert murmur2(data) & 0xFFFFFFFF == kafka_python_murmur2(data)


def test_to_positive_clears_the_sign_bit_instead_of_abs() -> None:
    """Rule: Utils.toPositive(n) = n & 0x7fffffff (Integer.MIN_VALUE -> 0, not overflow)."""
    assert to_positive(-2147483648) == 0
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(5) == 5


@given(st.binary(min_size=1, max_size=40), st.integers(min_value=1, max_value=500))
def test_partition_for_key_is_to_positive_murmur2_mod_n(key: bytes, n: int) -> None:
    """Rule: BuiltInPartitioner.partitionForKey = toPositive(murmur2(key)) % numPartitions."""
    p = partition_for_key(key, n)
    assert p == (kafka_python_murmur2(key) & 0x7FFFFFFF) % n
    assert 0 <= p < n


def test_known_key_lands_on_java_client_partition() -> None:
    """Rule: for "foobar" and 3 partitions Java computes toPositive(-790332482) % 3."""
    assert partition_for_key(b"foobar", 3) == ((-790332482) & 0x7FFFFFFF) % 3 == 0


def test_partition_for_key_refuses_zero_partitions() -> None:
    with pytest.raises(ValueError):
        partition_for_key(b"k", 0)


def test_round_robin_cycles_through_every_partition_in_order() -> None:
    """Rule: keyless records go round-robin (issue #3)."""
    rr = RoundRobin()
    assert [rr.next(3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_round_robin_follows_a_grown_partition_count() -> None:
    rr = RoundRobin()
    assert [rr.next(2) for _ in range(3)] == [0, 1, 0]
    assert [rr.next(4) for _ in range(4)] == [1, 2, 3, 0]


def test_sticky_stays_on_one_partition_until_a_new_batch() -> None:
    """Rule: the sticky partitioner (KIP-480) keeps a partition until the batch completes."""
    sticky = Sticky()
    first = sticky.next(5)
    assert all(sticky.next(5) == first for _ in range(50))
    assert sticky.new_batch(5) != first
    assert Sticky().new_batch(1) == 0
