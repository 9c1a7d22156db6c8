# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Kafka's Fetch, ListOffsets, Produce, OffsetCommit and Metadata by name cannot reach an
internal stream (`__mqlite.*`), at the wire level (issue #23, item 5: a Kafka client
read a Firehose record back by naming its buffer). Core hides internal streams from
every front-end, so each answers as for a topic that does not exist."""

from __future__ import annotations

from typing import Any

from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.storage.recordbatch import encode_batch

from kafka_raw import RawClient
from kafka_support import kafka, kafka_factory

PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT = 0, 1, 2, 3, 8
BUFFER = "__mqlite.firehose.kept"
SECRET = b"firehose record"


def _seed(server: Any) -> Any:
    """An internal stream holding one record, made as its owner makes it (the registry)."""
    async def make() -> Any:
        stream = server.core.streams.create(BUFFER, 1)
        await stream.append(SECRET)
        return stream

    return server.call(make)


def test_fetch_and_list_offsets_of_an_internal_stream_are_unknown_topic(kafka: Any) -> None:
    _seed(kafka)
    c = RawClient("127.0.0.1", kafka.kafka_port)
    fetched = c.request(FETCH, 11, {
        "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20, "IsolationLevel": 0,
        "SessionId": 0, "SessionEpoch": -1, "ForgottenTopicsData": [], "RackId": "",
        "Topics": [{"Topic": BUFFER, "Partitions": [{"Partition": 0, "FetchOffset": 0,
                                                      "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}]})
    part = fetched["Responses"][0]["Partitions"][0]
    assert part["ErrorCode"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert not part["Records"]
    offsets = c.request(LIST_OFFSETS, 5, {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [
        {"Name": BUFFER, "Partitions": [{"PartitionIndex": 0, "CurrentLeaderEpoch": -1, "Timestamp": -1}]}]})
    assert offsets["Topics"][0]["Partitions"][0]["ErrorCode"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    meta = c.request(METADATA, 5, {"Topics": [{"Name": BUFFER}], "AllowAutoTopicCreation": True})
    assert meta["Topics"][0]["ErrorCode"] == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert meta["Topics"][0]["Partitions"] == []
    produced = c.request(PRODUCE, 7, {"TransactionalId": None, "Acks": 1, "TimeoutMs": 5000, "TopicData": [
        {"Name": BUFFER, "PartitionData": [{"Index": 0, "Records": encode_batch([(None, b"injected")])}]}]})
    assert produced["Responses"][0]["PartitionResponses"][0]["ErrorCode"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    c.close()
    stream = kafka.call(lambda: kafka.core.streams.get(BUFFER))
    assert [r.value for r in kafka.call(lambda: stream.read(0, 0, 10))] == [SECRET]
