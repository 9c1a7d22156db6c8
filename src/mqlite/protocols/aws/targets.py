"""How one AWS service delivers into another's resources: a small typed interface.

EventBridge rules target SNS topics, Kinesis streams and Firehose delivery streams; SNS
subscriptions target Firehose delivery streams. Each service that can be a target
offers one `Target` (`deliver(resource, Delivery)`), named in `TARGETS` as
"module:function" and built on first use per core, so no service imports another's
modules, reads another's stored rows or calls another's request handlers: it asks
`target_for(core, settings, "sns")` and hands over a `Delivery`.

A target that cannot take the delivery raises `TargetFailed(code, message, retryable)`
with EventBridge's delivery-failure codes (`RESOURCE_NOT_FOUND`, `SDK_CLIENT_ERROR`...),
which the caller records as it records its own failures (a dead-letter queue, a log).
Concurrency: the server's event loop; a target is built once per core and kept.
"""

from __future__ import annotations

import importlib
import weakref
from dataclasses import dataclass
from typing import Protocol

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.namespace import Namespace
from mqlite.settings import Settings

#: service -> "module:function(core, settings) -> Target"
TARGETS: dict[str, str] = {
    "sns": "mqlite.protocols.aws.sns.target:target_for",
    "kinesis": "mqlite.protocols.aws.kinesis.target:target_for",
    "firehose": "mqlite.protocols.aws.firehose.target:target_for",
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for a target. `group_id`/`dedup_id` for FIFO topics,
    `partition_key` for Kinesis (None: the target picks), `arn`/`namespace`/`host` as
    the sender addressed the resource (SNS answers and links in that account and region)."""

    payload: bytes
    arn: str = ""
    namespace: Namespace | None = None  # the account and region the sender addressed
    host: str = "localhost"
    group_id: str | None = None
    dedup_id: str | None = None
    partition_key: str | None = None


class TargetFailed(Exception):
    """The target refused the delivery (`retryable` False: a missing or invalid resource)."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class Target(Protocol):
    """What a service offers the others: deliver one message into one of its resources
    (`resource`: a topic ARN for SNS, a stream or delivery-stream name otherwise)."""

    async def deliver(self, resource: str, delivery: Delivery) -> None: ...


_BUILT: weakref.WeakKeyDictionary[BrokerCore, dict[str, Target]] = weakref.WeakKeyDictionary()


def target_for(core: BrokerCore, settings: Settings, service: str) -> Target:
    """The `service`'s target for `core` (built on first use); KeyError if none."""
    built = _BUILT.setdefault(core, {})
    target = built.get(service)
    if target is None:
        module, _, function = TARGETS[service].partition(":")
        target = built[service] = getattr(importlib.import_module(module), function)(core, settings)
    return target
