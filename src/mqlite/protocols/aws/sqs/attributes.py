"""SQS queue attributes <-> core `QueueConfig`: names, ranges, and the computed ones.

`config_changes(attrs, ctx, core, fifo)` validates SQS attribute names and values (the
SetQueueAttributes reference) and returns (QueueConfig field changes, SQS-only state
changes). Unknown or read-only names are `InvalidAttributeName`; values out of range
`InvalidAttributeValue`. `describe(...)` renders every attribute GetQueueAttributes
returns, including the computed Approximate* counts, timestamps and QueueArn.
Pure mapping; the handlers own I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from mqlite.core.api import BrokerCore, Queue, QueueCounts
from mqlite.core.errors import CoreError
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import (
    MAX_SQS_MESSAGE,
    local_names,
    name_from_arn,
    queue_arn,
)
from mqlite.protocols.aws.wire import AwsError

# SQS name -> (QueueConfig field, low, high)
_INT_ATTRS: dict[str, tuple[str, int, int]] = {
    "VisibilityTimeout": ("visibility_timeout", 0, 43200),
    "DelaySeconds": ("delay", 0, 900),
    "MessageRetentionPeriod": ("retention", 60, 1209600),
    "MaximumMessageSize": ("max_message_bytes", 1024, MAX_SQS_MESSAGE),
    "ReceiveMessageWaitTimeSeconds": ("receive_wait", 0, 20),
}
_FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
_STATE_ATTRS = ("Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
ALL_NAMES = (
    *READ_ONLY, *_INT_ATTRS, "Policy", "RedrivePolicy", "RedriveAllowPolicy", "FifoQueue",
    *_FIFO_ONLY, "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
)


def _bad_value(name: str, reason: str = "") -> AwsError:
    msg = f"Invalid value for the parameter {name}."
    if reason:
        msg += f" Reason: {reason}"
    return AwsError("InvalidAttributeValue", msg, 400)


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low not in ("true", "false"):
        raise _bad_value(name)
    return low == "true"


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise _bad_value(name) from None
    if not lo <= number <= hi:
        raise _bad_value(name)
    return number


def config_changes(
    attrs: Mapping[str, str], core: BrokerCore, fifo: bool, *, creating: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate SQS attributes; return (QueueConfig changes, SQS-only state changes)."""
    changes: dict[str, Any] = {}
    state: dict[str, Any] = {}
    for name, value in attrs.items():
        if name in _INT_ATTRS:
            field, lo, hi = _INT_ATTRS[name]
            changes[field] = _int(name, value, lo, hi)
        elif name == "FifoQueue":
            wanted = _bool(name, value)
            if not creating or wanted != fifo:
                if creating:
                    raise _bad_value(name)
                raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.", 400)
        elif name in _FIFO_ONLY:
            if not fifo:
                raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.", 400)
            if name == "ContentBasedDeduplication":
                changes["content_based_dedup"] = _bool(name, value)
            elif name == "DeduplicationScope":
                if value not in ("queue", "messageGroup"):
                    raise _bad_value(name)
                changes["dedup_scope"] = value
            else:
                if value not in ("perQueue", "perMessageGroupId"):
                    raise _bad_value(name)
                changes["fifo_throughput_limit"] = value
        elif name == "RedrivePolicy":
            changes["redrive"] = _redrive(value, core, fifo)
        elif name == "RedriveAllowPolicy":
            changes["redrive_allow_policy"] = _redrive_allow(value)
        elif name == "Policy":
            if value:
                try:
                    orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise _bad_value(name, "Policy is not valid JSON.") from None
            state["policy"] = value
        elif name == "KmsMasterKeyId":
            state["kms"] = value
        elif name == "KmsDataKeyReusePeriodSeconds":
            state["kms_reuse"] = _int(name, value, 60, 86400)
        elif name == "SqsManagedSseEnabled":
            state["sse"] = _bool(name, value)
        else:
            raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.", 400)
    return changes, state


def _redrive(value: str, core: BrokerCore, fifo: bool) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise _bad_value("RedrivePolicy", "Redrive policy is not a valid JSON map.") from None
    if not isinstance(policy, dict) or "deadLetterTargetArn" not in policy or "maxReceiveCount" not in policy:
        raise _bad_value("RedrivePolicy", "Redrive policy does not contain mandatory attribute: deadLetterTargetArn, maxReceiveCount.")
    try:
        count = int(policy["maxReceiveCount"])
    except (TypeError, ValueError):
        raise _bad_value("RedrivePolicy", "Invalid value for maxReceiveCount.") from None
    if not 1 <= count <= 1000:
        raise _bad_value("RedrivePolicy", "Value for maxReceiveCount must be between 1 and 1000.")
    target = name_from_arn(str(policy["deadLetterTargetArn"]), "RedrivePolicy")
    if not local_names([target]):  # SQS: the dead-letter queue is in the source's account and region
        raise _bad_value("RedrivePolicy", "Dead-letter target owner should be same as the source.")
    try:
        dlq = core.get_queue(target)
    except CoreError:  # QueueNotFound
        raise _bad_value("RedrivePolicy", "Dead-letter target does not exist.") from None
    if bool(dlq.config.fifo) != fifo:
        raise _bad_value("RedrivePolicy", "Dead-letter queue must be the same type of queue as the source.")
    return {"dead_letter_target": target, "max_receive_count": count}


def _redrive_allow(value: str) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise _bad_value("RedriveAllowPolicy") from None
    if not isinstance(policy, dict):
        raise _bad_value("RedriveAllowPolicy")
    permission = policy.get("redrivePermission")
    sources = policy.get("sourceQueueArns") or []
    if permission not in ("allowAll", "denyAll", "byQueue") or not isinstance(sources, list):
        raise _bad_value("RedriveAllowPolicy")
    if (permission == "byQueue") != bool(sources) or len(sources) > 10:
        raise _bad_value("RedriveAllowPolicy")
    return {
        "permission": permission,
        "source_queues": [name_from_arn(str(a), "RedriveAllowPolicy") for a in sources],
    }


def describe(
    ctx: AwsContext, queue: Queue, state: Mapping[str, Any], counts: QueueCounts, created_s: int = 0
) -> dict[str, str]:
    """Every attribute of the queue, as GetQueueAttributes(All) returns them."""
    cfg = queue.config
    out: dict[str, str] = {
        "QueueArn": queue_arn(ctx, queue.name),
        "ApproximateNumberOfMessages": str(_count(counts, "visible", "available", "ready")),
        "ApproximateNumberOfMessagesNotVisible": str(_count(counts, "inflight", "in_flight", "not_visible", "unacked")),
        "ApproximateNumberOfMessagesDelayed": str(_count(counts, "delayed")),
        "CreatedTimestamp": str(state.get("created", 0) or created_s),
        "LastModifiedTimestamp": str(state.get("modified", 0) or state.get("created", 0) or created_s),
        "VisibilityTimeout": str(int(cfg.visibility_timeout)),
        "MaximumMessageSize": str(int(cfg.max_message_bytes)),
        "MessageRetentionPeriod": str(int(cfg.retention)),
        "DelaySeconds": str(int(cfg.delay)),
        "ReceiveMessageWaitTimeSeconds": str(int(cfg.receive_wait)),
    }
    if state.get("policy"):
        out["Policy"] = state["policy"]
    if state.get("kms"):
        out["KmsMasterKeyId"] = state["kms"]
        out["KmsDataKeyReusePeriodSeconds"] = str(state.get("kms_reuse", 300))
    out["SqsManagedSseEnabled"] = "true" if state.get("sse", not state.get("kms")) else "false"
    if cfg.redrive is not None:
        arn = queue_arn(ctx, cfg.redrive.dead_letter_target)
        out["RedrivePolicy"] = orjson.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": cfg.redrive.max_receive_count}
        ).decode()
    if cfg.redrive_allow_policy is not None:
        p = cfg.redrive_allow_policy
        body: dict[str, Any] = {"redrivePermission": p.permission}
        if p.source_queues:
            body["sourceQueueArns"] = [
                queue_arn(ctx, n) for n in p.source_queues
            ]
        out["RedriveAllowPolicy"] = orjson.dumps(body).decode()
    if cfg.fifo:
        out["FifoQueue"] = "true"
        out["ContentBasedDeduplication"] = "true" if cfg.content_based_dedup else "false"
        out["DeduplicationScope"] = cfg.dedup_scope
        out["FifoThroughputLimit"] = cfg.fifo_throughput_limit
    return out


def _count(counts: QueueCounts, *names: str) -> int:
    for name in names:
        value = getattr(counts, name, None)
        if value is not None:
            return int(value)
    return 0


def select(all_attrs: Mapping[str, str], names: list[str]) -> dict[str, str]:
    """The subset GetQueueAttributes returns for `AttributeNames` (validated)."""
    if not names:
        return {}
    for n in names:
        if n != "All" and n not in ALL_NAMES:
            raise AwsError("InvalidAttributeName", f"Unknown Attribute {n}.", 400)
    if "All" in names:
        return dict(all_attrs)
    return {n: all_attrs[n] for n in names if n in all_attrs}
