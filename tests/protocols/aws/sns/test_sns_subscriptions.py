"""SNS subscription actions with boto3: Subscribe (every protocol's endpoint rules),
ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic), Get/SetSubscription-
Attributes, and AWS's errors for bad input with nothing half-created."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sns_support import drain, make_queue


def err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_subscribe_queue_is_confirmed_listed_and_idempotent(sns: Any, sqs: Any) -> None:
    """AWS: SQS subscriptions need no confirmation; the same endpoint twice is one subscription."""
    topic = sns.create_topic(Name="subs")["TopicArn"]
    _url, qarn = make_queue(sqs, "subs-q")
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    assert arn.startswith(topic + ":") and len(arn.rsplit(":", 1)[1]) == 36
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"] == arn
    entry = {"SubscriptionArn": arn, "Owner": "000000000000", "Protocol": "sqs",
             "Endpoint": qarn, "TopicArn": topic}
    assert sns.list_subscriptions()["Subscriptions"] == [entry]
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == [entry]
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attrs["PendingConfirmation"] == "false" and attrs["RawMessageDelivery"] == "false"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "1"
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                      Attributes={"RawMessageDelivery": "true"})
    assert err(exc)[1] == ("Invalid parameter: Attributes Reason: Subscription already exists"
                           " with different attributes")


def test_unsubscribe_removes_the_subscription(sns: Any, sqs: Any) -> None:
    """Unsubscribe stops delivery; Unsubscribe of a gone subscription is not an error."""
    topic = sns.create_topic(Name="unsub")["TopicArn"]
    url, qarn = make_queue(sqs, "unsub-q")
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=arn)
    sns.unsubscribe(SubscriptionArn=arn)
    sns.publish(TopicArn=topic, Message="after")
    assert drain(sqs, url) == []
    with pytest.raises(ClientError) as exc:
        sns.get_subscription_attributes(SubscriptionArn=arn)
    assert err(exc) == ("NotFound", "Subscription does not exist")
    with pytest.raises(ClientError) as exc:
        sns.unsubscribe(SubscriptionArn="garbage")
    assert err(exc)[0] == "InvalidParameter"


def test_set_subscription_attributes_changes_delivery(sns: Any, sqs: Any) -> None:
    """SetSubscriptionAttributes: FilterPolicy, FilterPolicyScope, RawMessageDelivery take
    effect at once; an empty FilterPolicy removes the filter."""
    topic = sns.create_topic(Name="setattr")["TopicArn"]
    url, qarn = make_queue(sqs, "setattr-q")
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"kind": ["a"]}))
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery",
                                    AttributeValue="true")
    for kind in ("a", "b"):
        sns.publish(TopicArn=topic, Message=kind,
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    assert [m["Body"] for m in drain(sqs, url)] == ["a"]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageBody")
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "a"}))
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "b"}))
    assert [json.loads(m["Body"]) for m in drain(sqs, url)] == [{"kind": "a"}]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="")
    sns.publish(TopicArn=topic, Message="anything")
    assert [m["Body"] for m in drain(sqs, url)] == ["anything"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true" and "FilterPolicy" not in attrs
    with pytest.raises(ClientError) as exc:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="Nope", AttributeValue="1")
    assert err(exc) == ("InvalidParameter", "Invalid parameter: AttributeName")


def test_invalid_filter_policy_is_refused_with_aws_message_and_nothing_is_created(sns: Any, sqs: Any) -> None:
    """AWS: an invalid FilterPolicy is InvalidParameter 'Invalid parameter: Attributes Reason:
    FilterPolicy: ...' on Subscribe ('Invalid parameter: FilterPolicy: ...' on Set...)."""
    topic = sns.create_topic(Name="badpolicy")["TopicArn"]
    _url, qarn = make_queue(sqs, "badpolicy-q")
    bad = json.dumps({"price": [{"numeric": ["<", "cheap"]}]})
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"FilterPolicy": bad})
    code, message = err(exc)
    assert code == "InvalidParameter"
    assert message.startswith("Invalid parameter: Attributes Reason: FilterPolicy: ")
    too_many = json.dumps({f"k{i}": ["v"] for i in range(6)})
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"FilterPolicy": too_many})
    assert "can not have more than 5 keys" in err(exc)[1]
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    with pytest.raises(ClientError) as exc:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=bad)
    assert err(exc)[1].startswith("Invalid parameter: FilterPolicy: ")
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]


def test_endpoint_rules_per_protocol(sns: Any) -> None:
    """AWS: the endpoint must fit the protocol; unknown protocols are refused."""
    topic = sns.create_topic(Name="rules")["TopicArn"]
    cases = [
        ("carrier-pigeon", "x"), ("sqs", "not-an-arn"), ("http", "https://wrong.example"),
        ("https", "ftp://x"), ("email", "no-at-sign"), ("sms", "call me"),
        ("lambda", "my-function"), ("application", "arn:aws:sns:us-east-1:0:app/GCM/x"),
        ("firehose", "arn:aws:firehose:us-east-1:000000000000:deliverystream/s"),
    ]
    for protocol, endpoint in cases:
        with pytest.raises(ClientError) as exc:
            sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        assert err(exc)[0] == "InvalidParameter", (protocol, endpoint)
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn="arn:aws:sns:us-east-1:000000000000:nope", Protocol="sqs",
                      Endpoint="arn:aws:sqs:us-east-1:000000000000:q")
    assert err(exc)[0] == "NotFound"
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com",
                      Attributes={"RawMessageDelivery": "true"})
    assert err(exc)[0] == "InvalidParameter"
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_fifo_topics_and_fifo_queues_only_go_together(sns: Any, sqs: Any) -> None:
    """AWS: a FIFO queue cannot subscribe to a standard topic, and a FIFO topic takes SQS
    queues only (standard ones too, since 2023: ordering is then not kept); the refused
    subscription is not created."""
    std = sns.create_topic(Name="std")["TopicArn"]
    fifo = sns.create_topic(Name="f.fifo", Attributes={"FifoTopic": "true",
                                                       "ContentBasedDeduplication": "true"})["TopicArn"]
    _u1, fifo_q = make_queue(sqs, "q.fifo", FifoQueue="true")
    std_url, std_q = make_queue(sqs, "q-std")
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=std, Protocol="sqs", Endpoint=fifo_q)
    assert err(exc) == ("InvalidParameter", ("Invalid parameter: Invalid parameter: Endpoint Reason:"
                        " FIFO SQS Queues can not be subscribed to standard SNS topics"))
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=fifo, Protocol="http", Endpoint="http://127.0.0.1:1/")
    assert err(exc)[0] == "InvalidParameter"
    assert sns.list_subscriptions()["Subscriptions"] == []
    sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint=std_q,
                  Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=fifo, Message="to a standard queue", MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=std_url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in got] == ["to a standard queue"]


def test_email_subscription_is_pending_until_confirmed_with_its_token(sns: Any, sns_server: Any) -> None:
    """AWS: email subscriptions are 'pending confirmation' until ConfirmSubscription with
    the token from the confirmation message (kept in the outbox without an SMTP relay)."""
    import urllib.request

    topic = sns.create_topic(Name="mail")["TopicArn"]
    shown = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"]
    assert shown == "pending confirmation"
    assert sns.list_subscriptions()["Subscriptions"][0]["SubscriptionArn"] == "PendingConfirmation"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    outbox = json.loads(urllib.request.urlopen(
        sns_server.endpoint_url + "/_mqlite/sns/outbox?protocol=email").read())["messages"]
    confirmation = outbox[-1]
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["SubscribeURL"]
    with pytest.raises(ClientError) as exc:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 64)
    assert err(exc) == ("InvalidParameter", "Invalid token")
    arn = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    assert sns.list_subscriptions()["Subscriptions"][0]["SubscriptionArn"] == arn
    sns.publish(TopicArn=topic, Message="hello mail", Subject="Hi")
    outbox = json.loads(urllib.request.urlopen(
        sns_server.endpoint_url + "/_mqlite/sns/outbox?protocol=email").read())["messages"]
    assert outbox[-1]["Message"] == "hello mail" and outbox[-1]["Subject"] == "Hi"


def test_list_subscriptions_pages_by_100(sns: Any) -> None:
    """ListSubscriptions returns at most 100 per page with a NextToken."""
    topic = sns.create_topic(Name="many")["TopicArn"]
    for i in range(101):
        sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=f"+1555555{i:04d}")
    first = sns.list_subscriptions_by_topic(TopicArn=topic)
    assert len(first["Subscriptions"]) == 100
    second = sns.list_subscriptions_by_topic(TopicArn=topic, NextToken=first["NextToken"])
    assert len(second["Subscriptions"]) == 1 and "NextToken" not in second
