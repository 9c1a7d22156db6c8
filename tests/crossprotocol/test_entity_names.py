"""Entity names that become file or directory names (queues, streams, topics, buses,
archives, delivery streams) are held to the rules of the protocol that creates them, and
none may be a path (issue #23, item 5): no `/`, and never `.` or `..`, each refused with
that protocol's own error. (A name that a protocol does allow to hold other characters,
such as a Redis key or an AMQP queue, is percent-encoded by `core.logs.dir_name` before
it touches the file system, so it can neither collide nor escape the data directory.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kafka.admin
import kafka.errors
import pytest
from botocore.exceptions import ClientError
from cross_clients import ACCOUNT, amqp_channel, aws, bootstrap, redis_client

DEFAULT_BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
S3 = {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/r", "BucketARN": "arn:aws:s3:::bkt"}
NAMES = ["..", ".", "../x", "a/b", "/abs"]


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


@pytest.mark.parametrize("name", NAMES)
def test_aws_services_refuse_path_like_names_with_their_own_errors(mqlite_server: Any, name: str) -> None:
    sqs, sns, kinesis = aws(mqlite_server, "sqs"), aws(mqlite_server, "sns"), aws(mqlite_server, "kinesis")
    events, firehose = aws(mqlite_server, "events"), aws(mqlite_server, "firehose")
    assert _code(lambda: sqs.create_queue(QueueName=name)) == "InvalidParameterValue"
    assert _code(lambda: sns.create_topic(Name=name)) == "InvalidParameter"
    assert _code(lambda: kinesis.create_stream(StreamName=name, ShardCount=1)) in (
        "ValidationException", "InvalidArgumentException")
    assert _code(lambda: events.create_event_bus(Name=name)) == "ValidationException"
    assert _code(lambda: events.create_archive(ArchiveName=name, EventSourceArn=DEFAULT_BUS)) == "ValidationException"
    assert _code(lambda: firehose.create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration=S3)) in (
        "ValidationException", "InvalidArgumentException")
    assert mqlite_server.call(lambda: mqlite_server.core.streams.list()) == []
    assert mqlite_server.call(lambda: mqlite_server.core.list_queues()) == []


def test_kafka_refuses_path_like_topic_names(mqlite_server: Any) -> None:
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=bootstrap(mqlite_server))
    try:
        for name in NAMES:
            with pytest.raises(kafka.errors.InvalidTopicError):
                admin.create_topics([kafka.admin.NewTopic(name, 1, 1)])
        with pytest.raises(kafka.errors.InvalidTopicError):
            admin.create_topics([kafka.admin.NewTopic("t" * 250, 1, 1)])
    finally:
        admin.close()


def test_redis_and_amqp_names_stay_inside_the_data_dir(mqlite_server: Any) -> None:
    """Redis keys and AMQP queue names may be any bytes (their protocols allow it); the
    directories they get are encoded, one level under the data dir, never `..`."""
    r = redis_client(mqlite_server)
    for name in NAMES:
        r.xadd(name, {"f": "v"})
    ch = amqp_channel(mqlite_server)
    for name in NAMES:
        ch.queue_declare(name, durable=True)
    data = Path(mqlite_server.settings.data_dir).resolve()
    made = [p for p in data.rglob("*") if p.is_dir()]
    assert made and all(p.resolve().is_relative_to(data) for p in made)
    for kind_dir in (d for d in data.iterdir() if d.is_dir()):
        assert all(child.name not in (".", "..") and "/" not in child.name for child in kind_dir.iterdir())
    assert sorted(r.keys()) == sorted(n.encode() for n in NAMES)
