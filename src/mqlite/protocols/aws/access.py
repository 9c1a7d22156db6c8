"""Which entity an AWS API call touches, and how, for the one authorization check.

`targets(service, operation, params) -> [(op, kind, name)]` reads the request's entities
(SQS queue, SNS topic, Kinesis stream, Firehose delivery stream, EventBridge bus) from
their own parameters, and the operation class (create, write, read, admin;
security/authz.py) from the table below; calls that touch no named entity are []. List
calls (ListQueues, ListTopics, ListStreams, ListDeliveryStreams) are answered with only
the entities the caller may read (`filter_list`). `denied(service, ...)` is the error AWS
answers: SQS `AccessDenied` (403), SNS `AuthorizationError` (403), Kinesis, Firehose and
EventBridge `AccessDeniedException` (400), with IAM's wording "User: <arn> is not authorized to
perform: <service>:<Action> on resource: <arn>". Pure data and functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqlite.protocols.aws.wire import AwsError

_SQS_READ = ("ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
             "ChangeMessageVisibilityBatch", "GetQueueAttributes", "GetQueueUrl", "ListQueueTags",
             "ListDeadLetterSourceQueues")
_SQS_ADMIN = ("DeleteQueue", "PurgeQueue", "SetQueueAttributes", "TagQueue", "UntagQueue",
              "AddPermission", "RemovePermission")
_SNS_READ = ("Subscribe", "GetTopicAttributes", "ListSubscriptionsByTopic")
_SNS_ADMIN = ("DeleteTopic", "SetTopicAttributes", "AddPermission", "RemovePermission",
              "PutDataProtectionPolicy", "GetDataProtectionPolicy")
_KINESIS_READ = ("GetShardIterator", "DescribeStream", "DescribeStreamSummary", "ListShards",
                 "DescribeStreamConsumer", "ListStreamConsumers", "RegisterStreamConsumer",
                 "ListTagsForStream")
_KINESIS_ADMIN = ("DeleteStream", "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod",
                  "UpdateShardCount", "SplitShard", "MergeShards", "AddTagsToStream",
                  "RemoveTagsFromStream", "StartStreamEncryption", "StopStreamEncryption",
                  "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "UpdateStreamMode",
                  "DeregisterStreamConsumer")

_FIREHOSE_ADMIN = ("DeleteDeliveryStream", "UpdateDestination", "TagDeliveryStream", "UntagDeliveryStream",
                   "StartDeliveryStreamEncryption", "StopDeliveryStreamEncryption")
_EVENTS_ADMIN = ("DeleteEventBus", "PutRule", "DeleteRule", "PutTargets", "RemoveTargets", "EnableRule",
                 "DisableRule", "PutPermission", "RemovePermission", "UpdateEventBus")

# service -> operation -> (op, kind)
TABLE: dict[str, dict[str, tuple[str, str]]] = {
    "sqs": {"CreateQueue": ("create", "queue"), "SendMessage": ("write", "queue"),
            "SendMessageBatch": ("write", "queue"),
            **{o: ("read", "queue") for o in _SQS_READ}, **{o: ("admin", "queue") for o in _SQS_ADMIN}},
    "sns": {"CreateTopic": ("create", "router"), "Publish": ("write", "router"),
            "PublishBatch": ("write", "router"),
            **{o: ("read", "router") for o in _SNS_READ}, **{o: ("admin", "router") for o in _SNS_ADMIN}},
    "kinesis": {"CreateStream": ("create", "stream"), "PutRecord": ("write", "stream"),
                "PutRecords": ("write", "stream"),
                **{o: ("read", "stream") for o in _KINESIS_READ},
                **{o: ("admin", "stream") for o in _KINESIS_ADMIN}},
    # a Firehose delivery stream is checked as a stream of its name
    "firehose": {"CreateDeliveryStream": ("create", "stream"), "PutRecord": ("write", "stream"),
                 "PutRecordBatch": ("write", "stream"), "DescribeDeliveryStream": ("read", "stream"),
                 "ListTagsForDeliveryStream": ("read", "stream"),
                 **{o: ("admin", "stream") for o in _FIREHOSE_ADMIN}},
    # an EventBridge bus is a router; rules and targets are administered on their bus
    "events": {"CreateEventBus": ("create", "router"), "PutEvents": ("write", "router"),
               "DescribeEventBus": ("read", "router"), "ListRules": ("read", "router"),
               **{o: ("admin", "router") for o in _EVENTS_ADMIN}},
}
# List calls whose answer is filtered to the entities the caller may read:
# service -> operation -> (result member, kind, name of one item)
LISTS: dict[str, dict[str, tuple[str, str, Any]]] = {
    "sqs": {"ListQueues": ("QueueUrls", "queue", lambda url: url.rstrip("/").rsplit("/", 1)[-1])},
    "sns": {"ListTopics": ("Topics", "router", lambda t: t["TopicArn"].rsplit(":", 1)[-1])},
    "kinesis": {"ListStreams": ("StreamNames", "stream", lambda n: n)},
    "firehose": {"ListDeliveryStreams": ("DeliveryStreamNames", "stream", lambda n: n)},
}


def _name(service: str, params: Mapping[str, Any]) -> str | None:
    if service == "sqs":
        if params.get("QueueName"):
            return str(params["QueueName"])
        url = str(params.get("QueueUrl") or "")
        return url.rstrip("/").rsplit("/", 1)[-1] or None
    if service == "sns":
        if params.get("Name"):
            return str(params["Name"])
        arn = str(params.get("TopicArn") or "")
        return arn.rsplit(":", 1)[-1] or None
    if service == "firehose":
        return str(params.get("DeliveryStreamName") or "") or None
    if service == "events":
        if params.get("Name"):
            return str(params["Name"])
        bus = str(params.get("EventBusName") or "default")
        return bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus
    if params.get("StreamName"):
        return str(params["StreamName"])
    arn = str(params.get("StreamARN") or params.get("ConsumerARN") or "")
    return arn.split(":stream/", 1)[1].split("/", 1)[0] if ":stream/" in arn else None


def targets(service: str, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(op, kind, name) of each named entity the call touches (PutEvents: each bus)."""
    found = TABLE.get(service, {}).get(operation)
    if found is None:
        return []
    if service == "events" and operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        names = sorted(b.rsplit("/", 1)[-1] if b.startswith("arn:") else b for b in buses)
    else:
        name = _name(service, params)
        names = [] if name is None else [name]
    return [(found[0], found[1], n) for n in names]


def filter_list(service: str, operation: str, result: Any, allowed: Any) -> Any:
    """A List call's result without the entities `allowed(kind, name)` refuses."""
    found = LISTS.get(service, {}).get(operation)
    if found is None or not isinstance(result, dict) or found[0] not in result:
        return result
    member, kind, name_of = found
    return {**result, member: [item for item in result[member] if allowed(kind, name_of(item))]}


def denied(service: str, operation: str, principal: str, account: str, region: str, name: str) -> AwsError:
    """The error AWS answers when IAM refuses the call."""
    kind = {"kinesis": "stream/", "firehose": "deliverystream/", "events": "event-bus/"}.get(service, "")
    arn = f"arn:aws:{service}:{region}:{account}:{kind}{name}"
    message = (f"User: arn:aws:iam::{account}:user/{principal} is not authorized to perform: "
               f"{service}:{operation} on resource: {arn}")
    if service == "sns":
        return AwsError("AuthorizationError", message, 403)
    if service in ("kinesis", "firehose", "events"):
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDenied", message, 403)
