"""Persistence across restart: topics (attributes, tags), subscriptions (attributes,
filter policies, confirmation state) and the signing key of the data directory."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from sns_support import Receiver, bodies, client, drain, make_queue

from mqlite.protocols.aws.sns.signing import verify


def test_topics_subscriptions_and_signing_key_survive_restart(sns_server: Any, receiver: Receiver) -> None:
    """Everything SNS knows is durable (catalog); the key is stored in the data directory,
    so certificates fetched before a restart still verify messages signed after it."""
    sns, sqs = client(sns_server, "sns"), client(sns_server, "sqs")
    topic = sns.create_topic(Name="durable", Attributes={"DisplayName": "D"},
                             Tags=[{"Key": "team", "Value": "core"}])["TopicArn"]
    fifo = sns.create_topic(Name="durable.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, qarn = make_queue(sqs, "durable-q")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={
        "FilterPolicy": json.dumps({"k": ["yes"]})})["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url + "/pending")
    receiver.wait_for(1)
    sns.publish(TopicArn=topic, Message="before", MessageAttributes={"k": {"DataType": "String", "StringValue": "yes"}})
    cert_url = bodies(drain(sqs, url, expect=1))[0]["SigningCertURL"]
    cert_before = urllib.request.urlopen(cert_url).read()

    sns_server.restart()

    topics = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert topics == {topic, fifo}
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attrs["DisplayName"] == "D" and attrs["SubscriptionsConfirmed"] == "1"
    assert attrs["SubscriptionsPending"] == "1"
    assert sns.get_topic_attributes(TopicArn=fifo)["Attributes"]["FifoTopic"] == "true"
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "team", "Value": "core"}]
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted(s["SubscriptionArn"] for s in subs) == sorted([sub, "PendingConfirmation"])
    assert json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["FilterPolicy"]) == {"k": ["yes"]}
    for k in ("yes", "no"):
        sns.publish(TopicArn=topic, Message=k, MessageAttributes={"k": {"DataType": "String", "StringValue": k}})
    (after,) = bodies(drain(sqs, url, expect=1))
    assert after["Message"] == "yes" and after["SigningCertURL"] == cert_url
    assert drain(sqs, url) == []
    assert urllib.request.urlopen(cert_url).read() == cert_before
    assert verify(cert_before, after)


def test_fifo_dedup_window_survives_restart(sns_server: Any) -> None:
    """AWS deduplicates a FIFO topic's MessageDeduplicationId for 5 minutes whatever happens
    on our side: a retry after a restart returns the first MessageId and SequenceNumber
    and delivers nothing; a new id is delivered with a larger SequenceNumber."""
    sns, sqs = client(sns_server, "sns"), client(sns_server, "sqs")
    topic = sns.create_topic(Name="dd.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = make_queue(sqs, "dd.fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    first = sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d1")
    batch = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "b1", "MessageGroupId": "g", "MessageDeduplicationId": "d2"}])
    assert [m["Body"] for m in drain(sqs, url, expect=2)] == ["once", "b1"]

    sns_server.restart()

    again = sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d1")
    assert (again["MessageId"], again["SequenceNumber"]) == (first["MessageId"], first["SequenceNumber"])
    rebatch = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "b1", "MessageGroupId": "g", "MessageDeduplicationId": "d2"}])
    assert rebatch["Successful"][0]["MessageId"] == batch["Successful"][0]["MessageId"]
    fresh = sns.publish(TopicArn=topic, Message="new", MessageGroupId="g", MessageDeduplicationId="d3")
    assert int(fresh["SequenceNumber"]) > int(first["SequenceNumber"])
    assert [m["Body"] for m in drain(sqs, url, expect=1)] == ["new"]
    sns.delete_topic(TopicArn=topic)  # the window goes with the topic
    topic = sns.create_topic(Name="dd.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    reborn = sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d1")
    assert reborn["MessageId"] != first["MessageId"]


def test_message_routed_in_by_another_front_end_before_any_sns_request_after_restart(
        sns_server: Any) -> None:
    """The AWS app builds SNS lazily; server.py mounts sns.routes at start-up, which
    registers the `sns` router transform. So after a restart a message routed into a
    topic by another front-end (here a core publish, as an AMQP exchange binding does)
    before any SNS API request still reaches the topic's queue subscribers."""
    from mqlite.core.message import Envelope

    sns, sqs = client(sns_server, "sns"), client(sns_server, "sqs")
    topic = sns.create_topic(Name="crossing")["TopicArn"]
    url, arn = make_queue(sqs, "crossing-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    sns_server.restart()

    async def publish() -> Any:
        return await sns_server.core.routers.find("crossing").publish(Envelope(b"from elsewhere"))

    result = sns_server.call(publish)
    assert result.routed == 1 and not result.failed
    assert [m["Body"] for m in drain(sqs, url, expect=1)] == ["from elsewhere"]
