# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""SASL (KIP-43/152; RFC 4616 PLAIN, RFC 5802/7677 SCRAM) with real clients."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory

from kafka import KafkaProducer
from kafka.errors import KafkaError

USERS = (("alice", "s3cret"), ("bob", "hunter2"))


@pytest.fixture
def secured(kafka_factory: Any) -> Any:
    return kafka_factory(kafka_users=USERS)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_authenticates_with_each_mechanism(secured: Any, mechanism: str) -> None:
    """A configured user authenticates with PLAIN or SCRAM and can then produce."""
    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{secured.kafka_port}", security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism=mechanism, sasl_plain_username="alice", sasl_plain_password="s3cret")
    meta = producer.send("secure", value=b"x").get(timeout=30)
    assert meta.offset == 0
    producer.close()


def test_kafka_python_with_a_wrong_password_is_refused(secured: Any) -> None:
    """A wrong password is SASL_AUTHENTICATION_FAILED; the client cannot connect."""
    with pytest.raises(KafkaError):
        producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{secured.kafka_port}",
                                 security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                                 sasl_plain_username="alice", sasl_plain_password="wrong", max_block_ms=3000,
                                 bootstrap_timeout_ms=2000)
        producer.send("secure", value=b"x").get(timeout=5)


def test_confluent_scram_sha_512_round_trip(secured: Any) -> None:
    """librdkafka's SCRAM-SHA-512 produce and consume."""
    conf = {"bootstrap.servers": f"127.0.0.1:{secured.kafka_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "bob", "sasl.password": "hunter2"}
    producer = Producer(conf)
    producer.produce("scram", value=b"hello")
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": "scram-g", "auto.offset.reset": "earliest"})
    consumer.subscribe(["scram"])
    deadline = time.monotonic() + 30
    msg = None
    while msg is None and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
    assert msg is not None and msg.error() is None and msg.value() == b"hello"
    consumer.close()


def test_requests_before_authentication_close_the_connection(secured: Any) -> None:
    """With SASL enabled only ApiVersions and the SASL requests are served before
    authentication; anything else closes the connection."""
    c = RawClient("127.0.0.1", secured.kafka_port)
    assert c.request(18, 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})["ErrorCode"] == 0
    handshake = c.request(17, 1, {"Mechanism": "GSSAPI"})
    assert handshake["ErrorCode"] == 33 and "PLAIN" in handshake["Mechanisms"]
    c.send(3, 5, {"Topics": None, "AllowAutoTopicCreation": False})
    assert c.is_closed_by_server()


def test_wrong_plain_password_is_refused_and_the_connection_closed(secured: Any) -> None:
    """SaslAuthenticate with a wrong password answers SASL_AUTHENTICATION_FAILED (58),
    then the server closes the connection (Kafka's SaslServerAuthenticator): one guess
    per connection. A new connection with the right password succeeds."""
    c = RawClient("127.0.0.1", secured.kafka_port)
    assert c.request(17, 1, {"Mechanism": "PLAIN"})["ErrorCode"] == 0
    bad = c.request(36, 1, {"AuthBytes": b"\0alice\0nope"})
    assert bad["ErrorCode"] == 58 and bad["ErrorMessage"]
    assert c.is_closed_by_server()
    c = RawClient("127.0.0.1", secured.kafka_port)
    assert c.request(17, 1, {"Mechanism": "PLAIN"})["ErrorCode"] == 0
    good = c.request(36, 1, {"AuthBytes": b"\0alice\0s3cret"})
    assert good["ErrorCode"] == 0
    assert c.request(3, 5, {"Topics": None, "AllowAutoTopicCreation": False})["Brokers"][0]["NodeId"] == 0
    c.close()
