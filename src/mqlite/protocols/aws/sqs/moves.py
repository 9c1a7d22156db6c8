"""StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask: DLQ redrive.

The move itself is core's (`core.queues.start_message_move`, see
`mqlite.core.queue.moves`): it moves the DLQ's visible messages to `DestinationArn` or,
without one, back to each message's source queue, at most one RUNNING task per DLQ,
paced by `MaxNumberOfMessagesPerSecond` (1-500). This module checks SQS's rules (the
source must be some queue's dead-letter target) and renders tasks in SQS's shape.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.errors import CoreError
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import local_names, name_from_arn, queue_arn
from mqlite.protocols.aws.sqs.queues import QueueActions
from mqlite.protocols.aws.wire import AwsError


def _arn(ctx: AwsContext, name: str) -> str:
    return queue_arn(ctx, name)


def render(ctx: AwsContext, task: Any, implicit: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Status": task.status,
        "SourceArn": _arn(ctx, task.source),
        "ApproximateNumberOfMessagesMoved": task.moved,
        "ApproximateNumberOfMessagesToMove": task.to_move,
        "StartedTimestamp": task.started_ms,
    }
    if task.status == "RUNNING":
        out["TaskHandle"] = task.handle
    if task.destination and not implicit:
        out["DestinationArn"] = _arn(ctx, task.destination)
    if task.max_per_second is not None:
        out["MaxNumberOfMessagesPerSecond"] = task.max_per_second
    if task.failure_reason:
        out["FailureReason"] = task.failure_reason
    return out


def _own(name: str) -> str:
    """Move tasks stay within the caller's account and region (namespace.py)."""
    if not local_names([name]):
        raise AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400)
    return name


class MoveActions:
    def __init__(self, core: BrokerCore, queues: QueueActions) -> None:
        self.core = core
        self.queues = queues
        self.implicit: set[str] = set()  # tasks started without a DestinationArn

    async def start_message_move_task(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """StartMessageMoveTask."""
        source = _own(name_from_arn(p["SourceArn"], "SourceArn"))
        self.core.get_queue(source)
        sources = self.queues.dead_letter_sources(source)
        if not sources:
            raise AwsError("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.", 400)
        # One source queue: every message goes back there (also those sent to the DLQ
        # directly, which have no recorded source).
        dest = sources[0] if len(sources) == 1 else None
        if p.get("DestinationArn"):
            dest = _own(name_from_arn(p["DestinationArn"], "DestinationArn"))
            self.core.get_queue(dest)
        rate = p.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise AwsError("InvalidParameterValue", f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.", 400)
        explicit = p.get("DestinationArn") is not None
        try:
            task = self.core.queues.start_message_move(source, dest, rate)
        except CoreError as exc:
            raise AwsError("UnsupportedOperation", str(exc), 400) from exc
        if not explicit:
            self.implicit.add(task.handle)  # reported as "back to the source", as SQS does
        return {"TaskHandle": task.handle}

    async def list_message_move_tasks(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListMessageMoveTasks."""
        source = _own(name_from_arn(p["SourceArn"], "SourceArn"))
        limit = p.get("MaxResults") or 1
        if not 1 <= limit <= 10:
            raise AwsError("InvalidParameterValue", f"Value {limit} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.", 400)
        tasks = self.core.queues.list_message_moves(source)
        return {"Results": [render(ctx, t, t.handle in self.implicit) for t in tasks[:limit]]}

    async def cancel_message_move_task(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CancelMessageMoveTask."""
        try:
            task = self.core.queues.cancel_message_move(p["TaskHandle"])
        except CoreError as exc:
            raise AwsError("ResourceNotFoundException", "Task does not exist or is not running.", 404) from exc
        await task.wait()
        return {"ApproximateNumberOfMessagesMoved": task.moved}
