"""The topology document `mqlite serve --init FILE` reads and `mqlite export` writes.

One document (TOML or JSON) declares what an application expects to exist; each
section uses the vocabulary of the protocol that owns the entity:

    [[queues]]          SQS queues: AWS attribute names (VisibilityTimeout = "30"),
                        dead_letter = {queue, max_receive_count}, tags
    [[topics]]          SNS topics with [[topics.subscriptions]] (protocol, endpoint: a
                        queue name or an ARN/URL, attributes such as FilterPolicy)
    [[streams]]         streams (Kafka topics, Kinesis, Redis): partitions, config
    [[exchanges]]       AMQP exchanges; [[amqp_queues]] AMQP queues; [[bindings]]
                        (source, destination, destination_type, routing_key, arguments)
    [[event_buses]]     EventBridge buses with [[event_buses.rules]] (event_pattern or
                        schedule, targets = [{id, arn, input}]); the `default` bus may
                        be listed to declare rules on it
    vhosts = [...]      AMQP virtual hosts

The dataclasses below are the schema: `decode` (the admin API's typed decoder) checks a
document against them, naming the entity and the field at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DeadLetter:
    queue: str
    max_receive_count: int


@dataclass
class QueueSpec:
    """An SQS queue."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    dead_letter: DeadLetter | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SubscriptionSpec:
    protocol: str
    endpoint: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class TopicSpec:
    """An SNS topic and its subscriptions."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    subscriptions: list[SubscriptionSpec] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamSpec:
    """A stream (Kafka topic, Kinesis stream, Redis stream)."""

    name: str
    partitions: int = 1
    config: dict[str, int] = field(default_factory=dict)


@dataclass
class AmqpSpec:
    """What AMQP exchanges and queues both declare."""

    name: str
    vhost: str = "/"
    durable: bool = True
    auto_delete: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExchangeSpec(AmqpSpec):
    """An AMQP exchange."""

    type: str = "direct"
    internal: bool = False


@dataclass
class AmqpQueueSpec(AmqpSpec):
    """An AMQP queue."""


@dataclass
class BindingSpec:
    """An AMQP binding (queue or exchange destination)."""

    source: str
    destination: str
    destination_type: str = "queue"
    routing_key: str = ""
    vhost: str = "/"
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetSpec:
    id: str
    arn: str
    input: str | None = None


@dataclass
class RuleSpec:
    """An EventBridge rule with its targets."""

    name: str
    event_pattern: Any = None
    schedule: str | None = None
    state: str = "ENABLED"
    description: str | None = None
    targets: list[TargetSpec] = field(default_factory=list)


@dataclass
class EventBusSpec:
    """An EventBridge bus and its rules."""

    name: str
    rules: list[RuleSpec] = field(default_factory=list)


@dataclass
class Topology:
    """A whole document."""

    vhosts: list[str] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    topics: list[TopicSpec] = field(default_factory=list)
    streams: list[StreamSpec] = field(default_factory=list)
    exchanges: list[ExchangeSpec] = field(default_factory=list)
    amqp_queues: list[AmqpQueueSpec] = field(default_factory=list)
    bindings: list[BindingSpec] = field(default_factory=list)
    event_buses: list[EventBusSpec] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "vhosts": len(self.vhosts), "queues": len(self.queues), "topics": len(self.topics),
            "subscriptions": sum(len(t.subscriptions) for t in self.topics),
            "streams": len(self.streams), "exchanges": len(self.exchanges),
            "amqp_queues": len(self.amqp_queues), "bindings": len(self.bindings),
            "event_buses": len(self.event_buses),
            "rules": sum(len(b.rules) for b in self.event_buses),
        }
