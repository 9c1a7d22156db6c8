"""Queue: a log of messages plus per-message leases (SQS queues and AMQP queues alike).

Owns one queue's message log (one record per message, see `records.py`), its lease
journal (`journal.py`) and the in-memory lease state. State model, by log offset:

    [start .. lwm)        all done (deleted, acked, expired, moved); segments removable
    [lwm .. cursor)       scanned: each offset is done, leased, ready (heap/FIFO group),
                          delayed, being moved, or the one-message `peek`
    [cursor .. end)       not yet scanned: visible unless done/leased/ready/delayed
                          (those sets also hold offsets at or past the cursor)

so a backlog costs no RAM per message: receive scans forward from `cursor` (through a
small read-ahead buffer fed by recent sends); only leased, delayed, requeued,
high-priority and FIFO-pending messages live in RAM.

Invariants: a message is delivered only when not leased (at-least-once, exactly one
live lease); a FIFO group has at most one batch in flight and is served in offset
order; every receipt names (offset, receive count) and only the latest count may
delete (stale receipts are no-ops); `lwm` = the lowest offset not done.
Concurrency: core's event loop only (docs/architecture.md); `send`/`receive` are async
(durability, long polls, dead-letter moves); the rest are plain methods. Expiries
(visibility, delay) are applied lazily on every operation and by `tick()`.

Modules (one idea each; `Queue` combines them as mixins, so no call goes through an
extra object): `state.py` (QueueState: the data structures and non-waiting operations),
`expiry.py` (tick, head expiry, the dead-letter door), `admission.py` (send path),
`delivery.py` (receive path), `acks.py` (delete, visibility, release, reject, purge);
this module keeps the lifecycle (flush, close, delete, reconfigure).

Public API (the contract front-ends code against):

    await send(body, attributes=None, *, delay=None, group_id=None, dedup_id=None,
               priority=None, ttl_ms=None, meta=None, routing_key="") -> SendResult
    await send_envelope(Envelope) -> SendResult
    await send_batch([Envelope | bytes]) -> [SendResult | CoreError]   one append
    await receive(max_messages=1, wait=0.0, visibility_timeout=None, *, owner=None,
                  attempt_id=None) -> [Message]
    delete(receipt) -> Ack            (await it for durability under fsync=always)
    await delete_batch([receipt]) -> [None | CoreError]
    change_visibility(receipt, seconds); change_visibility_batch([(receipt, s)])
    release(receipt)                  requeue at the original position (AMQP requeue)
    release_owner(owner) -> int       requeue all of a closed channel's leases
    await reject(receipt)             AMQP reject/nack requeue=false: dead-letter
    purge(include_in_flight=True) -> Ack (.count); last_purge_ms; counts() -> QueueCounts(visible, in_flight, delayed)
    tick(); await expire_heads()      (the registry ticks every queue)

AMQP consumers (push with a prefetch window) are a loop in the front-end:
`await queue.receive(window_free, wait=20, visibility_timeout=math.inf, owner=channel)`
returns as soon as anything is visible; leases with `math.inf` last until `delete`
(ack), `release` (nack/reject requeue), `reject`, or `release_owner(channel)`, and are
released on restart (their channel is gone), counting as a delivery.
"""

from __future__ import annotations

from mqlite.core.errors import InvalidValue
from mqlite.core.queue.acks import Acks
from mqlite.core.queue.admission import Admission
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.delivery import Delivery
from mqlite.core.queue.results import Ack, QueueCounts, SendResult

__all__ = ["Ack", "Queue", "QueueCounts", "SendResult"]


class Queue(Admission, Delivery, Acks):
    """One queue: the public API (docs/architecture.md "Queue"); state in QueueState,
    the send/receive/settle/expiry paths in the mixins named above."""

    async def flush(self) -> None:
        if not self.deleted:
            self._journal_flush()
        self._log.flush()
        self._journal.log.flush()

    def close(self) -> None:
        """Wake long-pollers; the registry closes the logs (LogFactory owns them)."""
        self._notify()
        if self._expiring is not None:
            self._expiring.cancel()
        for task in self.move_tasks:
            task.cancel()

    def mark_deleted(self) -> None:
        self.deleted = True
        self.close()

    def set_config(self, config: QueueConfig) -> None:
        if config.fifo != self.config.fifo:
            raise InvalidValue("fifo", "a queue cannot change between FIFO and standard",
                               rule="fifo: fixed at creation")
        self.config = config
        self._age_check = (-1, 0)  # age limits may have changed: look again
        self._ttl_floor = self._ttl_due = 0
        self._notify()
