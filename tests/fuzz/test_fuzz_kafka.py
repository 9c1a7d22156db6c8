"""Seeded mutation fuzzing of the Kafka front-end: every mutated request gets an answer
or a clean close, never an unhandled exception (issue 26, item 9)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from fuzz_harness import Mutator, Recorder, join_kafka, run_cases, split_kafka, unhandled


@pytest.fixture
def kafka_server(mqlite_server_factory: Any) -> Any:
    recorder = Recorder(0)
    server = mqlite_server_factory(kafka_advertised_host=f"127.0.0.1:{recorder.port}")
    recorder.upstream = server.kafka_port
    server.recorder = recorder  # clients are told to dial the recorder, not the broker
    return server


@pytest.fixture
def kafka_corpus(kafka_server: Any) -> list[list[bytes]]:
    """Request frames of real kafka-python sessions (producer, group consumer, admin)."""
    rec = kafka_server.recorder
    bootstrap = f"127.0.0.1:{rec.port}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("fz", num_partitions=2, replication_factor=1)])
    admin.describe_configs([])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", enable_idempotence=True)
    for i in range(5):
        producer.send("fz", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")]).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer("fz", bootstrap_servers=bootstrap, group_id="g", auto_offset_reset="earliest",
                             consumer_timeout_ms=3000, enable_auto_commit=False)
    for _ in consumer:
        pass
    consumer.commit()
    consumer.close()
    rec.close()
    return [split_kafka(bytes(s)) for s in rec.streams if s]


def test_mutated_kafka_requests_get_answers_not_exceptions(
    kafka_server: Any, kafka_corpus: list[list[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    frames = [f for stream in kafka_corpus for f in stream]
    assert len(frames) > 20

    def case(m: Mutator, n: int) -> bytes:
        first = frames[m.pick(frames)]
        # the header's api key/version stay valid most of the time: the body parsers are the target
        return join_kafka([m.bytes_(first, keep=8 if n % 4 else 0)])

    caplog.clear()
    run_cases(case, kafka_server.kafka_port, lambda sent, got: None)
    bad = unhandled(caplog)
    assert not bad, "unhandled:\n" + "\n".join(bad)


def test_null_where_kafka_allows_no_null_closes_without_a_traceback(
    mqlite_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzzer (issue 26): a Produce whose TopicData array is null (-1)
    reached the handler and failed with a TypeError; Kafka refuses it as invalid."""
    from fuzz_harness import exchange

    from mqlite.protocols.kafka.codec import encode_request

    frame = encode_request(0, 3, 1, {"TransactionalId": None, "Acks": 1, "TimeoutMs": 1000, "TopicData": []})
    assert frame.endswith(b"\x00\x00\x00\x00")  # the empty TopicData array, last
    frame = frame[:-4] + b"\xff\xff\xff\xff"  # ... made null
    assert exchange(mqlite_server.kafka_port, frame) == b""  # closed, as Kafka closes on an invalid request
    assert unhandled(caplog) == []
