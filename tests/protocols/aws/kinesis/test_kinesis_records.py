"""PutRecord(s), GetShardIterator (all five types) and GetRecords against a real server."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kinesis_support import kinesis_client, read_all


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _shard_for(client: Any, stream: str, key: str) -> str:
    """The shard whose hash range holds MD5(key) (Kinesis's routing rule)."""
    h = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    for s in client.list_shards(StreamName=stream)["Shards"]:
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= h <= int(r["EndingHashKey"]) and \
                "EndingSequenceNumber" not in s["SequenceNumberRange"]:
            return str(s["ShardId"])
    raise AssertionError(key)


def test_seed_loop_put_then_trim_horizon_and_latest_reads_until_caught_up(kinesis: Any) -> None:
    """PutRecord -> GetShardIterator(TRIM_HORIZON/LATEST) -> GetRecords until caught up."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    shard = "shardId-000000000000"
    latest = kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    seqs = [kinesis.put_record(StreamName="s", Data=f"m{i}".encode(), PartitionKey=f"k{i}")["SequenceNumber"]
            for i in range(25)]
    assert seqs == sorted(seqs) and all(len(s) == len(seqs[0]) for s in seqs)
    got = read_all(kinesis, "s", shard)
    assert [r["Data"] for r in got] == [f"m{i}".encode() for i in range(25)]
    assert [r["SequenceNumber"] for r in got] == seqs
    assert got[3]["PartitionKey"] == "k3"
    page = kinesis.get_records(ShardIterator=latest)
    assert [r["Data"] for r in page["Records"]] == [f"m{i}".encode() for i in range(25)]
    # LATEST taken now sees only what comes next
    it = kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    empty = kinesis.get_records(ShardIterator=it)
    assert empty["Records"] == [] and empty["MillisBehindLatest"] == 0
    kinesis.put_record(StreamName="s", Data=b"after", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=empty["NextShardIterator"])["Records"]] == [b"after"]


def test_get_records_limit_and_millis_behind_latest(kinesis: Any) -> None:
    """Limit caps the page; MillisBehindLatest is 0 only once caught up."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"} for _ in range(30)])
    it = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = kinesis.get_records(ShardIterator=it, Limit=10)
    assert len(page["Records"]) == 10
    assert page["MillisBehindLatest"] >= 0
    page = kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=100)
    assert len(page["Records"]) == 20 and page["MillisBehindLatest"] == 0
    with pytest.raises(ClientError) as exc:
        kinesis.get_records(ShardIterator=it, Limit=10001)
    assert _code(exc) in ("ValidationException", "InvalidArgumentException")


def test_partition_key_routes_by_md5_into_hash_ranges(kinesis: Any) -> None:
    """A record goes to the shard whose hash-key range holds MD5(PartitionKey)."""
    kinesis.create_stream(StreamName="s", ShardCount=4)
    for i in range(20):
        key = f"user-{i}"
        out = kinesis.put_record(StreamName="s", Data=b"d", PartitionKey=key)
        assert out["ShardId"] == _shard_for(kinesis, "s", key)


def test_explicit_hash_key_overrides_partition_key(kinesis: Any) -> None:
    """ExplicitHashKey picks the shard; out of [0, 2^128-1] is InvalidArgumentException."""
    kinesis.create_stream(StreamName="s", ShardCount=2)
    out = kinesis.put_record(StreamName="s", Data=b"d", PartitionKey="a", ExplicitHashKey=str(2**128 - 1))
    assert out["ShardId"] == "shardId-000000000001"
    out = kinesis.put_record(StreamName="s", Data=b"d", PartitionKey="a", ExplicitHashKey="0",
                             SequenceNumberForOrdering=out["SequenceNumber"])
    assert out["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName="s", Data=b"d", PartitionKey="a", ExplicitHashKey=str(2**128))
    assert _code(exc) == "InvalidArgumentException"
    assert exc.value.response["Error"]["Message"].startswith("Invalid ExplicitHashKey.")


def test_put_records_returns_results_in_request_order(kinesis: Any) -> None:
    """PutRecords: one result per record, in order, FailedRecordCount 0."""
    kinesis.create_stream(StreamName="s", ShardCount=3)
    out = kinesis.put_records(StreamName="s", Records=[
        {"Data": f"r{i}".encode(), "PartitionKey": f"p{i}"} for i in range(50)])
    assert out["FailedRecordCount"] == 0 and len(out["Records"]) == 50
    for i, r in enumerate(out["Records"]):
        assert r["ShardId"] == _shard_for(kinesis, "s", f"p{i}")
        it = kinesis.get_shard_iterator(StreamName="s", ShardId=r["ShardId"],
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        StartingSequenceNumber=r["SequenceNumber"])["ShardIterator"]
        if i % 10 == 0:
            assert kinesis.get_records(ShardIterator=it, Limit=1)["Records"][0]["Data"] == f"r{i}".encode()


def test_limits_record_size_key_length_batch_count_and_request_size(kinesis: Any) -> None:
    """Kinesis limits: data <= 1 MiB, key 1-256 chars, <= 500 records, <= 5 MiB per request;
    a refused PutRecords writes nothing."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName="s", Data=b"x" * (1024 * 1024 + 1), PartitionKey="k")
    assert _code(exc) == "ValidationException"
    kinesis.put_record(StreamName="s", Data=b"x" * (1024 * 1024), PartitionKey="k")  # exactly 1 MiB is fine
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k" * 257)
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kinesis.put_records(StreamName="s", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kinesis.put_records(StreamName="s", Records=[{"Data": b"x" * (1024 * 1024), "PartitionKey": "k"}] * 6)
    assert _code(exc) == "InvalidArgumentException"
    assert len(read_all(kinesis, "s", "shardId-000000000000")) == 1


def test_at_and_after_sequence_number(kinesis: Any) -> None:
    """AT_SEQUENCE_NUMBER starts at, AFTER_SEQUENCE_NUMBER just after, the record."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    seqs = [kinesis.put_record(StreamName="s", Data=str(i).encode(), PartitionKey="k")["SequenceNumber"]
            for i in range(5)]
    at = read_all(kinesis, "s", "shardId-000000000000", "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    after = read_all(kinesis, "s", "shardId-000000000000", "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert [r["Data"] for r in at] == [b"2", b"3", b"4"]
    assert [r["Data"] for r in after] == [b"3", b"4"]
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                   ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert _code(exc) == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                   ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="123")
    assert _code(exc) == "InvalidArgumentException"


def test_at_timestamp_starts_at_first_record_not_older_than_timestamp(kinesis: Any) -> None:
    """AT_TIMESTAMP: the first record whose arrival time is >= Timestamp (boto3 sends
    whole seconds, so the cut is a second boundary)."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for i in range(20):
        kinesis.put_record(StreamName="s", Data=f"m{i}".encode(), PartitionKey="k")
    everything = read_all(kinesis, "s", "shardId-000000000000")
    cut = everything[-1]["ApproximateArrivalTimestamp"].replace(microsecond=0)
    expected = [r["Data"] for r in everything if r["ApproximateArrivalTimestamp"] >= cut]
    got = read_all(kinesis, "s", "shardId-000000000000", "AT_TIMESTAMP", Timestamp=cut)
    assert expected and [r["Data"] for r in got] == expected
    early = everything[0]["ApproximateArrivalTimestamp"].replace(microsecond=0)
    assert len(read_all(kinesis, "s", "shardId-000000000000", "AT_TIMESTAMP", Timestamp=early)) == 20
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="AT_TIMESTAMP")
    assert _code(exc) == "InvalidArgumentException"


def test_unknown_shard_and_bad_iterator(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000009", ShardIteratorType="LATEST")
    assert _code(exc) == "ResourceNotFoundException"
    assert "Shard shardId-000000000009 in stream s under account 000000000000 does not exist" in \
        exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        kinesis.get_records(ShardIterator="bm90IGFuIGl0ZXJhdG9y")
    assert _code(exc) == "InvalidArgumentException"


def test_iterator_of_deleted_stream_is_resource_not_found(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    it = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    kinesis.delete_stream(StreamName="s")
    with pytest.raises(ClientError) as exc:
        kinesis.get_records(ShardIterator=it)
    assert _code(exc) == "ResourceNotFoundException"


def test_expired_iterator_is_expired_iterator_exception(mqlite_server_factory: Any) -> None:
    """An iterator older than its lifetime (5 minutes on Kinesis; -1 ms here, so every
    iterator is already expired) gets ExpiredIteratorException with Kinesis's wording."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_iterator_ttl_ms=-1, kinesis_create_delay_ms=0)
    client = kinesis_client(server)
    client.create_stream(StreamName="s", ShardCount=1)
    it = client.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(ClientError) as exc:
        client.get_records(ShardIterator=it)
    assert _code(exc) == "ExpiredIteratorException"
    assert exc.value.response["Error"]["Message"].startswith("Iterator expired. The iterator was created at time")
    assert "tolerated delay of -1 milliseconds" in exc.value.response["Error"]["Message"]
