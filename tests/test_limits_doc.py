"""docs/limits.md says what the code does: every figure marked ✓ is compared with the
constant or default it comes from, and every ✓ row has a check here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mqlite import server
from mqlite.core.config import CoreConfig
from mqlite.core.http_delivery import DEFAULTS as HTTP_DEFAULTS
from mqlite.core.http_delivery import HttpDelivery
from mqlite.core.naming import QUEUE_NAME_MAX
from mqlite.core.queue.config import QueueConfig
from mqlite.core.streams import MAX_PARTITIONS
from mqlite.protocols.amqp import connection as amqp_connection
from mqlite.protocols.amqp import frames as amqp_frames
from mqlite.protocols.aws import app as aws_app
from mqlite.protocols.aws.events import api_destinations, delivery, put_events, rules, targets
from mqlite.protocols.aws.firehose import buffering
from mqlite.protocols.aws.firehose import records as firehose_records
from mqlite.protocols.aws.kinesis import capacity, consumers, state, streams
from mqlite.protocols.aws.kinesis import records as kinesis_records
from mqlite.protocols.aws.sns import common as sns_common
from mqlite.protocols.aws.sns import envelope, http_subscriptions, outbox, topics
from mqlite.protocols.aws.sns import publish as sns_publish
from mqlite.protocols.aws.sqs import common as sqs_common
from mqlite.protocols.aws.sqs import queues as sqs_queues
from mqlite.protocols.resp import codec as resp_codec
from mqlite.protocols.resp import store as resp_store
from mqlite.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "limits.md"
MIB, KIB, DAY_MS, HOUR_MS = 1 << 20, 1 << 10, 86_400_000, 3_600_000
S = Settings()


def _sizes(n: int) -> str:
    """The doc's spelling of a size: `64 MiB`, `256 KiB` or `1,048,588 bytes`."""
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n:,} bytes"


def _http_delivery_defaults() -> tuple[int, int]:
    import inspect

    params = inspect.signature(HttpDelivery.__init__).parameters
    return params["max_concurrency"].default, params["max_pending"].default


# (section, row label) -> the texts the row must contain, computed from the code.
CHECKS: dict[tuple[str, str], list[str]] = {
    ("Storage and durability", "data directory"): [f"`./{S.data_dir}`"],
    ("Storage and durability", "fsync"): [f"every {S.fsync} ms"],
    ("Storage and durability", "stream segment size"): [_sizes(S.segment_bytes)],
    ("Storage and durability", "retention passes"): [f"every {CoreConfig().retention_check_interval:g} s"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "retention of a Kafka topic"):
        [f"{S.retention_ms // DAY_MS} days"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "retention of a Kinesis stream"):
        [f"{state.DEFAULT_RETENTION_H} hours"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "retention of a stream created by Redis XADD"):
        ["none"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "largest Kafka record batch"):
        [_sizes(S.max_message_bytes)],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "largest Kafka request"):
        [_sizes(S.kafka_max_frame_bytes)],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "partitions per stream"):
        [f"at most {MAX_PARTITIONS:,}"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "partitions of an auto-created Kafka topic"):
        [f"| {S.kafka_default_partitions} ✓"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kafka consumer group session timeout"):
        [f"{S.kafka_group_min_session_timeout_ms // 1000} s - {S.kafka_group_max_session_timeout_ms // 60_000} min"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kafka group initial rebalance delay"):
        [f"{S.kafka_initial_rebalance_delay_ms} ms"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis shard iterator"):
        [f"expires after {S.kinesis_iterator_ttl_ms // 60_000} minutes"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis SubscribeToShard"):
        [f"{S.kinesis_subscribe_duration / 60:g} minutes", f"every {S.kinesis_subscribe_wait:g} s"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis CreateStream"):
        [f"CREATING for {S.kinesis_create_delay_ms} ms"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "largest Redis stream entry"):
        [_sizes(resp_store.MAX_MESSAGE_BYTES)],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis record"):
        [f"{capacity.MIN_RECORD_KIB // 1024} MiB by default", f"{capacity.MIN_RECORD_KIB // 1024}-{capacity.MAX_RECORD_KIB // 1024} MiB"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis PutRecords"):
        [f"{kinesis_records.MAX_BATCH} records", _sizes(capacity.MAX_REQUEST)],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis GetRecords"):
        [f"{consumers.MAX_EVENT_RECORDS:,} records", _sizes(kinesis_records.MAX_GET_BYTES)],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis shards per stream"):
        [f"at most {streams.MAX_SHARDS_PER_STREAM}", f"start with {streams.ON_DEMAND_SHARDS}"],
    ("Streams: Kafka topics, Kinesis streams, Redis stream keys", "Kinesis enhanced fan-out consumers"):
        [f"{consumers.MAX_CONSUMERS} per stream"],
    ("SQS", "message size (body + attributes)"): [_sizes(sqs_common.MAX_SQS_MESSAGE), _sizes(QueueConfig().max_message_bytes)],
    ("SQS", "retention"): [f"{QueueConfig().retention / 86400:g} days"],
    ("SQS", "visibility timeout"): [f"{QueueConfig().visibility_timeout:g} s"],
    ("SQS", "PurgeQueue"): [f"once per {sqs_queues.PURGE_INTERVAL_S:g} s"],
    ("SQS", "queue name"): [f"1-{QUEUE_NAME_MAX} characters"],
    ("SNS", "message (body + attributes)"): [_sizes(sns_common.MAX_MESSAGE_BYTES)],
    ("SNS", "PublishBatch"): [f"1-{sns_publish.MAX_BATCH} entries"],
    ("SNS", "FIFO deduplication window"): [f"{sns_common.DEDUP_WINDOW_MS // 60_000} minutes"],
    ("SNS", "raw delivery to SQS"): [f"at most {envelope.MAX_RAW_ATTRIBUTES} message attributes"],
    ("SNS", "HTTP/S delivery retries"): [f"{http_subscriptions.MAX_TOTAL_RETRY_SECONDS:,.0f} s in all"],
    ("SNS", "outbox (SMS, push, email and Lambda without relay or endpoint)"): [f"the last {outbox.OUTBOX_MAX:,} deliveries"],
    ("SNS", "tags per topic"): [f"{topics.MAX_TAGS} ✓"],
    ("Firehose", "record"): [f"{firehose_records.MAX_RECORD:,} bytes"],
    ("Firehose", "PutRecordBatch"): [f"1-{firehose_records.MAX_BATCH} records", _sizes(firehose_records.MAX_BATCH_BYTES)],
    ("Firehose", "buffering"): ["{} MiB or {} s".format(*buffering.DEFAULTS["s3"])],
    ("EventBridge", "PutEvents"): [f"1-{put_events.MAX_ENTRIES} entries", _sizes(put_events.MAX_REQUEST_BYTES)],
    ("EventBridge", "rules per bus"): [f"{rules.MAX_RULES_PER_BUS} ✓"],
    ("EventBridge", "targets per rule"): [f"{targets.MAX_TARGETS} ✓"],
    ("EventBridge", "target retries"): [f"{delivery.DEFAULT_MAX_RETRIES} attempts", f"{delivery.DEFAULT_MAX_AGE // 3600} hours"],
    ("EventBridge", "retrying deliveries held at once"): [f"{delivery.MAX_PENDING:,} ✓"],
    ("EventBridge", "schedules"): [f"every {S.events_schedule_interval:g} s"],
    ("EventBridge", "API destination rate"): [f"{api_destinations.DEFAULT_RATE} invocations per second"],
    ("AMQP 0-9-1", "frame max"): [f"{S.amqp_frame_max:,} bytes"],
    ("AMQP 0-9-1", "channels per connection"): [f"{amqp_connection.CHANNEL_MAX:,} ✓"],
    ("AMQP 0-9-1", "heartbeat"): [f"{S.amqp_heartbeat} s"],
    ("AMQP 0-9-1", "largest message"): [_sizes(amqp_frames.MAX_MESSAGE_SIZE)],
    ("AMQP 0-9-1", "disk alarm"): [f"less than {S.amqp_disk_free_limit // 1_000_000} MB free"],
    ("Redis", "Pub/Sub output buffer"): [f"{_sizes(S.redis_pubsub_buffer_bytes)} hard"],
    ("Redis", "bulk string"): [_sizes(resp_codec.PROTO_MAX_BULK_LEN)],
    ("Redis", "inline command"): [_sizes(resp_codec.PROTO_INLINE_MAX_SIZE)],
    ("HTTP (AWS APIs)", "request body"): [_sizes(server.HTTP_MAX_BODY), f"at most {_sizes(aws_app.MAX_REQUEST_BYTES)}"],
    ("HTTP (AWS APIs)", "outgoing deliveries (SNS HTTP/S, API destinations)"):
        ["{} in flight".format(_http_delivery_defaults()[0]), "{:,} queued".format(_http_delivery_defaults()[1]),
         f"{HTTP_DEFAULTS['timeout']:g} s timeout"],
}


def _rows() -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    section = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| ") and not line.startswith("| what"):
            label = line.split("|")[1].strip()
            rows[(section, label)] = line
    return rows


@pytest.mark.parametrize("key", sorted(CHECKS), ids=lambda k: f"{k[0]}: {k[1]}")
def test_figure_matches_the_code(key: tuple[str, str]) -> None:
    row = _rows().get(key)
    assert row is not None, f"no row {key[1]!r} under {key[0]!r}"
    for text in CHECKS[key]:
        assert text in row, f"{text!r} not in {row!r}"


def test_every_checked_figure_has_a_check() -> None:
    marked = {key for key, row in _rows().items() if "✓" in row}
    assert marked - set(CHECKS) == set()


def test_streams_created_by_redis_are_kept_until_trimmed(mqlite_server: Any) -> None:
    """The row's claim, end to end: a stream made by XADD reports no retention to a
    Kafka admin client: as in Redis, its entries stay until XTRIM, XDEL or MAXLEN."""
    import redis
    from confluent_kafka.admin import AdminClient, ConfigResource

    client = redis.Redis(port=mqlite_server.redis_port)
    client.xadd("made-by-redis", {"f": "v"})
    client.close()
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{mqlite_server.kafka_port}"})
    resource = ConfigResource("topic", "made-by-redis")
    config = admin.describe_configs([resource])[resource].result(timeout=30)
    assert int(config["retention.ms"].value) == -1
    assert int(config["retention.bytes"].value) == -1
