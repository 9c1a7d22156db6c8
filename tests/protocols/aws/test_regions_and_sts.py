"""Regions are isolated (issue #19) and STS AssumeRole acts in the role's account.

A queue, topic, stream or bus created in one region is invisible in another, and its URL
and ARN carry the request's region (the SigV4 credential scope's), as AWS; the server's
default account in its default region keeps bare core names (protocols/aws/namespace.py).
AssumeRole returns temporary credentials (AccessKeyId/SecretAccessKey/SessionToken) whose
requests act in the role ARN's account (moto's `test_sqs_multiaccount.py` scenario);
GetCallerIdentity answers the assumed role. Driven with boto3 against a real server.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HOME = "000000000000"


def client(server: Any, service: str, region: str = "us-east-1", key: str = "test", secret: str = "test",
           token: str | None = None) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 1}))


def _code(info: Any) -> str:
    return str(info.value.response["Error"]["Code"])


def test_sqs_queues_are_per_region(mqlite_server: Any) -> None:
    east, west = client(mqlite_server, "sqs"), client(mqlite_server, "sqs", "us-west-2")
    e_url = east.create_queue(QueueName="jobs")["QueueUrl"]
    w_url = west.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    west.create_queue(QueueName="west-only")
    assert [u.rsplit("/", 1)[-1] for u in west.list_queues()["QueueUrls"]] == ["jobs", "west-only"]
    assert [u.rsplit("/", 1)[-1] for u in east.list_queues()["QueueUrls"]] == ["jobs"]
    assert west.list_queues(QueueNamePrefix="west")["QueueUrls"] == [w_url.replace("jobs", "west-only")]
    with pytest.raises(ClientError) as info:
        east.get_queue_url(QueueName="west-only")
    assert _code(info) == "AWS.SimpleQueueService.NonExistentQueue"
    attrs = west.get_queue_attributes(QueueUrl=w_url, AttributeNames=["QueueArn", "VisibilityTimeout"])["Attributes"]
    assert attrs == {"QueueArn": f"arn:aws:sqs:us-west-2:{HOME}:jobs", "VisibilityTimeout": "7"}
    assert east.get_queue_attributes(QueueUrl=e_url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "30"}
    west.send_message(QueueUrl=w_url, MessageBody="west")
    assert "Messages" not in east.receive_message(QueueUrl=e_url)
    assert [m["Body"] for m in west.receive_message(QueueUrl=w_url)["Messages"]] == ["west"]
    # the default region keeps the bare core name; another region's is qualified
    assert sorted(mqlite_server.call(lambda: mqlite_server.core.list_queues(""))) == [
        "jobs", "jobs@us-west-2", "west-only@us-west-2"]


def test_a_dead_letter_queue_and_an_sns_subscription_in_another_region(mqlite_server: Any) -> None:
    west = client(mqlite_server, "sqs", "eu-west-1")
    dlq = west.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = west.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dlq_arn == f"arn:aws:sqs:eu-west-1:{HOME}:dlq"
    src = west.create_queue(QueueName="src", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
        "VisibilityTimeout": "0"})["QueueUrl"]
    west.send_message(QueueUrl=src, MessageBody="poison")
    west.receive_message(QueueUrl=src)
    west.receive_message(QueueUrl=src)  # over maxReceiveCount: moved
    got = west.receive_message(QueueUrl=dlq, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"])["Messages"]
    assert got[0]["Attributes"]["DeadLetterQueueSourceArn"] == f"arn:aws:sqs:eu-west-1:{HOME}:src"
    # an SNS topic of us-east-1 delivers into the eu-west-1 queue its ARN names
    sns = client(mqlite_server, "sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:eu-west-1:{HOME}:dlq",
                  Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="across regions")
    assert [m["Body"] for m in west.receive_message(QueueUrl=dlq, WaitTimeSeconds=5)["Messages"]] == [
        "across regions"]


def test_kinesis_streams_and_eventbridge_buses_are_per_region(mqlite_server: Any) -> None:
    east, west = client(mqlite_server, "kinesis"), client(mqlite_server, "kinesis", "ap-south-1")
    west.create_stream(StreamName="s", ShardCount=1)
    assert east.list_streams()["StreamNames"] == []
    assert west.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"] == (
        f"arn:aws:kinesis:ap-south-1:{HOME}:stream/s")
    with pytest.raises(ClientError) as info:
        east.describe_stream_summary(StreamName="s")
    assert _code(info) == "ResourceNotFoundException"
    ev_west = client(mqlite_server, "events", "ap-south-1")
    assert ev_west.create_event_bus(Name="b")["EventBusArn"] == f"arn:aws:events:ap-south-1:{HOME}:event-bus/b"
    assert [b["Name"] for b in client(mqlite_server, "events").list_event_buses()["EventBuses"]] == ["default"]


def test_assume_role_acts_in_the_roles_account(mqlite_server: Any) -> None:
    """moto's test_list_queues_in_different_account, and what the credentials then do."""
    sqs = client(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="home-queue")["QueueUrl"]
    sts = client(mqlite_server, "sts")
    assert sts.get_caller_identity()["Account"] == HOME
    resp = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/my-role", RoleSessionName="s1",
                           ExternalId="ext-id")
    creds = resp["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert resp["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/my-role/s1"
    assert resp["AssumedRoleUser"]["AssumedRoleId"].endswith(":s1")
    other = client(mqlite_server, "sqs", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                   token=creds["SessionToken"])
    assert "QueueUrls" not in other.list_queues()
    b_url = other.create_queue(QueueName="home-queue")["QueueUrl"]
    assert b_url.endswith("/111111111111/home-queue") and b_url != url
    assert sqs.list_queues()["QueueUrls"] == [url]
    who = client(mqlite_server, "sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                 token=creds["SessionToken"]).get_caller_identity()
    assert (who["Account"], who["Arn"]) == ("111111111111", "arn:aws:sts::111111111111:assumed-role/my-role/s1")
    assert who["UserId"] == resp["AssumedRoleUser"]["AssumedRoleId"]


def test_assume_role_refuses_a_malformed_role_arn(mqlite_server: Any) -> None:
    with pytest.raises(ClientError) as info:
        client(mqlite_server, "sts").assume_role(RoleArn="arn:aws:s3:::not-a-role-at-all", RoleSessionName="s0")
    assert _code(info) == "ValidationError"


def test_with_auth_temporary_credentials_need_their_token_and_other_accounts_need_admin(
        mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(users=("root:rootpw:admin", "alice:alicepw"),
                                   acl=("alice:*:*:q*", "alice:*:*:default"))
    alice_sts = client(server, "sts", key="alice", secret="alicepw")
    with pytest.raises(ClientError) as info:
        alice_sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/r", RoleSessionName="s0")
    assert _code(info) == "AccessDenied"
    own = alice_sts.assume_role(RoleArn=f"arn:aws:iam::{HOME}:role/r", RoleSessionName="s0")["Credentials"]
    ok = client(server, "sqs", key=own["AccessKeyId"], secret=own["SecretAccessKey"], token=own["SessionToken"])
    assert ok.create_queue(QueueName="q")["QueueUrl"].endswith(f"/{HOME}/q")
    with pytest.raises(ClientError) as info:  # the credentials act as alice: her rules apply
        ok.create_queue(QueueName="other")
    assert _code(info) == "AccessDenied"
    sns = client(server, "sns", key=own["AccessKeyId"], secret=own["SecretAccessKey"], token=own["SessionToken"])
    topic = sns.create_topic(Name="qt")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{HOME}:q")  # write on q
    no_token = client(server, "sqs", key=own["AccessKeyId"], secret=own["SecretAccessKey"])
    with pytest.raises(ClientError) as info:
        no_token.list_queues()
    assert _code(info) == "InvalidClientTokenId"
    wrong = client(server, "sqs", key=own["AccessKeyId"], secret="not-the-secret", token=own["SessionToken"])
    with pytest.raises(ClientError) as info:
        wrong.list_queues()
    assert _code(info) == "SignatureDoesNotMatch"
    root = client(server, "sts", key="root", secret="rootpw").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/r", RoleSessionName="ops")["Credentials"]
    assert client(server, "sqs", key=root["AccessKeyId"], secret=root["SecretAccessKey"],
                  token=root["SessionToken"]).create_queue(QueueName="q")["QueueUrl"].endswith("/111111111111/q")


def test_queue_urls_carry_the_advertised_host(mqlite_server_factory: Any) -> None:
    """`--aws-advertised-host`: the host of a port mapping or proxy, as clients dial it."""
    server = mqlite_server_factory(aws_advertised_host="sqs.example.test:8443")
    sqs = client(server, "sqs", "eu-central-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    assert url == f"http://sqs.example.test:8443/{HOME}/q"
    sqs.send_message(QueueUrl=url, MessageBody="via the advertised URL")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["via the advertised URL"]
