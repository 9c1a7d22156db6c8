"""Firehose across protocols: a delivery stream reading a Kinesis stream (which is a
Kafka topic) and an EventBridge `firehose` target both end as S3 objects, written as
local files under `settings.s3_dir` (firehose/s3_writer.py; Firehose developer guide,
"Amazon S3 object name format": `<Prefix>YYYY/MM/DD/HH/<name>-<version>-<time>-<uuid>`,
records concatenated with no delimiter).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import confluent_kafka
import kafka
import kafka.admin
import kafka.errors
import pytest
from cross_clients import ACCOUNT, aws, bootstrap, kafka_producer, redis_client

from mqlite.core.naming import is_internal_stream

ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose"


def _s3_objects(server: Any, bucket: str, count: int = 1, size: int = 0) -> list[bytes]:
    """Wait (up to 20 s: delivery is a background task) until `count` objects holding
    `size` bytes in all exist (a zero buffering interval may write one object per record)."""
    root = Path(server.settings.s3_dir or Path(server.data_dir) / "s3") / bucket
    deadline = time.monotonic() + 20
    while True:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        objects = [p.read_bytes() for p in files]
        if (len(objects) >= count and sum(map(len, objects)) >= size) or time.monotonic() > deadline:
            return objects
        time.sleep(0.1)


def _s3_destination(bucket: str, prefix: str) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": prefix,
            "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1}}


def test_kafka_produce_reaches_s3_through_a_firehose_reading_the_stream(mqlite_server: Any) -> None:
    """KinesisStreamAsSource: Firehose reads the Kinesis stream from LATEST at creation
    (firehose/delivery.py); a Kafka topic is that stream, so Kafka records are delivered."""
    kinesis = aws(mqlite_server, "kinesis")
    kinesis.create_stream(StreamName="page-views", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="page-views", WaiterConfig={"Delay": 0.2})
    stream_arn = kinesis.describe_stream_summary(StreamName="page-views")["StreamDescriptionSummary"]["StreamARN"]
    firehose = aws(mqlite_server, "firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="views-to-s3", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=_s3_destination("lake", "views/"))
    producer = kafka_producer(mqlite_server)
    producer.send("page-views", key=b"u1", value=b'{"page": "/a"}\n', partition=0)
    producer.send("page-views", key=b"u2", value=b'{"page": "/b"}\n', partition=0)
    producer.flush()
    producer.close()
    expected = b'{"page": "/a"}\n{"page": "/b"}\n'
    objects = _s3_objects(mqlite_server, "lake", size=len(expected))
    # one object, or one per record (object names within a second sort by a random uuid)
    assert sorted(b"".join(objects).splitlines(keepends=True)) == expected.splitlines(keepends=True)


def test_eventbridge_firehose_target_reaches_s3(mqlite_server: Any) -> None:
    """An EventBridge `firehose` target appends the event JSON to the delivery stream's
    buffer (events/delivery.py), which Firehose writes to S3."""
    firehose = aws(mqlite_server, "firehose")
    firehose.create_delivery_stream(DeliveryStreamName="events-to-s3", DeliveryStreamType="DirectPut",
                                    ExtendedS3DestinationConfiguration=_s3_destination("archive", "ev/"))
    events = aws(mqlite_server, "events")
    events.put_rule(Name="to-firehose", EventPattern=json.dumps({"source": ["billing"]}))
    arn = firehose.describe_delivery_stream(DeliveryStreamName="events-to-s3")[
        "DeliveryStreamDescription"]["DeliveryStreamARN"]
    events.put_targets(Rule="to-firehose", Targets=[{"Id": "f", "Arn": arn}])
    out = events.put_events(Entries=[{"Source": "billing", "DetailType": "Paid", "Detail": '{"n": 1}'}])
    (obj,) = _s3_objects(mqlite_server, "archive", 1)
    event = json.loads(obj)
    assert (event["id"], event["detail"]) == (out["Entries"][0]["EventId"], {"n": 1})


def _internal_streams(server: Any) -> set[str]:
    """A DirectPut delivery stream's buffer and an EventBridge archive: the two internal
    streams of AWS front-ends (`core.naming.is_internal_stream`)."""
    firehose = aws(server, "firehose")
    firehose.create_delivery_stream(DeliveryStreamName="kept", DeliveryStreamType="DirectPut",
                                    ExtendedS3DestinationConfiguration=_s3_destination("kept-bucket", ""))
    events = aws(server, "events")
    events.create_archive(ArchiveName="kept-archive", EventSourceArn=events.describe_event_bus()["Arn"])
    names = set(server.call(lambda: server.core.streams.list()))
    assert len(names) == 2 and all(is_internal_stream(n) for n in names)
    return names


def test_redis_flushall_does_not_delete_firehose_buffers_or_eventbridge_archives(mqlite_server: Any) -> None:
    """Redis FLUSHALL "deletes all the keys of all the existing databases" (Redis docs);
    the buffers and archives of AWS services are not Redis keys and must survive it."""
    before = _internal_streams(mqlite_server)
    r = redis_client(mqlite_server)
    assert r.keys() == []
    r.flushall()
    assert set(mqlite_server.call(lambda: mqlite_server.core.streams.list())) == before
