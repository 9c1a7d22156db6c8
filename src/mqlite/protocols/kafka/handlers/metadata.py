"""ApiVersions, Metadata and FindCoordinator: what the broker speaks and where things are.

One broker, node id 0, which leads every partition and coordinates every group. It
advertises the address the client connected to (the socket's local address) unless
`kafka_advertised_host` is set. Metadata auto-creates requested topics when
`kafka_auto_create_topics` is on and the request allows it (v4+
`AllowAutoTopicCreation`), as Kafka's `auto.create.topics.enable` does; an invalid
name gets INVALID_TOPIC_EXCEPTION and a missing one UNKNOWN_TOPIC_OR_PARTITION.
v10+ answers with topic ids (the stream's id) and finds topics by id (KIP-516;
UNKNOWN_TOPIC_ID when none has it); partitions report leader epoch 0.
Internal streams (`core.naming.is_internal_stream`: Firehose buffers, EventBridge
archives) do not exist for Kafka clients (core hides them from every front-end): not
listed, asked by name INVALID_TOPIC_EXCEPTION (a reserved name), never auto-created.
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core import alarms
from mqlite.core.api import Stream
from mqlite.core.errors import InvalidName
from mqlite.core.naming import is_internal_stream, namespace_body, validate_stream_name
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.topics import (
    create_topic,
    describable,
    find_topic,
    permitted,
)

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

NODE_ID = 0


def api_versions_body(fe: KafkaFrontEnd) -> dict[str, Any]:
    return {
        "ErrorCode": 0,
        "ApiKeys": [
            {"ApiKey": key, "MinVersion": rng.lo, "MaxVersion": rng.hi} for key, rng in fe.supported.items()
        ],
        "ThrottleTimeMs": 0,
    }


async def api_versions(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """ApiVersions: the API keys and version ranges this broker supports."""
    return api_versions_body(fe)


def _partitions(stream: Stream) -> list[dict[str, Any]]:
    return [
        {
            "ErrorCode": 0,
            "PartitionIndex": p,
            "LeaderId": NODE_ID,
            "LeaderEpoch": 0,
            "ReplicaNodes": [NODE_ID],
            "IsrNodes": [NODE_ID],
            "OfflineReplicas": [],
        }
        for p in range(stream.partition_count)
    ]


def topic_entry(stream: Stream) -> dict[str, Any]:
    return {
        "ErrorCode": 0,
        "Name": stream.name,
        "TopicId": getattr(stream, "id", None) or bytes(16),
        "IsInternal": False,  # core never shows a Kafka client an internal stream
        "Partitions": _partitions(stream),
        "TopicAuthorizedOperations": -2147483648,
    }


async def metadata(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """Metadata: brokers, controller and topic partitions (auto-creating topics)."""
    body = req.body
    core = fe.core
    host, port = fe.advertised(session)
    requested = body["Topics"]
    if req.api_version == 0 and requested == []:
        requested = None  # v0: an empty list means all topics
    topics: list[dict[str, Any]] = []
    if requested is None:
        for name in core.list_streams():  # internal streams are not listed (core)
            if name != namespace_body(name):
                continue  # an AWS account's or region's stream: no Kafka topic name (namespace.py)
            if not describable(fe, session, name):
                continue  # Kafka lists only the topics a principal may describe
            stream = find_topic(core, name)
            if stream is not None:
                topics.append(topic_entry(stream))
    else:
        allow = body["AllowAutoTopicCreation"] if req.api_version >= 4 else True
        for item in requested:
            name = item["Name"]
            if name is None and req.api_version >= 10:  # v10+: asked by topic id (KIP-516)
                stream = _by_id(fe, session, item.get("TopicId") or bytes(16))
                topics.append(topic_entry(stream) if stream is not None else
                              {**_error_topic(None, UNKNOWN_TOPIC_ID), "TopicId": item.get("TopicId")})
                continue
            if not describable(fe, session, name) and not (
                    find_topic(core, name) is None and permitted(fe, session, "create", "stream", name)):
                topics.append(_error_topic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            stream = find_topic(core, name)
            if stream is None:
                try:
                    validate_stream_name(name or "")
                    if is_internal_stream(name):
                        raise InvalidName("internal topic names are reserved", rule="internal-stream")
                except InvalidName:
                    topics.append(_error_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
                    continue
                if not permitted(fe, session, "create", "stream", name):
                    topics.append(_error_topic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                    continue
                if allow and fe.settings.kafka_auto_create_topics:
                    try:
                        stream = create_topic(core, name, fe.settings.kafka_default_partitions)
                    except Exception as exc:
                        if alarms.note_failure(core, exc) is None:
                            raise
                        topics.append(_error_topic(name, ErrorCode.KAFKA_STORAGE_ERROR))
                        continue
                else:
                    topics.append(_error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                    continue
            topics.append(topic_entry(stream))
    return {
        "ThrottleTimeMs": 0,
        "Brokers": [{"NodeId": NODE_ID, "Host": host, "Port": port, "Rack": None}],
        "ClusterId": fe.cluster_id,
        "ControllerId": NODE_ID,
        "Topics": topics,
        "ClusterAuthorizedOperations": -2147483648,
    }


def _error_topic(name: str | None, code: ErrorCode | int) -> dict[str, Any]:
    return {"ErrorCode": code, "Name": name, "TopicId": bytes(16), "IsInternal": False, "Partitions": [],
            "TopicAuthorizedOperations": -2147483648}


UNKNOWN_TOPIC_ID = 100


def _by_id(fe: Any, session: Any, topic_id: bytes) -> Any:
    """The stream (a topic the session may describe) whose id is `topic_id`, or None."""
    for name in fe.core.list_streams():
        stream = find_topic(fe.core, name)
        if stream is not None and stream.id == topic_id and describable(fe, session, name):
            return stream
    return None


async def find_coordinator(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """FindCoordinator: this broker coordinates every group (KeyType 0) and txn id (1)."""
    host, port = fe.advertised(session)
    body = req.body
    if body["KeyType"] not in (0, 1):
        return {"ErrorCode": ErrorCode.INVALID_REQUEST, "ErrorMessage": "unknown key type",
                "NodeId": -1, "Host": "", "Port": -1}
    keys = body.get("CoordinatorKeys") or [body["Key"]]
    return {
        "ThrottleTimeMs": 0,
        "ErrorCode": 0,
        "ErrorMessage": None,
        "NodeId": NODE_ID,
        "Host": host,
        "Port": port,
        "Coordinators": [
            {"Key": k, "NodeId": NODE_ID, "Host": host, "Port": port, "ErrorCode": 0, "ErrorMessage": None}
            for k in keys
        ],
    }


MISMATCHED_ENDPOINT_TYPE = 114
UNSUPPORTED_ENDPOINT_TYPE = 115
BROKERS_ENDPOINT = 1


async def describe_cluster(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """DescribeCluster (KIP-700): this one broker, which is also the controller.
    EndpointType (v1) 2, controllers, is MISMATCHED_ENDPOINT_TYPE at a broker, as in Kafka."""
    host, port = fe.advertised(session)
    endpoint = req.body.get("EndpointType", BROKERS_ENDPOINT)
    out = {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "EndpointType": endpoint,
           "ClusterId": fe.cluster_id, "ControllerId": NODE_ID,
           "Brokers": [{"BrokerId": NODE_ID, "Host": host, "Port": port, "Rack": None}],
           "ClusterAuthorizedOperations": -2147483648}
    if endpoint != BROKERS_ENDPOINT:
        out.update(ErrorCode=MISMATCHED_ENDPOINT_TYPE if endpoint == 2 else UNSUPPORTED_ENDPOINT_TYPE,
                   ErrorMessage="The request was sent to an endpoint of the wrong type." if endpoint == 2
                   else f"Unsupported endpoint type {endpoint}", Brokers=[], ControllerId=-1)
    return out


APIS = {
    18: (0, 3, api_versions),
    3: (0, 12, metadata),
    10: (0, 2, find_coordinator),
    60: (0, 1, describe_cluster),
}
