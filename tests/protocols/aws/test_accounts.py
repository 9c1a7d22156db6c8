"""AWS access keys map to accounts (issue #23 item 3): two keys, two accounts, two isolated
sets of SQS queues, SNS topics, Kinesis streams, Firehose delivery streams and EventBridge
buses and rules, each URL and ARN carrying its account (protocols/aws/namespace.py).

`--aws-account-of bob:111122223333` puts bob's key in account 111122223333; alice acts in
the server's account (`--aws-account`). Names are per account, so both may own `orders`.
Another account's entity named by URL or ARN resolves to that account's entity, as AWS
resolves it, and authorization then decides: with authentication on, cross-account access
needs the `admin` role or a rule naming the entity's core name (`111122223333:orders`),
even while no rule exists at all. Driven with boto3 against a real server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HOME = "000000000000"
BOB = "111122223333"
USERS = ("root:rootpw:admin", "alice:alicepw", "bob:bobpw")


@pytest.fixture
def server(mqlite_server_factory: Any) -> Any:
    return mqlite_server_factory(users=USERS, aws_accounts=(("bob", BOB),))


def client(server: Any, service: str, user: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name=region,
                        aws_access_key_id=user, aws_secret_access_key=f"{user}pw",
                        config=Config(retries={"max_attempts": 1}))


def _objects(root: Path) -> list[Path]:
    """The objects Firehose wrote under `root`, once there is one (20 s at most)."""
    deadline = time.monotonic() + 20
    while True:
        found = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _code(info: Any) -> str:
    return str(info.value.response["Error"]["Code"])


def test_each_key_sees_its_own_accounts_queues(server: Any) -> None:
    alice, bob = client(server, "sqs", "alice"), client(server, "sqs", "bob")
    a_url = alice.create_queue(QueueName="orders")["QueueUrl"]
    b_url = bob.create_queue(QueueName="orders")["QueueUrl"]
    assert a_url.endswith(f"/{HOME}/orders") and b_url.endswith(f"/{BOB}/orders")
    alice.send_message(QueueUrl=a_url, MessageBody="alice's")
    bob.send_message(QueueUrl=b_url, MessageBody="bob's")
    assert [m["Body"] for m in bob.receive_message(QueueUrl=b_url)["Messages"]] == ["bob's"]
    assert [m["Body"] for m in alice.receive_message(QueueUrl=a_url)["Messages"]] == ["alice's"]
    assert alice.list_queues()["QueueUrls"] == [a_url]
    assert bob.list_queues()["QueueUrls"] == [b_url]
    assert bob.get_queue_url(QueueName="orders")["QueueUrl"] == b_url
    arn = bob.get_queue_attributes(QueueUrl=b_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == f"arn:aws:sqs:us-east-1:{BOB}:orders"
    # the home account keeps bare core names (data dirs of before accounts still work)
    assert sorted(server.call(lambda: server.core.list_queues(""))) == ["111122223333:orders", "orders"]


def test_another_accounts_queue_is_refused_by_url(server: Any) -> None:
    alice, bob = client(server, "sqs", "alice"), client(server, "sqs", "bob")
    a_url = alice.create_queue(QueueName="private")["QueueUrl"]
    alice.send_message(QueueUrl=a_url, MessageBody="secret")
    with pytest.raises(ClientError) as info:
        bob.get_queue_url(QueueName="private")  # bob's account has no such queue
    assert _code(info) == "AWS.SimpleQueueService.NonExistentQueue"
    for call in (lambda: bob.receive_message(QueueUrl=a_url),
                 lambda: bob.send_message(QueueUrl=a_url, MessageBody="x"),
                 lambda: bob.get_queue_attributes(QueueUrl=a_url, AttributeNames=["All"]),
                 lambda: bob.purge_queue(QueueUrl=a_url),
                 lambda: bob.delete_queue(QueueUrl=a_url),
                 lambda: bob.get_queue_url(QueueName="private", QueueOwnerAWSAccountId=HOME)):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "AccessDenied"
        assert info.value.response["Error"]["Message"].startswith(f"User: arn:aws:iam::{BOB}:user/bob is not")
    # the admin may cross accounts; alice's message is untouched
    root = client(server, "sqs", "root")
    assert [m["Body"] for m in root.receive_message(QueueUrl=a_url)["Messages"]] == ["secret"]


def test_dead_letter_queue_must_be_in_the_same_account(server: Any) -> None:
    alice, bob = client(server, "sqs", "alice"), client(server, "sqs", "bob")
    a_url = alice.create_queue(QueueName="dlq")["QueueUrl"]
    a_arn = alice.get_queue_attributes(QueueUrl=a_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": a_arn, "maxReceiveCount": 1})
    with pytest.raises(ClientError) as info:
        bob.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})
    assert _code(info) == "InvalidAttributeValue"
    b_dlq = bob.create_queue(QueueName="dlq")["QueueUrl"]
    b_arn = bob.get_queue_attributes(QueueUrl=b_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = bob.create_queue(QueueName="src", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": b_arn, "maxReceiveCount": 1})})["QueueUrl"]
    got = bob.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(got["RedrivePolicy"])["deadLetterTargetArn"] == f"arn:aws:sqs:us-east-1:{BOB}:dlq"
    with pytest.raises(ClientError) as info:
        bob.start_message_move_task(SourceArn=a_arn)
    assert _code(info) == "AccessDenied"


def test_topics_are_per_account_and_another_accounts_arn_is_refused(server: Any) -> None:
    alice, bob = client(server, "sns", "alice"), client(server, "sns", "bob")
    a_arn = alice.create_topic(Name="events")["TopicArn"]
    b_arn = bob.create_topic(Name="events")["TopicArn"]
    assert (a_arn, b_arn) == (f"arn:aws:sns:us-east-1:{HOME}:events", f"arn:aws:sns:us-east-1:{BOB}:events")
    assert [t["TopicArn"] for t in alice.list_topics()["Topics"]] == [a_arn]
    assert [t["TopicArn"] for t in bob.list_topics()["Topics"]] == [b_arn]
    assert bob.get_topic_attributes(TopicArn=b_arn)["Attributes"]["TopicArn"] == b_arn
    sub = alice.subscribe(TopicArn=a_arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{HOME}:q")
    for call in (lambda: bob.get_topic_attributes(TopicArn=a_arn),
                 lambda: bob.publish(TopicArn=a_arn, Message="x"),
                 lambda: bob.delete_topic(TopicArn=a_arn),
                 lambda: bob.list_subscriptions_by_topic(TopicArn=a_arn),
                 lambda: bob.list_tags_for_resource(ResourceArn=a_arn),
                 lambda: bob.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"]),
                 lambda: bob.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "AuthorizationError"
    assert [t["TopicArn"] for t in alice.list_topics()["Topics"]] == [a_arn]  # still there


def test_sns_to_sqs_across_accounts_needs_a_grant_on_the_queue(server: Any) -> None:
    """A subscription writes into its queue: subscribing another account's queue is
    refused unless granted (here: the admin), and then delivers there."""
    alice_sns, bob_sqs = client(server, "sns", "alice"), client(server, "sqs", "bob")
    topic = alice_sns.create_topic(Name="fanout")["TopicArn"]
    b_url = bob_sqs.create_queue(QueueName="inbox")["QueueUrl"]
    b_arn = f"arn:aws:sqs:us-east-1:{BOB}:inbox"
    with pytest.raises(ClientError) as info:
        alice_sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=b_arn)
    assert _code(info) == "AuthorizationError"
    # a same-name queue of alice's own account is not bob's
    alice_sqs = client(server, "sqs", "alice")
    a_url = alice_sqs.create_queue(QueueName="inbox")["QueueUrl"]
    alice_sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{HOME}:inbox",
                        Attributes={"RawMessageDelivery": "true"})
    client(server, "sns", "root").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=b_arn,
                                            Attributes={"RawMessageDelivery": "true"})
    alice_sns.publish(TopicArn=topic, Message="hello")
    assert [m["Body"] for m in bob_sqs.receive_message(QueueUrl=b_url, WaitTimeSeconds=5)["Messages"]] == ["hello"]
    assert [m["Body"] for m in alice_sqs.receive_message(QueueUrl=a_url, WaitTimeSeconds=5)["Messages"]] == ["hello"]
    subs = client(server, "sns", "bob").list_subscriptions().get("Subscriptions", [])
    assert subs == []  # the subscription is alice's topic's, listed in her account


def test_kinesis_streams_are_per_account(server: Any) -> None:
    alice, bob = client(server, "kinesis", "alice"), client(server, "kinesis", "bob")
    alice.create_stream(StreamName="clicks", ShardCount=1)
    bob.create_stream(StreamName="clicks", ShardCount=2)
    a = alice.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]
    b = bob.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]
    assert (a["OpenShardCount"], b["OpenShardCount"]) == (1, 2)
    assert a["StreamARN"] == f"arn:aws:kinesis:us-east-1:{HOME}:stream/clicks"
    assert b["StreamARN"] == f"arn:aws:kinesis:us-east-1:{BOB}:stream/clicks"
    assert b["StreamName"] == "clicks"
    bob.create_stream(StreamName="bobs-only", ShardCount=1)
    assert alice.list_streams()["StreamNames"] == ["clicks"]
    assert bob.list_streams()["StreamNames"] == ["bobs-only", "clicks"]
    bob.put_record(StreamName="clicks", Data=b"b", PartitionKey="k")
    for call in (lambda: bob.describe_stream_summary(StreamARN=a["StreamARN"]),
                 lambda: bob.put_record(StreamARN=a["StreamARN"], Data=b"x", PartitionKey="k"),
                 lambda: bob.delete_stream(StreamARN=a["StreamARN"]),
                 lambda: bob.list_tags_for_resource(ResourceARN=a["StreamARN"]),
                 lambda: bob.put_resource_policy(ResourceARN=a["StreamARN"], Policy="{}")):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as info:
        alice.describe_stream_summary(StreamName="bobs-only")
    assert _code(info) == "ResourceNotFoundException"


def test_firehose_delivery_streams_are_per_account(mqlite_server_factory: Any, tmp_path: Any) -> None:
    server = mqlite_server_factory(users=USERS, aws_accounts=(("bob", BOB),), s3_dir=tmp_path / "s3")
    alice, bob = client(server, "firehose", "alice"), client(server, "firehose", "bob")
    dest = {"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::bucket",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}
    alice.create_delivery_stream(DeliveryStreamName="logs", S3DestinationConfiguration=dest)
    bob.create_delivery_stream(DeliveryStreamName="logs", S3DestinationConfiguration=dest)
    bob.create_delivery_stream(DeliveryStreamName="bob-logs", S3DestinationConfiguration=dest)
    assert alice.list_delivery_streams()["DeliveryStreamNames"] == ["logs"]
    assert bob.list_delivery_streams()["DeliveryStreamNames"] == ["bob-logs", "logs"]
    desc = bob.describe_delivery_stream(DeliveryStreamName="logs")["DeliveryStreamDescription"]
    assert desc["DeliveryStreamName"] == "logs"
    assert desc["DeliveryStreamARN"] == f"arn:aws:firehose:us-east-1:{BOB}:deliverystream/logs"
    bob.put_record(DeliveryStreamName="logs", Record={"Data": b"bob"})
    found = _objects(tmp_path / "s3")  # the object key names the delivery stream as Firehose does
    assert [p.name.split("-")[0] for p in found] == ["logs"] and found[0].read_bytes() == b"bob"
    with pytest.raises(ClientError) as info:
        alice.describe_delivery_stream(DeliveryStreamName="bob-logs")
    assert _code(info) == "ResourceNotFoundException"
    # the buffers are internal in every account: invisible to Kinesis
    assert client(server, "kinesis", "bob").list_streams()["StreamNames"] == []


def test_eventbridge_buses_and_rules_are_per_account(server: Any) -> None:
    alice, bob = client(server, "events", "alice"), client(server, "events", "bob")
    a_default = alice.describe_event_bus()["Arn"]
    b_default = bob.describe_event_bus()["Arn"]
    assert (a_default, b_default) == (f"arn:aws:events:us-east-1:{HOME}:event-bus/default",
                                      f"arn:aws:events:us-east-1:{BOB}:event-bus/default")
    b_bus = bob.create_event_bus(Name="orders")["EventBusArn"]
    assert b_bus == f"arn:aws:events:us-east-1:{BOB}:event-bus/orders"
    assert [b["Name"] for b in alice.list_event_buses()["EventBuses"]] == ["default"]
    assert sorted(b["Name"] for b in bob.list_event_buses()["EventBuses"]) == ["default", "orders"]
    bob.put_rule(Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["app"]}))
    assert bob.describe_rule(Name="r", EventBusName="orders")["Arn"] == f"arn:aws:events:us-east-1:{BOB}:rule/orders/r"
    alice.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
    assert [r["Name"] for r in bob.list_rules()["Rules"]] == []  # bob's default bus has none
    with pytest.raises(ClientError) as info:
        alice.describe_event_bus(Name="orders")
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:  # DeleteEventBus takes a name (model pattern), not an ARN
        alice.delete_event_bus(Name=b_bus)
    assert _code(info) == "ValidationException"
    for call in (lambda: alice.describe_event_bus(Name=b_bus),
                 lambda: alice.put_rule(Name="x", EventBusName=b_bus, EventPattern='{"source": ["a"]}'),
                 lambda: alice.describe_rule(Name="r", EventBusName=b_bus),
                 lambda: alice.list_targets_by_rule(Rule="r", EventBusName=b_bus)):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as info:
        alice.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": "{}", "EventBusName": b_bus}])
    assert _code(info) == "AccessDeniedException"


def test_eventbridge_targets_in_another_account_need_a_grant(server: Any) -> None:
    alice, sqs_bob = client(server, "events", "alice"), client(server, "sqs", "bob")
    sqs_bob.create_queue(QueueName="events-in")
    alice.put_rule(Name="to-bob", EventPattern=json.dumps({"source": ["app"]}))
    with pytest.raises(ClientError) as info:
        alice.put_targets(Rule="to-bob", Targets=[{"Id": "1", "Arn": f"arn:aws:sqs:us-east-1:{BOB}:events-in"}])
    assert _code(info) == "AccessDeniedException"


def test_a_user_in_two_requests_keeps_its_account_and_unknown_names_stay_unknown(server: Any) -> None:
    """A queue name holding the namespace separators is no AWS name: not a way in."""
    alice, bob = client(server, "sqs", "alice"), client(server, "sqs", "bob")
    bob.create_queue(QueueName="hidden")
    base = server.endpoint_url
    with pytest.raises(ClientError) as info:
        alice.get_queue_attributes(QueueUrl=f"{base}/{HOME}/{BOB}%3Ahidden", AttributeNames=["All"])
    assert _code(info) == "AWS.SimpleQueueService.NonExistentQueue"


def test_accounts_survive_a_restart(mqlite_server_factory: Any, tmp_path: Any) -> None:
    data = tmp_path / "d"
    first = mqlite_server_factory(users=USERS, aws_accounts=(("bob", BOB),), data_dir=data)
    client(first, "sqs", "bob").create_queue(QueueName="kept")
    client(first, "sns", "bob").create_topic(Name="kept")
    first.stop()
    again = mqlite_server_factory(users=USERS, aws_accounts=(("bob", BOB),), data_dir=data)
    assert client(again, "sqs", "bob").list_queues()["QueueUrls"][0].endswith(f"/{BOB}/kept")
    assert [t["TopicArn"] for t in client(again, "sns", "bob").list_topics()["Topics"]] == [
        f"arn:aws:sns:us-east-1:{BOB}:kept"]
    assert "QueueUrls" not in client(again, "sqs", "alice").list_queues()
