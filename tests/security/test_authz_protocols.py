"""One rule set, every protocol (issue #23, item 3): SQS, AMQP and Redis clients of the
same users meet the same rules (security/authz.py), each refused with its own error:
SQS `AccessDenied` (403, IAM's "User: ... is not authorized to perform: sqs:<Action> on
resource: ..."), AMQP channel close 403 ACCESS_REFUSED ("access to queue 'q' in vhost
'/' refused for user 'bob'", as RabbitMQ words a missing configure/write/read
permission), Redis `NOPERM User bob has no permissions to access the 'k' key`. Redis
ACL WHOAMI / ACL LIST read the rules and ACL SETUSER adds to them (admin only), and a
rule added through Redis is a Kafka ACL too. A refused client does not disturb others.
"""

from __future__ import annotations

from typing import Any

import boto3
import kafka.admin
import pika
import pika.exceptions
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError
from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter, ResourceType

USERS = ("root:rootpw:admin", "alice:alicepw", "bob:bobpw")
ACLS = ("alice:*:queue:alice-*", "alice:write:router:amq.default", "alice:*:stream:alice-*",
        "alice:*:channel:alice.*", "bob:read:queue:alice-shared")


@pytest.fixture
def server(mqlite_server_factory: Any) -> Any:
    return mqlite_server_factory(users=USERS, acl=ACLS)


def _sqs(server: Any, user: str) -> Any:
    return boto3.client("sqs", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=user, aws_secret_access_key=f"{user}pw",
                        config=Config(retries={"max_attempts": 1}))


def _amqp(server: Any, user: str) -> Any:
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", server.amqp_port, credentials=pika.PlainCredentials(user, f"{user}pw")))


def _redis(server: Any, user: str) -> Any:
    return redis.Redis(host="127.0.0.1", port=server.redis_port, username=user, password=f"{user}pw")


def test_sqs_users_meet_their_rules(server) -> None:
    alice, bob = _sqs(server, "alice"), _sqs(server, "bob")
    url = alice.create_queue(QueueName="alice-shared")["QueueUrl"]
    alice.send_message(QueueUrl=url, MessageBody="for bob")
    with pytest.raises(ClientError) as info:
        alice.create_queue(QueueName="bobs-queue")
    err = info.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert err["Error"]["Message"] == (
        "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: sqs:CreateQueue "
        "on resource: arn:aws:sqs:us-east-1:000000000000:bobs-queue")
    with pytest.raises(ClientError) as info:
        bob.send_message(QueueUrl=url, MessageBody="not allowed")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        bob.purge_queue(QueueUrl=url)
    assert [m["Body"] for m in bob.receive_message(QueueUrl=url)["Messages"]] == ["for bob"]
    assert _sqs(server, "root").create_queue(QueueName="anything")["QueueUrl"].endswith("/anything")


def test_amqp_users_meet_their_rules_as_vhost_permissions(server) -> None:
    conn = _amqp(server, "alice")
    ch = conn.channel()
    ch.queue_declare("alice-q")
    ch.basic_publish("", "alice-q", b"hello")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare("bobs-q")  # configure permission
    assert info.value.reply_code == 403
    assert info.value.reply_text == "ACCESS_REFUSED - access to queue 'bobs-q' in vhost '/' refused for user 'alice'"
    ch = conn.channel()  # the connection serves on
    method, _props, body = ch.basic_get("alice-q", auto_ack=True)
    assert body == b"hello"
    bob = _amqp(server, "bob")
    bch = bob.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        bch.basic_get("alice-q")  # read permission
    assert (info.value.reply_code, info.value.reply_text) == (
        403, "ACCESS_REFUSED - access to queue 'alice-q' in vhost '/' refused for user 'bob'")
    bch = bob.channel()
    bch.confirm_delivery()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        bch.basic_publish("", "alice-q", b"x")  # write permission on the exchange
    assert info.value.reply_text == (
        "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'bob'")
    bob.close()
    conn.close()


def test_redis_users_meet_their_rules_and_acl_commands_share_them(server) -> None:
    alice, bob, root = _redis(server, "alice"), _redis(server, "bob"), _redis(server, "root")
    alice.xadd("alice-s", {"f": "v"})
    with pytest.raises(redis.exceptions.NoPermissionError) as info:
        alice.xadd("elsewhere", {"f": "v"})
    assert str(info.value) == "User alice has no permissions to access the 'elsewhere' key"
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.xrange("alice-s")
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.xread({"alice-s": "0-0"})
    with pytest.raises(redis.exceptions.NoPermissionError) as info:
        alice.publish("bob.news", "x")
    assert str(info.value) == "User alice has no permissions to access the 'bob.news' channel"
    assert alice.publish("alice.news", "x") == 0
    assert alice.acl_whoami() == "alice"
    lines = [line.decode() if isinstance(line, bytes) else line for line in root.execute_command("ACL", "LIST")]
    assert "user alice on sanitize-payload %RW~alice-* &alice.* +@all" in lines
    with pytest.raises(redis.exceptions.NoPermissionError):
        alice.execute_command("ACL", "SETUSER", "alice", "~*")
    assert root.execute_command("ACL", "SETUSER", "bob", "%R~alice-s") in (b"OK", "OK", True)
    assert [fields for _id, fields in bob.xrange("alice-s")] == [{b"f": b"v"}]
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.xadd("alice-s", {"f": "w"})
    admin = kafka.admin.KafkaAdminClient(
        bootstrap_servers=f"127.0.0.1:{server.kafka_port}", security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN", sasl_plain_username="root", sasl_plain_password="rootpw")
    try:
        acls, _err = admin.describe_acls(ACLFilter(
            principal="User:bob", host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, None, ACLResourcePatternType.ANY)))
        assert [(a.operation, a.resource_pattern.resource_name) for a in acls] == [(ACLOperation.READ, "alice-s")]
    finally:
        admin.close()


def _aws(server: Any, service: str, user: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=user, aws_secret_access_key=f"{user}pw",
                        config=Config(retries={"max_attempts": 1}))


def test_aws_lists_show_only_readable_entities_and_every_service_checks(server) -> None:
    alice, bob = _sqs(server, "alice"), _sqs(server, "bob")
    alice.create_queue(QueueName="alice-shared")
    alice.create_queue(QueueName="alice-private")
    assert [u.rsplit("/", 1)[-1] for u in bob.list_queues().get("QueueUrls", [])] == ["alice-shared"]
    assert sorted(u.rsplit("/", 1)[-1] for u in alice.list_queues()["QueueUrls"]) == ["alice-private", "alice-shared"]
    kinesis = _aws(server, "kinesis", "bob")
    with pytest.raises(ClientError) as info:
        kinesis.create_stream(StreamName="bob-stream", ShardCount=1)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    events = _aws(server, "events", "bob")
    with pytest.raises(ClientError) as info:
        events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}"}])
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    firehose = _aws(server, "firehose", "alice")
    firehose.create_delivery_stream(DeliveryStreamName="alice-fh", ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::alice-bucket"})
    assert _aws(server, "firehose", "bob").list_delivery_streams()["DeliveryStreamNames"] == []
    with pytest.raises(ClientError) as info:
        _aws(server, "firehose", "bob").put_record(DeliveryStreamName="alice-fh", Record={"Data": b"x"})
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
