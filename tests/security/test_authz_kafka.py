"""Authorization on Kafka (issue #23, item 3), with confluent-kafka and kafka-python over
SASL PLAIN against a real server.

Rules (security/authz.py; Kafka's authorizer is the model): with rules configured, a
user needs an allow rule for the topic (`stream`) or consumer group (`group`) and the
operation; a refused produce, fetch, list-offsets or metadata answer is
TOPIC_AUTHORIZATION_FAILED, a refused group GROUP_AUTHORIZATION_FAILED; the `admin`
role may do everything and manage ACLs (DescribeAcls/CreateAcls/DeleteAcls read and
write the same rules as every other protocol); others get CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import uuid
from typing import Any

import confluent_kafka
import kafka.admin
import kafka.errors
import pytest
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                         ResourcePattern, ResourcePatternFilter, ResourceType)

USERS = ("root:rootpw:admin", "alice:alicepw", "bob:bobpw")
ACLS = ("alice:read+write+create:stream:orders-*", "alice:read:group:alice-*")


@pytest.fixture
def server(mqlite_server_factory: Any) -> Any:
    return mqlite_server_factory(http_port=None, amqp_port=None, redis_port=None, users=USERS, acl=ACLS)


def _conf(server: Any, user: str) -> dict[str, Any]:
    return {"bootstrap.servers": f"127.0.0.1:{server.kafka_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": f"{user}pw"}


def _produce(server: Any, user: str, topic: str, value: bytes = b"v") -> Any:
    producer = confluent_kafka.Producer({**_conf(server, user), "message.send.max.retries": 0,
                                         "message.timeout.ms": 10000})
    errors: list[Any] = []
    producer.produce(topic, value, on_delivery=lambda err, _m: errors.append(err))
    assert producer.flush(15) == 0
    return errors[0]


def _consume(server: Any, user: str, topic: str, group: str) -> list[Any]:
    consumer = confluent_kafka.Consumer({**_conf(server, user), "group.id": group,
                                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        got: list[Any] = []
        for _ in range(40):
            msg = consumer.poll(0.5)
            if msg is not None:
                got.append(msg)
                if msg.error() is not None or msg.value() is not None:
                    break
        return got
    finally:
        consumer.close()


def _admin(server: Any, user: str) -> Any:
    return kafka.admin.KafkaAdminClient(
        bootstrap_servers=f"127.0.0.1:{server.kafka_port}", security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN", sasl_plain_username=user, sasl_plain_password=f"{user}pw")


def test_topic_rules_allow_and_refuse_produce(server) -> None:
    assert _produce(server, "alice", "orders-1") is None  # allowed, auto-created
    err = _produce(server, "alice", "payments")
    assert err is not None and err.code() == confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED
    err = _produce(server, "bob", "orders-1")
    assert err is not None and err.code() == confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _produce(server, "root", "payments") is None  # the admin role may do everything


def test_group_rules_allow_and_refuse_consume(server) -> None:
    assert _produce(server, "alice", "orders-2", b"hello") is None
    got = _consume(server, "alice", "orders-2", "alice-g")
    assert [m.value() for m in got if m.error() is None] == [b"hello"]
    refused = _consume(server, "alice", "orders-2", "someone-elses")
    assert [m.error().code() for m in refused if m.error() is not None][:1] == [
        confluent_kafka.KafkaError.GROUP_AUTHORIZATION_FAILED]


def test_acls_are_read_and_written_through_kafka_admin(server) -> None:
    assert _produce(server, "root", "ledger") is None
    assert _produce(server, "bob", "ledger") .code() == confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED
    admin = _admin(server, "root")
    try:
        acls, error = admin.describe_acls(ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                                    permission_type=ACLPermissionType.ANY,
                                                    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                                                     ACLResourcePatternType.ANY)))
        assert error is kafka.errors.NoError
        seen = {(a.principal, a.operation, a.resource_pattern.resource_type, a.resource_pattern.resource_name,
                 a.resource_pattern.pattern_type) for a in acls}
        assert ("User:alice", ACLOperation.WRITE, ResourceType.TOPIC, "orders-",
                ACLResourcePatternType.PREFIXED) in seen
        assert ("User:alice", ACLOperation.READ, ResourceType.GROUP, "alice-",
                ACLResourcePatternType.PREFIXED) in seen
        grant = ACL(principal="User:bob", host="*", operation=ACLOperation.WRITE,
                    permission_type=ACLPermissionType.ALLOW,
                    resource_pattern=ResourcePattern(ResourceType.TOPIC, "ledger", ACLResourcePatternType.LITERAL))
        created = admin.create_acls([grant])
        assert created["failed"] == [] and len(created["succeeded"]) == 1
        assert _produce(server, "bob", "ledger") is None
        deleted = admin.delete_acls([ACLFilter(principal="User:bob", host="*", operation=ACLOperation.ANY,
                                               permission_type=ACLPermissionType.ANY,
                                               resource_pattern=ResourcePattern(
                                                   ResourceType.TOPIC, "ledger", ACLResourcePatternType.LITERAL))])
        (_filter, matched, err), = deleted
        assert err is kafka.errors.NoError and len(matched) == 1
        assert _produce(server, "bob", "ledger").code() == confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        admin.close()


def test_only_admins_manage_acls(server) -> None:
    admin = _admin(server, "alice")
    try:
        with pytest.raises(kafka.errors.ClusterAuthorizationFailedError):
            admin.describe_acls(ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                          permission_type=ACLPermissionType.ANY,
                                          resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                                           ACLResourcePatternType.ANY)))
        name = f"x-{uuid.uuid4().hex[:6]}"
        result = admin.create_acls([ACL(principal="User:alice", host="*", operation=ACLOperation.ALL,
                                        permission_type=ACLPermissionType.ALLOW,
                                        resource_pattern=ResourcePattern(ResourceType.TOPIC, name,
                                                                         ACLResourcePatternType.LITERAL))])
        assert result["succeeded"] == [] and len(result["failed"]) == 1
    finally:
        admin.close()
