"""The message values that cross the core: what a publisher hands in, what a consumer gets.

`Attribute` is a user attribute in the SQS MessageAttributes shape (`data_type` is
"String", "Number", "Binary" or a custom "String.x"/"Number.x"/"Binary.x"; `value` is
str for String/Number and bytes for Binary). `meta` is protocol metadata (AMQP
properties, SNS envelope facts, Redis stream ids...) that core stores as record headers
and hands back untouched; keys are namespaced by front-end (`amqp.`, `sns.`, ...).

`Envelope` is what a router publish or a queue send carries; `Message` is a queue
delivery (with its lease receipt). All are frozen: safe to share between destinations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Attribute:
    data_type: str
    value: str | bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message on its way in: to a queue, a stream, or through a router."""

    body: bytes
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    meta: Mapping[str, bytes] = field(default_factory=dict)
    routing_key: str = ""  # AMQP routing key / SNS subject-less topic key / stream key
    key: bytes | None = None  # stream partition key
    group_id: str | None = None  # FIFO message group
    dedup_id: str | None = None  # FIFO deduplication id
    priority: int | None = None  # 0-255 (AMQP); queues clamp to x-max-priority
    ttl_ms: int | None = None  # per-message expiry (AMQP expiration)
    delay: float | None = None  # seconds before visible (SQS DelaySeconds)
    timestamp_ms: int | None = None  # publisher's timestamp; default: now
    persistent: bool = True  # False: dropped by a queue's recovery after a restart
    # (AMQP delivery_mode 1: RabbitMQ does not keep transient messages across restarts)


@dataclass(frozen=True, slots=True)
class Message:
    """A queue delivery: the stored message plus this lease's receipt."""

    id: str
    body: bytes
    attributes: Mapping[str, Attribute]
    meta: Mapping[str, bytes]
    receipt: str
    receive_count: int
    sent_timestamp: int  # ms
    first_receive_timestamp: int  # ms
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    priority: int = 0
    routing_key: str = ""
    offset: int = -1  # position in the queue's log
    source: str | None = None  # the queue it was dead-lettered from (SQS DeadLetterQueueSourceArn)
