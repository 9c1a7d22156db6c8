"""The admin API's model: one dataclass per entity and per request, whatever protocol
made the entity. These types ARE the API: `openapi.py` derives the OpenAPI schemas and
the request checks from them, and `views.py` fills them from the core.

Entity kinds: `queues` (SQS and AMQP queues), `streams` (Kafka topics, Kinesis streams,
Redis streams, internal streams), `routers` (SNS topics, AMQP exchanges, EventBridge
buses) with their bindings (subscriptions, AMQP bindings, rule targets), `groups`
(consumer groups), and `connections` per protocol. `origin` names the protocol family
that made an entity: sqs, amqp, sns, events, kinesis, firehose, kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["queues", "streams", "routers", "groups"]
Encoding = Literal["utf-8", "base64"]


def doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass
class FlowInfo:
    """Messages and bytes through an entity since the broker started (counters: sample
    twice for rates)."""

    messages_in: int = 0
    bytes_in: int = 0
    messages_out: int = doc("queues: deliveries, redeliveries included; streams: records read", default=0)
    bytes_out: int = 0
    acked: int = 0
    dead_lettered: int = 0
    expired: int = 0


@dataclass
class QueueInfo:
    """A queue: depth by state, dead-letter policy and attributes."""

    name: str
    origin: str
    fifo: bool
    visible: int
    in_flight: int
    delayed: int
    dead_letter_queue: str | None
    max_receive_count: int | None
    created_ms: int
    attributes: dict[str, Any]
    flow: FlowInfo = field(default_factory=FlowInfo)
    oldest_ms: int | None = doc("timestamp of the oldest message (ms since epoch), none when empty", default=None)


@dataclass
class PartitionInfo:
    """One partition of a stream: offsets and bytes on disk."""

    partition: int
    earliest: int
    latest: int
    bytes: int


@dataclass
class StreamInfo:
    """A stream: partitions, offsets, size and retention."""

    name: str
    origin: str
    partitions: list[PartitionInfo]
    messages: int
    bytes: int
    retention_ms: int | None
    retention_bytes: int | None
    config: dict[str, Any]
    flow: FlowInfo = field(default_factory=FlowInfo)


@dataclass
class BindingInfo:
    """A route out of a router: an SNS subscription, an AMQP binding, a rule's target."""

    id: str
    destination_kind: str
    destination: str
    matcher: str
    spec: Any
    args: dict[str, Any]


@dataclass
class RouterInfo:
    """A router (SNS topic, AMQP exchange, EventBridge bus) and its bindings."""

    name: str
    origin: str
    kind: str
    bindings: list[BindingInfo]
    config: dict[str, Any]


@dataclass
class MemberInfo:
    id: str
    client_id: str
    host: str


@dataclass
class GroupOffset:
    """A group's position in one partition: committed offset and lag behind the end."""

    stream: str
    partition: int
    committed: int
    latest: int
    lag: int


@dataclass
class GroupInfo:
    """A consumer group: members, committed offsets and lag per partition."""

    name: str
    state: str
    members: list[MemberInfo]
    offsets: list[GroupOffset]
    lag: int


@dataclass
class CommitOffset:
    """Commit a group's position in one partition (the next offset it will read)."""

    stream: str
    partition: int
    offset: int


@dataclass
class ConnectionInfo:
    protocol: str
    connections: int


@dataclass
class EntitySummary:
    """One row of a listing: the same columns for every kind."""

    kind: str
    name: str
    origin: str
    depth: int = doc("queue: visible + in flight + delayed; stream: messages; group: lag; router: bindings",
                     default=0)
    messages_in: int = doc("queues and streams: messages in since start (sample twice for a rate)", default=0)
    messages_out: int = doc("queues and streams: messages out since start", default=0)


@dataclass
class EntityList:
    items: list[EntitySummary]


@dataclass
class Message:
    """A message as stored; body as UTF-8 text when it is text, else base64."""

    offset: int
    partition: int
    timestamp: int
    key: str | None
    body: str
    body_encoding: Encoding
    headers: dict[str, str]
    attributes: dict[str, str]
    id: str | None = None
    state: str | None = doc("queues: visible, in_flight or delayed", default=None)


@dataclass
class MessageList:
    messages: list[Message]
    next_offset: int | None


@dataclass
class PeekQuery:
    limit: int = doc("how many messages (1-1000)", default=10)
    partition: int | None = doc("streams: one partition (default all)", default=None)
    offset: int | None = doc("start at this offset (default earliest)", default=None)
    from_time: int | None = doc("streams: start at this time (ms since epoch)", default=None)


@dataclass
class PublishRequest:
    """A message to publish to a queue, stream or router."""

    body: str
    body_encoding: Encoding = "utf-8"
    key: str | None = None
    partition: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    routing_key: str = ""
    group_id: str | None = doc("FIFO queues: the message group", default=None)
    dedup_id: str | None = None


@dataclass
class PublishResult:
    partition: int | None = None
    offset: int | None = None
    message_id: str | None = None
    routed: int | None = doc("routers: how many destinations got the message", default=None)


@dataclass
class PublishBatch:
    messages: list[PublishRequest]


@dataclass
class PublishBatchResult:
    results: list[PublishResult]


@dataclass
class CreateQueue:
    name: str
    fifo: bool = False
    attributes: dict[str, Any] = doc("core queue attributes (visibility_timeout, delay, ...)",
                                     default_factory=dict)


@dataclass
class CreateStream:
    name: str
    partitions: int = 1
    config: dict[str, Any] = doc("retention_ms, retention_bytes, segment_bytes, max_message_bytes",
                                 default_factory=dict)


@dataclass
class CreateRouter:
    """Create an SNS topic (kind 'sns'); AMQP exchanges and EventBridge buses are made by
    their protocols or an init file, which keep their own records."""

    name: str
    kind: Literal["sns"] = "sns"
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class PurgeResult:
    purged: int


@dataclass
class DeleteResult:
    deleted: bool


@dataclass
class ResetRequest:
    scope: str = doc("all, a kind (queues, streams, routers, groups) or a service "
                     "(sqs, amqp, sns, events, kinesis, firehose, kafka, redis)", default="all")


@dataclass
class ResetReply:
    scope: str
    deleted: dict[str, int]
    duration_ms: float


@dataclass
class ImportResult:
    applied: dict[str, int] = doc("entities declared, per section (existing ones included)",
                                  default_factory=dict)


@dataclass
class Stats:
    """Totals now, for rate computation by the caller (the CLI samples twice)."""

    time_ms: int
    queues: int
    streams: int
    routers: int
    groups: int
    messages_in_queues: int
    messages_in_streams: int
    bytes_in_streams: int
    connections: dict[str, int]


@dataclass
class Overview:
    """The server at a glance: what the console's overview page shows."""

    version: str
    time_ms: int
    uptime_s: float
    data_dir: str | None
    fsync: str
    listeners: dict[str, int] = doc("protocol -> port")
    connections: dict[str, int] = doc("protocol -> open connections")
    alarms: list[str] = doc("disk or memory alarms in force (publishers blocked)")
    messages_in: int = doc("all queues and streams, since start", default=0)
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    entities: dict[str, int] = doc("kind -> how many", default_factory=dict)


@dataclass
class Edge:
    """Where messages flow: a binding, subscription or rule target, or a dead-letter route."""

    source_kind: str
    source: str
    destination_kind: str
    destination: str
    label: str


@dataclass
class Graph:
    edges: list[Edge]
