# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Wire-level behaviour with exact requests on a socket: bad input, acks, idempotence.

Each test names the Kafka rule it checks. The server must answer a client's mistake
with Kafka's error code where Kafka answers, close where Kafka closes, and keep
serving every other client.
"""

from __future__ import annotations

import struct
from typing import Any

from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.storage.recordbatch import encode_batch

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory

PRODUCE, FETCH, METADATA, API_VERSIONS, INIT_PID = 0, 1, 3, 18, 22


def _client(server: Any) -> RawClient:
    return RawClient("127.0.0.1", server.kafka_port)


def _produce_body(topic: str, batch: bytes, acks: int = 1, partition: int = 0) -> dict[str, Any]:
    return {"TransactionalId": None, "Acks": acks, "TimeoutMs": 5000,
            "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition, "Records": batch}]}]}


def _produce(c: RawClient, topic: str, batch: bytes, acks: int = 1) -> dict[str, Any]:
    resp = c.request(PRODUCE, 7, _produce_body(topic, batch, acks))
    return resp["Responses"][0]["PartitionResponses"][0]


def _create(c: RawClient, topic: str, partitions: int = 1) -> None:
    resp = c.request(METADATA, 5, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": True})
    assert resp["Topics"][0]["ErrorCode"] == 0
    assert len(resp["Topics"][0]["Partitions"]) == partitions


def _still_serving(server: Any) -> None:
    c = _client(server)
    resp = c.request(API_VERSIONS, 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
    assert resp["ErrorCode"] == 0
    c.close()


def test_unsupported_api_versions_version_gets_error_35_in_v0_format(kafka: Any) -> None:
    """KIP-511: ApiVersions at an unknown version is answered with UNSUPPORTED_VERSION
    and the supported ranges, encoded as v0 (header v0)."""
    c = _client(kafka)
    frame = struct.pack(">hhih", API_VERSIONS, 99, 5, -1)
    c.send_frame(frame)
    reply = c.read_frame()
    assert reply is not None
    correlation, error, count = struct.unpack_from(">ihi", reply)
    assert (correlation, error) == (5, ErrorCode.UNSUPPORTED_VERSION)
    keys = [struct.unpack_from(">hhh", reply, 10 + 6 * i) for i in range(count)]
    assert (API_VERSIONS, 0, 3) in keys and (PRODUCE, 3, 8) in keys
    c.close()


def test_unknown_api_key_closes_the_connection_and_others_are_served(kafka: Any) -> None:
    """Kafka closes a connection whose request it cannot map to an API."""
    c = _client(kafka)
    c.send_frame(struct.pack(">hhih", 999, 0, 1, -1))
    assert c.is_closed_by_server()
    _still_serving(kafka)


def test_unsupported_version_of_another_api_closes_the_connection(kafka: Any) -> None:
    """Only ApiVersions answers an unknown version; other APIs fail to parse: close."""
    c = _client(kafka)
    c.send_frame(struct.pack(">hhih", PRODUCE, 0, 1, -1))
    assert c.is_closed_by_server()
    _still_serving(kafka)


def test_garbled_and_truncated_requests_close_the_connection(kafka: Any) -> None:
    """An unparsable request closes the connection (Kafka InvalidRequestException)."""
    c = _client(kafka)
    c.send_frame(struct.pack(">hhih", METADATA, 5, 1, -1) + struct.pack(">i", 1 << 28))
    assert c.is_closed_by_server()
    c = _client(kafka)
    c.send_frame(b"\x00\x03")
    assert c.is_closed_by_server()
    _still_serving(kafka)


def test_frame_over_the_size_limit_closes_the_connection(kafka_factory: Any) -> None:
    """socket.request.max.bytes: an oversized frame is refused from its size alone."""
    server = kafka_factory(kafka_max_frame_bytes=4096)
    c = _client(server)
    c.send_raw(struct.pack(">i", 1 << 20))
    assert c.is_closed_by_server()
    _still_serving(server)


def test_produce_to_missing_topic_with_auto_create_off_is_unknown_topic(kafka_factory: Any) -> None:
    """auto.create.topics.enable=false: Metadata and Produce answer UNKNOWN_TOPIC_OR_PARTITION."""
    server = kafka_factory(kafka_auto_create_topics=False)
    c = _client(server)
    meta = c.request(METADATA, 5, {"Topics": [{"Name": "nope"}], "AllowAutoTopicCreation": True})
    assert meta["Topics"][0]["ErrorCode"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    result = _produce(c, "nope", encode_batch([(b"k", b"v")]))
    assert result["ErrorCode"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    c.close()


def test_invalid_topic_name_in_metadata_is_invalid_topic_exception(kafka: Any) -> None:
    """Topic names are 1-249 of [a-zA-Z0-9._-]: INVALID_TOPIC_EXCEPTION otherwise."""
    c = _client(kafka)
    meta = c.request(METADATA, 5, {"Topics": [{"Name": "bad name!"}], "AllowAutoTopicCreation": True})
    assert meta["Topics"][0]["ErrorCode"] == ErrorCode.INVALID_TOPIC_EXCEPTION
    c.close()


def test_corrupt_batch_gets_corrupt_message_and_nothing_is_stored(kafka: Any) -> None:
    """A CRC-32C mismatch is CORRUPT_MESSAGE; the log is unchanged."""
    c = _client(kafka)
    _create(c, "crc")
    batch = bytearray(encode_batch([(b"k", b"value")]))
    batch[-1] ^= 0xFF
    assert _produce(c, "crc", bytes(batch))["ErrorCode"] == ErrorCode.CORRUPT_MESSAGE
    assert _produce(c, "crc", b"\x00" * 10)["ErrorCode"] == ErrorCode.CORRUPT_MESSAGE
    two = encode_batch([(b"k", b"a")]) + encode_batch([(b"k", b"b")])
    assert _produce(c, "crc", two)["ErrorCode"] == ErrorCode.INVALID_RECORD  # v3+: exactly one batch
    good = _produce(c, "crc", encode_batch([(b"k", b"value")]))
    assert (good["ErrorCode"], good["BaseOffset"]) == (0, 0)
    c.close()


def test_batch_over_max_message_bytes_is_message_too_large(kafka: Any) -> None:
    """max.message.bytes (topic config) is enforced with MESSAGE_TOO_LARGE."""
    c = _client(kafka)
    resp = c.request(19, 3, {"Topics": [{"Name": "small", "NumPartitions": 1, "ReplicationFactor": 1,
                                         "Assignments": [], "Configs": [{"Name": "max.message.bytes", "Value": "200"}]}],
                             "timeoutMs": 1000, "validateOnly": False})
    assert resp["Topics"][0]["ErrorCode"] == 0
    assert _produce(c, "small", encode_batch([(b"k", b"x" * 500)]))["ErrorCode"] == ErrorCode.MESSAGE_TOO_LARGE
    assert _produce(c, "small", encode_batch([(b"k", b"x" * 10)]))["ErrorCode"] == 0
    c.close()


def test_invalid_acks_is_invalid_required_acks(kafka: Any) -> None:
    """acks must be -1, 0 or 1."""
    c = _client(kafka)
    _create(c, "acks")
    assert _produce(c, "acks", encode_batch([(b"k", b"v")]), acks=2)["ErrorCode"] == ErrorCode.INVALID_REQUIRED_ACKS
    c.close()


def test_acks_zero_sends_no_response_and_later_responses_stay_in_order(kafka: Any) -> None:
    """acks=0: the broker sends nothing back; the next request's response is next."""
    c = _client(kafka)
    _create(c, "fire")
    c.send(PRODUCE, 7, _produce_body("fire", encode_batch([(b"k", b"a")]), acks=0))
    correlation = c.send(API_VERSIONS, 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
    frame = c.read_frame()
    assert frame is not None and struct.unpack_from(">i", frame)[0] == correlation
    result = _produce(c, "fire", encode_batch([(b"k", b"b")]))
    assert result["BaseOffset"] == 1  # the acks=0 batch was appended first
    c.close()


def test_pipelined_requests_are_answered_in_request_order(kafka: Any) -> None:
    """Kafka answers the requests of one connection in the order they were sent, even
    when an earlier one waits (a long-poll fetch)."""
    c = _client(kafka)
    _create(c, "order")
    fetch_body = {"ReplicaId": -1, "MaxWaitMs": 300, "MinBytes": 1, "MaxBytes": 1 << 20, "IsolationLevel": 0,
                  "SessionId": 0, "SessionEpoch": -1,
                  "Topics": [{"Topic": "order", "Partitions": [{"Partition": 0, "FetchOffset": 0,
                                                                 "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}],
                  "ForgottenTopicsData": [], "RackId": ""}
    first = c.send(FETCH, 11, fetch_body)
    second = c.send(API_VERSIONS, 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
    frames = [c.read_frame(), c.read_frame()]
    assert [struct.unpack_from(">i", f)[0] for f in frames if f] == [first, second]
    c.close()


def test_fetch_starting_mid_batch_returns_the_whole_batch(kafka: Any) -> None:
    """Fetch returns whole stored batches: the one containing the offset comes first."""
    c = _client(kafka)
    _create(c, "mid")
    batch = encode_batch([(b"k", b"%d" % i) for i in range(5)])
    assert _produce(c, "mid", batch)["BaseOffset"] == 0
    resp = c.request(FETCH, 11, {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20,
                                 "IsolationLevel": 0, "SessionId": 0, "SessionEpoch": -1,
                                 "Topics": [{"Topic": "mid", "Partitions": [{"Partition": 0, "FetchOffset": 3,
                                                                             "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}],
                                 "ForgottenTopicsData": [], "RackId": ""})
    part = resp["Responses"][0]["Partitions"][0]
    assert part["ErrorCode"] == 0 and part["HighWatermark"] == 5
    records = part["Records"]
    # the same bytes as sent but for the two fields a broker rewrites (base offset,
    # partition leader epoch), which lie outside the CRC
    assert records[8:12] == batch[8:12] and records[16:] == batch[16:]
    c.close()


def test_fetch_beyond_the_end_is_offset_out_of_range(kafka: Any) -> None:
    """An offset above the high watermark is OFFSET_OUT_OF_RANGE."""
    c = _client(kafka)
    _create(c, "oor")
    resp = c.request(FETCH, 11, {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20,
                                 "IsolationLevel": 0, "SessionId": 0, "SessionEpoch": -1,
                                 "Topics": [{"Topic": "oor", "Partitions": [{"Partition": 0, "FetchOffset": 10,
                                                                             "LogStartOffset": -1, "PartitionMaxBytes": 1024}]}],
                                 "ForgottenTopicsData": [], "RackId": ""})
    assert resp["Responses"][0]["Partitions"][0]["ErrorCode"] == ErrorCode.OFFSET_OUT_OF_RANGE
    c.close()


def test_idempotent_duplicates_are_acknowledged_once_and_gaps_refused(kafka: Any) -> None:
    """KIP-98: a retried batch (same producer, epoch, sequences) gets its original
    offset and is not appended again; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER;
    an older epoch is fenced (INVALID_PRODUCER_EPOCH)."""
    c = _client(kafka)
    _create(c, "idem")
    init = c.request(INIT_PID, 1, {"TransactionalId": None, "TransactionTimeoutMs": 60000})
    pid, epoch = init["ProducerId"], init["ProducerEpoch"]
    assert init["ErrorCode"] == 0 and pid >= 0

    def batch(seq: int, n: int = 2, ep: int = epoch) -> bytes:
        return encode_batch([(b"k", b"s%d" % (seq + i)) for i in range(n)], producer_id=pid,
                            producer_epoch=ep, base_sequence=seq)

    assert _produce(c, "idem", batch(0))["BaseOffset"] == 0
    assert _produce(c, "idem", batch(2))["BaseOffset"] == 2
    again = _produce(c, "idem", batch(2))
    assert (again["ErrorCode"], again["BaseOffset"]) == (0, 2)
    assert _produce(c, "idem", batch(7))["ErrorCode"] == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert _produce(c, "idem", batch(4))["BaseOffset"] == 4
    assert kafka.call(lambda: kafka.core.get_stream("idem").latest(0)) == 6
    assert _produce(c, "idem", batch(0, ep=epoch + 1))["BaseOffset"] == 6
    assert _produce(c, "idem", batch(2, ep=epoch))["ErrorCode"] == ErrorCode.INVALID_PRODUCER_EPOCH
    c.close()


def test_advertises_the_address_the_client_dialled_or_the_configured_one(kafka_factory: Any) -> None:
    """Metadata lists one broker, node 0, at the connected address unless
    kafka_advertised_host is set."""
    server = kafka_factory()
    c = _client(server)
    meta = c.request(METADATA, 5, {"Topics": [], "AllowAutoTopicCreation": False})
    assert [(b["NodeId"], b["Host"], b["Port"]) for b in meta["Brokers"]] == [(0, "127.0.0.1", server.kafka_port)]
    c.close()
    other = kafka_factory(kafka_advertised_host="broker.example:19092")
    c = _client(other)
    meta = c.request(METADATA, 5, {"Topics": [], "AllowAutoTopicCreation": False})
    assert [(b["Host"], b["Port"]) for b in meta["Brokers"]] == [("broker.example", 19092)]
    c.close()


def _fetch_body(topic: str, offset: int, max_bytes: int = 1 << 20, partition_max: int = 1 << 20,
                wait_ms: int = 0, min_bytes: int = 1) -> dict[str, Any]:
    return {"ReplicaId": -1, "MaxWaitMs": wait_ms, "MinBytes": min_bytes, "MaxBytes": max_bytes, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1,
            "Topics": [{"Topic": topic, "Partitions": [{"Partition": 0, "FetchOffset": offset, "LogStartOffset": -1,
                                                        "PartitionMaxBytes": partition_max}]}],
            "ForgottenTopicsData": [], "RackId": ""}


def test_fetch_max_bytes_limits_the_response_but_returns_a_first_oversized_batch(kafka: Any) -> None:
    """KIP-74: batches are added while they fit MaxBytes/PartitionMaxBytes, except that
    the first batch is returned even when larger, so a consumer always progresses."""
    c = _client(kafka)
    _create(c, "limits")
    first = encode_batch([(b"k", b"a" * 300)])
    second = encode_batch([(b"k", b"b" * 300)])
    _produce(c, "limits", first)
    _produce(c, "limits", second)
    both = c.request(FETCH, 11, _fetch_body("limits", 0))["Responses"][0]["Partitions"][0]["Records"]
    assert len(both) == len(first) + len(second)
    one = c.request(FETCH, 11, _fetch_body("limits", 0, max_bytes=len(first) + 10))["Responses"][0]["Partitions"][0]
    assert len(one["Records"]) == len(first)
    tiny = c.request(FETCH, 11, _fetch_body("limits", 0, partition_max=10))["Responses"][0]["Partitions"][0]
    assert len(tiny["Records"]) == len(first)
    c.close()


def test_long_poll_fetch_returns_when_data_arrives(kafka: Any) -> None:
    """Fetch with MinBytes waits up to MaxWaitMs and answers as soon as a producer
    appends past the fetch offset."""
    waiter, writer = _client(kafka), _client(kafka)
    _create(writer, "poll")
    waiter.send(FETCH, 11, _fetch_body("poll", 0, wait_ms=20_000))
    _produce(writer, "poll", encode_batch([(b"k", b"late")]))
    frame = waiter.read_frame()
    assert frame is not None
    from mqlite.protocols.kafka import codec

    _, body = codec.decode_response(FETCH, 11, frame)
    part = body["Responses"][0]["Partitions"][0]
    assert part["HighWatermark"] == 1 and part["Records"]
    waiter.close()
    writer.close()


def test_idempotence_state_survives_a_restart(kafka: Any) -> None:
    """Producer state is rebuilt from the log after a restart (as Kafka does from its
    snapshots and log), so a retried batch is still recognised as a duplicate."""
    c = _client(kafka)
    _create(c, "idem-restart")
    pid = c.request(INIT_PID, 1, {"TransactionalId": None, "TransactionTimeoutMs": 60000})["ProducerId"]
    batch = encode_batch([(b"k", b"once")], producer_id=pid, producer_epoch=0, base_sequence=0)
    assert _produce(c, "idem-restart", batch)["BaseOffset"] == 0
    c.close()
    kafka.restart()
    c = _client(kafka)
    again = _produce(c, "idem-restart", batch)
    assert (again["ErrorCode"], again["BaseOffset"]) == (0, 0)
    gap = encode_batch([(b"k", b"gap")], producer_id=pid, producer_epoch=0, base_sequence=5)
    assert _produce(c, "idem-restart", gap)["ErrorCode"] == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert kafka.call(lambda: kafka.core.get_stream("idem-restart").latest(0)) == 1
    new_pid = c.request(INIT_PID, 1, {"TransactionalId": None, "TransactionTimeoutMs": 60000})["ProducerId"]
    assert new_pid != pid  # the producer id counter is durable
    c.close()


def test_retention_bytes_drops_old_segments_and_moves_the_log_start(kafka: Any) -> None:
    """retention.bytes (per partition) with small segments: a retention pass deletes
    whole old segments; ListOffsets earliest and Fetch below it follow (OFFSET_OUT_OF_RANGE)."""
    c = _client(kafka)
    created = c.request(19, 3, {"Topics": [{"Name": "ret", "NumPartitions": 1, "ReplicationFactor": 1,
                                            "Assignments": [], "Configs": [
                                                {"Name": "retention.bytes", "Value": "4096"},
                                                {"Name": "segment.bytes", "Value": "2048"}]}],
                                "timeoutMs": 1000, "validateOnly": False})
    assert created["Topics"][0]["ErrorCode"] == 0
    for i in range(40):
        _produce(c, "ret", encode_batch([(b"k", b"%03d" % i + b"x" * 400)]))
    kafka.call(lambda: kafka.core.get_stream("ret").apply_retention())
    listed = c.request(2, 3, {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [
        {"Name": "ret", "Partitions": [{"PartitionIndex": 0, "Timestamp": -2}]}]})
    earliest = listed["Topics"][0]["Partitions"][0]["Offset"]
    assert 0 < earliest < 40
    resp = c.request(FETCH, 11, _fetch_body("ret", 0))
    assert resp["Responses"][0]["Partitions"][0]["ErrorCode"] == ErrorCode.OFFSET_OUT_OF_RANGE
    c.close()


def test_retention_ms_drops_segments_older_than_the_limit(kafka: Any) -> None:
    """retention.ms: a retention pass deletes the segments whose newest record is older
    than the limit; when every record is past it the log is emptied, as Kafka does, and
    its start offset moves to the end (offsets are never reused)."""
    c = _client(kafka)
    c.request(19, 3, {"Topics": [{"Name": "aged", "NumPartitions": 1, "ReplicationFactor": 1, "Assignments": [],
                                  "Configs": [{"Name": "retention.ms", "Value": "60000"},
                                              {"Name": "segment.bytes", "Value": "2048"}]}],
                      "timeoutMs": 1000, "validateOnly": False})
    for i in range(20):
        _produce(c, "aged", encode_batch([(b"k", b"%03d" % i + b"y" * 400)]))
    stream = kafka.call(lambda: kafka.core.get_stream("aged"))
    kafka.call(lambda: stream.apply_retention(now_ms=kafka.core.clock.now_ms() + 1000))
    assert kafka.call(lambda: stream.earliest(0)) == 0  # nothing is old enough yet
    kafka.call(lambda: stream.apply_retention(now_ms=kafka.core.clock.now_ms() + 120_000))
    assert kafka.call(lambda: stream.earliest(0)) == kafka.call(lambda: stream.latest(0)) == 20
    assert _produce(c, "aged", encode_batch([(b"k", b"new")]))["BaseOffset"] == 20
    c.close()


def test_alter_configs_replaces_the_topic_config_and_describe_shows_it(kafka: Any) -> None:
    """AlterConfigs (non-incremental) sets the topic's whole dynamic config: keys not
    given return to their defaults; unknown names are INVALID_CONFIG."""
    c = _client(kafka)
    c.request(19, 3, {"Topics": [{"Name": "conf", "NumPartitions": 1, "ReplicationFactor": 1, "Assignments": [],
                                  "Configs": [{"Name": "retention.ms", "Value": "1000"}]}],
                      "timeoutMs": 1000, "validateOnly": False})
    altered = c.request(33, 1, {"Resources": [{"ResourceType": 2, "ResourceName": "conf",
                                               "Configs": [{"Name": "retention.bytes", "Value": "5000"}]}],
                                "ValidateOnly": False})
    assert altered["Responses"][0]["ErrorCode"] == 0
    described = c.request(32, 1, {"Resources": [{"ResourceType": 2, "ResourceName": "conf",
                                                 "ConfigurationKeys": None}], "IncludeSynonyms": False})
    configs = {e["Name"]: e for e in described["Results"][0]["Configs"]}
    assert configs["retention.bytes"]["Value"] == "5000" and configs["retention.bytes"]["ConfigSource"] == 1
    assert configs["retention.ms"]["ConfigSource"] == 5  # back to the default
    bad = c.request(33, 1, {"Resources": [{"ResourceType": 2, "ResourceName": "conf",
                                           "Configs": [{"Name": "no.such.config", "Value": "1"}]}],
                            "ValidateOnly": False})
    assert bad["Responses"][0]["ErrorCode"] == ErrorCode.INVALID_CONFIG
    c.close()


def test_partition_counts_are_validated(kafka: Any) -> None:
    """CreateTopics with 0 (or absurdly many) partitions and CreatePartitions that does
    not grow the topic are INVALID_PARTITIONS; replication factor 3 on one broker is
    INVALID_REPLICATION_FACTOR."""
    c = _client(kafka)

    def create(name: str, parts: int, rf: int = 1) -> int:
        resp = c.request(19, 3, {"Topics": [{"Name": name, "NumPartitions": parts, "ReplicationFactor": rf,
                                             "Assignments": [], "Configs": []}], "timeoutMs": 1000, "validateOnly": False})
        return int(resp["Topics"][0]["ErrorCode"])

    assert create("zero", 0) == ErrorCode.INVALID_PARTITIONS
    assert create("huge", 1_000_000_000) == ErrorCode.INVALID_PARTITIONS
    assert create("rf", 1, rf=3) == ErrorCode.INVALID_REPLICATION_FACTOR
    assert create("grow", 2) == 0
    shrink = c.request(37, 1, {"Topics": [{"Name": "grow", "Count": 1, "Assignments": None}], "TimeoutMs": 1000,
                               "ValidateOnly": False})
    assert shrink["Results"][0]["ErrorCode"] == ErrorCode.INVALID_PARTITIONS
    c.close()
