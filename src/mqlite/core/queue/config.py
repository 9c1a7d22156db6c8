"""QueueConfig: one queue's durable configuration, validated against the documented ranges.

Ranges follow the SQS `SetQueueAttributes` reference and RabbitMQ's queue arguments:

| field | range / values | source |
|---|---|---|
| visibility_timeout | 0-43200 s (12 h) | SQS VisibilityTimeout |
| delay | 0-900 s | SQS DelaySeconds |
| retention | 60-1209600 s (1 min-14 days), or 0 = unlimited | SQS MessageRetentionPeriod (0: AMQP queues, which keep messages until consumed or expired) |
| max_message_bytes | 1024-134217728 (default 1 MiB) | SQS MaximumMessageSize (1 MiB max for SQS; larger for AMQP) |
| receive_wait | 0-20 s | SQS ReceiveMessageWaitTimeSeconds |
| redrive.max_receive_count | 1-1000 | SQS RedrivePolicy maxReceiveCount |
| dedup_scope | 'queue' / 'messageGroup' | SQS DeduplicationScope |
| fifo_throughput_limit | 'perQueue' / 'perMessageGroupId' | SQS FifoThroughputLimit |
| max_priority | 0-255 (0 = no priorities) | RabbitMQ x-max-priority |
| message_ttl_ms | 0-(2^63-1) | RabbitMQ x-message-ttl (any non-negative integer) |
| max_length, max_length_bytes | >= 0 | RabbitMQ x-max-length(-bytes) |
| overflow | 'drop-head' / 'reject-publish' / 'reject-publish-dlx' | RabbitMQ x-overflow |
| expires_ms | 1-4294967295 | RabbitMQ x-expires |

Every violation raises `InvalidValue` whose `rule` names the field and its range, and the
config is never half-built. Values are frozen and slotted: safe to share; `to_dict` /
`from_dict` is the catalog form (JSON).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from mqlite.core.errors import InvalidValue

MIB = 1024 * 1024

RULES: dict[str, str] = {
    "visibility_timeout": "visibility_timeout: 0-43200 seconds",
    "delay": "delay: 0-900 seconds",
    "retention": "retention: 60-1209600 seconds, or 0 for unlimited",
    "max_message_bytes": "max_message_bytes: 1024-134217728 bytes",
    "receive_wait": "receive_wait: 0-20 seconds",
    "max_receive_count": "max_receive_count: 1-1000",
    "dedup_scope": "dedup_scope: 'queue' or 'messageGroup'",
    "fifo_throughput_limit": "fifo_throughput_limit: 'perQueue' or 'perMessageGroupId'",
    "max_priority": "max_priority: 0-255",
    "message_ttl_ms": "message_ttl_ms: 0-9223372036854775807 milliseconds",
    "max_length": "max_length: >= 0",
    "max_length_bytes": "max_length_bytes: >= 0",
    "overflow": "overflow: 'drop-head', 'reject-publish' or 'reject-publish-dlx'",
    "expires_ms": "expires_ms: 1-4294967295 milliseconds",
    "redrive_allow_policy": "redrive_allow_policy: 'allowAll', 'denyAll' or 'byQueue' with 1-10 source queues",
    "fifo_only": "content_based_dedup, dedup_scope and fifo_throughput_limit apply to FIFO queues only",
}

U32 = 4294967295
RETENTION_UNLIMITED_MS = 1 << 62
TTL_MAX = 2**63 - 1  # RabbitMQ takes any non-negative TTL (Celery declares 2^27 s)


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    """SQS RedrivePolicy: after `max_receive_count` receives, move to `dead_letter_target`."""

    dead_letter_target: str
    max_receive_count: int


@dataclass(frozen=True, slots=True)
class RedriveAllowPolicy:
    """SQS RedriveAllowPolicy: which source queues may use this queue as their DLQ."""

    permission: str = "allowAll"  # allowAll | denyAll | byQueue
    source_queues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue's configuration; see the module docstring for every range."""

    fifo: bool = False
    visibility_timeout: float = 30.0
    delay: float = 0.0
    retention: float = 345600.0  # 4 days, the SQS default
    max_message_bytes: int = MIB
    receive_wait: float = 0.0
    content_based_dedup: bool = False
    dedup_scope: str = "queue"
    fifo_throughput_limit: str = "perQueue"
    redrive: RedrivePolicy | None = None
    redrive_allow_policy: RedriveAllowPolicy | None = None
    max_priority: int = 0
    message_ttl_ms: int | None = None
    max_length: int | None = None
    max_length_bytes: int | None = None
    overflow: str = "drop-head"
    dead_letter_exchange: str | None = None
    dead_letter_routing_key: str | None = None
    expires_ms: int | None = None

    def __post_init__(self) -> None:
        _number(self, "visibility_timeout", 0, 43200)
        _number(self, "delay", 0, 900)
        if not (type(self.retention) in (int, float) and self.retention == 0):
            _number(self, "retention", 60, 1209600)
        _integer(self, "max_message_bytes", 1024, 128 * MIB)
        _number(self, "receive_wait", 0, 20)
        _choice(self, "dedup_scope", ("queue", "messageGroup"))
        _choice(self, "fifo_throughput_limit", ("perQueue", "perMessageGroupId"))
        _integer(self, "max_priority", 0, 255)
        _integer(self, "message_ttl_ms", 0, TTL_MAX, optional=True)
        _integer(self, "max_length", 0, None, optional=True)
        _integer(self, "max_length_bytes", 0, None, optional=True)
        _choice(self, "overflow", ("drop-head", "reject-publish", "reject-publish-dlx"))
        _integer(self, "expires_ms", 1, U32, optional=True)
        for flag in ("fifo", "content_based_dedup"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidValue(flag, f"{flag} must be a boolean", rule=f"{flag}: true or false")
        if not self.fifo and (
            self.content_based_dedup
            or self.dedup_scope != "queue"
            or self.fifo_throughput_limit != "perQueue"
        ):
            raise InvalidValue(
                "fifo", "FIFO attributes set on a standard queue", rule=RULES["fifo_only"]
            )
        if self.redrive is not None:
            r = self.redrive
            if not isinstance(r, RedrivePolicy) or not isinstance(r.dead_letter_target, str) or not r.dead_letter_target:
                raise InvalidValue(
                    "redrive", "redrive needs a dead_letter_target queue name",
                    rule="redrive: dead_letter_target and max_receive_count",
                )
            if (
                not isinstance(r.max_receive_count, int)
                or isinstance(r.max_receive_count, bool)
                or not 1 <= r.max_receive_count <= 1000
            ):
                raise InvalidValue(
                    "max_receive_count",
                    f"max_receive_count must be 1-1000, got {r.max_receive_count!r}",
                    rule=RULES["max_receive_count"],
                )
        if self.redrive_allow_policy is not None:
            p = self.redrive_allow_policy
            ok = isinstance(p, RedriveAllowPolicy) and p.permission in ("allowAll", "denyAll", "byQueue")
            if ok and p.permission == "byQueue":
                ok = 1 <= len(p.source_queues) <= 10
            elif ok:
                ok = not p.source_queues
            if not ok:
                raise InvalidValue(
                    "redrive_allow_policy", "invalid redrive_allow_policy",
                    rule=RULES["redrive_allow_policy"],
                )

    # -- derived -----------------------------------------------------------------------
    @property
    def visibility_ms(self) -> int:
        return int(self.visibility_timeout * 1000)

    @property
    def retention_ms(self) -> int:
        """Retention in milliseconds (0 = unlimited: a time no message reaches)."""
        return int(self.retention * 1000) if self.retention else RETENTION_UNLIMITED_MS

    # -- catalog form ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            if isinstance(value, RedrivePolicy):
                value = {"dead_letter_target": value.dead_letter_target,
                         "max_receive_count": value.max_receive_count}
            elif isinstance(value, RedriveAllowPolicy):
                value = {"permission": value.permission, "source_queues": list(value.source_queues)}
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> QueueConfig:
        return cls.from_attributes(**(data or {}))

    @classmethod
    def from_attributes(cls, **attributes: Any) -> QueueConfig:
        """Build from keyword attributes (field names); nested policies may be dicts."""
        return DEFAULT_QUEUE_CONFIG.replace(**attributes)

    def replace(self, **changes: Any) -> QueueConfig:
        """A copy with `changes`; unknown names raise InvalidValue naming them."""
        known = _FIELDS
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidValue(
                unknown[0], f"unknown queue attribute(s): {unknown}",
                rule="queue-attributes: " + ", ".join(sorted(known)),
            )
        changes = dict(changes)
        redrive = changes.get("redrive")
        if isinstance(redrive, dict):
            try:
                changes["redrive"] = RedrivePolicy(
                    dead_letter_target=redrive["dead_letter_target"],
                    max_receive_count=redrive["max_receive_count"],
                )
            except (KeyError, TypeError):
                raise InvalidValue(
                    "redrive", "redrive needs dead_letter_target and max_receive_count",
                    rule="redrive: dead_letter_target and max_receive_count",
                ) from None
        allow = changes.get("redrive_allow_policy")
        if isinstance(allow, dict):
            try:
                changes["redrive_allow_policy"] = RedriveAllowPolicy(
                    permission=allow.get("permission", "allowAll"),
                    source_queues=tuple(allow.get("source_queues", ())),
                )
            except TypeError:
                raise InvalidValue(
                    "redrive_allow_policy", "invalid redrive_allow_policy",
                    rule=RULES["redrive_allow_policy"],
                ) from None
        return dataclasses.replace(self, **changes)


def _number(cfg: QueueConfig, name: str, lo: float, hi: float) -> None:
    value = getattr(cfg, name)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or not lo <= value <= hi
    ):
        raise InvalidValue(name, f"{name} must be {lo}-{hi}, got {value!r}", rule=RULES[name])


def _integer(cfg: QueueConfig, name: str, lo: int, hi: int | None, *, optional: bool = False) -> None:
    value = getattr(cfg, name)
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < lo
        or (hi is not None and value > hi)
    ):
        raise InvalidValue(name, f"{name} out of range: {value!r}", rule=RULES[name])


def _choice(cfg: QueueConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    if value not in choices:
        raise InvalidValue(name, f"{name} must be one of {choices}, got {value!r}", rule=RULES[name])


_FIELDS = frozenset(f.name for f in dataclasses.fields(QueueConfig))
DEFAULT_QUEUE_CONFIG = QueueConfig()

# per-call ranges (the queue validates these on every send/receive)
SEND_DELAY_RULE = RULES["delay"]
VISIBILITY_RULE = RULES["visibility_timeout"]
WAIT_RULE = RULES["receive_wait"]
MAX_MESSAGES_RULE = "max_messages: 1-10 for SQS; the core accepts 1-10000"
PRIORITY_RULE = "priority: 0-255"
TTL_RULE = "ttl_ms: 0-9223372036854775807 milliseconds"
