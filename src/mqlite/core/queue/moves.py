"""Message move tasks: redrive from a dead-letter queue back to the source (SQS
StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask).

A `MoveTask` moves the messages visible in a DLQ when it starts (at most that many) to
`destination` or, when None, to each message's original source queue (recorded in the
record header 's' when it was dead-lettered). Status: RUNNING -> COMPLETED | CANCELLED |
FAILED (SQS's values). A message keeps its id, body, attributes and sent timestamp.
Each message is sent (durably) to its destination before it is deleted from the DLQ, so
a crash mid-move may duplicate a message but never loses one (at-least-once).
Concurrency: one asyncio task per move on core's loop; at most one RUNNING per DLQ.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import CoreError, InvalidValue
from mqlite.core.message import Envelope

if TYPE_CHECKING:
    from mqlite.core.queue.queue import Queue

MOVE_VISIBILITY = 60.0


class MoveTask:
    """One move; fields mirror SQS ListMessageMoveTasks results."""

    def __init__(
        self, source: Queue, destination: str | None, max_per_second: int | None, now_ms: int
    ) -> None:
        self.handle = uuid.uuid4().hex
        self.source = source.name
        self.destination = destination
        self.max_per_second = max_per_second
        self.started_ms = now_ms
        self.status = "RUNNING"
        self.moved = 0
        self.to_move = source.counts().visible
        self.failure_reason: str | None = None
        self._task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self.status == "RUNNING":
            self.status = "CANCELLING"
            if self._task is not None:
                self._task.cancel()

    async def wait(self) -> None:
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def start_move(
    dlq: Queue, destination: str | None = None, max_per_second: int | None = None
) -> MoveTask:
    """Start moving `dlq`'s messages to `destination` (None = their source queues)."""
    if any(t.status == "RUNNING" for t in dlq.move_tasks):
        raise InvalidValue("source", "a message move task is already running on this queue",
                           rule="move-task: one running task per source queue")
    if max_per_second is not None and (
        isinstance(max_per_second, bool) or not isinstance(max_per_second, int)
        or not 1 <= max_per_second <= 500
    ):
        raise InvalidValue("max_per_second", "max_per_second must be 1-500",
                           rule="max_per_second: 1-500")
    if destination is not None and dlq.resolve_queue is not None:
        dlq.resolve_queue(destination)  # QueueNotFound now, not later
    task = MoveTask(dlq, destination, max_per_second, dlq.clock.now_ms())
    task._task = asyncio.get_running_loop().create_task(_run(dlq, task))
    dlq.move_tasks.append(task)
    return task


async def _run(dlq: Queue, task: MoveTask) -> None:
    try:
        while task.moved < task.to_move and not dlq.deleted:
            batch = min(10, task.to_move - task.moved)
            msgs = await dlq.receive(batch, 0.0, MOVE_VISIBILITY)
            if not msgs:
                break
            for m in msgs:
                lease = dlq._leases.get(m.offset)
                if lease is None:
                    continue
                st = dlq._full(lease.stored)
                target_name = task.destination or st.source
                if target_name is None or dlq.resolve_queue is None:
                    raise _MoveFailed("the message has no source queue to return to")
                target = dlq.resolve_queue(target_name)
                from mqlite.core.queue.deadletter import copy_for_move

                moved = copy_for_move(st, dlq.name)
                moved.source = None
                result = (await target._send([Envelope(st.body)], moved=[moved]))[0]
                if isinstance(result, CoreError):
                    raise _MoveFailed(result.message)
                await dlq.delete(m.receipt)
                task.moved += 1
            if task.max_per_second:
                await asyncio.sleep(len(msgs) / task.max_per_second)
        task.status = "COMPLETED"
    except asyncio.CancelledError:
        task.status = "CANCELLED"
    except (CoreError, _MoveFailed) as exc:
        task.status = "FAILED"
        task.failure_reason = str(exc)


class _MoveFailed(Exception):
    pass


def describe(task: MoveTask) -> dict[str, Any]:
    return {
        "TaskHandle": task.handle,
        "Status": task.status,
        "SourceQueue": task.source,
        "DestinationQueue": task.destination,
        "MaxNumberOfMessagesPerSecond": task.max_per_second,
        "ApproximateNumberOfMessagesMoved": task.moved,
        "ApproximateNumberOfMessagesToMove": task.to_move,
        "FailureReason": task.failure_reason,
        "StartedTimestamp": task.started_ms,
    }
