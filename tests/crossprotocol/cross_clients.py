"""Real client factories for the cross-protocol tests (kafka-python, pika, redis-py, boto3).

Not a test module: the tests import these helpers explicitly (this directory is not a
package). Every client dials the one `mqlite_server` handle a test got.
"""

from __future__ import annotations

import warnings
from typing import Any

import boto3
import pika
import redis

# kafka-python loads its schemas with a deprecated importlib call; silence it once here.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.structs

CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
ACCOUNT = "000000000000"


def aws(server: Any, service: str) -> Any:
    """A boto3 client of `service` pointed at the server (dummy credentials)."""
    return boto3.client(service, endpoint_url=server.endpoint_url, **CREDS)


def bootstrap(server: Any) -> str:
    return f"127.0.0.1:{server.kafka_port}"


def kafka_producer(server: Any) -> Any:
    return kafka.KafkaProducer(bootstrap_servers=bootstrap(server))


def kafka_read(server: Any, topic: str, count: int, partition: int = 0, timeout_ms: int = 10_000) -> list[Any]:
    """Read `count` records of one partition from the beginning (assign + seek, no group)."""
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap(server), enable_auto_commit=False,
                                   consumer_timeout_ms=timeout_ms)
    try:
        tp = kafka.structs.TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        out: list[Any] = []
        for record in consumer:
            out.append(record)
            if len(out) >= count:
                break
        return out
    finally:
        consumer.close()


def amqp_channel(server: Any) -> Any:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port))
    return conn.channel()


def redis_client(server: Any) -> Any:
    return redis.Redis(host="127.0.0.1", port=server.redis_port)


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
