"""Existing resources for model-driven conformance, named by the members that take them.

`fixtures(service, client, sibling)` makes (or finds) what valid generated requests should
name, so they reach a service's logic rather than stopping at "does not exist" or at a
value no service accepts: a queue (and a message's receipt handle), a topic subscribed by
a queue, a stream with its shard, a delivery stream, a rule with a pattern. Returns
member name -> value; `model_cases.valid_value` uses these values wherever the member
appears. `sibling(name)` is a client of another service on the same server (SNS needs a
queue). Called before each operation, so an operation that deletes a resource does not
starve the next one. Errors are ignored: a missing fixture only makes requests weaker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


def _quiet(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (ClientError, BotoCoreError):
        return None


def _queue(c: Any) -> tuple[str | None, str | None]:
    url = (_quiet(lambda: c.create_queue(QueueName="conformance-q")) or {}).get("QueueUrl")
    if url is None:
        return None, None
    attrs = _quiet(lambda: c.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])) or {}
    return url, attrs.get("Attributes", {}).get("QueueArn")


def _sqs(c: Any) -> dict[str, Any]:
    url, _arn = _queue(c)
    if url is None:
        return {}
    out = {"QueueUrl": url, "QueueName": "conformance-q", "MessageBody": "conformance"}
    _quiet(lambda: c.send_message(QueueUrl=url, MessageBody="conformance"))
    got = _quiet(lambda: c.receive_message(QueueUrl=url, MaxNumberOfMessages=1)) or {}
    if got.get("Messages"):
        out["ReceiptHandle"] = got["Messages"][0]["ReceiptHandle"]
    return out


def _sns(c: Any, sibling: Callable[[str], Any]) -> dict[str, Any]:
    arn = (_quiet(lambda: c.create_topic(Name="conformance-topic")) or {}).get("TopicArn")
    if arn is None:
        return {}
    out: dict[str, Any] = {"TopicArn": arn, "Message": "conformance", "Protocol": "sqs"}
    _url, queue_arn = _queue(sibling("sqs"))
    if queue_arn is not None:
        out["Endpoint"] = queue_arn
        sub = _quiet(lambda: c.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)) or {}
        if sub.get("SubscriptionArn"):
            out["SubscriptionArn"] = sub["SubscriptionArn"]
    return out


def _kinesis(c: Any) -> dict[str, Any]:
    _quiet(lambda: c.create_stream(StreamName="conformance-stream", ShardCount=1))
    desc = _quiet(lambda: c.describe_stream_summary(StreamName="conformance-stream"))
    if not desc:
        return {}
    return {"StreamName": "conformance-stream", "StreamARN": desc["StreamDescriptionSummary"]["StreamARN"],
            "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}


def _firehose(c: Any) -> dict[str, Any]:
    _quiet(lambda: c.create_delivery_stream(
        DeliveryStreamName="conformance-fh", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/conformance",
            "BucketARN": "arn:aws:s3:::conformance-bucket"}))
    return {"DeliveryStreamName": "conformance-fh"}


def _events(c: Any) -> dict[str, Any]:
    pattern = '{"source": ["conformance"]}'
    _quiet(lambda: c.put_rule(Name="conformance-rule", EventPattern=pattern))
    return {"EventBusName": "default", "Rule": "conformance-rule", "EventPattern": pattern}


_MAKERS: dict[str, Callable[[Any, Callable[[str], Any]], dict[str, Any]]] = {
    "sqs": lambda c, _sibling: _sqs(c),
    "sns": _sns,
    "kinesis": lambda c, _sibling: _kinesis(c),
    "firehose": lambda c, _sibling: _firehose(c),
    "events": lambda c, _sibling: _events(c),
}


def fixtures(service: str, c: Any, sibling: Callable[[str], Any]) -> dict[str, Any]:
    """Member name -> an existing resource (or a value the service accepts) for `service`."""
    maker = _MAKERS.get(service)
    return maker(c, sibling) if maker is not None else {}
