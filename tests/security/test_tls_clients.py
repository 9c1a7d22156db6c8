"""TLS on every front-end, driven by each protocol's real client library.

One server with `--tls auto` (a local CA and server certificate in the data directory)
serves HTTPS, Kafka SSL, AMQPS and Redis TLS on its configured ports; clients trust
the CA file, as the start-up log tells them to.
"""

from __future__ import annotations

import ssl
import time
import warnings
from collections.abc import Callable
from typing import Any

import boto3
import pika
import pytest
import redis
from botocore.config import Config
from confluent_kafka import Consumer, Producer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer, KafkaProducer

FAST = {"kafka_initial_rebalance_delay_ms": 200}


@pytest.fixture
def tls_server(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(tls="auto", **FAST)


@pytest.fixture
def tls_sasl_server(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(tls="auto", users=("alice:s3cret:admin",), **FAST)


def test_boto3_sqs_over_https_with_the_ca(tls_server: Any) -> None:
    """boto3 with verify=<the CA> speaks HTTPS to the AWS front-end."""
    sqs = boto3.client("sqs", endpoint_url=tls_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x", verify=str(tls_server.tls_ca_file),
                       config=Config(retries={"max_attempts": 1}))
    assert tls_server.endpoint_url.startswith("https://")
    url = sqs.create_queue(QueueName="tls-q")["QueueUrl"]
    assert url.startswith("https://")
    sqs.send_message(QueueUrl=url, MessageBody="over tls")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in got] == ["over tls"]


def test_boto3_without_the_ca_refuses_the_server(tls_server: Any) -> None:
    """The certificate is signed by the local CA only: an unconfigured client refuses it."""
    sqs = boto3.client("sqs", endpoint_url=tls_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x",
                       config=Config(retries={"max_attempts": 1}))
    with pytest.raises(Exception, match="(?i)certificate"):
        sqs.list_queues()


def _confluent_round_trip(conf: dict[str, Any], topic: str) -> None:
    producer = Producer(conf)
    producer.produce(topic, value=b"secret payload")
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": f"{topic}-g", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    msg = None
    while msg is None and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
    consumer.close()
    assert msg is not None and msg.error() is None and msg.value() == b"secret payload"


def test_confluent_kafka_ssl(tls_server: Any) -> None:
    """librdkafka with security.protocol=SSL and ssl.ca.location=<the CA>."""
    _confluent_round_trip({"bootstrap.servers": f"127.0.0.1:{tls_server.kafka_port}", "security.protocol": "SSL",
                           "ssl.ca.location": str(tls_server.tls_ca_file)}, "tls-topic")


def test_confluent_kafka_sasl_ssl(tls_sasl_server: Any) -> None:
    """librdkafka with security.protocol=SASL_SSL and SCRAM-SHA-256 as a --user."""
    _confluent_round_trip({"bootstrap.servers": f"127.0.0.1:{tls_sasl_server.kafka_port}",
                           "security.protocol": "SASL_SSL", "ssl.ca.location": str(tls_sasl_server.tls_ca_file),
                           "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": "alice",
                           "sasl.password": "s3cret"}, "sasl-tls-topic")


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_kafka_python_ssl_and_sasl_ssl(tls_sasl_server: Any, tls_server: Any, protocol: str) -> None:
    """kafka-python with security_protocol=SSL (and SASL_SSL, PLAIN) and ssl_cafile."""
    server = tls_sasl_server if protocol == "SASL_SSL" else tls_server
    common: dict[str, Any] = {"bootstrap_servers": f"127.0.0.1:{server.kafka_port}", "security_protocol": protocol,
                              "ssl_cafile": str(server.tls_ca_file)}
    if protocol == "SASL_SSL":
        common.update(sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="s3cret")
    producer = KafkaProducer(**common)
    assert producer.send("kp-tls", value=b"v").get(timeout=30).offset == 0
    producer.close()
    consumer = KafkaConsumer("kp-tls", auto_offset_reset="earliest", consumer_timeout_ms=10000, **common)
    assert [m.value for m in consumer][:1] == [b"v"]
    consumer.close()


def test_pika_amqps(tls_server: Any) -> None:
    """pika with ssl_options (a context trusting the CA) publishes and gets over AMQPS."""
    context = ssl.create_default_context(cafile=str(tls_server.tls_ca_file))
    params = pika.ConnectionParameters("127.0.0.1", tls_server.amqp_port,
                                       ssl_options=pika.SSLOptions(context, "localhost"))
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare("tls-amqp")
    channel.basic_publish("", "tls-amqp", b"amqps body")
    deadline = time.monotonic() + 10
    body = None
    while body is None and time.monotonic() < deadline:
        _, _, body = channel.basic_get("tls-amqp", auto_ack=True)
    assert body == b"amqps body"
    connection.close()


def test_redis_py_tls(tls_sasl_server: Any) -> None:
    """redis-py with ssl=True (rediss://) and AUTH as the --user."""
    client = redis.Redis(host="127.0.0.1", port=tls_sasl_server.redis_port, ssl=True,
                         ssl_ca_certs=str(tls_sasl_server.tls_ca_file), username="alice", password="s3cret")
    client.xadd("tls-stream", {"k": "v"})
    assert client.xlen("tls-stream") == 1
    url = f"rediss://alice:s3cret@localhost:{tls_sasl_server.redis_port}/0?ssl_ca_certs={tls_sasl_server.tls_ca_file}"
    assert redis.Redis.from_url(url).ping()
    client.close()
