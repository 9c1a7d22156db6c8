"""Publish and PublishBatch with boto3: SNS -> SQS fan-out with filter policies (both
scopes, every operator family), the JSON envelope and its signature, raw delivery with
every attribute type, MessageStructure=json, FIFO topics to FIFO queues, and AWS's
errors for bad messages."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sns_support import bodies, client, drain, make_queue, signing_workers_ready

from mqlite.protocols.aws.sns.signing import verify


def err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def s(v: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": v}


def n(v: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": v}


ATTRIBUTE_POLICIES: dict[str, Any] = {
    "exact": {"color": ["red"]},
    "prefix": {"color": [{"prefix": "bl"}]},
    "suffix": {"color": [{"suffix": "een"}]},
    "anything_but": {"color": [{"anything-but": ["red", "blue"]}]},
    "ignore_case": {"color": [{"equals-ignore-case": "RED"}]},
    "numeric": {"price": [{"numeric": [">=", 10, "<", 20]}]},
    "exists": {"vip": [{"exists": True}]},
    "not_exists": {"vip": [{"exists": False}]},
    "cidr": {"ip": [{"cidr": "10.0.0.0/24"}]},
    "or": {"$or": [{"color": ["green"]}, {"price": [{"numeric": ["=", 99]}]}]},
    "array": {"tags": ["b"]},
}
MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("m1", {"color": s("red"), "price": n("15"), "ip": s("10.0.0.7")}),
    ("m2", {"color": s("blue"), "price": n("5"), "vip": s("yes")}),
    ("m3", {"color": s("green"), "price": n("99"), "ip": s("10.0.1.1")}),
    ("m4", {"color": s("Red"), "tags": {"DataType": "String.Array", "StringValue": '["a","b"]'}}),
]
EXPECTED = {
    "exact": ["m1"], "prefix": ["m2"], "suffix": ["m3"], "anything_but": ["m3", "m4"],
    "ignore_case": ["m1", "m4"], "numeric": ["m1"], "exists": ["m2"],
    "not_exists": ["m1", "m3", "m4"], "cidr": ["m1"], "or": ["m3"], "array": ["m4"],
}


def test_fan_out_to_queues_with_attribute_filter_policies(sns: Any, sqs: Any) -> None:
    """SNS message filtering (MessageAttributes scope): each queue gets exactly the
    messages its policy matches — exact, prefix, suffix, anything-but, equals-ignore-case,
    numeric, exists, cidr, $or and String.Array membership."""
    topic = sns.create_topic(Name="fan")["TopicArn"]
    urls = {}
    for name, policy in ATTRIBUTE_POLICIES.items():
        url, arn = make_queue(sqs, f"fan-{name.replace('_', '-')}")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                      Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"})
        urls[name] = url
    for body, attrs in MESSAGES:
        sns.publish(TopicArn=topic, Message=body, MessageAttributes=attrs)
    got = {name: sorted(m["Body"] for m in drain(sqs, url)) for name, url in urls.items()}
    assert got == EXPECTED


def test_fan_out_with_message_body_filter_policies(sns: Any, sqs: Any) -> None:
    """FilterPolicyScope=MessageBody: policies match nested keys of the JSON body."""
    topic = sns.create_topic(Name="body")["TopicArn"]
    policies = {
        "nested": {"order": {"kind": ["book"]}},
        "numeric": {"order": {"total": [{"numeric": [">", 100]}]}},
        "prefix": {"customer": [{"prefix": "acme"}]},
        "absent": {"coupon": [{"exists": False}]},
    }
    urls = {}
    for name, policy in policies.items():
        url, arn = make_queue(sqs, f"body-{name}")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
            "FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageBody",
            "RawMessageDelivery": "true"})
        urls[name] = url
    msgs = [
        {"id": 1, "order": {"kind": "book", "total": 150}, "customer": "acme-1"},
        {"id": 2, "order": {"kind": "pen", "total": 5}, "customer": "other", "coupon": "X"},
        {"id": 3, "order": {"kind": "book", "total": 50}, "customer": "acme-2", "coupon": "Y"},
    ]
    for m in msgs:
        sns.publish(TopicArn=topic, Message=json.dumps(m))
    sns.publish(TopicArn=topic, Message="not json")
    got = {name: sorted(b["id"] for b in bodies(drain(sqs, url))) for name, url in urls.items()}
    assert got == {"nested": [1, 3], "numeric": [1], "prefix": [1, 3], "absent": [1]}


def test_sqs_gets_the_signed_json_envelope(sns: Any, sqs: Any, sns_server: Any) -> None:
    """Without raw delivery the queue gets SNS's notification JSON (Type, MessageId,
    TopicArn, Subject, Message, Timestamp, SignatureVersion, Signature, SigningCertURL,
    UnsubscribeURL, MessageAttributes) and the signature verifies with the certificate
    served at SigningCertURL, for SignatureVersion 1 (SHA1) and 2 (SHA256)."""
    topic = sns.create_topic(Name="env")["TopicArn"]
    url, qarn = make_queue(sqs, "env-q")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    msg_id = sns.publish(TopicArn=topic, Message="hello", Subject="greeting", MessageAttributes={
        "who": s("world"), "n": n("1.5"),
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})["MessageId"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="v2")
    first, second = bodies(drain(sqs, url, expect=2))
    assert list(first) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                           "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL",
                           "MessageAttributes"]
    assert first["Type"] == "Notification" and first["MessageId"] == msg_id
    assert first["TopicArn"] == topic and first["Message"] == "hello"
    assert first["MessageAttributes"] == {
        "who": {"Type": "String", "Value": "world"}, "n": {"Type": "Number", "Value": "1.5"},
        "blob": {"Type": "Binary", "Value": "AAE="}}
    assert first["UnsubscribeURL"].endswith("SubscriptionArn=" + sub)
    assert first["SigningCertURL"].startswith(sns_server.endpoint_url)
    cert = urllib.request.urlopen(first["SigningCertURL"]).read()
    assert cert.startswith(b"-----BEGIN CERTIFICATE-----")
    assert first["SignatureVersion"] == "1" and verify(cert, first)
    assert second["SignatureVersion"] == "2" and verify(cert, second)
    assert not verify(cert, {**first, "Message": "tampered"})


def test_raw_delivery_maps_every_attribute_type_to_sqs(sns: Any, sqs: Any) -> None:
    """RawMessageDelivery: the body is the message as is and the attributes become SQS
    MessageAttributes (String, Number, Binary, String.Array as a custom String type)."""
    topic = sns.create_topic(Name="raw")["TopicArn"]
    url, qarn = make_queue(sqs, "raw-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message='{"not": "wrapped"}', MessageAttributes={
        "s": s("text"), "n": n("42"), "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"},
        "a": {"DataType": "String.Array", "StringValue": '["x", 1, true]'},
        "c": {"DataType": "String.custom", "StringValue": "y"}})
    (m,) = drain(sqs, url, expect=1)
    assert m["Body"] == '{"not": "wrapped"}'
    assert m["MessageAttributes"] == {
        "s": {"DataType": "String", "StringValue": "text"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"},
        "a": {"DataType": "String.Array", "StringValue": '["x", 1, true]'},
        "c": {"DataType": "String.custom", "StringValue": "y"}}


def test_raw_delivery_with_more_than_10_attributes_goes_to_the_dlq(sns: Any, sqs: Any) -> None:
    """AWS: messages with more than 10 attributes cannot be delivered raw to SQS (a
    client-side error): they go to the subscription's redrive DLQ; the JSON form is fine."""
    topic = sns.create_topic(Name="many-attrs")["TopicArn"]
    raw_url, raw_arn = make_queue(sqs, "raw-many")
    json_url, json_arn = make_queue(sqs, "json-many")
    dlq_url, dlq_arn = make_queue(sqs, "raw-many-dlq")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={
        "RawMessageDelivery": "true", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=json_arn)
    sns.publish(TopicArn=topic, Message="eleven", MessageAttributes={f"a{i}": s("v") for i in range(11)})
    assert drain(sqs, raw_url) == []
    assert len(bodies(drain(sqs, json_url))[0]["MessageAttributes"]) == 11
    assert [m["Body"] for m in drain(sqs, dlq_url)] == ["eleven"]


def test_message_structure_json_picks_the_protocol_message(sns: Any, sqs: Any) -> None:
    """MessageStructure=json: SQS subscribers get the `sqs` entry (else `default`);
    `default` is required; attributes are not sent with JSON structure (AWS)."""
    topic = sns.create_topic(Name="structured")["TopicArn"]
    url, qarn = make_queue(sqs, "structured-q")
    raw_url, raw_arn = make_queue(sqs, "structured-raw")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "sqs": "for queues", "email": "mail"}))
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "only default"}))
    assert [b["Message"] for b in bodies(drain(sqs, url))] == ["for queues", "only default"]
    assert [m["Body"] for m in drain(sqs, raw_url)] == ["for queues", "only default"]
    for bad, text in ((json.dumps({"sqs": "x"}), "Invalid parameter: Message Structure - No default entry in JSON message body"),
                      ("{not json", "Invalid parameter: Message Structure - JSON message body failed to parse")):
        with pytest.raises(ClientError) as exc:
            sns.publish(TopicArn=topic, MessageStructure="json", Message=bad)
        assert err(exc) == ("InvalidParameter", text)


def test_fifo_topic_keeps_group_order_and_deduplicates(sns: Any, sqs: Any) -> None:
    """SNS FIFO: deliveries to FIFO queues keep each group's order; a repeated
    MessageDeduplicationId within 5 minutes is accepted but not delivered again, and
    returns the first MessageId; every publish gets a SequenceNumber."""
    topic = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    queues = []
    for i in range(2):
        url, arn = make_queue(sqs, f"orders-{i}.fifo", FifoQueue="true")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queues.append(url)
    seqs = []
    for i in range(6):
        r = sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId=f"g{i % 2}",
                        MessageDeduplicationId=f"d{i}")
        seqs.append(int(r["SequenceNumber"]))
    first = sns.publish(TopicArn=topic, Message="dup", MessageGroupId="g0", MessageDeduplicationId="x")
    again = sns.publish(TopicArn=topic, Message="dup", MessageGroupId="g0", MessageDeduplicationId="x")
    assert again["MessageId"] == first["MessageId"] and seqs == sorted(seqs)
    for url in queues:
        msgs = drain(sqs, url, expect=7)
        by_group: dict[str, list[str]] = {}
        for m in msgs:
            by_group.setdefault(m["Attributes"]["MessageGroupId"], []).append(m["Body"])
        assert by_group == {"g0": ["m0", "m2", "m4", "dup"], "g1": ["m1", "m3", "m5"]}
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, Message="x", MessageDeduplicationId="y")
    assert err(exc) == ("InvalidParameter",
                        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
    assert err(exc)[0] == "InvalidParameter"


def test_fifo_topic_with_content_based_deduplication(sns: Any, sqs: Any) -> None:
    """ContentBasedDeduplication: the SHA-256 of the message is the deduplication id."""
    topic = sns.create_topic(Name="cbd.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    url, arn = make_queue(sqs, "cbd.fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    a = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    b = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="other", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    got = bodies(drain(sqs, url, expect=2))
    assert [g["Message"] for g in got] == ["same", "other"]
    assert all("SequenceNumber" in g for g in got)


def test_publish_refuses_what_aws_refuses(sns: Any) -> None:
    """AWS limits: non-empty message, 256 KiB (body + attributes), Subject <= 100 printable
    characters, valid attribute names/types/values, no dedup id on standard topics."""
    topic = sns.create_topic(Name="limits")["TopicArn"]
    sns.publish(TopicArn=topic, Message="x" * (256 * 1024))
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Message": "x" * (256 * 1024 + 1)}, "InvalidParameter", "Invalid parameter: Message too long"),
        ({"Message": "x" * (256 * 1024 - 5), "MessageAttributes": {"abc": s("defgh")}},
         "InvalidParameter", "Invalid parameter: Message too long"),
        ({"Message": ""}, "InvalidParameter", "Invalid parameter: Empty message"),
        ({"Message": "x", "Subject": "line\nbreak"}, "InvalidParameter", "Invalid parameter: Subject"),
        ({"Message": "x", "Subject": "s" * 101}, "InvalidParameter", "Subject must be less than 100 characters"),
        ({"Message": "x", "MessageStructure": "xml"}, "InvalidParameter", "Invalid parameter: MessageStructure"),
        ({"Message": "x", "MessageAttributes": {"a": {"DataType": "Blob", "StringValue": "v"}}},
         "ParameterValueInvalid", ("The message attribute 'a' has an invalid message attribute type,"
         " the set of supported type prefixes is Binary, Number, and String.")),
        ({"Message": "x", "MessageAttributes": {"a": n("ten")}},
         "ParameterValueInvalid", "Could not cast message attribute 'a' value to number."),
        ({"Message": "x", "MessageAttributes": {"a": s("")}}, "ParameterValueInvalid",
         ("The message attribute 'a' must contain non-empty message attribute value for message"
         " attribute type 'String'.")),
        ({"Message": "x", "MessageAttributes": {"AWS.reserved": s("v")}}, "ParameterValueInvalid",
         "Invalid attribute name: AWS.reserved"),
        ({"Message": "x", "MessageAttributes": {"arr": {"DataType": "String.Array", "StringValue": '[["nested"]]'}}},
         "InvalidParameter", ""),
        ({"Message": "x", "MessageDeduplicationId": "d"}, "InvalidParameter", ""),
    ]
    for params, code, message in cases:
        with pytest.raises(ClientError) as exc:
            sns.publish(TopicArn=topic, **params)
        got = err(exc)
        assert got[0] == code, (params, got)
        if message:
            assert got[1] == message
    with pytest.raises(ClientError) as exc:
        sns.publish(Message="nowhere")
    assert err(exc)[0] == "InvalidParameter"
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:missing", Message="x")
    assert err(exc) == ("NotFound", "Topic does not exist")


def test_publish_batch_succeeds_and_fails_per_entry(sns: Any, sqs: Any) -> None:
    """PublishBatch: 1-10 entries with distinct ids; each entry succeeds or fails alone."""
    topic = sns.create_topic(Name="batch")["TopicArn"]
    url, arn = make_queue(sqs, "batch-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "one", "MessageAttributes": {"k": s("v")}},
        {"Id": "b", "Message": ""},
        {"Id": "c", "Message": "three"},
    ])
    assert [e["Id"] for e in out["Successful"]] == ["a", "c"]
    assert out["Failed"] == [{"Id": "b", "Code": "InvalidParameter",
                              "Message": "Invalid parameter: Empty message", "SenderFault": True}]
    assert [m["Body"] for m in drain(sqs, url)] == ["one", "three"]
    for entries, code in (
        ([{"Id": str(i), "Message": "m"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "same", "Message": "m"}, {"Id": "same", "Message": "m"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "Message": "m"}], "InvalidBatchEntryId"),
        ([{"Id": "a", "Message": "x" * 200_000}, {"Id": "b", "Message": "x" * 100_000}], "BatchRequestTooLong"),
    ):
        with pytest.raises(ClientError) as exc:
            sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        assert err(exc)[0] == code
    assert drain(sqs, url) == []


def test_delivery_to_a_missing_queue_goes_to_the_redrive_dlq(sns: Any, sqs: Any) -> None:
    """SNS redrive policy: a message SNS cannot deliver (the queue is gone) goes to the
    subscription's dead-letter queue, as the JSON envelope it would have received."""
    topic = sns.create_topic(Name="lost")["TopicArn"]
    url, arn = make_queue(sqs, "lost-q")
    dlq_url, dlq_arn = make_queue(sqs, "lost-dlq")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sqs.delete_queue(QueueUrl=url)
    sns.publish(TopicArn=topic, Message="orphan")
    assert [b["Message"] for b in bodies(drain(sqs, dlq_url))] == ["orphan"]


def test_sms_publish_and_other_protocols_land_in_the_outbox(sns: Any, sns_server: Any) -> None:
    """Publish to a PhoneNumber and sms/application deliveries are kept in the outbox
    (no SMS or push provider is configured); GET /_mqlite/sns/outbox lists them."""
    sns.publish(PhoneNumber="+15555550123", Message="your code is 1")
    topic = sns.create_topic(Name="texts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550124")
    sns.publish(TopicArn=topic, Message="to subscribers")
    outbox = json.loads(urllib.request.urlopen(
        sns_server.endpoint_url + "/_mqlite/sns/outbox?protocol=sms").read())["messages"]
    assert [(m["Endpoint"], m["Message"]) for m in outbox] == [
        ("+15555550123", "your code is 1"), ("+15555550124", "to subscribers")]


def test_publish_batch_fans_out_in_entry_order_with_filters_fifo_and_dlq(sns: Any, sqs: Any) -> None:
    """PublishBatch delivers like Publish: filter policies per subscription, FIFO group
    order and deduplication within the batch, and failed deliveries to the redrive DLQ."""
    topic = sns.create_topic(Name="bf.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    all_url, all_arn = make_queue(sqs, "bf-all.fifo", FifoQueue="true")
    odd_url, odd_arn = make_queue(sqs, "bf-odd.fifo", FifoQueue="true")
    gone_url, gone_arn = make_queue(sqs, "bf-gone.fifo", FifoQueue="true")
    dlq_url, dlq_arn = make_queue(sqs, "bf-dlq")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=all_arn, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=odd_arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"odd": ["yes"]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=gone_arn, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sqs.delete_queue(QueueUrl=gone_url)
    entries = [{"Id": f"e{i}", "Message": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}",
                "MessageAttributes": {"odd": s("yes" if i % 2 else "no")}} for i in range(6)]
    entries.append({"Id": "dup", "Message": "m0 again", "MessageGroupId": "g", "MessageDeduplicationId": "d0"})
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    ids = {e["Id"]: e["MessageId"] for e in out["Successful"]}
    assert len(ids) == 7 and ids["dup"] == ids["e0"] and out["Failed"] == []
    assert [m["Body"] for m in drain(sqs, all_url, expect=6)] == [f"m{i}" for i in range(6)]
    assert [m["Body"] for m in drain(sqs, odd_url, expect=3)] == ["m1", "m3", "m5"]
    assert [b["Message"] for b in bodies(drain(sqs, dlq_url))] == [f"m{i}" for i in range(6)]


def test_target_arn_names_a_topic_or_a_mobile_endpoint(sns: Any, sqs: Any) -> None:
    """Publish with TargetArn = a topic ARN publishes to it; a platform endpoint ARN has no
    endpoint behind it (no platform application exists): InvalidParameter."""
    topic = sns.create_topic(Name="target")["TopicArn"]
    url, arn = make_queue(sqs, "target-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TargetArn=topic, Message="via target")
    assert [m["Body"] for m in drain(sqs, url)] == ["via target"]
    with pytest.raises(ClientError) as exc:
        sns.publish(TargetArn="arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/0a1b", Message="x")
    assert err(exc) == ("InvalidParameter",
                        "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified")
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, TargetArn=topic, Message="x")
    assert err(exc)[0] == "InvalidParameter"


def test_messages_routed_into_a_topic_by_another_front_end_reach_its_queues(
        sns: Any, sqs: Any, sns_server: Any) -> None:
    """A topic is a core router: a message another front-end routes into it (here a core
    publish, as an AMQP exchange-to-exchange binding would) reaches SQS subscribers as it
    is, and the filter policies still apply."""
    from mqlite.core.message import Attribute, Envelope

    topic = sns.create_topic(Name="shared")["TopicArn"]
    url, arn = make_queue(sqs, "shared-q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"FilterPolicy": json.dumps({"k": ["v"]})})

    async def publish() -> None:
        router = sns_server.core.get_router("shared")
        await router.publish(Envelope(body=b"from core", attributes={"k": Attribute("String", "v")}))
        await router.publish(Envelope(body=b"filtered", attributes={"k": Attribute("String", "w")}))

    sns_server.call(publish)
    (m,) = drain(sqs, url)
    assert m["Body"] == "from core"
    assert m["MessageAttributes"]["k"] == {"DataType": "String", "StringValue": "v"}


def test_firehose_subscription_appends_to_the_delivery_stream(sns: Any, sqs: Any, sns_server: Any) -> None:
    """SNS -> Firehose: each message becomes a record of the delivery stream (the
    notification JSON, or the raw message with RawMessageDelivery); a subscription to a
    delivery stream that does not exist dead-letters to its redrive DLQ."""
    from sns_support import client

    firehose = client(sns_server, "firehose")
    firehose.create_delivery_stream(DeliveryStreamName="audit", ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::000000000000:role/fh", "BucketARN": "arn:aws:s3:::audit-bucket"})
    stream_arn = firehose.describe_delivery_stream(DeliveryStreamName="audit")[
        "DeliveryStreamDescription"]["DeliveryStreamARN"]
    topic = sns.create_topic(Name="to-firehose")["TopicArn"]
    role = {"SubscriptionRoleArn": "arn:aws:iam::000000000000:role/sns"}
    sns.subscribe(TopicArn=topic, Protocol="firehose", Endpoint=stream_arn, Attributes=role)
    sns.subscribe(TopicArn=topic, Protocol="firehose", Endpoint=stream_arn + "-raw",
                  Attributes={**role, "RawMessageDelivery": "true"})
    dlq_url, dlq_arn = make_queue(sqs, "fh-dlq")
    sns.set_subscription_attributes(
        SubscriptionArn=sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][1]["SubscriptionArn"],
        AttributeName="RedrivePolicy", AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
    sns.publish(TopicArn=topic, Message="audit me")
    assert [m["Body"] for m in drain(sqs, dlq_url, expect=1, wait=5)] == ["audit me"]

    async def records() -> list[bytes]:
        from mqlite.protocols.aws.firehose.delivery import buffer_stream

        stream = sns_server.core.streams.find(buffer_stream("audit"))
        await stream.wait_for_data({0: 0}, 10)  # the append runs as its own task
        return [r.value for r in stream.read(0, 0, 100)]

    (record,) = sns_server.call(records)
    assert json.loads(record)["Message"] == "audit me"


@pytest.mark.parametrize("workers", [0, 2])
def test_signatures_are_computed_once_per_message_and_never_for_raw_delivery(
        sns_server_factory: Any, workers: int) -> None:
    """One RSA signature per message however many subscriptions get the signed envelope
    (PublishBatch: signed ahead, inline or on worker processes), none when every
    subscriber is raw; every delivered envelope still verifies against the
    SigningCertURL certificate."""
    from mqlite.protocols.aws.sns.common import state_for
    from mqlite.protocols.aws.sns.sign_pool import _Worker

    sns_server = sns_server_factory(sns_sign_workers=workers)
    sns, sqs = client(sns_server, "sns"), client(sns_server, "sqs")
    signed = sns.create_topic(Name="signed")["TopicArn"]
    raw = sns.create_topic(Name="rawonly")["TopicArn"]
    signed_urls = []
    for i in range(3):
        url, arn = make_queue(sqs, f"signed-{i}")
        sns.subscribe(TopicArn=signed, Protocol="sqs", Endpoint=arn)
        signed_urls.append(url)
    raw_url, raw_arn = make_queue(sqs, "raw-only")
    sns.subscribe(TopicArn=raw, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    state = sns_server.call(lambda: state_for(sns_server.core, None))  # type: ignore[arg-type]
    if workers:  # start the workers (the first signatures are inline) and wait for them
        sns.publish(TopicArn=signed, Message="warm-up")
        signing_workers_ready(sns_server, workers)
        for url in signed_urls:
            drain(sqs, url, expect=1)
    calls: list[int] = []
    offloaded: list[int] = []
    real_sign, real_request = state.signer.sign, _Worker.request

    def counting(message: Any, version: str = "1") -> str:
        calls.append(1)
        return str(real_sign(message, version))

    def counting_request(self: Any, digests: Any) -> Any:
        calls.extend([1] * len(digests))
        offloaded.extend([1] * len(digests))
        return real_request(self, digests)

    state.signer.sign = counting
    _Worker.request = counting_request  # type: ignore[method-assign]
    try:
        sns.publish(TopicArn=signed, Message="one")
        sns.publish_batch(TopicArn=signed, PublishBatchRequestEntries=[
            {"Id": f"e{i}", "Message": f"b{i}"} for i in range(5)])
    finally:
        _Worker.request = real_request  # type: ignore[method-assign]
    assert len(calls) == 6  # 1 + 5 messages, each fanned out to 3 queues
    assert len(offloaded) == (6 if workers else 0)
    sns.publish(TopicArn=raw, Message="plain")
    sns.publish_batch(TopicArn=raw, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}])
    assert len(calls) == 6
    assert [m["Body"] for m in drain(sqs, raw_url, expect=2)] == ["plain", "x"]
    cert = None
    for url in signed_urls:
        docs = bodies(drain(sqs, url, expect=6))
        assert sorted(d["Message"] for d in docs) == ["b0", "b1", "b2", "b3", "b4", "one"]
        cert = cert or urllib.request.urlopen(docs[0]["SigningCertURL"]).read()
        assert all(verify(cert, d) for d in docs)
