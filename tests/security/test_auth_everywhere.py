"""One user model for every protocol: a `--user` logs in everywhere; with any user
configured every listener requires authentication; refusals are the protocol's own,
logged once per connection without secrets, and the server keeps serving others."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import boto3
import pika
import pika.exceptions
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

SECRET = "pw-0x5eCr3t"


@pytest.fixture
def secured(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(users=(f"alice:{SECRET}:admin", "bob:bobs-pw"))


def _sqs(server: Any, key: str, secret: str) -> Any:
    return boto3.client("sqs", endpoint_url=server.endpoint_url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def _kafka_conf(server: Any, user: str, password: str, mechanism: str = "SCRAM-SHA-512") -> dict[str, Any]:
    return {"bootstrap.servers": f"127.0.0.1:{server.kafka_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password}


def _amqp(server: Any, user: str, password: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", server.amqp_port, credentials=pika.PlainCredentials(user, password),
        connection_attempts=1))


def _no_secret_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in text


def test_one_user_logs_in_on_every_protocol(secured: Any) -> None:
    """The same NAME:SECRET is a SigV4 key, a Kafka SCRAM user, an AMQP PLAIN login
    and a Redis ACL user."""
    sqs = _sqs(secured, "alice", SECRET)
    url = sqs.create_queue(QueueName="everyone")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="from sqs")
    producer = Producer(_kafka_conf(secured, "alice", SECRET))
    producer.produce("kafka-topic", value=b"from kafka")
    assert producer.flush(30) == 0
    connection = _amqp(secured, "bob", "bobs-pw")
    channel = connection.channel()
    channel.queue_declare("amqp-q")
    channel.basic_publish("", "amqp-q", b"from amqp")
    connection.close()
    client = redis.Redis(port=secured.redis_port, username="alice", password=SECRET, protocol=3)
    assert client.ping()
    assert client.acl_whoami() in (b"alice", "alice")


def test_guest_is_not_a_user_once_users_are_configured(secured: Any) -> None:
    """AMQP's default guest:guest does not apply when any user is configured."""
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        _amqp(secured, "guest", "guest")


def test_wrong_amqp_credentials_are_access_refused_logged_once(
        secured: Any, caplog: pytest.LogCaptureFixture) -> None:
    """403 ACCESS_REFUSED (RabbitMQ's text), one log line without the password; the
    right user still connects."""
    with caplog.at_level(logging.INFO, logger="mqlite.amqp"):
        with pytest.raises(pika.exceptions.AMQPConnectionError) as info:
            _amqp(secured, "bob", "not-bobs-pw")
    assert "ACCESS_REFUSED" in repr(info.value) or "403" in repr(info.value)
    refusals = [r.getMessage() for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refusals) == 1 and "'bob'" in refusals[0]
    _no_secret_logged(caplog, "not-bobs-pw")
    _amqp(secured, "bob", "bobs-pw").close()


class RawResp:
    """One plain RESP2 connection: no client-side handshake, replies as raw lines."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.file = self.sock.makefile("rb")

    def call(self, *args: str) -> bytes:
        payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        self.sock.sendall(payload)
        line = self.file.readline()
        if line.startswith((b"*", b"%")):  # an aggregate (HELLO's map): skip its lines
            self.file.read1(65536)
        return line.rstrip(b"\r\n")


def test_redis_commands_before_auth_are_noauth(secured: Any, caplog: pytest.LogCaptureFixture) -> None:
    """With users configured Redis requires AUTH: NOAUTH for commands before it (logged
    once per connection), WRONGPASS for a wrong password, then AUTH works."""
    client = RawResp(secured.redis_port)
    with caplog.at_level(logging.INFO, logger="mqlite.resp"):
        for _ in range(3):
            assert client.call("XADD", "s", "*", "k", "v") == b"-NOAUTH Authentication required."
        assert client.call("AUTH", "alice", "wrong-pw") == (
            b"-WRONGPASS invalid username-password pair or user is disabled.")
    assert len([r for r in caplog.records if "before AUTH" in r.getMessage()]) == 1
    assert len([r for r in caplog.records if "AUTH failed for user 'alice'" in r.getMessage()]) == 1
    _no_secret_logged(caplog, "wrong-pw")
    assert client.call("AUTH", "alice", SECRET) == b"+OK"
    assert client.call("XADD", "s", "*", "k", "v").startswith(b"$")


def test_redis_hello_auth(secured: Any) -> None:
    """HELLO 3 AUTH user pass authenticates too; a wrong one is WRONGPASS."""
    client = RawResp(secured.redis_port)
    assert client.call("HELLO", "3", "AUTH", "bob", "nope").startswith(b"-WRONGPASS")
    assert client.call("HELLO", "3", "AUTH", "bob", "bobs-pw").startswith(b"%")


def test_kafka_scram_with_a_wrong_proof_is_refused(secured: Any, caplog: pytest.LogCaptureFixture) -> None:
    """SCRAM-SHA-512 with a wrong password sends a wrong proof: refused, the
    connection closed and logged (user, never the password); the right user goes on."""
    with caplog.at_level(logging.INFO, logger="mqlite.kafka"):
        admin = AdminClient({**_kafka_conf(secured, "alice", "guessed-pw"), "socket.timeout.ms": 3000})
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=5)
    failures = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert failures and all("SCRAM-SHA-512" in m and "'alice'" in m for m in failures)
    _no_secret_logged(caplog, "guessed-pw")
    producer = Producer(_kafka_conf(secured, "alice", SECRET, "PLAIN"))
    producer.produce("still-served", value=b"x")
    assert producer.flush(30) == 0


def test_aws_requires_a_known_key_and_its_secret(secured: Any, caplog: pytest.LogCaptureFixture) -> None:
    """SigV4 with an unknown key id is InvalidClientTokenId, with a wrong secret
    SignatureDoesNotMatch; each logged with the key id only."""
    with caplog.at_level(logging.INFO, logger="mqlite.aws"):
        with pytest.raises(ClientError) as info:
            _sqs(secured, "mallory", "whatever-pw").list_queues()
        assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"
        with pytest.raises(ClientError) as info:
            _sqs(secured, "alice", "wrong-sigv4-pw").list_queues()
        assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 2
    _no_secret_logged(caplog, "whatever-pw", "wrong-sigv4-pw", SECRET)
    assert _sqs(secured, "bob", "bobs-pw").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_startup_states_the_auth_mode_of_each_listener(
        mqlite_server_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mqlite.server"):
        mqlite_server_factory(users=("alice:pw",))
        mqlite_server_factory()
    lines = [r.getMessage() for r in caplog.records if " auth: " in r.getMessage()]
    assert {line.split(" ")[0] for line in lines} == {"http", "kafka", "amqp", "redis", "mqtt", "stomp"}
    assert "redis auth: AUTH required (1 users); plaintext" in lines
    assert "mqtt auth: user name and password required (1 users); plaintext" in lines
    assert "mqtt auth: no authentication (anonymous); plaintext" in lines
    assert "amqp auth: guest:guest from loopback only; plaintext" in lines
    assert any(line.startswith("kafka auth: SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 required") for line in lines)


def test_failed_logins_count_per_address_across_protocols(secured: Any) -> None:
    """One failure each on Redis, AMQP and the AWS API adds up for 127.0.0.1 in the
    server's one failure count (`mqlite.security.throttle`), which slows the next ones."""
    from mqlite.security import throttle

    assert RawResp(secured.redis_port).call("AUTH", "bob", "x").startswith(b"-WRONGPASS")
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        _amqp(secured, "bob", "y")
    with pytest.raises(ClientError):
        _sqs(secured, "bob", "z").list_queues()
    count, _ = throttle.for_server(secured.core).failures["127.0.0.1"]
    assert count == 3
    assert throttle.delay_for(count + 1) > 0
