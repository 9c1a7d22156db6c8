"""Which entity an AWS API call touches, and how, for the one authorization check.

`target(service, operation, params) -> (op, kind, name) | None` reads the request's
entity (SQS queue, SNS topic, Kinesis stream) from its own parameter, and the operation
class (create, write, read, admin; security/authz.py) from the table below; calls that
touch no named entity (ListQueues, ...) are None. `denied(service, ...)` is the error AWS
answers: SQS `AccessDenied` (403), SNS `AuthorizationError` (403), Kinesis
`AccessDeniedException` (400), with IAM's wording "User: <arn> is not authorized to
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
    if params.get("StreamName"):
        return str(params["StreamName"])
    arn = str(params.get("StreamARN") or params.get("ConsumerARN") or "")
    return arn.split(":stream/", 1)[1].split("/", 1)[0] if ":stream/" in arn else None


def target(service: str, operation: str, params: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(op, kind, name) of a call that touches a named entity, else None."""
    found = TABLE.get(service, {}).get(operation)
    if found is None:
        return None
    name = _name(service, params)
    return None if name is None else (found[0], found[1], name)


def denied(service: str, operation: str, principal: str, account: str, region: str, name: str) -> AwsError:
    """The error AWS answers when IAM refuses the call."""
    arn = f"arn:aws:{service}:{region}:{account}:" + (f"stream/{name}" if service == "kinesis" else name)
    message = (f"User: arn:aws:iam::{account}:user/{principal} is not authorized to perform: "
               f"{service}:{operation} on resource: {arn}")
    if service == "sns":
        return AwsError("AuthorizationError", message, 403)
    if service == "kinesis":
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDenied", message, 403)
