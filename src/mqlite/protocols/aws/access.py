"""Which entity an AWS API call touches, and how, for the one authorization check.

`targets(service, operation, params, ns) -> [(op, kind, name)]` reads the request's
entities (SQS queue, SNS topic, Kinesis stream, Firehose delivery stream, EventBridge
bus) from their own parameters, as core names (`namespace.py`: `<account>:` and
`@<region>` outside the home account and region, so rules name them as every protocol
sees them), and the operation class (create, write, read, admin;
security/authz.py) from the table below; calls that touch no named entity are []. EventBridge
archives are checked as streams, connections and API destinations as routers, by their
names; a rule's targets need write on what they name. List calls (ListQueues,
ListTopics, ListStreams, ListDeliveryStreams, ListEventBuses, ListArchives,
ListConnections, ListApiDestinations) are answered with only the entities the caller may
read (`filter_list`). `denied(service, ...)` is the error AWS
answers: SQS `AccessDenied` (403), SNS `AuthorizationError` (403), Kinesis, Firehose and
EventBridge `AccessDeniedException` (400), with IAM's wording "User: <arn> is not authorized to
perform: <service>:<Action> on resource: <arn>". Pure data and functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mqlite.protocols.aws.namespace import Namespace
from mqlite.protocols.aws.wire import AwsError

_SQS_READ = ("ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
             "ChangeMessageVisibilityBatch", "GetQueueAttributes", "GetQueueUrl", "ListQueueTags",
             "ListDeadLetterSourceQueues")
_SQS_ADMIN = ("DeleteQueue", "PurgeQueue", "SetQueueAttributes", "TagQueue", "UntagQueue",
              "AddPermission", "RemovePermission", "StartMessageMoveTask", "ListMessageMoveTasks")
_SNS_READ = ("Subscribe", "GetTopicAttributes", "ListSubscriptionsByTopic", "ConfirmSubscription",
             "Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes", "ListTagsForResource")
_SNS_ADMIN = ("DeleteTopic", "SetTopicAttributes", "AddPermission", "RemovePermission",
              "PutDataProtectionPolicy", "GetDataProtectionPolicy", "TagResource", "UntagResource")
_KINESIS_READ = ("GetShardIterator", "DescribeStream", "DescribeStreamSummary", "ListShards",
                 "DescribeStreamConsumer", "ListStreamConsumers", "RegisterStreamConsumer",
                 "ListTagsForStream", "SubscribeToShard", "ListTagsForResource", "GetResourcePolicy")
_KINESIS_ADMIN = ("DeleteStream", "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod",
                  "UpdateShardCount", "SplitShard", "MergeShards", "AddTagsToStream",
                  "RemoveTagsFromStream", "StartStreamEncryption", "StopStreamEncryption",
                  "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "UpdateStreamMode",
                  "DeregisterStreamConsumer", "TagResource", "UntagResource", "PutResourcePolicy",
                  "DeleteResourcePolicy")

_FIREHOSE_ADMIN = ("DeleteDeliveryStream", "UpdateDestination", "TagDeliveryStream", "UntagDeliveryStream",
                   "StartDeliveryStreamEncryption", "StopDeliveryStreamEncryption")
_EVENTS_READ = ("DescribeEventBus", "ListRules", "DescribeRule", "ListTargetsByRule")
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
               **{o: ("read", "router") for o in _EVENTS_READ},
               **{o: ("admin", "router") for o in _EVENTS_ADMIN}},
}
# List calls whose answer is filtered to the entities the caller may read:
# service -> operation -> (result member, kind, core name of one item in the namespace)
LISTS: dict[str, dict[str, tuple[str, str, Callable[[Namespace, Any], str | None]]]] = {
    "sqs": {"ListQueues": ("QueueUrls", "queue", lambda ns, url: ns.core_of_url(url))},
    "sns": {"ListTopics": ("Topics", "router", lambda ns, t: ns.core_of_arn(t["TopicArn"], "sns"))},
    "kinesis": {"ListStreams": ("StreamNames", "stream", lambda ns, n: ns.core(n))},
    "firehose": {"ListDeliveryStreams": ("DeliveryStreamNames", "stream", lambda ns, n: ns.core(n))},
    "events": {"ListEventBuses": ("EventBuses", "router", lambda ns, b: ns.core(b["Name"])),
               "ListArchives": ("Archives", "stream", lambda ns, a: ns.core(a["ArchiveName"])),
               "ListConnections": ("Connections", "router", lambda ns, c: ns.core(c["Name"])),
               "ListApiDestinations": ("ApiDestinations", "router", lambda ns, d: ns.core(d["Name"]))},
}


def _events_bus(ns: Namespace, bus: str) -> str | None:
    if bus.startswith("arn:"):
        return ns.core_of_arn(bus, "events", "event-bus/")
    return ns.core(bus)


# EventBridge calls whose `Name` is the bus's (rules are administered on their bus)
_BUS_NAMED = frozenset({"CreateEventBus", "DescribeEventBus", "DeleteEventBus", "UpdateEventBus"})


def _name(service: str, operation: str, params: Mapping[str, Any], ns: Namespace) -> str | None:
    """The core name (namespace.py) of the entity the call names."""
    if service == "sqs":
        if params.get("QueueName"):  # GetQueueUrl may name the owner's account
            return ns.at(params.get("QueueOwnerAWSAccountId") or None).core(str(params["QueueName"]))
        if params.get("SourceArn"):  # message move tasks: the dead-letter queue's
            return ns.core_of_arn(str(params["SourceArn"]), "sqs")
        return ns.core_of_url(str(params.get("QueueUrl") or ""))
    if service == "sns":
        if params.get("Name"):
            return ns.core(str(params["Name"]))
        arn = str(params.get("TopicArn") or params.get("ResourceArn") or "")
        if not arn and params.get("SubscriptionArn"):  # <topic arn>:<id>: the topic's
            arn = str(params["SubscriptionArn"]).rsplit(":", 1)[0]
        return ns.core_of_arn(arn, "sns")
    if service == "firehose":
        return ns.core(str(params.get("DeliveryStreamName") or ""))
    if service == "events":
        if operation in _BUS_NAMED and params.get("Name"):  # the bus (name or ARN)
            return _events_bus(ns, str(params["Name"]))
        return _events_bus(ns, str(params.get("EventBusName") or "default"))
    if params.get("StreamName"):
        return ns.core(str(params["StreamName"]))
    arn = str(params.get("StreamARN") or params.get("ConsumerARN") or params.get("ResourceARN") or "")
    if ":stream/" not in arn:
        return None
    stream_arn = arn.split("/consumer/", 1)[0]
    return ns.core_of_arn(stream_arn, "kinesis", "stream/")


def targets(service: str, operation: str, params: Mapping[str, Any],
            ns: Namespace) -> list[tuple[str, str, str]]:
    """(op, kind, core name) of each named entity the call touches (PutEvents: each bus)."""
    if service == "events" and operation in EVENTS_ENTITIES:
        return [(op, kind, name) for op, kind, name in _events_entities(operation, params, ns) if name]
    found = TABLE.get(service, {}).get(operation)
    if found is None:
        return []
    if service == "events" and operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        names = sorted(n for n in (_events_bus(ns, b) for b in buses) if n is not None)
    else:
        name = _name(service, operation, params, ns)
        names = [] if name is None else [name]
    out = [(found[0], found[1], n) for n in names]
    if service == "events" and operation == "PutTargets":
        out += _target_writes(params, ns)
    return out


def _resource(ns: Namespace, arn: str, prefix: str) -> str | None:
    """The core name of an EventBridge resource ARN `...:<prefix><name>[/<uuid>]`."""
    found = ns.of_arn(arn, "events")
    if found is None or not found[1].startswith(prefix):
        return None
    return found[0].core(found[1][len(prefix):].split("/", 1)[0])


def _events_entities(operation: str, params: Mapping[str, Any], ns: Namespace) -> list[tuple[str, str, str | None]]:
    """Archives (kind `stream`: a stored log of events), connections and API
    destinations (kind `router`: where events are sent), each checked by its name."""
    if operation in _ARCHIVE_OPS:
        out = [(_ARCHIVE_OPS[operation], "stream", ns.core(str(params.get("ArchiveName") or "")))]
        if operation == "CreateArchive":  # the archive reads its source bus
            out.append(("read", "router", _events_bus(ns, str(params.get("EventSourceArn") or ""))))
        return out
    if operation == "StartReplay":  # reads the archive, writes into the destination bus
        destination = str((params.get("Destination") or {}).get("Arn") or "")
        return [("read", "stream", _resource(ns, str(params.get("EventSourceArn") or ""), "archive/")),
                ("write", "router", _events_bus(ns, destination))]
    out = [(_ENDPOINT_OPS[operation], "router", ns.core(str(params.get("Name") or "")))]
    if params.get("ConnectionArn"):  # an API destination uses its connection's credentials
        out.append(("read", "router", _resource(ns, str(params["ConnectionArn"]), "connection/")))
    return out


_ARCHIVE_OPS = {"CreateArchive": "create", "DescribeArchive": "read", "UpdateArchive": "admin",
                "DeleteArchive": "admin"}
_ENDPOINT_OPS = {"CreateConnection": "create", "DescribeConnection": "read", "UpdateConnection": "admin",
                 "DeleteConnection": "admin", "DeauthorizeConnection": "admin",
                 "CreateApiDestination": "create", "DescribeApiDestination": "read",
                 "UpdateApiDestination": "admin", "DeleteApiDestination": "admin"}
EVENTS_ENTITIES = frozenset(_ARCHIVE_OPS) | frozenset(_ENDPOINT_OPS) | {"StartReplay"}


# EventBridge target ARNs: service -> (kind, resource prefix) of the entity a rule writes to
_TARGETS = {"sqs": ("queue", ""), "sns": ("router", ""), "kinesis": ("stream", "stream/"),
            "firehose": ("stream", "deliverystream/"), "events": ("router", "event-bus/")}


def _target_writes(params: Mapping[str, Any], ns: Namespace) -> list[tuple[str, str, str]]:
    """A rule's targets (and their dead-letter queues) are written to by its deliveries."""
    out = []
    for target in params.get("Targets") or []:
        arns = [str(target.get("Arn") or ""), str((target.get("DeadLetterConfig") or {}).get("Arn") or "")]
        for arn in arns:
            service = arn.split(":", 3)[2] if arn.count(":") >= 5 else ""
            if service == "events" and ":api-destination/" in arn:
                name = _resource(ns, arn, "api-destination/")
                if name is not None:
                    out.append(("write", "router", name))
            elif service in _TARGETS:
                kind, prefix = _TARGETS[service]
                name = ns.core_of_arn(arn, service, prefix)
                if name is not None:
                    out.append(("write", kind, name))
    return out


def filter_list(service: str, operation: str, result: Any, allowed: Any, ns: Namespace) -> Any:
    """A List call's result without the entities `allowed(kind, core name)` refuses."""
    found = LISTS.get(service, {}).get(operation)
    if found is None or not isinstance(result, dict) or found[0] not in result:
        return result
    member, kind, name_of = found
    return {**result, member: [item for item in result[member] if allowed(kind, name_of(ns, item) or "")]}


def permits(authz: Any, auth_on: bool, principal: str | None, op: str, kind: str, name: str,
            ns: Namespace) -> bool:
    """The one decision for an AWS caller on a core entity: the rules (security/authz.py),
    and for another account's entity, while authentication is on, the `admin` role or a
    rule naming it even when no rule exists at all (accounts are isolated, as AWS needs a
    resource policy for cross-account access)."""
    if not authz.allowed(principal, op, kind, name):
        return False
    return not auth_on or ns.split(name)[0] == ns.account or authz.granted(principal, op, kind, name)


def denied(service: str, operation: str, principal: str, ns: Namespace, name: str) -> AwsError:
    """The error AWS answers when IAM refuses the call (`name`: the core name)."""
    kind = {"kinesis": "stream/", "firehose": "deliverystream/", "events": "event-bus/"}.get(service, "")
    arn = ns.arn(service, name, kind)
    message = (f"User: arn:aws:iam::{ns.account}:user/{principal} is not authorized to perform: "
               f"{service}:{operation} on resource: {arn}")
    if service == "sns":
        return AwsError("AuthorizationError", message, 403)
    if service in ("kinesis", "firehose", "events"):
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDenied", message, 403)
