"""Per-entity authorization holes closed (issue #23): EventBridge archives, connections
and API destinations are checked by name (archives as streams, connections and API
destinations as routers), and their listings show only what the caller may read; Redis
KEYS and SCAN list only the keys the user may read; SNS Subscribe with an SQS endpoint
needs write on the queue (AWS needs the queue's policy to let SNS send). Each failed
before the fix: the calls were not checked at all.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError

USERS = ("root:rootpw:admin", "alice:alicepw", "bob:bobpw")
ACLS = ("alice:*:*:alice-*", "bob:*:*:bob-*", "alice:*:router:default", "bob:*:router:default",
        "bob:read:stream:shared-*")
ACCOUNT = "000000000000"


@pytest.fixture
def server(mqlite_server_factory: Any) -> Any:
    return mqlite_server_factory(users=USERS, acl=ACLS)


def _aws(server: Any, service: str, user: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=user, aws_secret_access_key=f"{user}pw",
                        config=Config(retries={"max_attempts": 1}))


def _denied(call: Any, code: str = "AccessDeniedException") -> None:
    with pytest.raises(ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] == code


def test_eventbridge_connections_and_api_destinations_are_checked_per_entity(server: Any) -> None:
    alice, bob = _aws(server, "events", "alice"), _aws(server, "events", "bob")
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "secret"}}
    conn = alice.create_connection(Name="alice-conn", AuthorizationType="API_KEY", AuthParameters=auth)["ConnectionArn"]
    alice.create_api_destination(Name="alice-dest", ConnectionArn=conn, HttpMethod="POST",
                                 InvocationEndpoint="https://example.com/hook")
    _denied(lambda: bob.create_connection(Name="alice-conn2", AuthorizationType="API_KEY", AuthParameters=auth))
    _denied(lambda: bob.describe_connection(Name="alice-conn"))
    _denied(lambda: bob.deauthorize_connection(Name="alice-conn"))
    _denied(lambda: bob.delete_connection(Name="alice-conn"))
    _denied(lambda: bob.describe_api_destination(Name="alice-dest"))
    _denied(lambda: bob.delete_api_destination(Name="alice-dest"))
    # bob may not send through alice's connection (its credentials) under a name of his
    _denied(lambda: bob.create_api_destination(Name="bob-dest", ConnectionArn=conn, HttpMethod="POST",
                                               InvocationEndpoint="https://example.com/bob"))
    bob_conn = bob.create_connection(Name="bob-conn", AuthorizationType="API_KEY", AuthParameters=auth)
    assert [c["Name"] for c in bob.list_connections()["Connections"]] == ["bob-conn"]
    assert [c["Name"] for c in alice.list_connections()["Connections"]] == ["alice-conn"]
    assert bob.list_api_destinations()["ApiDestinations"] == []
    assert [d["Name"] for d in alice.list_api_destinations()["ApiDestinations"]] == ["alice-dest"]
    assert alice.describe_connection(Name="alice-conn")["ConnectionState"] in ("AUTHORIZED", "AUTHORIZING")
    assert bob_conn["ConnectionArn"].startswith(f"arn:aws:events:us-east-1:{ACCOUNT}:connection/bob-conn/")
    # a rule target sends through the API destination: write on it
    bob.put_rule(Name="bob-rule", EventPattern=json.dumps({"source": ["app"]}))
    dest_arn = alice.describe_api_destination(Name="alice-dest")["ApiDestinationArn"]
    _denied(lambda: bob.put_targets(Rule="bob-rule", Targets=[{"Id": "1", "Arn": dest_arn}]))


def test_eventbridge_archives_are_checked_per_entity(server: Any) -> None:
    alice, bob = _aws(server, "events", "alice"), _aws(server, "events", "bob")
    bus = alice.create_event_bus(Name="alice-bus")["EventBusArn"]
    archive = alice.create_archive(ArchiveName="alice-arch", EventSourceArn=bus)["ArchiveArn"]
    _denied(lambda: bob.describe_archive(ArchiveName="alice-arch"))
    _denied(lambda: bob.update_archive(ArchiveName="alice-arch", RetentionDays=1))
    _denied(lambda: bob.delete_archive(ArchiveName="alice-arch"))
    _denied(lambda: bob.create_archive(ArchiveName="bob-arch", EventSourceArn=bus))  # reads alice's bus
    bob_bus = bob.create_event_bus(Name="bob-bus")["EventBusArn"]
    _denied(lambda: bob.start_replay(ReplayName="bob-replay", EventSourceArn=archive,
                                     EventStartTime=0, EventEndTime=1, Destination={"Arn": bob_bus}))
    bob.create_archive(ArchiveName="bob-arch", EventSourceArn=bob_bus)
    assert [a["ArchiveName"] for a in bob.list_archives()["Archives"]] == ["bob-arch"]
    assert [a["ArchiveName"] for a in alice.list_archives()["Archives"]] == ["alice-arch"]
    assert [b["Name"] for b in bob.list_event_buses()["EventBuses"]] == ["bob-bus", "default"]
    assert alice.describe_archive(ArchiveName="alice-arch")["ArchiveArn"] == archive


def test_redis_keys_and_scan_list_only_readable_keys(server: Any) -> None:
    alice = redis.Redis(host="127.0.0.1", port=server.redis_port, username="alice", password="alicepw")
    bob = redis.Redis(host="127.0.0.1", port=server.redis_port, username="bob", password="bobpw")
    root = redis.Redis(host="127.0.0.1", port=server.redis_port, username="root", password="rootpw")
    alice.xadd("alice-orders", {"f": "v"})
    bob.xadd("bob-orders", {"f": "v"})
    root.xadd("shared-news", {"f": "v"})
    assert sorted(alice.keys("*")) == [b"alice-orders"]
    assert sorted(bob.keys("*")) == [b"bob-orders", b"shared-news"]
    assert sorted(bob.scan_iter(match="*")) == [b"bob-orders", b"shared-news"]
    assert sorted(alice.scan_iter(count=1)) == [b"alice-orders"]
    assert sorted(root.keys("*")) == [b"alice-orders", b"bob-orders", b"shared-news"]


def test_sns_subscribe_to_a_queue_needs_write_on_it(server: Any) -> None:
    sqs_alice = _aws(server, "sqs", "alice")
    sqs_alice.create_queue(QueueName="alice-inbox")
    sns_bob = _aws(server, "sns", "bob")
    topic = sns_bob.create_topic(Name="bob-topic")["TopicArn"]
    with pytest.raises(ClientError) as info:
        sns_bob.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:alice-inbox")
    err = info.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    assert err["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: sqs:SendMessage on resource: "
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:alice-inbox")
    assert "Subscriptions" not in sns_bob.list_subscriptions_by_topic(TopicArn=topic) or \
        sns_bob.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    _aws(server, "sqs", "bob").create_queue(QueueName="bob-inbox")
    arn = sns_bob.subscribe(TopicArn=topic, Protocol="sqs",
                            Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:bob-inbox")["SubscriptionArn"]
    assert arn.startswith(topic + ":")
